"""Reproduce the paper's experiments, figure by figure, in one process.

Runs every experiment of ``experiments/`` (see ``experiments/common.py``), in
order, sharing parsed pieces, compiled functions and memorized networks, prints
a table of each one's wall time and headline numbers, and writes
``OUT/summary.json`` and ``OUT/summary.md``. ``--quick`` is a smoke run on a
slice of the corpus (CI runs it); without it, the whole paper selection (331
pieces), the paper's protocol (50 recalls) and the capacity curve.

    python experiments/reproduce.py [--quick] [--out results/reproduce] [--figures docs/figures]
    python experiments/reproduce.py --only goal_recall,tempo --set recall.seed=1

An experiment that fails is reported (with its traceback) and the others still
run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import traceback
from pathlib import Path

import common
import corpus_counts
import episodic_recall
import goal_recall
import network_growth
import recall_raster
import tempo
import tune_robustness
from jaxsnn_music.errors import UserError

EXPERIMENTS = (corpus_counts, network_growth, goal_recall, episodic_recall, tempo, recall_raster,
               tune_robustness)
FULL_ONLY = {"goal_recall": ["--capacity", "--capacity-unbounded"]}
"""Options an experiment gets in the full run only (too slow for --quick)."""


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="experiments/reproduce.py", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: a slice of the corpus, small protocols")
    p.add_argument("--out", type=Path, default=common.DEFAULT_OUT, help="results folder")
    p.add_argument("--only", default=None,
                   help=f"comma-separated experiments to run (of {', '.join(m.NAME for m in EXPERIMENTS)})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="config override passed to every experiment (repeatable)")
    p.add_argument("--piano-midi", type=Path, default=None, help="the piano-midi.de folder")
    p.add_argument("--figures", type=Path, default=None,
                   help="also copy every figure into this folder (e.g. docs/figures)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    return p.parse_args(argv)


def experiment_argv(module, args: argparse.Namespace) -> list[str]:
    argv = ["--out", str(args.out)]
    if args.quick:
        argv.append("--quick")
    else:
        argv += FULL_ONLY.get(module.NAME, [])
    for item in args.overrides:
        argv += ["--set", item]
    if args.piano_midi is not None:
        argv += ["--piano-midi", str(args.piano_midi)]
    if args.quiet:
        argv.append("--quiet")
    return argv


def table(summaries: dict) -> str:
    lines = ["| experiment | wall time | result |", "| --- | ---: | --- |"]
    for name, s in summaries.items():
        text = s.get("headline") or f"FAILED: {s.get('error', '?')}"
        lines.append(f"| {name} | {s.get('seconds', 0):.0f} s | {text} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = arguments(argv)
    chosen = EXPERIMENTS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(names) - {m.NAME for m in EXPERIMENTS})
        if unknown:
            print(f"error: unknown experiment(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        chosen = tuple(m for m in EXPERIMENTS if m.NAME in names)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summaries: dict[str, dict] = {}
    failed = False
    for module in chosen:
        argv_m = experiment_argv(module, args)
        start = time.perf_counter()
        try:
            summaries[module.NAME] = common.execute(module, argv_m)
        except Exception as exc:  # report it, run the others
            failed = True
            if isinstance(exc, UserError):  # a user's mistake (no corpus, a bad --set): one line
                print(f"error: {module.NAME}: {exc}", file=sys.stderr)
            else:
                traceback.print_exc()
            summaries[module.NAME] = {"experiment": module.NAME, "error": f"{type(exc).__name__}: {exc}",
                                      "seconds": time.perf_counter() - start,
                                      "command": common.command(module.NAME, argv_m)}
    total = time.perf_counter() - t0
    copied = []
    if args.figures is not None:
        args.figures.mkdir(parents=True, exist_ok=True)
        for s in summaries.values():
            for figure in s.get("figures", []):
                if Path(figure).is_file():
                    copied.append(str(shutil.copy(figure, args.figures / Path(figure).name)))
    summary = {"quick": args.quick, "total_seconds": total, "machine": common.machine(),
               "command": " ".join(["python", "experiments/reproduce.py", *(argv or sys.argv[1:])]),
               "figures_copied": copied, "experiments": summaries}
    common.write_json(args.out / "summary.json", summary)
    text = table(summaries)
    (args.out / "summary.md").write_text(
        f"# Reproduction summary\n\n{text}\n\nTotal wall time {total:.0f} s ({total / 60:.1f} min) on "
        f"{summary['machine']['cpu_model']} ({summary['machine']['cpu_count']} cores, "
        f"{summary['machine']['memory_gib']} GiB), jax {summary['machine']['jax']}.\n")
    print()
    print(text)
    print(f"\ntotal {total:.0f} s ({total / 60:.1f} min) -> {args.out / 'summary.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
