"""What the commands of ``jaxsnn-music`` share: options, one-line errors, corpus loading
and checkpoint restoring.

Every command module imports this one and the library, never another command
module. Heavy modules (JAX, orbax, the network) are imported inside the helpers
that need them, so that ``jaxsnn-music --help`` stays fast.
"""

from __future__ import annotations

import functools
import sys

import click

from jaxsnn_music.config import PRESETS
from jaxsnn_music.corpus.sources import SELECTIONS
from jaxsnn_music.errors import UserError


def user_errors(f):
    """Turn a UserError into one line on stderr and its exit code."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
    return wrapper


# --- single options (a command picks the help text that fits it) ---

def set_option(help: str = "Override one config value, e.g. --set encoding.tracks=first "
                           "(repeatable)."):
    """--set KEY=VALUE (repeatable), into the parameter ``overrides``."""
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=help)


def quiet_option(help: str = "No progress bar."):
    return click.option("--quiet", is_flag=True, help=help)


def cache_dir_option(help: str = "Parse cache folder (default: $JAXSNN_MUSIC_CACHE or "
                                 "~/.cache/jaxsnn-music/parse-cache)."):
    return click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help=help)


def piano_midi_option(help: str = "The piano-midi.de folder (default: $JAXSNN_MUSIC_PIANO_MIDI, "
                                  "../shared/corpus/piano-midi, or the fetch destination)."):
    return click.option("--piano-midi", type=click.Path(file_okay=False), default=None, help=help)


def selection_option(help: str = "A named corpus (default: bach-chorales, installed with music21).",
                     choices=SELECTIONS, default=None):
    """--selection NAME, one of the named corpora of :mod:`jaxsnn_music.corpus.sources`."""
    return click.option("--selection", type=click.Choice(list(choices)), default=default, help=help)


def corpus_path_option(help: str = "A folder of MIDI files (searched recursively) or one file."):
    """--corpus PATH, into the parameter ``corpus_dir``."""
    return click.option("--corpus", "corpus_dir", type=click.Path(), default=None, help=help)


checkpoint_option = click.option(
    "--checkpoint", required=True, type=click.Path(file_okay=False),
    help="A checkpoint folder written by `jaxsnn-music memorize`.")

checkpoint_set_option = set_option(
    help="Override a config value on top of the checkpoint's, e.g. --set recall.readout=rate "
         "(repeatable).")


# --- groups of options ---

def config_options(f):
    """--preset/--config/--set: the three ways to set the one config object."""
    f = set_option()(f)
    f = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                     help="YAML file of config sections.")(f)
    f = click.option("--preset", type=click.Choice(PRESETS), default=None,
                     help="paper: first track, melody, the paper's numbers; default: all tracks, chords.")(f)
    return f


def corpus_options(f):
    """Which corpus to read, and how (cache, workers)."""
    f = quiet_option()(f)
    f = click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Parser processes (default: one per core).")(f)
    f = click.option("--no-cache", is_flag=True, help="Parse every file even if cached.")(f)
    f = cache_dir_option()(f)
    f = piano_midi_option()(f)
    f = selection_option()(f)
    return f


# --- corpus and checkpoint ---

def read_corpus(cfg, path=None, selection=None, piano_midi=None, *, items=None, limit=None,
                cache_dir=None, no_cache=False, workers=None, quiet=False):
    """Load a corpus for a command, reporting every file left out in one line on stderr.

    **Arguments:**

    - `cfg`: the config (its encoding section is used).
    - `path`, `selection`, `piano_midi`: the corpus, as for
      :func:`jaxsnn_music.corpus.sources.resolve_items`; or
    - `items`: the corpus items themselves (e.g. :func:`memorized_items`).
    - `limit`: only the first `limit` items, cut before parsing so a small run reads little.
    - `cache_dir`, `no_cache`: the parse cache (default folder; none at all).
    - `workers`: parser processes (None: one per core).
    - `quiet`: no progress bar.

    **Returns:** the :class:`~jaxsnn_music.corpus.load.LoadReport`.
    """
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import resolve_items

    if items is None:
        items = resolve_items(path, selection, piano_midi)
    if limit is not None:
        items = items[:limit]
    cache = None if no_cache else ParseCache(cache_dir)
    report = load_corpus(items, cfg.encoding, cache=cache, workers=workers, progress=not quiet)
    for title, reason in report.skipped:
        click.echo(f"skipped {title}: {reason}", err=True)
    return report


def restore_checkpoint(checkpoint: str, overrides=(), config_path=None):
    """The checkpoint's network, its config with the user's YAML and ``--set`` values on top,
    and its manifest."""
    from jaxsnn_music.checkpoint import restore
    from jaxsnn_music.config import extend_config

    network, cfg, manifest = restore(checkpoint)
    if config_path is not None or overrides:
        cfg = extend_config(cfg, config_path, overrides)
    return network, cfg, manifest


def manifest_sources(manifest: dict) -> dict[str, str]:
    """Title -> source file of every piece a checkpoint's manifest lists."""
    return {entry.get("title"): entry.get("source") for entry in manifest.get("corpus", [])
            if isinstance(entry, dict)}


def memorized_items(manifest: dict):
    """The corpus items of the memorized pieces, read back from their source files."""
    from jaxsnn_music.corpus.sources import CorpusItem
    from jaxsnn_music.errors import CheckpointError

    items = [CorpusItem(title, "midi", source) for title, source in manifest_sources(manifest).items()
             if title and source]
    if not items:
        raise CheckpointError("the checkpoint's manifest lists no corpus sources to score against")
    return items
