"""Figure 5: tempo. One recall played at several pacemaker rates; timing error against interval.

A piece (``--title``, default the shortest piece of the corpus) is recalled from its
title in the network that memorized the whole corpus, and its timing is simulated
spike by spike at ``recall.pacemaker_hz`` x each ``--factors`` (a pacemaker LIF neuron;
striatal LIF integrators that count pacemaker spikes and release the next event when
the count reaches its duration class: ``jaxsnn_music.recall.timing``). Reported per rate:
the recalled length, its ratio to the length at the configured rate against the
expected ``1 / factor``, whether the recalled notes are identical, and the length of the
MIDI file written. The paper drew this figure (the authors' code did not simulate it).

Timing error (no network needed): one sequence of events of every length from 1 to 64
pacemaker periods (duration classes 0, 1, 3, ..., 63) is played ``--trials`` times, each
trial with its own pacemaker, under a regular pacemaker, a jittered one (Poisson input,
8 steps per mean period: interval CV 0.31), a Poisson one (100 steps: CV 0.95), and the
jittered one whose mean period also varies from trial to trial (lognormal, CV ``--rate-cv``:
the variance of Gibbon's scalar expectancy theory, SD^2 = a T + b T^2).
Reported per condition and interval: mean and SD of the recalled interval, its CV, the
closed-form prediction, and the exponent of SD against mean interval (log-log fit, with a
bootstrap 95 % interval over trials): 0.5 is counting noise, 1 the scalar property.

Writes ``tempo.json``, ``tempo_rates_<preset>.csv``, ``recall_<preset>_<hz>hz.mid``,
``tempo_<preset>.png`` (pacemaker, striatal neurons and notes against time at each rate;
length against rate), ``timing_error_<preset>.csv`` and ``timing_error_<preset>.png``.

    python experiments/tempo.py [--quick] [--preset default] [--title Chopin/chpn-p7] [--trials 2000]
"""

from __future__ import annotations

import sys

import numpy as np

import common

NAME = "tempo"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("default",)


def add_arguments(parser) -> None:
    parser.add_argument("--title", default=None, help="the piece (default: the shortest of the corpus)")
    parser.add_argument("--factors", default="0.5,1,2,4",
                        help="pacemaker rates as multiples of recall.pacemaker_hz (default 0.5,1,2,4)")
    parser.add_argument("--trials", type=int, default=None,
                        help="timing-error trials per condition (default 2000; --quick 200)")
    parser.add_argument("--rate-cv", type=float, default=0.1,
                        help="trial-to-trial CV of the pacemaker period in the last timing-error "
                             "condition (default 0.1)")


def run(ctx: common.Context) -> dict:
    import pretty_midi

    from jaxsnn_music.recall.cued import recall_title
    from jaxsnn_music.evaluate import tempo_protocol
    from jaxsnn_music.recall.pacemaker import time_piece, write_recall
    from jaxsnn_music.recall.raster import timing_raster

    factors = [float(f) for f in ctx.args.factors.split(",") if f.strip()]
    trials = ctx.args.trials or (200 if ctx.quick else 2000)
    result: dict = {"presets": {}, "timing_error": {}}
    for preset in ctx.presets:
        cfg = ctx.config(preset)
        error = timing_error(cfg, trials, ctx.args.rate_cv, cfg.recall.pacemaker_seed)
        common.write_csv(ctx.out / f"timing_error_{preset}.csv", error["rows"])
        plot_timing_error(error, ctx.out / f"timing_error_{preset}.png")
        result["timing_error"][preset] = {k: v for k, v in error.items() if k != "rows"}
        ctx.log(f"{preset}: timing error, {trials} trials: " + ", ".join(
            f"{c['name']} SD ~ interval^{c['exponent']:.3f}" for c in error["conditions"]
            if c["exponent"] is not None))
        pieces = ctx.pieces(cfg)
        piece = common.pick(pieces, ctx.args.title)
        network = common.memorized(pieces, cfg)
        tempo = tempo_protocol(network, piece, cfg, factors)
        recalled = recall_title(network, piece.title, cfg)
        rasters = {}
        for row in tempo["rates"]:
            hz = row["pacemaker_hz"]
            timed = time_piece(recalled, cfg, hz, resolution=piece.resolution, tempo=piece.tempo)
            path = write_recall(timed, ctx.out / f"recall_{preset}_{hz:g}hz.mid", cfg)
            row["midi_seconds"] = pretty_midi.PrettyMIDI(str(path)).get_end_time()
            rasters[hz] = (timing_raster([t.duration_class for t in recalled.tracks], cfg, hz), timed)
        base = next(r for r in tempo["rates"] if r["expected_ratio"] == 1.0)
        for row in tempo["rates"]:
            row["midi_ratio"] = row["midi_seconds"] / max(base["midi_seconds"], 1e-12)
        common.write_csv(ctx.out / f"tempo_rates_{preset}.csv", tempo["rates"])
        result["presets"][preset] = {**tempo, "reference_hz": cfg.recall.reference_hz,
                                     "max_relative_error": max(r["relative_error"] for r in tempo["rates"]),
                                     "notes_identical": all(r["notes_identical"] for r in tempo["rates"])}
        plot(tempo, rasters, ctx.out / f"tempo_{preset}.png")
        ctx.log(f"{preset}: {piece.title}, {tempo['events']} events: " + ", ".join(
            f"{r['pacemaker_hz']:g} Hz -> {r['length_seconds']:.2f} s (x{r['ratio']:.3f}, "
            f"expected x{r['expected_ratio']:.3f})" for r in tempo["rates"]))
    first = next(iter(result["presets"].values()))
    result["headline"] = (f"{first['title']}: " + ", ".join(
        f"{r['pacemaker_hz']:g} Hz {r['length_seconds']:.1f} s" for r in first["rates"])
        + f"; largest deviation from length x 1/rate {first['max_relative_error']:.2e}, "
          f"notes identical: {first['notes_identical']}")
    errors = next(iter(result["timing_error"].values()))["conditions"]
    result["headline"] += "; timing error SD ~ interval^a: " + ", ".join(
        f"{c['name']} a = {c['exponent']:.2f}" for c in errors if c["exponent"] is not None)
    result["figures"] = [str(ctx.out / f"{name}_{p}.png") for p in result["presets"]
                         for name in ("tempo", "timing_error")]
    return result


