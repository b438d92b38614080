"""The benchmark suite: every number about memorization worth quoting, from one run.

    python benchmarks/suite.py                   # the full suite (minutes; prints a table)
    python benchmarks/suite.py --quick           # a few tiny pieces (seconds; a smoke test)
    python benchmarks/suite.py --json OUT.json   # also write every number as JSON
    python benchmarks/suite.py --only chunks     # some sections only (comma-separated)
    python benchmarks/suite.py --set network.w_max=9   # a config override (repeatable)

Sections (each a key of the JSON; the machine and versions are recorded under ``machine``):

- ``compile``: the whole corpus memorized twice in one call each: the first call
  compiles, the second is the steady state; then, with JAX's caches cleared, the
  learning scan of every chord-slot bucket is lowered and compiled ahead of time
  (``jit(...).lower(...).compile()``), so compile time is measured on its own.
- ``pieces``: throughput (note events per second) against the number of pieces
  (the first n of a fixed shuffle of the paper selection, every track), warm.
- ``lengths``: throughput against track length (the first 64 .. 4096 events of the
  corpus's longest tracks), warm, best of two.
- ``chunks``: the whole corpus memorized in 1, 6 and 42 chunks (chunk_pieces 331,
  64, 8): how much each chunk after the first costs (the merge into the store).
- ``corpus_run``: the CLI's path (:func:`~jaxsnn_music.resumable.memorize_corpus`:
  chunks and a checkpoint after each), learn and save time, checkpoint size.
- ``numpy``: the same pieces learned by a per-time-step NumPy loop over every
  neuron (``benchmarks/numpy_reference.py``), the ratio of throughputs, and a check
  that both give the same synapses (keys equal, weights within 1e-5 relative,
  weight bounds lifted so that no weight is hidden by a clip) and goal links.
- ``recall``: title-cued recall throughput, if :mod:`jaxsnn_music.recall` offers it.

Peak memory is the process's resident set high-water mark, reset at the start of
each section where Linux allows it (``/proc/self/clear_refs``), so each section
reports its own peak. Times are wall-clock seconds on this machine; nothing else
should run meanwhile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from numpy_reference import compare, learn_reference  # noqa: E402

from jaxsnn_music.checkpoint import size_on_disk  # noqa: E402
from jaxsnn_music.config import Config, load_config, parse_assignment  # noqa: E402
from jaxsnn_music.corpus.cache import ParseCache  # noqa: E402
from jaxsnn_music.corpus.load import load_corpus  # noqa: E402
from jaxsnn_music.corpus.sources import selection_items  # noqa: E402
from jaxsnn_music.events import Piece  # noqa: E402
from jaxsnn_music.resumable import memorize_corpus, network_counts  # noqa: E402
from jaxsnn_music.network import Network, grow, trace_counts  # noqa: E402
from jaxsnn_music.network.layout import batch_size, segment_pieces  # noqa: E402
from jaxsnn_music.network.learn import Learner, learn_batch  # noqa: E402
from jaxsnn_music.records import jsonable, machine  # noqa: E402

SECTIONS = ("compile", "pieces", "lengths", "chunks", "corpus_run", "numpy", "recall")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run measures; :data:`FULL` and :data:`QUICK` are the two plans."""

    overrides: dict[str, Any]
    pieces: tuple[int, ...]
    """Piece counts of the ``pieces`` section."""
    corpus_pieces: int | None
    """Pieces of the 'whole corpus' sections (None: all)."""
    first_events: int | None
    """Cut every track to its first events (None: whole tracks)."""
    lengths: tuple[int, ...]
    length_tracks: int
    chunk_pieces: tuple[int, ...]
    numpy_pieces: int
    numpy_events: int
    recall_pieces: int


FULL = Plan(overrides={}, pieces=(5, 10, 20, 50, 100, 200, 331), corpus_pieces=None,
            first_events=None, lengths=(64, 256, 1024, 4096), length_tracks=4,
            chunk_pieces=(331, 64, 8), numpy_pieces=32, numpy_events=128, recall_pieces=20)
