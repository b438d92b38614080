"""``jaxsnn-music corpus stats | fetch``: read, check and fetch MIDI corpora."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from jaxsnn_music.cli.options import (FiniteFloat, config_options, corpus_options, corpus_source,
                                      quiet_option, read_corpus, user_errors)
from jaxsnn_music.config import load_config


@click.group()
def corpus():
    """Read, check and fetch MIDI corpora."""


@corpus.command("stats")
@click.argument("path", required=False, type=click.Path())
@corpus_options
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (summary and per-piece counts).")
@user_errors
def stats(path, selection, piano_midi, cache_dir, no_cache, workers, quiet,
          preset, config_path, overrides, as_json):
    """Statistics of a corpus: PATH (a folder of MIDI files, searched recursively, or one file)
    or --selection NAME (default: the embedded Bach chorales).

    Files that cannot be read (or that the network could not hold) are reported on
    stderr and left out; the exit code is 1 when any file was skipped, 2 when none
    was usable, 0 otherwise.
    """
    from jaxsnn_music.corpus.stats import corpus_stats, format_table, piece_stats

    cfg = load_config(preset, config_path, list(overrides))
    report = read_corpus(corpus_source(path, selection), cfg, piano_midi=piano_midi,
                         cache_dir=cache_dir, no_cache=no_cache, workers=workers, quiet=quiet)
    summary = corpus_stats(report)
    if as_json:
        click.echo(json.dumps({"preset": cfg.preset, "summary": summary,
                               "skipped": [{"title": t, "reason": r} for t, r in report.skipped],
                               "warnings": [{"title": t, "warning": w} for t, w in report.warnings],
                               "pieces": [piece_stats(p) for p in report.pieces]}, indent=1))
    else:
        click.echo(f"preset: {cfg.preset}")
        click.echo(format_table(summary))


@corpus.command("fetch")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Where to put the files (default: $JAXSNN_MUSIC_DATA/piano-midi, "
                   "i.e. ~/.cache/jaxsnn-music/piano-midi).")
@click.option("--base-url", default=None, help="Download from this URL prefix instead of the pinned source.")
@click.option("--selection", type=click.Choice(["paper", "piano-midi"]), default="piano-midi",
              help="Fetch only the paper's 331 files, or all 337.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--timeout", type=FiniteFloat(min=1), default=60, show_default=True,
              help="Seconds before a stalled connection is given up.")
@quiet_option()
@user_errors
def fetch(dest, base_url, selection, retries, timeout, quiet):
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
