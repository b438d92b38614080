"""Differentiable mode: tuned against the paper's thresholds and delays, on held-out perturbed cues.

The corpus (the paper selection, or ``--quick``'s slice) is memorized with the paper
preset; then thresholds and delays are tuned by surrogate gradients
(:func:`jaxsnn_music.tune.tune`) on cued recalls whose cue (the ``D`` events before
the recalled position, replayed) is spoiled by timing jitter, dropped and extra
spikes, with the cues of half the titles. The cues of the other half are held out
and scored in the plain simulator (hard spikes, delays rounded to whole steps) with
the paper's parameters and with the tuned ones, spoiled and clean, side by side.
Conditions (``--conditions``):

- ``title``: the cue's title is driven during the recall (the paper's episodic
  continuation, step 4), Gaussian delay read-out;
- ``title-linear``: the same with the linear-interpolation read-out;
- ``sequence``: no title, the sequence memory alone carries the recall.

For ``title``, whole-piece title-cued recall of the held-out titles is also scored
with both parameter sets (does tuning for cues cost the paper's own task?).

Writes ``tune_robustness.json``, ``tune_robustness.csv``, ``tune_robustness.png`` and
each condition's run folder (``runs/<condition>``: result.json, orbax state, W&B files).

    python experiments/tune_robustness.py [--quick] [--conditions title,sequence]
"""

from __future__ import annotations

import sys

import numpy as np

import common

NAME = "tune_robustness"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("paper",)
CONDITIONS = {"title": {}, "title-linear": {"tune.delay_readout": "linear"},
              "sequence": {"tune.title_cue": False}}
QUICK = {"tune.steps": 12, "tune.eval_cues": 32, "tune.checkpoint_every": 6, "tune.log_every": 3}
"""``--quick``: a short run (config values, recorded with the results)."""
TITLE_RECALLS = 40
"""Held-out titles recalled whole, with each parameter set (at most)."""


def add_arguments(parser) -> None:
    parser.add_argument("--conditions", default=",".join(CONDITIONS),
                        help=f"which of {', '.join(CONDITIONS)} (default: all)")


def _title_recall(source, titles, cfg, recallers: dict) -> dict:
    """Whole-track title-cued recall of ``titles`` with each recaller: event-weighted scores."""
    from jaxsnn_music.recall.cued import CuedTrack, recall_units
    from jaxsnn_music.recall.scores import score_track, summarize

    keys = [k for k in sorted(source.tracks) if k[0] in set(titles)]
    units = [CuedTrack(t, layer, 0, source.tracks[(t, layer)].n_events) for t, layer in keys]
    out = {}
    for name, recaller in recallers.items():
        tracks = recall_units(source.index, units, cfg, recaller)
        scores = [score_track(source.index.titles[t], source.tracks[(t, layer)], got, cfg)
                  for (t, layer), got in zip(keys, tracks)]
        s = summarize(scores)
        out[name] = {"tracks": s["tracks"], "events": s["events"],
                     "pitch": s["pitch_weighted"], "duration": s["duration_weighted"]}
    return out


def run(ctx: common.Context) -> dict:
    from jaxsnn_music.recall.index import NetworkIndex
    from jaxsnn_music.tune import initial_params, load_tuned, plain_recaller, tune
    from jaxsnn_music.tune.cues import CueSource

    conditions = [c.strip() for c in ctx.args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise common.UserError(f"unknown condition(s) {', '.join(unknown)} (choose from "
                               f"{', '.join(CONDITIONS)})")
    result: dict = {"conditions": {}, "rows": []}
    for preset in ctx.presets:
        base = ctx.config(preset, QUICK if ctx.quick else None)
        pieces = ctx.pieces(base)
        network = common.memorized(pieces, base)
        index = NetworkIndex(network, base)  # one set of look-ups for every condition
        for name in conditions:
            cfg = ctx.config(preset, {**(QUICK if ctx.quick else {}), **CONDITIONS[name]})
            ctx.log(f"{preset}/{name}: tuning on {len(pieces)} memorized pieces "
                    f"({cfg.tune.steps} steps of {cfg.tune.batch} cues)")
            run_dir = ctx.out / "runs" / f"{preset}-{name}"
            res = tune(network, pieces, cfg, run_dir, restart=True, progress=ctx.log, index=index)
            entry = {"preset": preset, "condition": name, "pieces": len(pieces),
                     "train_seconds": res["train_seconds"], "params": res["params"],
                     "held_out": res["held_out"], "history": res["history"]}
            if name == "title":
                source = CueSource(network, pieces, cfg, index)
                held = source.split(cfg.tune.train_share, cfg.tune.seed)[1][:TITLE_RECALLS]
                tuned = load_tuned(run_dir, cfg)
                entry["title_recall"] = _title_recall(
                    source, held, cfg, {"paper": plain_recaller(initial_params(cfg), cfg),
                                        "tuned": plain_recaller(tuned, cfg)})
            result["conditions"][f"{preset}-{name}"] = entry
            for params in ("paper", "tuned"):
                for cue in ("perturbed", "clean"):
                    s = res["held_out"][params][cue]
                    result["rows"].append({"preset": preset, "condition": name, "params": params,
                                           "cue": cue, **s})
            p, t = (res["held_out"][k]["perturbed"] for k in ("paper", "tuned"))
            ctx.log(f"{preset}/{name}: held-out perturbed cues: pitch {common.pct(p['pitch'])} -> "
                    f"{common.pct(t['pitch'])}, duration {common.pct(p['duration'])} -> "
                    f"{common.pct(t['duration'])} (paper -> tuned), {res['train_seconds']:.0f} s")
    common.write_csv(ctx.out / f"{NAME}.csv", result["rows"])
    plot(result, ctx.out / f"{NAME}.png")
    result["figures"] = [str(ctx.out / f"{NAME}.png")]
    result["headline"] = "; ".join(
        f"{key}: pitch {common.pct(e['held_out']['paper']['perturbed']['pitch'])} -> "
        f"{common.pct(e['held_out']['tuned']['perturbed']['pitch'])}, duration "
        f"{common.pct(e['held_out']['paper']['perturbed']['duration'])} -> "
        f"{common.pct(e['held_out']['tuned']['perturbed']['duration'])}"
        for key, e in result["conditions"].items())
    return result


def plot(result: dict, path) -> None:
    plt = common.pyplot()
    entries = list(result["conditions"].items())
    fig, (bars, curves) = plt.subplots(1, 2, figsize=(11, 4))
    labels, width = [], 0.2
    for i, (key, e) in enumerate(entries):
        for j, (params, cue) in enumerate((("paper", "perturbed"), ("tuned", "perturbed"),
                                           ("paper", "clean"), ("tuned", "clean"))):
            s = e["held_out"][params][cue]
            for k, metric in enumerate(("pitch", "duration")):
                x = i * 2 + k + (j - 1.5) * width
                bars.bar(x, s[metric], width, color=f"C{j}",
                         label=f"{params}, {cue} cue" if i == 0 and k == 0 else None)
        labels += [f"{key}\npitch", f"{key}\nduration"]
        steps = [h["step"] for h in e["history"]]
        curves.plot(steps, [h["loss"] for h in e["history"]], label=key)
    bars.set_xticks(np.arange(len(labels)), labels, fontsize=7)
    bars.set_ylabel("accuracy on held-out cues (plain simulator)")
    bars.set_ylim(0, 1.05)
    bars.legend(fontsize=7, loc="lower left")
    curves.set_xlabel("optimiser step")
    curves.set_ylabel("training loss (perturbed cues)")
    curves.legend(fontsize=7)
    fig.tight_layout()
    common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
