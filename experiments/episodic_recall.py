"""Figure 4: episodic recall. Which piece does a fragment come from, and where?

1. A substantial sample (each ``--preset``): the paper selection is split at random
   into memorized pieces and ``--held-out-share`` held-out ones; the memorized ones go
   into one network. ``recall.fragments_per_length`` fragments per length
   (``recall.fragment_lengths``) at random positions of memorized and of held-out
   pieces are identified (``jaxsnn_music.evaluate.episodic_protocol``). Reported:
   top-1 accuracy against fragment length, memorized against held-out (a held-out
   fragment must come back *unknown*), and against the fragment's position inside
   its track (first, middle, last third).
2. The paper's setting (``paper`` preset; MODEL.md section 4): 20 memorized pieces,
   20 fragments of them of 9 to 26 notes and 10 fragments of 13 to 43 notes of
   unlearned pieces; each identified, and the piece continued after the fragment
   (also with the weights bounded as in the ``default`` preset). The authors showed
   these without a summary accuracy.

Writes ``episodic-<preset>/`` (fragments.csv, by_length.csv, by_position.csv),
``paper_setting.csv`` and ``episodic_recall.png``.

    python experiments/episodic_recall.py [--quick] [--preset default] [--held-out-share 0.1]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import common

NAME = "episodic_recall"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("default",)
THIRDS = ("start", "middle", "end")
PAPER_SETTING = {"memorized_pieces": 20, "memorized_fragments": 20, "memorized_lengths": (9, 26),
                 "unlearned_fragments": 10, "unlearned_lengths": (13, 43)}
"""The authors' episodic demonstration (MODEL.md section 4)."""
HELD_OUT_SHARE = 0.1
QUICK_HELD_OUT_SHARE = 0.25
QUICK_PAPER_SETTING = {"memorized_pieces": 6, "memorized_fragments": 4, "unlearned_fragments": 2}


def add_arguments(parser) -> None:
    parser.add_argument("--held-out-share", type=float, default=None,
                        help=f"share of the corpus held out (not memorized) for unknown fragments "
                             f"(default {HELD_OUT_SHARE}; {QUICK_HELD_OUT_SHARE} with --quick)")
    parser.add_argument("--no-paper-setting", action="store_true",
                        help="skip the authors' 20 + 10 fragment demonstration")


def outcome(found, title: str) -> str:
    """``correct`` (the true title wins alone), ``tie`` (among tied winners), ``wrong``, ``unknown``
    (the outcomes of ``episodic_protocol``)."""
    if found.unknown:
        return "unknown"
    if title in found.ties:
        return "correct" if len(found.ties) == 1 else "tie"
    return "wrong"


def _shares(rows: list[dict]) -> dict:
    n = len(rows)

    def share(*what):
        return sum(r["outcome"] in what for r in rows) / n if n else None

    return {"fragments": n, "top1": share("correct", "tie"), "top1_alone": share("correct"),
            "tie": share("tie"), "wrong": share("wrong"), "unknown": share("unknown")}


def sample(ctx: common.Context, preset: str) -> dict:
    from jaxsnn_music.evaluate import episodic_protocol
    from jaxsnn_music.recall.index import NetworkIndex

    cfg = ctx.config(preset)
    pieces = ctx.pieces(cfg)
    share = ctx.args.held_out_share
    share = (QUICK_HELD_OUT_SHARE if ctx.quick else HELD_OUT_SHARE) if share is None else share
    held_n = max(1, int(round(share * len(pieces))))
    memorized, held = common.split(pieces, held_n, cfg.recall.seed)
    network = common.memorized(memorized, cfg)
    t0 = time.perf_counter()
    ep = episodic_protocol(network, memorized, held, cfg, NetworkIndex(network, cfg), ctx.log)
    seconds = time.perf_counter() - t0
    by_title = {p.title: p for p in pieces}
    rows = ep["fragments"]
    for r in rows:
        n = by_title[r["title"]].tracks[r["track"]].n_events
        r["track_events"] = n
        r["position"] = r["start"] / max(n - r["length"], 1)
        r["third"] = THIRDS[min(int(r["position"] * len(THIRDS)), len(THIRDS) - 1)]
    by_position = []
    for kind in ("memorized", "held_out"):
        for third in THIRDS:
            for group, test in (("all", lambda r: True),
                                ("short", lambda r: r["length"] <= 8),
                                ("long", lambda r: r["length"] > 8)):
                part = [r for r in rows if r["kind"] == kind and r["third"] == third and test(r)]
                by_position.append({"kind": kind, "third": third, "lengths": group, **_shares(part)})
    where = ctx.out / f"episodic-{preset}"
    where.mkdir(exist_ok=True)
    common.write_csv(where / "fragments.csv", rows)
    common.write_csv(where / "by_length.csv", ep["by_length"])
    common.write_csv(where / "by_position.csv", by_position)
    return {"memorized_pieces": len(memorized), "held_out_pieces": len(held),
            "summary": ep["summary"], "by_length": ep["by_length"], "by_position": by_position,
            "seconds": seconds}


