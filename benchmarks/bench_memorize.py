"""Benchmark: memorize real pieces and print throughput and memory (not a test).

    python benchmarks/bench_memorize.py            # 20 pieces: first track, then all tracks
    python benchmarks/bench_memorize.py --full     # also the whole paper selection, all tracks

Wall times include compilation (reported separately as the first call's extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import time
from pathlib import Path

from jaxsnn_music.config import load_config
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.network import BYTES_PER_SYNAPSE, Network, memorize, trace_counts


def paper_selection(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*.mid") if "Christmas" not in p.parts
                   and p.name != "debussy_cc_5.mid")
    return files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(name, pieces, cfg):
    events = sum(t.n_events for p in pieces for t in p.tracks)
    start = time.perf_counter()
    net = memorize(Network.empty(), pieces, cfg)
    wall = time.perf_counter() - start
    n = net.synapses.n
    print(f"{name}: {len(pieces)} pieces, {events} events, {wall:.2f} s, {events / wall:,.0f} events/s, "
          f"{n:,} synapses ({n * BYTES_PER_SYNAPSE / 2**20:.1f} MiB at {BYTES_PER_SYNAPSE} B), "
          f"{int(net.goal.count):,} goal links, columns/layer {net.columns().tolist()}, "
          f"peak RSS {peak_rss_mb():,.0f} MiB, traces {trace_counts()}", flush=True)
    return net


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.environ.get(
        "JAXSNN_MUSIC_PIANO_MIDI", Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "piano-midi"))
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    cfg = load_config("default")
    files = paper_selection(Path(args.corpus))
    start = time.perf_counter()
    pieces = [read_piece(f, cfg.encoding) for f in (files if args.full else files[::len(files) // args.pieces][: args.pieces])]
    print(f"read {len(pieces)} files in {time.perf_counter() - start:.1f} s", flush=True)
    some = pieces[:: max(1, len(pieces) // args.pieces)][: args.pieces]
    first = [dataclasses.replace(p, tracks=p.tracks[:1]) for p in some]
    run("warm-up (compiles)", [dataclasses.replace(p, tracks=p.tracks[:1]) for p in some[:2]], cfg)
    run("first track, 20 pieces", first, cfg)
    run("all tracks, 20 pieces", some, cfg)
    if args.full:
        run("paper selection, all tracks", pieces, cfg)


if __name__ == "__main__":
    main()
