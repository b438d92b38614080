"""``jaxsnn-music memorize``: a corpus in, a checkpoint out (resumable).

A thin shell around what :func:`jaxsnn_music.api.memorize` does with ``out=``: it
reads the corpus with :func:`jaxsnn_music.api.read_corpus` (with the parse cache) and
memorizes it with :func:`jaxsnn_music.resumable.memorize_corpus` directly, whose
report (resumed or fresh, learn and save times) the closing summary shows, with a
progress bar over pieces and chunks.
"""

from __future__ import annotations

import time

import click

from jaxsnn_music.cli.options import (config_options, corpus_options, corpus_path_option,
                                      corpus_source, read_corpus, user_errors)


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:,.0f} KiB"


@click.command("memorize")
@corpus_path_option()
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the corpus's first N files (in title order).")
@click.option("--out", required=True, type=click.Path(),
              help="The checkpoint folder, e.g. checkpoints/NAME (progress goes to OUT/progress).")
@click.option("--restart", is_flag=True,
              help="Delete an earlier run in OUT and start over (otherwise it is resumed).")
@config_options
@corpus_options
@user_errors
def memorize(corpus_dir, limit, out, restart, selection, piano_midi, cache_dir, no_cache,
             workers, quiet, preset, config_path, overrides):
    """Memorize a corpus (--corpus DIR or --selection NAME, as for `corpus stats`) into a
    checkpoint at OUT.

    Pieces are learned in chunks of memorize.chunk_pieces; progress is saved after
    each chunk, so an interrupted run started again with the same corpus and config
    continues where it stopped and ends with the same network. One run at a time may
    write to OUT (a second is refused).

    Exit status: 0 when every file was memorized; 1 when some were skipped (each named
    on stderr with its reason; the others are memorized); 2 when nothing was (a user
    error, or no usable file: no checkpoint is written).
    """
    start = time.perf_counter()
    from tqdm.auto import tqdm

    from jaxsnn_music.checkpoint import size_on_disk
    from jaxsnn_music.config import load_config
    from jaxsnn_music.network.subnets import Subnets
    from jaxsnn_music.resumable import memorize_corpus, network_counts

    cfg = load_config(preset, config_path, list(overrides))
    loaded = read_corpus(corpus_source(corpus_dir, selection), cfg, limit=limit,
                         piano_midi=piano_midi, cache_dir=cache_dir, no_cache=no_cache,
                         workers=workers, quiet=quiet)
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
    if run.taken_over:
        click.echo(f"note: {run.out} was locked by a run that did not finish ({run.taken_over}); "
                   "taken over", err=True)
    counts = network_counts(run.network, cfg)
    columns = counts["columns"]
    subnets = Subnets.from_config(cfg)
    per_column = " + ".join(str(subnets.neurons(s)) for s in range(subnets.count))
    per_column = f"({per_column})"
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