def paper_setting(ctx: common.Context) -> dict:
    """The authors' demonstration: 20 learned pieces, 20 + 10 fragments, identified and continued.

    Run with the ``paper`` preset, and the continuation also with the paper preset's weights
    bounded as the ``default`` preset bounds them (``network.w_max``): the paper's unbounded
    sums of shared transitions can outweigh the title after a replayed fragment."""
    from jaxsnn_music.config import load_config
    from jaxsnn_music.recall.episodic import Fragment, identify
    from jaxsnn_music.evaluate import sample_fragments
    from jaxsnn_music.recall.index import NetworkIndex

    setting = {**PAPER_SETTING, **(QUICK_PAPER_SETTING if ctx.quick else {})}
    cfg = ctx.config("paper")
    w_max = load_config("default").network.w_max
    variants = {"paper": cfg, f"paper, w_max={w_max:g}": ctx.config("paper", {"network.w_max": w_max})}
    pieces = ctx.pieces(cfg)
    rng = np.random.default_rng(cfg.recall.seed + 3)
    chosen = set(rng.choice(len(pieces), setting["memorized_pieces"], replace=False).tolist())
    learned = [p for i, p in enumerate(pieces) if i in chosen]
    unlearned = [p for i, p in enumerate(pieces) if i not in chosen]
    networks = {}
    for name, c in variants.items():
        network = common.memorized(learned, c)
        networks[name] = (network, NetworkIndex(network, c))
    rows = []
    for kind, source, count, (lo, hi) in (
            ("memorized", learned, setting["memorized_fragments"], setting["memorized_lengths"]),
            ("unlearned", unlearned, setting["unlearned_fragments"], setting["unlearned_lengths"])):
        lengths = rng.integers(lo, hi + 1, size=count).tolist()
        for length, piece, layer, start in sample_fragments(source, lengths, 1, rng):
            fragment = Fragment.from_track(piece.tracks[layer], start, length)
            row = {"kind": kind, "title": piece.title, "length": fragment.n_events, "start": start}
            for name, c in variants.items():
                network, host = networks[name]
                found = identify(network, fragment, c, host)
                if name == "paper":
                    row.update({"outcome": outcome(found, piece.title), "found": found.title,
                                "score": found.best.score if found.best else 0.0})
                cont, accuracy = found.continuation, None
                if cont is not None and outcome(found, piece.title) == "correct":
                    stored = piece.tracks[found.best.layer].chords()[cont.start: cont.start + cont.n_events]
                    accuracy = float(np.mean([a == b for a, b in zip(stored, cont.chords())]))
                    row["continuation_events"] = cont.n_events
                row[f"continuation_pitch ({name})"] = accuracy
            rows.append(row)
    common.write_csv(ctx.out / "paper_setting.csv", rows)
    mem = [r for r in rows if r["kind"] == "memorized"]
    unl = [r for r in rows if r["kind"] == "unlearned"]
    continuation = {}
    for name in variants:
        values = [r[f"continuation_pitch ({name})"] for r in mem]
        values = [v for v in values if v is not None]
        continuation[name] = {"mean": float(np.mean(values)) if values else None,
                              "perfect": sum(v >= 1.0 for v in values), "continued": len(values)}
    return {"setting": setting, "fragments": rows, "min_score": cfg.recall.min_score,
            "continuation_events": cfg.recall.continuation_events,
            "memorized_correct": sum(r["outcome"] == "correct" for r in mem),
            "memorized_tie": sum(r["outcome"] == "tie" for r in mem), "memorized": len(mem),
            "unlearned_unknown": sum(r["outcome"] == "unknown" for r in unl), "unlearned": len(unl),
            "continuation_pitch": continuation}


