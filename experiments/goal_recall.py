"""Figure 3: goal-based (title-cued) recall, the paper's protocol and the whole corpus.

1. The paper's protocol (always the ``paper`` preset): ``recall.paper_runs`` times,
   memorize ``recall.paper_pieces`` random pieces (first track) in a fresh network,
   cue one by its title and score the pitch of its recall. The authors: 99.9 % mean
   over 50 recalls, 48 at 100 %.
2. The whole corpus (each ``--preset``): every piece of the paper selection in one
   network, every piece and track recalled from its title and scored: pitch, duration
   and onset (pacemaker-timed) accuracy.
3. With ``--capacity``: accuracy against the number of pieces stored in one network
   (``recall.capacity_sizes``, nested random subsets, each memorized afresh); with
   ``--capacity-unbounded`` also for the default preset without its weight bound.

Writes ``paper/`` (paper.json, paper_runs.csv, paper.png), ``whole-<preset>/``
(full.json, full_tracks.csv, ...), ``capacity-<preset>/`` and ``goal_recall.png``.

    python experiments/goal_recall.py [--quick] [--preset default paper] [--capacity]
                                      [--capacity-unbounded]
"""

from __future__ import annotations

import math
import sys

import numpy as np

import common

NAME = "goal_recall"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("default", "paper")
UNBOUNDED = {"network.w_max": math.inf}
"""The ablation of the default preset's weight bound: the paper's unbounded STDP."""


def add_arguments(parser) -> None:
    parser.add_argument("--capacity", action="store_true",
                        help="also accuracy against the number of stored pieces "
                             "(recall.capacity_sizes), for each preset")
    parser.add_argument("--capacity-unbounded", action="store_true",
                        help="also the capacity of the default preset without its weight bound "
                             "(network.w_max=inf, the paper's unbounded STDP)")
    parser.add_argument("--no-paper", action="store_true", help="skip the paper's protocol")


def run(ctx: common.Context) -> dict:
    from jaxsnn_music.evaluate import AUTHORS, run_capacity, run_full, run_paper

    result: dict = {"authors": AUTHORS}
    if not ctx.args.no_paper:
        cfg = ctx.config("paper")
        paper = run_paper(ctx.pieces(cfg), cfg, ctx.out / "paper", ctx.log)
        result["paper"] = {**paper["summary"], "seconds": paper["seconds"],
                           "imperfect": [{"title": r["title"], "pitch": r["pitch"]}
                                         for r in paper["runs"] if r["pitch"] < 1.0],
                           "pitch": [r["pitch"] for r in paper["runs"]]}
        s = result["paper"]
        ctx.log(f"paper protocol: {s['runs']} recalls, mean pitch {s['mean_pitch_accuracy']:.2%}, "
                f"{s['perfect_runs']} at 100 %")
    result["whole"], per_piece = {}, {}
    for preset in ctx.presets:
        cfg = ctx.config(preset)
        pieces = ctx.pieces(cfg)
        network = common.memorized(pieces, cfg)
        full = run_full(network, pieces, [], cfg, ctx.out / f"whole-{preset}", ctx.log, episodic=False)
        t = full["tracks"]
        result["whole"][preset] = {**t, "pieces": full["pieces"], "recall_seconds": full["recall_seconds"],
                                   "w_max": cfg.network.w_max}
        per_piece[preset] = _per_piece(ctx.out / f"whole-{preset}" / "full_tracks.csv")
        ctx.log(f"whole corpus, {preset}: {t['tracks']} tracks, {t['events']:,} events: pitch "
                f"{t['pitch_weighted']:.2%}, duration {t['duration_weighted']:.2%}, onset "
                f"{t.get('onset_weighted', float('nan')):.2%} ({full['recall_seconds']:.0f} s)")
    if ctx.args.capacity or ctx.args.capacity_unbounded:
        result["capacity"] = {}
        variants = [(p, p, {}) for p in ctx.presets] if ctx.args.capacity else []
        if ctx.args.capacity_unbounded:
            variants.append(("default, w_max=inf", "default", UNBOUNDED))
        for name, preset, extra in variants:
            cfg = ctx.config(preset, extra)
            where = ctx.out / ("capacity-" + name.replace(", ", "-").replace("=", ""))
            cap = run_capacity(ctx.pieces(cfg), cfg, where, ctx.log)
            result["capacity"][name] = [
                {**{k: r[k] for k in ("pieces", "tracks", "events", "pitch_weighted",
                                      "duration_weighted", "max_weight", "recall_seconds")},
                 "w_max": cfg.network.w_max} for r in cap["sizes"]]
    common.write_csv(ctx.out / "whole_pieces.csv",
                     [{"preset": p, **row} for p, rows in per_piece.items() for row in rows])
    plot(result, per_piece, ctx.out)
    parts = []
    if "paper" in result:
        parts.append(f"paper protocol {result['paper']['mean_pitch_accuracy']:.2%} "
                     f"({result['paper']['perfect_runs']}/{result['paper']['runs']} at 100 %)")
    parts += [f"whole corpus {p}: pitch {w['pitch_weighted']:.2%}, duration {w['duration_weighted']:.2%}"
              for p, w in result["whole"].items()]
    result["headline"] = "; ".join(parts)
    result["figures"] = [str(ctx.out / "goal_recall.png")]
    return result