CLASSES = (0, 1, 3, 7, 15, 31, 63)
"""The timing-error sequence: intervals of 1, 2, 4, ..., 64 duration steps."""


def conditions(rate_cv: float) -> list[tuple[str, dict, float]]:
    """``(name, recall overrides, trial-to-trial CV of the pacemaker period)``."""
    poisson = {"recall.pacemaker": "poisson"}
    return [("regular", {"recall.pacemaker": "regular"}, 0.0),
            ("jittered (poisson, 8 steps)", {**poisson, "recall.pacemaker_steps": 8}, 0.0),
            ("poisson (100 steps)", {**poisson, "recall.pacemaker_steps": 100}, 0.0),
            (f"jittered, period CV {rate_cv:g} across trials",
             {**poisson, "recall.pacemaker_steps": 8}, rate_cv)]


def timing_error(cfg, trials: int, rate_cv: float, seed: int) -> dict:
    """Recalled intervals of every length under each pacemaker (see the module docstring).

    **Returns:** ``rows`` (per condition and interval), and per condition the fitted exponent
    of SD against mean interval with its bootstrap 95 % interval.
    """
    from jaxsnn_music.config import extend_config
    from jaxsnn_music.recall.timing import TimingCircuit, simulate_trials

    f = cfg.recall.reference_hz
    classes = np.array(CLASSES)
    rng = np.random.default_rng(seed)
    rows, summary = [], []
    for name, overrides, cv in conditions(rate_cv):
        c = extend_config(cfg, overrides=overrides)
        circuit = TimingCircuit.from_config(c)
        period = circuit.steps_per_period
        steps = np.diff(simulate_trials(classes, c, trials, seed), axis=1).astype(np.float64)
        # A trial's pacemaker period times a lognormal factor of mean 1 (the clock of that trial).
        sigma = np.sqrt(np.log1p(cv ** 2))
        factor = rng.lognormal(-sigma ** 2 / 2, sigma, (trials, 1)) if cv > 0 else np.ones((trials, 1))
        seconds = steps * factor / period / f
        mean, sd = seconds.mean(0), seconds.std(0, ddof=1)
        # Closed form: an interval of n periods sums n pacemaker intervals, each the refractory
        # period plus a geometric wait (mean P - R steps), times the trial's factor.
        n = (classes + 1) * circuit.spikes_per_step
        wait = period - circuit.pacemaker.refractory_steps
        var = 0.0 if overrides["recall.pacemaker"] == "regular" else (wait - 1) * wait
        predicted = np.sqrt((1 + cv ** 2) * n * var + cv ** 2 * (n * period) ** 2) / period / f
        for k, cls in enumerate(classes):
            rows.append({"condition": name, "pacemaker_steps": period, "rate_cv": cv,
                         "duration_class": int(cls), "counts": int(n[k]),
                         "interval_beats": float((cls + 1) * cfg.encoding.duration_step_beats),
                         "nominal_s": float(n[k] / f), "trials": trials, "mean_s": float(mean[k]),
                         "mean_error_s": float(mean[k] - n[k] / f), "sd_s": float(sd[k]),
                         "cv": float(sd[k] / mean[k]), "predicted_sd_s": float(predicted[k])})
        exponent, interval = None, None
        if (sd > 0).all():
            exponent = float(np.polyfit(np.log(mean), np.log(sd), 1)[0])
            boot = []
            for _ in range(200):
                pick = seconds[rng.integers(0, trials, trials)]
                boot.append(np.polyfit(np.log(pick.mean(0)), np.log(pick.std(0, ddof=1)), 1)[0])
            interval = [float(x) for x in np.percentile(boot, [2.5, 97.5])]
        summary.append({"name": name, "pacemaker_steps": period, "rate_cv": cv,
                        "exponent": exponent, "exponent_95": interval,
                        "max_sd_s": float(sd.max())})
    return {"trials": trials, "reference_hz": f, "classes": list(CLASSES), "conditions": summary,
            "rows": rows}


