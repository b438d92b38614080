"""The ``jaxsnn-music`` command line.

Every command reports a user's mistake (a bad file, a bad config value, a
missing corpus) as one line on stderr with a non-zero exit code; tracebacks are
for bugs only.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from jaxsnn_music.config import PRESETS, load_config
from jaxsnn_music.errors import UserError


def _config_options(f):
    """--preset/--config/--set: the three ways to set the one config object."""
    f = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Override one config value, e.g. --set encoding.tracks=first (repeatable).")(f)
    f = click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                     help="YAML file of config sections.")(f)
    f = click.option("--preset", type=click.Choice(PRESETS), default=None,
                     help="paper: first track, melody, the paper's numbers; default: all tracks, chords.")(f)
    return f


def _corpus_options(f):
    """Which corpus to read, and how (cache, workers)."""
    f = click.option("--quiet", is_flag=True, help="No progress bar.")(f)
    f = click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Parser processes (default: one per core).")(f)
    f = click.option("--no-cache", is_flag=True, help="Parse every file even if cached.")(f)
    f = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Parse cache folder (default: $JAXSNN_MUSIC_CACHE or "
                          "~/.cache/jaxsnn-music/parse-cache).")(f)
    f = click.option("--piano-midi", type=click.Path(file_okay=False), default=None,
                     help="The piano-midi.de folder (default: $JAXSNN_MUSIC_PIANO_MIDI, "
                          "../shared/corpus/piano-midi, or the fetch destination).")(f)
    f = click.option("--selection", type=click.Choice(["paper", "piano-midi", "bach-chorales"]),
                     default=None, help="A named corpus (default: bach-chorales, installed with music21).")(f)
    return f


def _load(path, selection, piano_midi, cache_dir, no_cache, workers, quiet, cfg):
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import resolve_items

    items = resolve_items(path, selection, piano_midi)
    cache = None if no_cache else ParseCache(cache_dir)
    report = load_corpus(items, cfg.encoding, cache=cache, workers=workers, progress=not quiet)
    for title, reason in report.skipped:
        click.echo(f"skipped {title}: {reason}", err=True)
    return report


def _user_errors(f):
    """Turn a UserError into one line on stderr and its exit code."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jaxsnn-music")
def main():
    """A spiking network that memorizes music and recalls it (Liang, Zeng & Xu 2020, in JAX)."""


@main.group()
def corpus():
    """Read, check and fetch MIDI corpora."""


@corpus.command("stats")
@click.argument("path", required=False, type=click.Path())
@_corpus_options
@_config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (summary and per-piece counts).")
@_user_errors
def corpus_stats_cmd(path, selection, piano_midi, cache_dir, no_cache, workers, quiet,
                     preset, config_path, overrides, as_json):
    """Statistics of a corpus: PATH (a folder of MIDI files, searched recursively, or one file)
    or --selection NAME (default: the embedded Bach chorales).

    Files that cannot be read are reported on stderr and left out; the exit code
    is 1 when any file was skipped, 0 otherwise.
    """
    from jaxsnn_music.corpus.stats import corpus_stats, format_table, piece_stats

    cfg = load_config(preset, config_path, list(overrides))
    report = _load(path, selection, piano_midi, cache_dir, no_cache, workers, quiet, cfg)
    stats = corpus_stats(report)
    if as_json:
        click.echo(json.dumps({"preset": cfg.preset, "summary": stats,
                               "skipped": [{"title": t, "reason": r} for t, r in report.skipped],
                               "warnings": [{"title": t, "warning": w} for t, w in report.warnings],
                               "pieces": [piece_stats(p) for p in report.pieces]}, indent=1))
    else:
        click.echo(f"preset: {cfg.preset}")
        click.echo(format_table(stats))
    if report.skipped:
        sys.exit(1)


@corpus.command("fetch")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Where to put the files (default: $JAXSNN_MUSIC_DATA/piano-midi, "
                   "i.e. ~/.cache/jaxsnn-music/piano-midi).")
@click.option("--base-url", default=None, help="Download from this URL prefix instead of the pinned source.")
@click.option("--selection", type=click.Choice(["paper", "piano-midi"]), default="piano-midi",
              help="Fetch only the paper's 331 files, or all 337.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=1), default=60, show_default=True,
              help="Seconds before a stalled connection is given up.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_user_errors
def corpus_fetch_cmd(dest, base_url, selection, retries, timeout, quiet):
    """Download the piano-midi.de corpus (CC BY-SA 3.0 DE, Bernd Krueger), verify every
    file's sha256 against the project's manifest, and resume partial downloads."""
    from jaxsnn_music.corpus.fetch import DEFAULT_BASE_URL, fetch_corpus
    from jaxsnn_music.corpus.sources import NON_CLASSICAL, PAPER_EXCLUDED, data_dir

    dest = Path(dest) if dest else data_dir() / "piano-midi"
    excluded = {t.lower() for t in PAPER_EXCLUDED}

    def in_paper(path: str) -> bool:
        title = path.rsplit(".", 1)[0]
        return not title.startswith(NON_CLASSICAL) and title.lower() not in excluded

    report = fetch_corpus(dest, base_url or DEFAULT_BASE_URL,
                          only=in_paper if selection == "paper" else None,
                          progress=not quiet, timeout=timeout, retries=retries)
    for path, reason in report.failed:
        click.echo(f"failed {path}: {reason}", err=True)
    click.echo(f"{report.summary()} -> {dest}")
    if not report.ok:
        sys.exit(1)


def _register_commands() -> None:
    """Add the commands defined in their own modules (they import this one for shared options)."""
    from jaxsnn_music.cli_memorize import memorize_command
    from jaxsnn_music.cli_recall import recall_commands
    from jaxsnn_music.cli_run import run_command
    from jaxsnn_music.cli_sweep import sweep_command
    from jaxsnn_music.cli_tune import tune_command

    for command in (run_command(), memorize_command(), *recall_commands(), sweep_command(),
                    tune_command()):
        main.add_command(command)


_register_commands()


if __name__ == "__main__":
    main()
