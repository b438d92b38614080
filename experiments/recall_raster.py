"""Figure 6: a spike raster of one recall, and a piano roll of the original against the recall.

A piece (``--title``, default the shortest of the corpus) is recalled from its title
in the network that memorized the whole corpus, with every spike recorded
(``jaxsnn_music.recall.raster.record_recall``): the cued title neuron, the pitch and
the duration subnetwork of every track, column window by column window; then the
pacemaker and the striatal timing neurons that play it back
(``timing_raster``, at ``recall.pacemaker_hz``). The piano roll puts the recalled
piece (pacemaker-timed, at ``recall.reference_hz`` so it plays at its own tempo) over
the stored one.

Writes ``recall_raster.json`` (spike counts, scores), ``spikes_<preset>.csv`` (every
network spike of the first ``--columns`` windows), ``recall_<preset>.mid`` and
``recall_raster_<preset>.png``.

    python experiments/recall_raster.py [--quick] [--preset default] [--title T] [--columns 12]
"""

from __future__ import annotations

import sys

import numpy as np

import common

NAME = "recall_raster"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("default",)


def add_arguments(parser) -> None:
    parser.add_argument("--title", default=None, help="the piece (default: the shortest of the corpus)")
    parser.add_argument("--columns", type=int, default=12,
                        help="column windows shown in the raster (default 12; the whole piece is "
                             "recorded and scored)")


def run(ctx: common.Context) -> dict:
    from jaxsnn_music.recall.cued import recall_title
    from jaxsnn_music.recall.pacemaker import time_piece, write_recall
    from jaxsnn_music.recall.raster import record_recall, timing_raster
    from jaxsnn_music.recall.scores import score_piece

    result: dict = {"presets": {}}
    for preset in ctx.presets:
        cfg = ctx.config(preset)
        pieces = ctx.pieces(cfg)
        piece = common.pick(pieces, ctx.args.title)
        network = common.memorized(pieces, cfg)
        raster = record_recall(network, piece.title, cfg)
        recalled = recall_title(network, piece.title, cfg)
        agrees = all(np.array_equal(lr.pitch_value, t.pitch) and lr.chords == tuple(t.chords())
                     and np.array_equal(lr.duration_class, t.duration_class)
                     for lr, t in zip(raster.layers, recalled.tracks))
        durations = [lr.duration_class for lr in raster.layers]
        timing = timing_raster(durations, cfg)
        reference = time_piece(recalled, cfg, cfg.recall.reference_hz, resolution=piece.resolution,
                               tempo=piece.tempo)
        write_recall(reference, ctx.out / f"recall_{preset}.mid", cfg)
        scores = [s.row() for s in score_piece(piece, recalled, cfg,
                                               time_piece(recalled, cfg, cfg.recall.reference_hz))]
        shown = ctx.args.columns * raster.steps
        rows = [{"subnetwork": "title", "layer": "", "step": int(s), "neuron": 0}
                for s in np.nonzero(raster.title_spikes[:shown])[0]]
        for lr in raster.layers:
            for name, grid in (("pitch", lr.pitch), ("duration", lr.duration)):
                step, neuron = np.nonzero(grid[:shown])
                rows += [{"subnetwork": name, "layer": lr.layer, "step": int(s), "neuron": int(n)}
                         for s, n in zip(step, neuron)]
        common.write_csv(ctx.out / f"spikes_{preset}.csv", rows)
        counts = {"title": int(raster.title_spikes.sum()),
                  "pitch": int(sum(lr.pitch.sum() for lr in raster.layers)),
                  "duration": int(sum(lr.duration.sum() for lr in raster.layers)),
                  "pacemaker": int(len(timing.pacemaker)),
                  "striatal": int(sum(len(s) for s in timing.striatal))}
        fired = {name: float(np.mean(np.concatenate([fired_per_column(getattr(lr, name), raster.steps)
                                                     for lr in raster.layers])))
                 for name in ("pitch", "duration")}
        result["presets"][preset] = {
            "title": piece.title, "tracks": len(raster.layers),
            "neurons_fired_per_column": fired,
            "columns": [lr.n_columns for lr in raster.layers], "spikes": counts,
            "readout_agrees_with_recall": agrees, "scores": scores,
            "pacemaker_hz": timing.pacemaker_hz, "length_seconds": reference.length_seconds}
        plot(raster, timing, piece, reference, ctx.args.columns, ctx.out / f"recall_raster_{preset}.png")
        ctx.log(f"{preset}: {piece.title}, spikes {counts}; neurons fired per column {fired}; "
                f"read-out agrees with recall: {agrees}; "
                + ", ".join(f"track {s['track']} pitch {s['pitch']:.0%}" for s in scores))
    first = next(iter(result["presets"].values()))
    spikes = ", ".join(f"{k} {v:,}" for k, v in first["spikes"].items())
    result["headline"] = (f"{first['title']}: spikes {spikes}; "
                          f"read-out = recall: {first['readout_agrees_with_recall']}")
    result["figures"] = [str(ctx.out / f"recall_raster_{p}.png") for p in result["presets"]]
    return result


