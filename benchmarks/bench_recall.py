"""Benchmark: title-cued recall throughput and whole-corpus recall time (not a test).

    python benchmarks/bench_recall.py              # 20 pieces, all tracks (throughput)
    python benchmarks/bench_recall.py --full       # also the paper selection (331 pieces) in one network

Default preset (every track, chords). The throughput run recalls twice: the first
includes compiling the recall scan, the second is the steady state. The whole-corpus
run recalls once (compilation included). Both report the recall's accuracy (pitch
set, first-spike pitch, duration).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import jax
import numpy as np

from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.cache import ParseCache
from jaxsnn_music.corpus.load import load_corpus
from jaxsnn_music.corpus.sources import selection_items
from jaxsnn_music.network import Network, grow, trace_counts
from jaxsnn_music.recall.cued import recall_titles
from jaxsnn_music.recall.scores import score_piece, summarize
from jaxsnn_music.recall.index import NetworkIndex


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_recall(name, network, pieces, cfg, runs=2):
    index = NetworkIndex(network, cfg)
    events = int(np.asarray(network.track_lengths).sum())
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        recalled = recall_titles(network, None, cfg, index=index)
        walls.append(time.perf_counter() - start)
    by_title = {p.title: p for p in pieces}
    scores = [s for r in recalled for s in score_piece(by_title[r.title], r, cfg)]
    summary = summarize(scores)
    steady = f"second {walls[-1]:.1f} s = " if runs > 1 else ""
    print(f"{name}: {network.n_titles} pieces, {summary['tracks']} tracks, {events:,} events; "
          f"first run {walls[0]:.1f} s (with compilation), {steady}"
          f"{events / walls[-1]:,.0f} events/s; pitch {summary['pitch_weighted']:.2%}, "
          f"first-spike pitch {summary['pitch_first_weighted']:.2%}, duration "
          f"{summary['duration_weighted']:.2%} (event-weighted); peak RSS {peak_rss_mb():,.0f} MiB; "
          f"traces {trace_counts().get('recall.recall_chunk', 0)}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="config overrides, e.g. --set network.w_max=9")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"jax {jax.__version__} on {jax.devices()[0].platform}", flush=True)
    cfg = load_config("default", overrides=args.overrides)
    start = time.perf_counter()
    report = load_corpus(selection_items("paper"), cfg.encoding, cache=ParseCache(), progress=False)
    pieces = report.pieces
    print(f"read {len(pieces)} pieces in {time.perf_counter() - start:.1f} s", flush=True)
    some = pieces[:: max(1, len(pieces) // args.pieces)][: args.pieces]
    timed_recall(f"{len(some)} pieces", grow(Network.empty(), some, cfg), some, cfg)
    if args.full:
        start = time.perf_counter()
        network = grow(Network.empty(), pieces, cfg)
        print(f"memorized the paper selection in {time.perf_counter() - start:.1f} s", flush=True)
        timed_recall("paper selection, all tracks", network, pieces, cfg, runs=1)


if __name__ == "__main__":
    main()
