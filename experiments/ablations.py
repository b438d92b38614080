"""A sweep ledger -> the ablation table and plots of the report.

Reads the JSONL ledger a local sweep wrote (``jaxsnn-music sweep ... --ledger
LEDGER``; see :mod:`jaxsnn_music.sweep.ledger`) and writes, into ``--out``
(default: ``LEDGER`` without ``.jsonl`` plus ``-report/``):

- ``ablation.md``: per swept parameter, the metric's mean, standard deviation
  and number of trials for each value (averaged over every other parameter:
  the marginal effect in a full grid), its difference to the parameter's
  reference value, then the best trials and the crashed ones;
- ``ablation.csv``: the same table, one row per (parameter, value);
- ``trials.csv``: one row per finished trial, swept parameters then metrics;
- ``PARAM.png``: the metric against each swept parameter (a line for numeric
  values, bars otherwise), one line per value of ``--group`` if given
  (``--group trial.preset`` for the capacity sweep).

Usage::

    python experiments/ablations.py results/sweeps/ablations.jsonl
    python experiments/ablations.py results/sweeps/capacity.jsonl --group trial.preset

The metric is the sweep's (recorded in the ledger) unless ``--metric`` names
another. Only finished and early-stopped trials count; crashed ones are listed.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from pathlib import Path
from typing import Any

from jaxsnn_music.sweep.ledger import CRASHED, FINISHED, STOPPED, read_ledger, trial_states


def _key(value: Any) -> tuple:
    """Sort numbers numerically, everything else by its text (None first)."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _fmt(x: Any, digits: int = 4) -> str:
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return str(x)
        if x.is_integer() and abs(x) < 1e12:
            return str(int(x))
        return f"{x:.{digits}g}"
    return str(x)


def load(ledger: Path, metric: str | None) -> dict[str, Any]:
    """The finished trials of a ledger, which parameters vary, and the metric to report."""
    entries = read_ledger(ledger)
    if not entries:
        raise SystemExit(f"error: {ledger}: no ledger entries (no such file, or empty)")
    sessions = [e for e in entries if e["event"] == "session"]
    states = trial_states(entries)
    done = [s for s in states.values() if s.status in (FINISHED, STOPPED)]
    crashed = [s for s in states.values() if s.status == CRASHED]
    goal = (sessions[-1].get("goal") if sessions else None) or "maximize"
    metric = metric or (sessions[-1].get("metric") if sessions else None)
    numeric_metrics = sorted({k for s in done for k, v in s.metrics.items()
                              if isinstance(v, (int, float)) and not isinstance(v, bool)})
    if metric is None:
        if not numeric_metrics:
            raise SystemExit(f"error: {ledger}: no finished trial has a numeric metric")
        metric = numeric_metrics[0]
    if done and metric not in numeric_metrics:
        raise SystemExit(f"error: {ledger}: no finished trial has the metric {metric!r} "
                         f"(metrics: {', '.join(numeric_metrics) or 'none'})")
    names = sorted({k for s in states.values() for k in s.params})
    swept = [n for n in names if len({repr(s.params.get(n)) for s in done}) > 1]
    return {"done": done, "crashed": crashed, "metric": metric, "goal": goal, "swept": swept,
            "metrics": numeric_metrics, "name": (sessions[-1].get("name") if sessions else None)
            or ledger.stem}


