"""What the commands of ``jaxsnn-music`` share: options, one-line errors, corpus loading
and checkpoint restoring.

Every command module imports this one and the library, never another command
module. Heavy modules (JAX, orbax, the network) are imported inside the helpers
that need them, so that ``jaxsnn-music --help`` stays fast.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from pathlib import Path

import click

from jaxsnn_music.config import PRESETS
from jaxsnn_music.corpus.sources import SELECTIONS
from jaxsnn_music.errors import UserError


EXIT_OK, EXIT_SKIPPED, EXIT_ERROR = 0, 1, 2
"""Exit status of every command: all input used; some input skipped (each file named on
stderr, the rest done); nothing done (a user error, or nothing usable), one line on stderr."""
_SKIPPED = "jaxsnn_music.skipped"


def user_errors(f):
    """Turn a UserError, or an OSError (a disk that is full, a folder that cannot be
    written), into one line on stderr and its exit code; exit with 1 when the command
    finished but skipped some of its input (:func:`read_corpus`)."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            result = f(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:
            click.echo(f"error: {os_error(exc)}", err=True)
            sys.exit(EXIT_ERROR)
        context = click.get_current_context(silent=True)
        if context is not None and context.meta.get(_SKIPPED):
            sys.exit(EXIT_SKIPPED)
        return result
    return wrapper


def os_error(exc: OSError) -> str:
    """An OSError in one line: the file, then what went wrong."""
    from jaxsnn_music.corpus.sources import printable

    what = exc.strerror or str(exc) or type(exc).__name__
    where = [printable(str(name)) for name in (exc.filename, exc.filename2) if name is not None]
    return f"{' -> '.join(where)}: {what}" if where else what


class FiniteFloat(click.FloatRange):
    """A float option that also refuses nan and the infinities, which click's ranges let
    through (every comparison with nan is false)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


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


_SHOWN_WARNINGS = 20
"""Warnings of a corpus load shown on stderr one by one; the rest are counted."""

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
    f = click.option("--workers", type=click.IntRange(min=1, max=1024), default=None,
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

    - `cfg`: the config (its encoding section, and the network's limits: a piece the
      network cannot hold is skipped like a bad file).
    - `path`, `selection`, `piano_midi`: the corpus, as for
      :func:`jaxsnn_music.corpus.sources.resolve_items`; or
    - `items`: the corpus items themselves (e.g. :func:`memorized_items`).
    - `limit`: only the first `limit` items, cut before parsing so a small run reads little.
    - `cache_dir`, `no_cache`: the parse cache (default folder; none at all).
    - `workers`: parser processes (None: one per core).
    - `quiet`: no progress bar.

    **Returns:** the :class:`~jaxsnn_music.corpus.load.LoadReport`. When any item was
    skipped the command exits with status 1 once it is done (:func:`user_errors`); when
    nothing could be loaded it stops here, with status 2.
    """
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus, network_limits
    from jaxsnn_music.corpus.sources import printable, resolve_items
    from jaxsnn_music.errors import CorpusError

    if items is None:
        items = resolve_items(path, selection, piano_midi)
    if limit is not None:
        items = items[:limit]
    cache = None if no_cache else ParseCache(cache_dir)
    report = load_corpus(items, cfg.encoding, cache=cache, workers=workers, progress=not quiet,
                         limits=network_limits(cfg))
    if cache is not None and cache.write_error:
        click.echo(f"warning: {cache.write_error}; parsing without it", err=True)
    for title, reason in report.skipped:
        click.echo(f"skipped {printable(title)}: {printable(reason)}", err=True)
    for title, warning in report.warnings[:_SHOWN_WARNINGS]:
        click.echo(f"warning: {printable(title)}: {printable(warning)}", err=True)
    if len(report.warnings) > _SHOWN_WARNINGS:
        click.echo(f"warning: {len(report.warnings) - _SHOWN_WARNINGS:,} more warnings "
                   "(`corpus stats --json` lists them all)", err=True)
    if report.skipped:
        context = click.get_current_context(silent=True)
        if context is not None:
            context.meta[_SKIPPED] = context.meta.get(_SKIPPED, 0) + len(report.skipped)
    if items and not report.pieces:
        raise CorpusError(f"nothing usable: all {len(items):,} inputs were skipped (see above)"
                          if len(items) > 1 else "nothing usable: the one input was skipped")
    return report


def restore_checkpoint(checkpoint: str, overrides=(), config_path=None):
    """The checkpoint's network, its config with the user's YAML and ``--set`` values on top,
    and its manifest.

    The keys that learning read are fixed (:func:`~jaxsnn_music.config.recall_config`): a
    ``--set network.n_delays=...`` at recall is refused in one line, not silently used.
    """
    from jaxsnn_music.checkpoint import restore
    from jaxsnn_music.config import recall_config

    network, cfg, manifest = restore(checkpoint)
    if config_path is not None or overrides:
        cfg = recall_config(cfg, config_path, list(overrides))
    return network, cfg, manifest


def _make_folder(folder: Path, out: Path) -> None:
    from jaxsnn_music.errors import OutputError

    for above in [folder, *folder.parents]:
        if above.exists() or above.is_symlink():
            if not above.is_dir():
                raise OutputError(f"{out}: cannot make its folder ({above} is not a folder)")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot make its folder ({exc.strerror or exc})") from None


def output_file(path) -> Path:
    """Check, before the work, that a file can be written at ``path`` (its folder is made)."""
    from jaxsnn_music.errors import OutputError

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder (--out names the file to write)")
    _make_folder(path.parent, path)
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists()
                                                         and not os.access(path, os.W_OK)):
        raise OutputError(f"{path}: cannot write here (permission denied)")
    return path


def output_folder(path) -> Path:
    """Check, before the work, that files can be written in the folder ``path`` (made if needed)."""
    from jaxsnn_music.errors import OutputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: exists and is not a folder (--out names a folder)")
    _make_folder(path, path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write in this folder (permission denied)")
    return path


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