def _per_piece(csv_path) -> list[dict]:
    """Event-weighted pitch and duration accuracy of every piece (over its tracks)."""
    import csv

    by: dict[str, list[dict]] = {}
    with open(csv_path) as f:
        for row in csv.DictReader(f):
            by.setdefault(row["title"], []).append(row)
    out = []
    for title, rows in by.items():
        events = np.array([float(r["events"]) for r in rows])
        out.append({"title": title, "events": int(events.sum()),
                    **{k: float((np.array([float(r[k]) for r in rows]) * events).sum()
                                / max(events.sum(), 1)) for k in ("pitch", "duration")}})
    return out


def plot(result: dict, per_piece: dict, out) -> None:
    plt = common.pyplot()
    panels = 1 + bool(per_piece) + ("capacity" in result)
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.5), squeeze=False)
    axes = list(axes[0])
    if "paper" in result:
        ax = axes.pop(0)
        pitch = np.array(result["paper"]["pitch"]) * 100
        ax.bar(np.arange(1, len(pitch) + 1), pitch, color="tab:blue", width=0.8)
        authors = result["authors"]["mean_pitch_accuracy"] * 100
        ax.axhline(authors, color="tab:red", ls="--", lw=1, label=f"authors' mean {authors:.1f} %")
        ax.set_ylim(min(90.0, pitch.min() - 2), 100.5)
        ax.set_xlabel("recall (5 pieces memorized each)")
        ax.set_ylabel("pitch accuracy (%)")
        ax.set_title(f"paper protocol: mean {pitch.mean():.2f} %, "
                     f"{int((pitch >= 100).sum())}/{len(pitch)} at 100 %", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    if per_piece:
        ax = axes.pop(0)
        colors = {"default": "tab:blue", "paper": "tab:orange"}
        for preset, rows in per_piece.items():
            for key, style in (("pitch", "-"), ("duration", ":")):
                values = np.sort([r[key] * 100 for r in rows])[::-1]
                w = result["whole"][preset][f"{key}_weighted"] * 100
                ax.plot(np.arange(1, len(values) + 1), values, style, color=colors.get(preset),
                        label=f"{preset}: {key}, {w:.2f} % of all events")
        ax.set_xlabel("pieces, best recalled first")
        ax.set_ylabel("accuracy per piece (%)")
        ax.set_ylim(-2, 102)
        ax.set_title(f"whole corpus in one network ({len(next(iter(per_piece.values())))} pieces)",
                     fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
    if "capacity" in result:
        ax = axes.pop(0)
        for name, rows in result["capacity"].items():
            label = name if "w_max" in name else f"{name} (w_max={rows[0]['w_max']:g})"
            line, = ax.plot([r["pieces"] for r in rows], [r["pitch_weighted"] * 100 for r in rows],
                            "o-", label=f"{label}: pitch")
            ax.plot([r["pieces"] for r in rows], [r["duration_weighted"] * 100 for r in rows], "s:",
                    ms=3, color=line.get_color(), label=f"{label}: duration")
        ax.set_xscale("log")
        ax.set_xlabel("pieces stored in one network")
        ax.set_ylabel("accuracy (%, of all stored events)")
        ax.set_ylim(-2, 102)
        ax.set_title("capacity: title-cued recall against pieces stored", fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    common.save_figure(fig, out / "goal_recall.png")


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