def fired_per_column(grid: np.ndarray, steps: int) -> np.ndarray:
    """How many neurons fired at least once in each column window of a ``[columns * steps, n]``
    raster."""
    return grid.reshape(-1, steps, grid.shape[1]).any(axis=1).sum(axis=1)


def plot(raster, timing, piece, recalled, columns: int, path) -> None:
    plt = common.pyplot()
    layers = raster.layers
    shown = columns * raster.steps
    heights = [0.5] + [2.2, 1.3] * len(layers) + [1.0, 2.6]
    fig, axes = plt.subplots(len(heights), 1, figsize=(10, 1.3 * sum(heights) + 0.8),
                             gridspec_kw={"height_ratios": heights})
    axes = list(axes)
    dt = raster.dt_ms
    window_ms = raster.steps * dt
    net_axes = axes[: 1 + 2 * len(layers)]
    ax = axes.pop(0)
    t, _ = raster.times_ms(raster.title_spikes[:shown, None])
    ax.eventplot([t], colors="k", linelengths=0.8, linewidths=0.7)
    ax.set_yticks([0], [raster.title.rsplit("/", 1)[-1]], fontsize=7)
    ax.set_title(f"title-cued recall of {raster.title}: the first {columns} column windows "
                 f"({window_ms:g} ms each) of the network that memorized the corpus", fontsize=9)
    for lr in layers:
        for name, grid, values, label in (
                ("pitch", lr.pitch, lr.pitch_value, "MIDI pitch\n(-1: rest)"),
                ("duration", lr.duration, lr.duration_class, "duration class")):
            ax = axes.pop(0)
            tm, neuron = raster.times_ms(grid[:shown])
            ax.scatter(tm, neuron - (1 if name == "pitch" else 0), s=2, color="tab:blue", lw=0)
            # The read-out neuron of every column: a ring around its first spike.
            for k, v in enumerate(values[:columns]):
                if v >= 0:
                    steps = np.nonzero(grid[k * raster.steps:(k + 1) * raster.steps, v])[0]
                    if len(steps):
                        ax.scatter((k * raster.steps + steps[0]) * dt, v - (1 if name == "pitch" else 0),
                                   s=28, facecolors="none", edgecolors="tab:red", lw=0.8)
            used = np.nonzero(grid[:shown].any(axis=0))[0]
            if len(used):
                off = 1 if name == "pitch" else 0
                ax.set_ylim(used.min() - off - 2, used.max() - off + 2)
            ax.set_ylabel(f"track {lr.layer}\n{label}", fontsize=7)
    for ax in net_axes:
        ax.set_xlim(0, shown * dt)
        for k in range(1, columns):
            ax.axvline(k * window_ms, color="0.85", lw=0.5, zorder=0)
        ax.tick_params(labelsize=7)
    net_axes[-1].set_xlabel("network time (ms); red rings: each column's read-out")

    ax = axes.pop(0)
    # The same first events as the network raster above, now in playback time.
    onsets = timing.onsets[0]
    end = float(onsets[columns]) if len(onsets) > columns else float(timing.striatal[0][-1])
    ax.eventplot([timing.pacemaker[timing.pacemaker <= end]], lineoffsets=0, colors="k",
                 linelengths=0.8, linewidths=0.6)
    ax.eventplot([s[s <= end] for s in timing.striatal], lineoffsets=np.arange(1, len(layers) + 1),
                 colors="tab:red", linelengths=0.8, linewidths=0.8)
    ax.set_yticks(range(len(layers) + 1), ["pacemaker"] + [f"striatum {k}" for k in range(len(layers))],
                  fontsize=7)
    ax.set_xlim(0, end)
    ax.set_xlabel(f"playback time (s) of the same events at {timing.pacemaker_hz:g} Hz; a striatal "
                  f"spike releases the next event", fontsize=8)
    ax.tick_params(labelsize=7)

    ax = axes.pop(0)
    for events, color, lw, label in ((piece, "0.6", 5, "stored"),
                                     (recalled.piece, "tab:red", 1.6, "recalled")):
        first = True
        for track in events.tracks:
            res = events.resolution
            event = np.repeat(np.arange(track.n_events), track.chord_size)
            sounding = track.pitch > 0
            start = track.onset[event[sounding]] / res
            stop = (track.onset + track.duration)[event[sounding]] / res
            ax.hlines(track.pitch[sounding] - 1, start, stop, color=color, lw=lw,
                      label=label if first else None)
            first = False
    ax.set_xlabel("beats")
    ax.set_ylabel("MIDI pitch", fontsize=7)
    ax.set_title("piano roll: stored events (grey) and the pacemaker-timed recall (red)", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    common.save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
