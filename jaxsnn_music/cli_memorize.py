"""``jaxsnn-music memorize``: a corpus in, a checkpoint out (resumable).

The command is a thin shell around :func:`jaxsnn_music.memorize_run.memorize_corpus`:
it loads the corpus (with the parse cache), shows a progress bar over pieces and
chunks, and closes with a summary of the network. Heavy modules (JAX, orbax)
are imported inside the command so that ``--help`` stays fast.
"""

from __future__ import annotations

import time

import click


def _load_limited(corpus_dir, selection, piano_midi, cache_dir, no_cache, workers, quiet, limit, cfg):
    """The corpus's first `limit` files (before parsing, so a small run reads little)."""
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import resolve_items

    items = resolve_items(corpus_dir, selection, piano_midi)
    if limit is not None:
        items = items[:limit]
    cache = None if no_cache else ParseCache(cache_dir)
    report = load_corpus(items, cfg.encoding, cache=cache, workers=workers, progress=not quiet)
    for title, reason in report.skipped:
        click.echo(f"skipped {title}: {reason}", err=True)
    return report


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:,.0f} KiB"


def memorize_command() -> click.Command:
    """The ``memorize`` command, with the options it shares with the other commands.

    A factory rather than a decorated function: the shared options live in
    :mod:`jaxsnn_music.cli`, which registers this command when it is imported,
    and importing it from here at import time would be circular under
    ``python -m jaxsnn_music.cli``.
    """
    from jaxsnn_music.cli import _config_options, _corpus_options, _user_errors

    command = _config_options(_corpus_options(_user_errors(memorize)))
    for option in reversed(_OPTIONS):
        command = option(command)
    return click.command("memorize")(command)


_OPTIONS = [
    click.option("--corpus", "corpus_dir", type=click.Path(), default=None,
                 help="A folder of MIDI files (searched recursively) or one file."),
    click.option("--limit", type=click.IntRange(min=1), default=None,
                 help="Only the corpus's first N files (in title order)."),
    click.option("--out", required=True, type=click.Path(),
                 help="The checkpoint folder, e.g. checkpoints/NAME (progress goes to OUT/progress)."),
    click.option("--restart", is_flag=True,
                 help="Delete an earlier run in OUT and start over (otherwise it is resumed)."),
]


def memorize(corpus_dir, limit, out, restart, selection, piano_midi, cache_dir, no_cache,
             workers, quiet, preset, config_path, overrides):
    """Memorize a corpus (--corpus DIR or --selection NAME, as for `corpus stats`) into a
    checkpoint at OUT.

    Pieces are learned in chunks of memorize.chunk_pieces; progress is saved after
    each chunk, so an interrupted run started again with the same corpus and config
    continues where it stopped and ends with the same network.
    """
    start = time.perf_counter()
    from tqdm.auto import tqdm

    from jaxsnn_music.checkpoint import size_on_disk
    from jaxsnn_music.config import load_config
    from jaxsnn_music.events import N_PITCH_CLASSES
    from jaxsnn_music.memorize_run import memorize_corpus, network_counts

    cfg = load_config(preset, config_path, list(overrides))
    loaded = _load_limited(corpus_dir, selection, piano_midi, cache_dir, no_cache, workers, quiet,
                           limit, cfg)
    bar = tqdm(total=len(loaded.pieces), desc="memorizing", unit="piece", disable=quiet)

    def on_progress(done, chunks_done, chunks):
        bar.n = done
        bar.set_postfix_str(f"chunk {chunks_done}/{chunks}", refresh=False)
        bar.refresh()

    try:
        run = memorize_corpus(loaded.pieces, cfg, out, restart=restart, on_progress=on_progress,
                              extra={"skipped": [{"title": t, "reason": r} for t, r in loaded.skipped]})
    finally:
        bar.close()
    counts = network_counts(run.network, cfg)
    columns = counts["columns"]
    per_column = f"({N_PITCH_CLASSES} + {cfg.encoding.n_duration_classes})"
    if run.already_complete:
        status = "already memorized, nothing to do"
    elif run.resumed_pieces:
        status = f"resumed after {run.resumed_pieces} pieces"
    else:
        status = "fresh run"
    rows = [
        ("pieces", f"{len(loaded.pieces):,} (skipped files: {len(loaded.skipped)})"),
        ("events", f"{sum(p.n_events for p in loaded.pieces):,}"),
        ("neurons", (f"{counts['neurons']:,} (columns per layer {columns} x {per_column} "
                     f"+ {counts['titles']:,} titles)")),
        ("paper's measure", (f"{counts['paper_size']:,} (2 x longest track "
                             f"{max(columns, default=0):,} + {counts['titles']:,} pieces)")),
        ("synapses", f"{counts['synapses']:,}"),
        ("goal links", f"{counts['goal_links']:,}"),
        ("checkpoint", f"{_size(size_on_disk(run.out))} at {run.out}"),
        ("wall time", (f"{time.perf_counter() - start:,.1f} s (parse {loaded.seconds:.1f} s, "
                       f"learn {run.learn_seconds:.1f} s, save {run.save_seconds:.1f} s)")),
    ]
    click.echo(f"memorized {len(loaded.pieces):,} pieces in {run.chunks} chunks ({status})")
    for name, value in rows:
        click.echo(f"{name:<18}{value}")
