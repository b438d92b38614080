"""Spike rasters of one recall: every spike of every window, for figures.

Title-cued recall (:mod:`.cued`) keeps only what the read-out needs (first-spike
times and counts per column); the rasters of the last ``D`` columns live in a
ring buffer and are overwritten. :func:`record_recall` runs the same dynamics,
the same :class:`~jaxsnn_music.recall.simulate.Recaller` modules window by
window (``title_window``, then ``column`` for the pitch and the duration
subnetwork), for one title, and keeps every window's raster:

- the cued title neuron's spikes (the driven LIF whose spikes facilitate the
  goal links; the other title neurons are not simulated in title-cued recall);
- every pitch and duration neuron's spikes, all of them, not only the read-out
  that a column passes on to later columns (``recall.propagate``; what is passed
  on is applied exactly as in :meth:`Recaller.column`, with the recaller's own
  neurons and delay shifts for each subnetwork, as in :meth:`Recaller.window`);
- each column's read-out, which equals :func:`~jaxsnn_music.recall.cued.recall_title`'s.

:func:`timing_raster` adds the pacemaker and the striatal timing neurons of
:mod:`.pacemaker` (spike times in seconds of playback) for the recalled
durations. One recall of one title, not a batch: this is for looking at, not
for throughput.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxsnn_music.config import Config
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.synapses import DURATION, PITCH
from jaxsnn_music.recall.cued import title_index
from jaxsnn_music.recall.pacemaker import Pacemaker, release_times
from jaxsnn_music.recall.readout import ColumnReadOut
from jaxsnn_music.recall.simulate import (N_DURATION, N_PITCH, ColumnSynapses, Recaller, RecallState,
                                          dense_weights)
from jaxsnn_music.recall.index import NetworkIndex, row_bucket


@dataclasses.dataclass(frozen=True, eq=False)
class LayerRaster:
    """Every spike of one track's recall (NumPy). Step ``s`` of the recall is step
    ``s % steps`` of column ``s // steps``'s window."""

    layer: int
    pitch: np.ndarray  # bool [columns * steps, 129]
    duration: np.ndarray  # bool [columns * steps, 64]
    pitch_value: np.ndarray  # int [columns]: the read-out neuron (SILENT = -1: none fired)
    chords: tuple[tuple[int, ...], ...]  # per column, the recalled set (high to low)
    duration_class: np.ndarray  # int [columns]

    @property
    def n_columns(self) -> int:
        return int(self.pitch_value.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class RecallRaster:
    """One title-cued recall, spike by spike."""

    title: str
    dt_ms: float
    steps: int
    """Steps per column window."""
    title_spikes: np.ndarray  # bool [windows * steps]: the cued title neuron
    layers: tuple[LayerRaster, ...]

    def times_ms(self, raster: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(time in ms, neuron)`` of every spike of a ``[steps, neurons]`` raster."""
        step, neuron = np.nonzero(raster)
        return step * self.dt_ms, neuron


@dataclasses.dataclass(frozen=True, eq=False)
class TimingRaster:
    """The pacemaker and the striatal timing neurons of one recall (seconds of playback)."""

    pacemaker_hz: float
    pacemaker: np.ndarray  # float [spikes]: every pacemaker spike up to the recall's end
    striatal: tuple[np.ndarray, ...]  # per track: the striatal neuron's spikes (event releases)
    onsets: tuple[np.ndarray, ...]  # per track: [events] onset of each event (s)


def _title_spikes(recaller: Recaller, title):
    """The cued title neuron's spikes through one window (the neuron part of
    ``driven_window``, which returns only the facilitation it causes)."""
    drive = jnp.asarray(recaller.title_current, jnp.float32)

    def step(state, _):
        state, spike = recaller.lif.step(state, drive)
        return state, spike

    return lax.scan(step, title, None, length=recaller.steps)[1]


def _passed_on(output: ColumnReadOut | None, raster, out):
    """What a column sends to later columns (as in :meth:`Recaller.column`)."""
    return raster if output is None else raster & output(out.first, out.count)[None, :]


@eqx.filter_jit
def _record_chunk(recaller: Recaller, state: RecallState, rows_p: ColumnSynapses, rows_d: ColumnSynapses,
                  goal_p, goal_d):
    """Scan some columns of one recall; return every window's full rasters and reports."""

    def body(state: RecallState, xs):
        rp, rd, gp, gd = xs
        spikes = _title_spikes(recaller, state.title)
        title, goal, u_goal = recaller.title_window(state.title, state.goal)
        active = jnp.array(True)
        w_p = dense_weights(rp, recaller.n_delays, N_PITCH)
        w_d = dense_weights(rd, recaller.n_delays, N_DURATION)
        # output=None: the ring gets every spike, which is the raster we want to keep; what the
        # column really passes on is pushed onto the old ring below, as Recaller.column does.
        full_p, out_p = recaller.column(state.pitch, w_p, gp, u_goal, active, state.windows,
                                        lif=recaller.lif_pitch, shift=recaller.shift_pitch)
        full_d, out_d = recaller.column(state.duration, w_d, gd, u_goal, active, state.windows,
                                        lif=recaller.lif_duration, shift=recaller.shift_duration)
        raster_p, raster_d = full_p.read(1), full_d.read(1)
        ring_p = state.pitch.push(_passed_on(recaller.output_pitch, raster_p, out_p))
        ring_d = state.duration.push(_passed_on(recaller.output_duration, raster_d, out_d))
        new = RecallState(title, goal, ring_p, ring_d, state.windows + 1)
        return new, (spikes, raster_p, raster_d, out_p.first, out_p.count, out_d.first, out_d.count)

    return lax.scan(body, state, (rows_p, rows_d, goal_p, goal_d))


def record_recall(network: Network, title: str | int, cfg: Config, columns: int | None = None,
                  layers: Sequence[int] | None = None, host: NetworkIndex | None = None,
                  recaller: Recaller | None = None) -> RecallRaster:
    """Title-cued recall of one title, keeping every spike.

    **Arguments:**

    - `network`: the memorized network.
    - `title`: the title (name or id, as :func:`~jaxsnn_music.recall.cued.title_index` takes it).
    - `cfg`: the config (dynamics, read-out, ``recall.chunk_columns``).
    - `columns`: record at most this many columns per track (default: the whole track).
    - `layers`: which tracks (default: every track the title has).
    - `host`: reuse the lookups of an earlier call.
    - `recaller`: the dynamics, if not the config's (e.g. with tuned thresholds and delays,
      :meth:`Recaller.tuned`).

    **Returns:** a :class:`RecallRaster`; the title's raster covers the longest recorded track.
    """
    host = host or NetworkIndex(network)
    t = title_index(network, title)
    recaller = recaller or Recaller.from_config(cfg)
    pitch_readout = ColumnReadOut.from_config(cfg)
    chunk = cfg.recall.chunk_columns
    lengths = host.lengths[t]
    layers = [layer for layer in range(len(lengths)) if lengths[layer] > 0] if layers is None else layers
    title_spikes = np.zeros(0, bool)
    recorded = []
    for layer in layers:
        n = int(lengths[layer]) if columns is None else min(int(lengths[layer]), columns)
        state = recaller.init()
        parts = []
        for c0 in range(0, n, chunk):
            m = min(chunk, n - c0)
            size = row_bucket(max(int(host.row_counts(layer, PITCH, c0, m).max(initial=0)),
                                  int(host.row_counts(layer, DURATION, c0, m).max(initial=0))))
            rows = [ColumnSynapses(**{k: jnp.asarray(v) for k, v in host.rows(layer, s, c0, m, size).items()})
                    for s in (PITCH, DURATION)]
            goal = [jnp.asarray(host.goal_weights(np.array([t]), layer, s, c0, m)[:, 0])
                    for s in (PITCH, DURATION)]
            state, out = _record_chunk(recaller, state, rows[0], rows[1], goal[0], goal[1])
            parts.append([np.asarray(x) for x in out])
        if not parts:
            continue
        spikes, rp, rd, fp, cp, fd, cd = (np.concatenate(x) for x in zip(*parts))
        sets = pitch_readout(fp, cp)
        chords = tuple(tuple(int(p) for p in np.nonzero(s)[0][::-1]) for s in sets)
        recorded.append(LayerRaster(
            layer=layer, pitch=rp.reshape(-1, N_PITCH), duration=rd.reshape(-1, N_DURATION),
            pitch_value=np.asarray(pitch_readout.value(fp, cp)), chords=chords,
            duration_class=np.asarray(pitch_readout.value(fd, cd))))
        if spikes.size > title_spikes.size:
            title_spikes = spikes.reshape(-1)
    return RecallRaster(network.titles[t], cfg.network.dt_ms, recaller.steps, title_spikes,
                        tuple(recorded))


def timing_raster(duration_classes: Sequence[np.ndarray], cfg: Config,
                  pacemaker_hz: float | None = None) -> TimingRaster:
    """The pacemaker's and the striatal neurons' spikes for some tracks played together.

    **Arguments:**

    - `duration_classes`: per track, the recalled duration class of each event.
    - `cfg`: the config (``recall.spikes_per_step``, ``recall.pacemaker_hz``).
    - `pacemaker_hz`: the pacemaker's rate (default ``recall.pacemaker_hz``).

    **Returns:** a :class:`TimingRaster`: the striatal neuron of a track fires when it
    releases the next event (its spikes are the onsets after the first, and the end).
    """
    rate = cfg.recall.pacemaker_hz if pacemaker_hz is None else pacemaker_hz
    times = release_times(duration_classes, cfg, rate)
    pacemaker = Pacemaker(float(rate))
    last = max((int(round(float(t[-1]) * rate)) for t in times), default=0)
    return TimingRaster(float(rate), pacemaker.spike_time(np.arange(1, last + 1)),
                        tuple(t[1:] for t in times), tuple(t[:-1] for t in times))


__all__ = ["LayerRaster", "RecallRaster", "TimingRaster", "record_recall", "timing_raster"]
