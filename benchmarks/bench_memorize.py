"""Benchmark: memorize real pieces and print throughput and memory (not a test).

    python benchmarks/bench_memorize.py            # 20 pieces: first track, then all tracks
    python benchmarks/bench_memorize.py --full     # also the whole paper selection, all tracks,
                                                   # the CLI's path: parse cache -> chunks -> checkpoint

Wall times include compilation. ``--full`` runs what ``jaxsnn-music memorize
--selection paper`` runs (:func:`~jaxsnn_music.resumable.memorize_corpus`,
fresh, into a temporary folder unless ``--out`` is given) and reports parse,
learn and save time separately, note events per second of learning, peak RSS
(this process, and the parser processes) and the checkpoint's size on disk.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from jaxsnn_music.config import load_config
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.network import BYTES_PER_SYNAPSE, Network, grow, trace_counts


def paper_selection(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*.mid") if "Christmas" not in p.parts
                   and p.name != "debussy_cc_5.mid")
    return files


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def run(name, pieces, cfg):
    events = sum(t.n_events for p in pieces for t in p.tracks)
    start = time.perf_counter()
    net = grow(Network.empty(), pieces, cfg)
    wall = time.perf_counter() - start
    n = net.synapses.n
    print(f"{name}: {len(pieces)} pieces, {events} events, {wall:.2f} s, {events / wall:,.0f} events/s, "
          f"{n:,} synapses ({n * BYTES_PER_SYNAPSE / 2**20:.1f} MiB at {BYTES_PER_SYNAPSE} B), "
          f"{int(net.goal.count):,} goal links, columns/layer {net.columns().tolist()}, "
          f"peak RSS {peak_rss_mib():,.0f} MiB, traces {trace_counts()}", flush=True)
    return net


def full(args) -> None:
    """The whole paper selection through the CLI's path, with the numbers to quote."""
    from jaxsnn_music.checkpoint import size_on_disk
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import selection_items
    from jaxsnn_music.resumable import memorize_corpus, network_counts

    cfg = load_config(args.preset, overrides=list(args.set))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"Python {platform.python_version()}; preset {cfg.preset}, chunk_pieces "
          f"{cfg.memorize.chunk_pieces}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        items = selection_items("paper", args.corpus)
        cache = ParseCache(args.cache_dir or Path(tmp) / "cache")
        loaded = load_corpus(items, cfg.encoding, cache=cache, progress=False)
        events = sum(p.n_events for p in loaded.pieces)
        print(f"parse: {loaded.seconds:.1f} s ({loaded.parsed} parsed, {loaded.cached} cached, "
              f"{len(loaded.skipped)} skipped), {len(loaded.pieces)} pieces, {events:,} events",
              flush=True)
        out = Path(args.out) if args.out else Path(tmp) / "checkpoint"
        report = memorize_corpus(loaded.pieces, cfg, out, restart=True)
        wall = time.perf_counter() - start
        size = size_on_disk(out)  # before the temporary folder goes
    counts = network_counts(report.network, cfg)
    print(f"learn: {report.learn_seconds:.1f} s in {report.chunks} chunks, "
          f"{events / report.learn_seconds:,.0f} events/s", flush=True)
    print(f"save: {report.save_seconds:.1f} s (progress steps and the result)")
    print(f"checkpoint: {size / 2**20:.1f} MiB; {counts['synapses']:,} synapses, "
          f"{counts['goal_links']:,} goal links, {counts['neurons']:,} neurons, columns/layer "
          f"{counts['columns']}")
    print(f"wall: {wall:.1f} s; peak RSS {peak_rss_mib():,.0f} MiB (parser processes "
          f"{peak_rss_mib(resource.RUSAGE_CHILDREN):,.0f} MiB)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.environ.get(
        "JAXSNN_MUSIC_PIANO_MIDI",
        Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "piano-midi"))
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="Only the whole paper selection.")
    parser.add_argument("--preset", default="default", help="--full: the preset.")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="--full: a config override (repeatable).")
    parser.add_argument("--cache-dir", default=None,
                        help="--full: parse cache (default: a fresh one, so parsing is timed cold).")
    parser.add_argument("--out", default=None, help="--full: keep the checkpoint here.")
    args = parser.parse_args()
    if args.full:
        full(args)
        return
    cfg = load_config("default")
    files = paper_selection(Path(args.corpus))
    start = time.perf_counter()
    pieces = [read_piece(f, cfg.encoding) for f in files[::len(files) // args.pieces][: args.pieces]]
    print(f"read {len(pieces)} files in {time.perf_counter() - start:.1f} s", flush=True)
    first = [dataclasses.replace(p, tracks=p.tracks[:1]) for p in pieces]
    run("warm-up (compiles)", first[:2], cfg)
    run(f"first track, {len(first)} pieces", first, cfg)
    run(f"all tracks, {len(pieces)} pieces", pieces, cfg)


if __name__ == "__main__":
    main()
