"""What the commands of ``jaxsnn-music`` share: options, one-line errors and warnings,
and the command-line face of the API's corpus reading and checkpoint loading.

Every command module imports this one and the library, never another command
module; the work itself is done by the Python API (:mod:`jaxsnn_music.api`), so a
command and a notebook go through the same code. Heavy modules (JAX, orbax, the
network) are imported inside the functions that need them, so that ``jaxsnn-music
--help`` stays fast.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from pathlib import Path

import click

from jaxsnn_music import api
from jaxsnn_music.config import PRESETS
from jaxsnn_music.corpus.sources import SELECTIONS, printable
from jaxsnn_music.errors import UserError


EXIT_OK, EXIT_SKIPPED, EXIT_ERROR = 0, 1, 2
"""Exit status of every command: all input used; some input skipped (each file named on
stderr, the rest done); nothing done (a user error, or nothing usable), one line on stderr."""
_SKIPPED = "jaxsnn_music.skipped"


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {printable(' '.join(str(message).split()))}", err=True)


def user_errors(f):
    """Turn a UserError, or an OSError (a disk that is full, a folder that cannot be
    written), into one line on stderr and its exit code; exit with 1 when the command
    finished but skipped some of its input (:func:`report_skip`). A warning (e.g. the
    API's, of a source that cannot be read again) is one line on stderr too."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
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

def corpus_source(path=None, selection=None):
    """What ``--corpus PATH`` / ``--selection NAME`` name, as :func:`jaxsnn_music.api.read_pieces`
    takes it (the embedded default corpus if neither)."""
    from jaxsnn_music.corpus.sources import DEFAULT_SELECTION
    from jaxsnn_music.errors import CorpusError

    if path is not None and selection is not None:
        raise CorpusError("give either a corpus path or --selection, not both")
    return Path(path) if path is not None else selection or DEFAULT_SELECTION


def parse_cache(cache_dir=None, no_cache=False):
    """``--cache-dir`` / ``--no-cache`` as the API's ``cache`` argument."""
    return False if no_cache else cache_dir or True


def report_skip(title: str, reason: str) -> None:
    """An input left out, in one line on stderr; the command exits with 1 once it is done
    (:func:`user_errors`). The ``on_skip`` of every API call a command makes."""
    click.echo(f"skipped {printable(title)}: {printable(reason)}", err=True)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[_SKIPPED] = context.meta.get(_SKIPPED, 0) + 1


def read_corpus(source, cfg, *, limit=None, exclude=(), piano_midi=None, cache_dir=None,
                no_cache=False, workers=None, quiet=False):
    """:func:`jaxsnn_music.api.read_corpus` for a command: every input left out is named on
    stderr with its reason (:func:`report_skip`), and so are the first warnings.

    **Arguments:**

    - `source`: a selection name or a path (see :func:`corpus_source`).
    - `cfg`: the config (its encoding section, and the network's limits: a piece the
      network cannot hold is skipped like a bad file).
    - `limit`, `exclude`, `piano_midi`: which pieces (as for the API).
    - `cache_dir`, `no_cache`: the parse cache (default folder; none at all).
    - `workers`: parser processes (None: one per core).
    - `quiet`: no progress bar.

    **Returns:** the :class:`~jaxsnn_music.corpus.load.LoadReport`. When any input was
    skipped the command exits with status 1 once it is done; when nothing could be read it
    stops here, with status 2.
    """
    from jaxsnn_music.errors import CorpusError

    report = api.read_corpus(source, cfg, limit=limit, exclude=exclude, piano_midi=piano_midi,
                             cache=parse_cache(cache_dir, no_cache), workers=workers,
                             progress=not quiet, on_skip=report_skip)
    for title, warning in report.warnings[:_SHOWN_WARNINGS]:
        click.echo(f"warning: {printable(title)}: {printable(warning)}", err=True)
    if len(report.warnings) > _SHOWN_WARNINGS:
        click.echo(f"warning: {len(report.warnings) - _SHOWN_WARNINGS:,} more warnings "
                   "(`corpus stats --json` lists them all)", err=True)
    if report.skipped and not report.pieces:
        n = len(report.skipped)
        raise CorpusError(f"nothing usable: all {n:,} inputs were skipped (see above)"
                          if n > 1 else "nothing usable: the one input was skipped")
    return report


def load_network(checkpoint, overrides=(), config_path=None):
    """The checkpoint's network (:func:`jaxsnn_music.api.load`) and the config a command
    runs it with: the network's, with the user's YAML and ``--set`` values on top.

    The values are checked here, before any output is made: the keys that learning read
    are fixed (:func:`~jaxsnn_music.config.recall_config`, as the API's recall-time
    ``overrides``), so a ``--set network.n_delays=...`` is refused in one line.

    **Returns:** ``(network, cfg)``.
    """
    from jaxsnn_music.config import recall_config

    network = api.load(checkpoint)
    cfg = network.config
    if config_path is not None or overrides:
        cfg = recall_config(cfg, config_path, list(overrides))
    return network, cfg


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