def marginals(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Per swept parameter and value: mean, std and count of the metric, and the change
    from the reference value (the parameter's first value in sorted order)."""
    metric, rows = data["metric"], []
    for param in data["swept"]:
        groups: dict[str, list[float]] = {}
        values: dict[str, Any] = {}
        for s in data["done"]:
            if metric in s.metrics:
                v = s.params.get(param)
                groups.setdefault(repr(v), []).append(float(s.metrics[metric]))
                values[repr(v)] = v
        ordered = sorted(groups, key=lambda r: _key(values[r]))
        if not ordered:
            continue
        reference = ordered[0]
        means = {r: statistics.fmean(groups[r]) for r in ordered}
        for r in ordered:
            xs = groups[r]
            rows.append({"parameter": param, "value": values[r], "mean": means[r],
                         "std": statistics.stdev(xs) if len(xs) > 1 else 0.0, "n": len(xs),
                         "delta": means[r] - means[reference], "reference": values[reference]})
    return rows


def write_tables(data: dict[str, Any], rows: list[dict[str, Any]], out: Path) -> None:
    metric, swept = data["metric"], data["swept"]
    with (out / "ablation.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["parameter", "value", "mean", "std", "n", "delta",
                                               "reference"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with (out / "trials.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["trial", "status", *swept, *data["metrics"], "wall_s"])
        for s in data["done"]:
            writer.writerow([s.name, s.status, *(s.params.get(p) for p in swept),
                             *(s.metrics.get(m, "") for m in data["metrics"]), s.wall_s])

    lines = [f"# Ablations: {data['name']}", "",
             f"Metric: `{metric}` ({data['goal']}); {len(data['done'])} finished trial(s), "
             f"{len(data['crashed'])} crashed. Each value's mean is taken over every other "
             f"parameter's values; Δ is the change from the first value listed.", ""]
    for param in swept:
        lines += [f"## `{param}`", "", f"| value | mean {metric} | std | n | Δ |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for r in (r for r in rows if r["parameter"] == param):
            sign = "+" if r["delta"] >= 0 else ""
            delta = "" if r["value"] == r["reference"] else sign + _fmt(r["delta"])
            lines.append(f"| {_fmt(r['value'])} | {_fmt(r['mean'])} | {_fmt(r['std'])} | {r['n']} "
                         f"| {delta} |")
        lines.append("")
    scored = [s for s in data["done"] if metric in s.metrics]
    best = sorted(scored, key=lambda s: s.metrics[metric], reverse=data["goal"] == "maximize")[:10]
    if best:
        lines += ["## Best trials", "", f"| trial | {metric} | " + " | ".join(f"`{p}`" for p in swept) + " |",
                  "| --- | ---: |" + " --- |" * len(swept)]
        for s in best:
            lines.append(f"| {s.name} | {_fmt(s.metrics[metric])} | "
                         + " | ".join(_fmt(s.params.get(p)) for p in swept) + " |")
        lines.append("")
    if data["crashed"]:
        lines += ["## Crashed trials", "", "| trial | error |", "| --- | --- |"]
        lines += [f"| {s.name} | {(s.error or '').replace('|', '/')} |" for s in data["crashed"]]
        lines.append("")
    (out / "ablation.md").write_text("\n".join(lines))


def plot(data: dict[str, Any], out: Path, group: str | None) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric, written = data["metric"], []
    scored = [s for s in data["done"] if metric in s.metrics]
    groups = sorted({repr(s.params.get(group)) for s in scored}) if group else ["all"]
    for param in data["swept"]:
        if param == group:
            continue
        fig, ax = plt.subplots(figsize=(5, 3.5))
        values = sorted({repr(s.params.get(param)): s.params.get(param) for s in scored}.values(),
                        key=_key)
        numeric = _numeric(values)
        width = 0.8 / len(groups)
        for g, name in enumerate(groups):
            members = [s for s in scored if not group or repr(s.params.get(group)) == name]
            means, stds = [], []
            for v in values:
                xs = [float(s.metrics[metric]) for s in members if s.params.get(param) == v]
                means.append(statistics.fmean(xs) if xs else math.nan)
                stds.append(statistics.stdev(xs) if len(xs) > 1 else 0.0)
            label = f"{group}={name.strip(chr(39))}" if group else None
            if numeric:
                ax.errorbar(values, means, yerr=stds, marker="o", capsize=3, label=label)
            else:
                xs = [i + (g - (len(groups) - 1) / 2) * width for i in range(len(values))]
                ax.bar(xs, means, width=width, yerr=stds, capsize=3, label=label)
        if not numeric:
            ax.set_xticks(range(len(values)), [_fmt(v) for v in values])
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} vs {param}", fontsize=10)
        if group:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{param.replace('/', '_')}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ledger", type=Path, help="the sweep's JSONL ledger")
    parser.add_argument("--metric", default=None, help="metric to report (default: the sweep's)")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    parser.add_argument("--group", default=None, help="a swept parameter to draw one line/bar per value of")
    args = parser.parse_args(argv)
    data = load(args.ledger, args.metric)
    if args.group and args.group not in data["swept"]:
        raise SystemExit(f"error: --group {args.group!r} is not a swept parameter "
                         f"(swept: {', '.join(data['swept']) or 'none'})")
    out = args.out or args.ledger.with_name(args.ledger.stem + "-report")
    out.mkdir(parents=True, exist_ok=True)
    rows = marginals(data)
    write_tables(data, rows, out)
    pngs = plot(data, out, args.group)
    print(f"{len(data['done'])} trial(s), metric {data['metric']}: {out / 'ablation.md'}, "
          f"{out / 'ablation.csv'}, {out / 'trials.csv'}, {len(pngs)} plot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