# Small segments and batches, so that the few compilations are quick too.
QUICK = Plan(overrides={"network.segment_columns": 7, "network.batch_segments": 8},
             pieces=(1, 2, 3), corpus_pieces=3, first_events=16, lengths=(8, 16), length_tracks=2,
             chunk_pieces=(3, 1), numpy_pieces=2, numpy_events=12, recall_pieces=2)


# -- measuring ---------------------------------------------------------------------------

def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark of this process (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """This process's peak resident set since the last reset (or since it started)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()``'s result (its arrays finished) and its wall time."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start


def events_of(pieces: Sequence[Piece]) -> int:
    return sum(p.n_events for p in pieces)


def rate(events: int, seconds: float) -> float:
    return events / seconds if seconds > 0 else math.nan


# -- pieces --------------------------------------------------------------------------------

def cut(pieces: Sequence[Piece], n: int | None) -> list[Piece]:
    """Every track of every piece cut to its first ``n`` events (None: unchanged)."""
    if n is None:
        return list(pieces)
    return [dataclasses.replace(p, tracks=tuple(t.head(n) for t in p.tracks)) for p in pieces]


def shuffled(pieces: Sequence[Piece]) -> list[Piece]:
    """A fixed shuffle, so that the first n pieces are a fair sample for every n."""
    order = list(range(len(pieces)))
    random.Random(0).shuffle(order)
    return [pieces[i] for i in order]


def spread(pieces: Sequence[Piece], n: int) -> list[Piece]:
    """``n`` pieces evenly spread over the selection (composers in corpus order)."""
    step = max(1, len(pieces) // max(n, 1))
    return list(pieces[::step][:n])


def longest_tracks(pieces: Sequence[Piece], n: int) -> list[Piece]:
    """The ``n`` longest tracks of the corpus, each as a one-track piece."""
    tracks = sorted(((t.n_events, p.title, i, p) for p in pieces for i, t in enumerate(p.tracks)),
                    key=lambda x: (-x[0], x[1], x[2]))[:n]
    return [dataclasses.replace(p, title=f"{p.title}#{i}", tracks=(p.tracks[i],))
            for _, _, i, p in tracks]


def memorize_chunks(pieces: Sequence[Piece], cfg: Config, chunk: int) -> tuple[Network, list[float]]:
    """What a memorize run computes (one :func:`memorize` per chunk), without checkpoints."""
    network, seconds = Network.empty(), []
    for lo in range(0, len(pieces), chunk):
        network, wall = timed(lambda: grow(network, pieces[lo:lo + chunk], cfg))
        seconds.append(wall)
    return network, seconds


# -- sections ------------------------------------------------------------------------------

def section_compile(pieces: list[Piece], cfg: Config, plan: Plan) -> dict[str, Any]:
    events = events_of(pieces)
    before = trace_counts()
    _, first = timed(lambda: grow(Network.empty(), pieces, cfg))
    traces = {k: v - before.get(k, 0) for k, v in trace_counts().items() if v != before.get(k, 0)}
    _, second = timed(lambda: grow(Network.empty(), pieces, cfg))
    # Ahead of time, per chord-slot bucket, with the shapes learning uses.
    jax.clear_caches()
    ncfg = cfg.network
    learner = Learner.from_config(ncfg)
    windows = ncfg.segment_columns + ncfg.n_delays
    buckets = []
    for slots, segments in segment_pieces(pieces, ncfg).items():
        size = batch_size(ncfg, slots)
        args = (jnp.zeros((size, windows, slots), jnp.int32), jnp.zeros((size, windows, 1), jnp.int32),
                jnp.zeros((size, windows), jnp.int32),
                jnp.zeros((size, windows, ncfg.steps_per_window), bool),
                jnp.zeros((size, windows, ncfg.steps_per_window), bool))
        t0 = time.perf_counter()
        lowered = learn_batch.lower(learner, *args)
        t1 = time.perf_counter()
        lowered.compile()
        t2 = time.perf_counter()
        buckets.append({"slots": slots, "batch": size, "segments": segments.n,
                        "batches": -(-segments.n // size), "lower_s": t1 - t0, "compile_s": t2 - t1})
    # Everything else compiles again too: warm up, so the sections after this one are warm.
    grow(Network.empty(), pieces, cfg)
    return {"pieces": len(pieces), "events": events, "first_call_s": first, "second_call_s": second,
            "compile_estimate_s": first - second, "traces_first_call": traces,
            "events_per_s_warm": rate(events, second), "events_per_s_cold": rate(events, first),
            "learn_batch_aot": buckets,
            "learn_batch_compile_s": sum(b["compile_s"] + b["lower_s"] for b in buckets)}


def section_pieces(pieces: list[Piece], cfg: Config, plan: Plan) -> list[dict[str, Any]]:
    rows = []
    for n in plan.pieces:
        chosen = pieces[:n]
        _reset_peak_rss()
        network, wall = timed(lambda: grow(Network.empty(), chosen, cfg))
        counts = network_counts(network, cfg)
        rows.append({"pieces": len(chosen), "tracks": sum(len(p.tracks) for p in chosen),
                     "events": events_of(chosen), "seconds": wall,
                     "events_per_s": rate(events_of(chosen), wall), "synapses": counts["synapses"],
                     "goal_links": counts["goal_links"], "neurons": counts["neurons"],
                     "peak_rss_mib": peak_rss_mib()})
    return rows


def section_lengths(pieces: list[Piece], cfg: Config, plan: Plan) -> list[dict[str, Any]]:
    tracks = longest_tracks(pieces, plan.length_tracks)
    rows = []
    for n in plan.lengths:
        chosen = cut(tracks, n)
        # Best of two: the first may compile the title raster for a new length bucket.
        walls = [timed(lambda: grow(Network.empty(), chosen, cfg))[1] for _ in range(2)]
        rows.append({"events_per_track": n, "tracks": len(chosen), "events": events_of(chosen),
                     "seconds": min(walls), "events_per_s": rate(events_of(chosen), min(walls))})
    return rows


def section_chunks(pieces: list[Piece], cfg: Config, plan: Plan) -> list[dict[str, Any]]:
    rows = []
    for chunk in plan.chunk_pieces:
        _reset_peak_rss()
        network, seconds = memorize_chunks(pieces, cfg, chunk)
        rows.append({"chunk_pieces": chunk, "chunks": len(seconds), "events": events_of(pieces),
                     "learn_s": sum(seconds), "events_per_s": rate(events_of(pieces), sum(seconds)),
                     "first_chunk_s": seconds[0], "last_chunk_s": seconds[-1],
                     "median_chunk_s": statistics.median(seconds),
                     "synapses": network.synapses.n, "peak_rss_mib": peak_rss_mib()})
    return rows


def section_corpus_run(pieces: list[Piece], cfg: Config, plan: Plan) -> dict[str, Any]:
    _reset_peak_rss()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "checkpoint"
        start = time.perf_counter()
        report = memorize_corpus(pieces, cfg, out, restart=True)
        wall = time.perf_counter() - start
        size = size_on_disk(out)
    counts = network_counts(report.network, cfg)
    synapse_bytes = report.network.synapses.nbytes
    return {"pieces": len(pieces), "events": events_of(pieces), "chunk_pieces": cfg.memorize.chunk_pieces,
            "chunks": report.chunks, "learn_s": report.learn_seconds, "save_s": report.save_seconds,
            "wall_s": wall, "events_per_s": rate(events_of(pieces), report.learn_seconds),
            "checkpoint_mib": size / 2**20, "synapse_table_mib": synapse_bytes / 2**20,
            "synapses": counts["synapses"], "goal_links": counts["goal_links"],
            "neurons": counts["neurons"], "columns": counts["columns"], "peak_rss_mib": peak_rss_mib()}


def section_numpy(pieces: list[Piece], cfg: Config, plan: Plan) -> dict[str, Any]:
    # Bounds lifted, so that the check compares every weight unclipped (a clip is one pass
    # over the store: it does not change the timing).
    cfg = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, w_min=-math.inf,
                                                               w_max=math.inf))
    chosen = cut(spread(pieces, plan.numpy_pieces), plan.numpy_events)
    events = events_of(chosen)
    reference, numpy_s = timed(lambda: learn_reference(chosen, cfg.network,
                                                       cfg.encoding.n_duration_classes))
    # Twice: the first call may compile (a title-raster length bucket it has not seen).
    network, jax_cold = timed(lambda: grow(Network.empty(), chosen, cfg))
    network, jax_s = timed(lambda: grow(Network.empty(), chosen, cfg))
    agreement = compare(reference, network)
    return {"pieces": len(chosen), "events_per_track": plan.numpy_events,
            "tracks": sum(len(p.tracks) for p in chosen), "events": events,
            "numpy_steps": reference.steps, "numpy_s": numpy_s, "numpy_events_per_s": rate(events, numpy_s),
            "jax_s": jax_s, "jax_first_call_s": jax_cold, "jax_events_per_s": rate(events, jax_s),
            "ratio": rate(events, jax_s) / rate(events, numpy_s), "weight_bounds": "lifted",
            **agreement}


def section_recall(pieces: list[Piece], cfg: Config, plan: Plan) -> dict[str, Any]:
    try:
        from jaxsnn_music.recall import recall_titles
    except ImportError as exc:
        return {"available": False, "note": f"recall: not available yet ({exc})"}
    chosen = spread(pieces, plan.recall_pieces)
    network = grow(Network.empty(), chosen, cfg)
    events = int(np.asarray(network.track_lengths).sum())
    try:
        _, first = timed(lambda: recall_titles(network, None, cfg))
        recalled, second = timed(lambda: recall_titles(network, None, cfg))
    except Exception as exc:  # recall is young: report its failure, keep the other numbers
        return {"available": True, "error": f"{type(exc).__name__}: {exc}"}
    out = {"available": True, "pieces": len(chosen), "events": events, "first_call_s": first,
           "second_call_s": second, "events_per_s": rate(events, second)}
    try:
        from jaxsnn_music.recall import score_piece, summarize
        by_title = {p.title: p for p in chosen}
        summary = summarize([s for r in recalled for s in score_piece(by_title[r.title], r, cfg)])
        out["pitch_accuracy"] = summary.get("pitch_weighted")
    except Exception as exc:
        out["score_error"] = f"{type(exc).__name__}: {exc}"
    return out


# -- the table -----------------------------------------------------------------------------

def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float):
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}" if abs(x) < 0.01 else f"{x:.2f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(title: str, rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    m = results["machine"]
    parts = [f"machine: {m['cpu_model'] or m['machine']}, {m['cpu_count']} CPUs, {m['memory_gib']} GiB; "
             f"jax {m['jax']} / jaxlib {m['jaxlib']} on {m['backend']} ({len(m['devices'])} device(s), "
             f"GPU: {'yes' if m['gpu'] else 'none'}); preset {results['preset']}, plan {results['plan']}; "
             f"load average {m['load_average_at_start'][0]:.1f} at start, "
             f"{m.get('load_average_at_end', [math.nan])[0]:.1f} at end",
             f"corpus: {results['corpus']['pieces']} pieces, {results['corpus']['events']:,} events "
             f"(loaded in {results['corpus']['load_s']:.1f} s)"]
    if "compile" in results:
        c = results["compile"]
        parts.append(table("compile vs run (whole corpus, one memorize call)", [c],
                           ["pieces", "events", "first_call_s", "second_call_s", "compile_estimate_s",
                            "events_per_s_warm", "learn_batch_compile_s"]))
        parts.append(table("learn_batch, ahead-of-time per chord-slot bucket", c["learn_batch_aot"],
                           ["slots", "batch", "segments", "batches", "lower_s", "compile_s"]))
    if "pieces" in results:
        parts.append(table("throughput vs pieces (warm, one chunk)", results["pieces"],
                           ["pieces", "tracks", "events", "seconds", "events_per_s", "synapses",
                            "goal_links", "peak_rss_mib"]))
    if "lengths" in results:
        parts.append(table("throughput vs track length (longest tracks, warm)", results["lengths"],
                           ["events_per_track", "tracks", "events", "seconds", "events_per_s"]))
    if "chunks" in results:
        parts.append(table("whole corpus in chunks (memorize per chunk, no checkpoints)",
                           results["chunks"], ["chunk_pieces", "chunks", "learn_s", "events_per_s",
                                               "first_chunk_s", "median_chunk_s", "last_chunk_s",
                                               "peak_rss_mib"]))
    if "corpus_run" in results:
        parts.append(table("corpus run (memorize_corpus: chunks + checkpoints)", [results["corpus_run"]],
                           ["chunks", "learn_s", "save_s", "events_per_s", "checkpoint_mib",
                            "synapse_table_mib", "synapses", "goal_links", "peak_rss_mib"]))
    if "numpy" in results:
        n = results["numpy"]
        parts.append(table(f"JAX vs per-step NumPy ({n['pieces']} pieces, first {n['events_per_track']} "
                           f"events of each track)", [n],
                           ["events", "numpy_s", "numpy_events_per_s", "jax_s", "jax_events_per_s",
                            "ratio", "same_keys", "same_links", "max_rel_diff", "agree"]))
    if "recall" in results:
        r = results["recall"]
        if not r.get("available"):
            parts.append(r["note"])
        elif "error" in r:
            parts.append(f"recall: failed ({r['error']})")
        else:
            parts.append(table("title-cued recall (recall_titles, every track)", [r],
                               ["pieces", "events", "first_call_s", "second_call_s", "events_per_s",
                                "pitch_accuracy"]))
    return "\n\n".join(parts)


# -- main ----------------------------------------------------------------------------------

def run(plan_name: str, only: Sequence[str], preset: str, corpus: str | None,
        overrides: dict[str, Any] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    plan = QUICK if plan_name == "quick" else FULL
    cfg = load_config(preset, overrides={**plan.overrides, **(overrides or {})})
    results: dict[str, Any] = {"plan": plan_name, "preset": preset, "sections": list(only),
                               "machine": machine(),
                               "config": {"network": dataclasses.asdict(cfg.network),
                                          "memorize": dataclasses.asdict(cfg.memorize)}}
    start = time.perf_counter()
    loaded = load_corpus(selection_items("paper", corpus), cfg.encoding, cache=ParseCache(),
                         progress=False)
    pieces = cut(loaded.pieces, plan.first_events)
    results["corpus"] = {"selection": "paper", "pieces": len(pieces), "events": events_of(pieces),
                         "load_s": time.perf_counter() - start}
    whole = shuffled(pieces)[: plan.corpus_pieces] if plan.corpus_pieces else pieces
    jobs = {"compile": lambda: section_compile(whole, cfg, plan),
            "pieces": lambda: section_pieces(shuffled(pieces), cfg, plan),
            "lengths": lambda: section_lengths(loaded.pieces, cfg, plan),
            "chunks": lambda: section_chunks(whole, cfg, plan),
            "corpus_run": lambda: section_corpus_run(whole, cfg, plan),
            "numpy": lambda: section_numpy(loaded.pieces, cfg, plan),
            "recall": lambda: section_recall(pieces, cfg, plan)}
    if "compile" not in only:
        # The compile section leaves everything compiled; without it, compile here, untimed.
        _, seconds = timed(lambda: grow(Network.empty(), whole, cfg))
        log(f"[warm-up: {seconds:.0f} s]")
    for name in SECTIONS:
        if name in only:
            t0 = time.perf_counter()
            results[name] = jobs[name]()
            log(f"[{name}: {time.perf_counter() - t0:.0f} s]")
    results["total_s"] = time.perf_counter() - start
    # Other processes on the machine skew every time above: this says whether there were any.
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    return results


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few tiny pieces (seconds)")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the results here")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default: all of {', '.join(SECTIONS)})")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--corpus", default=None, help="the piano-midi.de folder (default: as the CLI)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, e.g. --set network.w_max=9 (repeatable)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)} (choose from {', '.join(SECTIONS)})")
    overrides = dict(parse_assignment(text) for text in args.overrides)
    results = run("quick" if args.quick else "full", only, args.preset, args.corpus, overrides,
                  log=lambda line: print(line, file=sys.stderr, flush=True))
    print(report(results), flush=True)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(jsonable(results), indent=1, default=str,
                                               allow_nan=False))
    return results


if __name__ == "__main__":
    main()