def plot_timing_error(error: dict, path) -> None:
    plt = common.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for i, c in enumerate(error["conditions"]):
        rows = [r for r in error["rows"] if r["condition"] == c["name"]]
        mean = np.array([r["mean_s"] for r in rows])
        sd = np.array([r["sd_s"] for r in rows])
        right.semilogx(mean, sd / mean, "o-", color=f"C{i}",
                       label=c["name"] + (" (SD 0)" if c["exponent"] is None else ""))
        if c["exponent"] is not None:
            left.loglog(mean, sd, "o", color=f"C{i}", label=f"{c['name']}: a = {c['exponent']:.2f}")
            left.loglog(mean, [r["predicted_sd_s"] for r in rows], "-", color=f"C{i}", lw=0.8)
    x = np.array([min(r["mean_s"] for r in error["rows"]), max(r["mean_s"] for r in error["rows"])])
    top = max(r["sd_s"] for r in error["rows"])
    for slope, style in ((0.5, "k:"), (1.0, "k--")):
        left.loglog(x, top * (x / x[-1]) ** slope, style, lw=0.8, label=f"slope {slope:g}")
    left.set_xlabel("mean recalled interval (s)")
    left.set_ylabel("SD of the recalled interval (s)")
    left.set_title(f"{error['trials']} trials; lines: closed form", fontsize=9)
    left.legend(fontsize=7)
    right.set_xlabel("mean recalled interval (s)")
    right.set_ylabel("CV (SD / mean)")
    right.legend(fontsize=7)
    fig.tight_layout()
    common.save_figure(fig, path)


def plot(tempo: dict, rasters: dict, path) -> None:
    plt = common.pyplot()
    rates = sorted(rasters)
    fig = plt.figure(figsize=(11, 1.1 + 1.15 * len(rates)))
    grid = fig.add_gridspec(len(rates), 2, width_ratios=(3.2, 1))
    window = max(t.length_seconds for _, t in rasters.values()) / 2
    axes = []
    for i, hz in enumerate(rates):
        ax = fig.add_subplot(grid[i, 0], sharex=axes[0] if axes else None)
        axes.append(ax)
        timing, timed = rasters[hz]
        n_tracks = len(timing.striatal)
        ax.eventplot([timing.pacemaker], lineoffsets=0, linelengths=0.8, colors="k", linewidths=0.6)
        ax.eventplot(list(timing.striatal), lineoffsets=np.arange(1, n_tracks + 1), linelengths=0.8,
                     colors="tab:red", linewidths=0.8)
        pitches = np.concatenate([t.pitch[t.pitch > 0] for t in timed.piece.tracks] or [np.zeros(1)])
        lo, hi = float(pitches.min()), float(max(pitches.max(), pitches.min() + 1))
        for track, onsets, ends in zip(timed.piece.tracks, timing.onsets, timing.striatal):
            # Event k sounds from its release to the next one (the striatal neuron's k-th spike).
            event = np.repeat(np.arange(track.n_events), track.chord_size)
            sounding = track.pitch > 0
            y = n_tracks + 1.2 + 3.0 * (track.pitch[sounding].astype(float) - lo) / (hi - lo)
            ax.hlines(y, onsets[event[sounding]], ends[event[sounding]], lw=1.6, color="tab:blue")
        ax.set_yticks([0, *range(1, n_tracks + 1), n_tracks + 2.7],
                      ["pacemaker", *[f"striatum {k}" for k in range(n_tracks)], "notes"], fontsize=7)
        ax.set_ylim(-0.7, n_tracks + 4.6)
        ax.set_xlim(0, window)
        ax.text(0.995, 0.92, f"{hz:g} Hz", transform=ax.transAxes, ha="right", va="top", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        if i < len(rates) - 1:
            ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("playback time (s)")
    axes[0].set_title(f"{tempo['title']}: the same recall at {len(rates)} pacemaker rates", fontsize=9)
    ax = fig.add_subplot(grid[:, 1])
    rows = tempo["rates"]
    hz = np.array([r["pacemaker_hz"] for r in rows])
    ax.loglog(hz, [r["length_seconds"] for r in rows], "o-", label="simulated (striatal releases)")
    ax.loglog(hz, [r["midi_seconds"] for r in rows], "s", mfc="none",
              label="MIDI file (the piece's tempo map)")
    base = next(r for r in rows if r["expected_ratio"] == 1.0)
    ax.loglog(hz, base["length_seconds"] * base["pacemaker_hz"] / hz, "k--", lw=0.8, label="x 1 / rate")
    ax.set_xticks(hz, [f"{h:g}" for h in hz])
    ax.minorticks_off()
    ax.set_xlabel("pacemaker rate (Hz)")
    ax.set_ylabel("recalled length (s)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
