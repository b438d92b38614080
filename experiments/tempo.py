"""Figure 5: tempo. One recall played at several pacemaker rates.

A piece (``--title``, default the shortest piece of the corpus) is recalled from its
title in the network that memorized the whole corpus, and its timing is simulated
spike by spike at ``recall.pacemaker_hz`` x each ``--factors`` (pacemaker neurons;
striatal neurons that count pacemaker spikes and release the next event when the
count reaches its duration class). Reported per rate: the recalled length, its ratio
to the length at the configured rate against the expected ``1 / factor``, whether the
recalled notes are identical, and the length of the MIDI file written. The paper drew
this figure (the authors' code did not simulate it).

Writes ``tempo.json``, ``tempo_rates_<preset>.csv``, ``recall_<preset>_<hz>hz.mid`` and
``tempo_<preset>.png`` (pacemaker, striatal neurons and notes against time at each rate;
length against rate).

    python experiments/tempo.py [--quick] [--preset default] [--title Chopin/chpn-p7]
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


def run(ctx: common.Context) -> dict:
    import pretty_midi

    from jaxsnn_music.recall.cued import recall_title
    from jaxsnn_music.evaluate import tempo_protocol
    from jaxsnn_music.recall.pacemaker import time_piece, write_recall
    from jaxsnn_music.recall.raster import timing_raster

    factors = [float(f) for f in ctx.args.factors.split(",") if f.strip()]
    result: dict = {"presets": {}}
    for preset in ctx.presets:
        cfg = ctx.config(preset)
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
    result["figures"] = [str(ctx.out / f"tempo_{p}.png") for p in result["presets"]]
    return result


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