def run(ctx: common.Context) -> dict:
    result: dict = {"samples": {}}
    for preset in ctx.presets:
        s = result["samples"][preset] = sample(ctx, preset)
        e = s["summary"]
        ctx.log(f"{preset}: {s['memorized_pieces']} memorized / {s['held_out_pieces']} held out; "
                f"top-1 {e['top1']:.1%} of {e['memorized_fragments']} memorized fragments, "
                f"held-out called known {e['false_known_rate'] or 0:.1%} ({s['seconds']:.0f} s)")
    if not ctx.args.no_paper_setting:
        p = result["paper_setting"] = paper_setting(ctx)
        ctx.log(f"paper setting: {p['memorized_correct']}/{p['memorized']} learned fragments "
                f"identified, {p['unlearned_unknown']}/{p['unlearned']} unlearned called unknown; "
                "continuation pitch " + ", ".join(f"{k} {v['mean'] or 0:.1%}"
                                                  for k, v in p["continuation_pitch"].items()))
    plot(result, ctx.out)
    parts = []
    for preset, s in result["samples"].items():
        top = {r["length"]: r["top1_alone"] for r in s["by_length"] if r["kind"] == "memorized"}
        parts.append(f"{preset}: top-1 (alone) by length " +
                     "/".join(f"{k}:{v:.0%}" for k, v in top.items()) +
                     f", held-out false known {s['summary']['false_known_rate'] or 0:.1%}")
    if "paper_setting" in result:
        p = result["paper_setting"]
        parts.append(f"paper setting {p['memorized_correct']}/{p['memorized']} identified, "
                     f"{p['unlearned_unknown']}/{p['unlearned']} unknown, continued with pitch "
                     + " / ".join(f"{v['mean'] or 0:.0%} ({k})" for k, v in p["continuation_pitch"].items()))
    result["headline"] = "; ".join(parts)
    result["figures"] = [str(ctx.out / "episodic_recall.png")]
    return result


def plot(result: dict, out) -> None:
    plt = common.pyplot()
    panels = 2 * len(result["samples"]) + ("paper_setting" in result)
    fig, axes = plt.subplots(1, panels, figsize=(4.4 * panels, 3.5), squeeze=False)
    axes = list(axes[0])
    for preset, s in result["samples"].items():
        ax = axes.pop(0)
        mem = [r for r in s["by_length"] if r["kind"] == "memorized"]
        held = [r for r in s["by_length"] if r["kind"] == "held_out"]
        lengths = [r["length"] for r in mem]
        ax.plot(lengths, [r["top1_alone"] * 100 for r in mem], "o-", label="memorized: top-1 alone")
        ax.plot(lengths, [r["top1"] * 100 for r in mem], "s--", ms=4, label="memorized: top-1 or tie")
        if held:
            ax.plot([r["length"] for r in held], [r["unknown"] * 100 for r in held], "^-",
                    label="held out: called unknown")
        ax.set_xscale("log", base=2)
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.minorticks_off()
        ax.set_ylim(-2, 102)
        ax.set_xlabel("fragment length (events)")
        ax.set_ylabel("%")
        ax.set_title(f"{preset}: {s['memorized_pieces']} pieces memorized, "
                     f"{s['held_out_pieces']} held out", fontsize=9)
        ax.legend(fontsize=7, loc="lower right")

        ax = axes.pop(0)
        x = np.arange(len(THIRDS))
        bars = (("memorized", "short", "top1_alone", "memorized, <= 8 events: top-1 alone"),
                ("memorized", "long", "top1_alone", "memorized, > 8 events: top-1 alone"),
                ("held_out", "all", "unknown", "held out: called unknown"))
        for k, (kind, group, key, label) in enumerate(bars):
            values = []
            for third in THIRDS:
                row = next(r for r in s["by_position"] if (r["kind"], r["third"], r["lengths"])
                           == (kind, third, group))
                values.append((row[key] or 0.0) * 100)
            ax.bar(x + (k - 1) * 0.27, values, width=0.27, label=label)
        ax.set_xticks(x, [f"{t} third" for t in THIRDS])
        ax.set_ylim(0, 135)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel("%")
        ax.set_title(f"{preset}: by position of the fragment in its track", fontsize=9)
        ax.legend(fontsize=6.5, loc="upper center", ncol=2)
    if "paper_setting" in result:
        ax = axes.pop(0)
        rows = result["paper_setting"]["fragments"]
        markers = {"correct": "o", "tie": "s", "wrong": "x", "unknown": "v"}
        for kind, color in (("memorized", "tab:blue"), ("unlearned", "tab:red")):
            for what, marker in markers.items():
                part = [r for r in rows if r["kind"] == kind and r["outcome"] == what]
                if part:
                    ax.scatter([r["length"] for r in part], [r["score"] for r in part], marker=marker,
                               color=color, label=f"{kind}: {what} ({len(part)})", s=22)
        ax.axhline(result["paper_setting"]["min_score"], color="k", lw=0.6, ls=":",
                   label="recall.min_score")
        ax.set_xlabel("fragment length (events)")
        ax.set_ylabel("winner's score")
        ax.set_ylim(-0.05, 1.08)
        st = result["paper_setting"]["setting"]
        ax.set_title(f"the paper's setting: {st['memorized_pieces']} pieces, "
                     f"{st['memorized_fragments']} + {st['unlearned_fragments']} fragments", fontsize=9)
        ax.legend(fontsize=6.5, loc="lower right")
    fig.tight_layout()
    common.save_figure(fig, out / "episodic_recall.png")


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
