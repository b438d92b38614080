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
:mod:`.timing` (or the counter of :mod:`.pacemaker`; spike times in seconds of playback)
for the recalled durations. One recall of one title, not a batch: this is for looking at, not
for throughput.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.subnets import DURATION, PITCH, Subnets
from jaxsnn_music.recall.cued import batch_slots, title_index
from jaxsnn_music.recall.index import NetworkIndex
from jaxsnn_music.recall.pacemaker import Pacemaker, release_times
from jaxsnn_music.recall.simulator import ColumnInputs, CueInputs, Recaller, recall_chunk
from jaxsnn_music.recall.timing import TimingCircuit, pacemaker_train, run_circuit


@dataclasses.dataclass(frozen=True, eq=False)
class LayerRaster:
    """Every spike of one track's recall (NumPy). Step ``s`` of the recall is step
    ``s % steps`` of column ``s // steps``'s window."""

    layer: int
    pitch: np.ndarray  # bool [columns * steps, pitch neurons]
    duration: np.ndarray  # bool [columns * steps, duration neurons]
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


def record_recall(network: Network, title: str | int, cfg: Config, columns: int | None = None,
                  layers: Sequence[int] | None = None, index: NetworkIndex | None = None,
                  recaller: Recaller | None = None) -> RecallRaster:
    """Title-cued recall of one title, keeping every spike.

    **Arguments:**

    - `network`: the memorized network.
    - `title`: the title (name or id, as :func:`~jaxsnn_music.recall.cued.title_index` takes it).
    - `cfg`: the config (dynamics, read-out, ``recall.chunk_columns``).
    - `columns`: record at most this many columns per track (default: the whole track).
    - `layers`: which tracks (default: every track the title has).
    - `index`: reuse the look-ups of an earlier call.
    - `recaller`: the dynamics, if not the config's (e.g. with tuned thresholds and delays).

    **Returns:** a :class:`RecallRaster`; the title's raster covers the longest recorded track.
    """
    index = index or NetworkIndex(network, cfg)
    t = title_index(network, title)
    recaller = recaller or Recaller.from_config(cfg)
    readout = recaller.readouts[0]
    chunk = cfg.recall.chunk_columns
    lengths = index.lengths[t]
    layers = [layer for layer in range(len(lengths)) if lengths[layer] > 0] if layers is None else layers
    title_spikes = np.zeros(0, bool)
    recorded = []
    for layer in layers:
        n = int(lengths[layer]) if columns is None else min(int(lengths[layer]), columns)
        slots = batch_slots(index, layer, 0, n)
        state = jax.tree.map(lambda x: x[None], recaller.init(slots))
        parts = []
        for c0 in range(0, n, chunk):
            m = min(chunk, n - c0)
            inputs = index.column_inputs(layer, c0, m, slots)
            goal = index.goal_weights(np.array([t]), layer, c0, m, slots)
            state, (outs, (spikes, raster)) = recall_chunk(
                recaller, state, ColumnInputs(**{k: jnp.asarray(v) for k, v in inputs.items()}),
                CueInputs(jnp.asarray(goal), jnp.ones((m, 1), bool)), record=True)
            parts.append((inputs, jax.tree.map(lambda x: np.asarray(x)[:, 0], (outs, spikes, raster))))
        if not parts:
            continue
        pitch, duration, value, chords, duration_class, spikes = [], [], [], [], [], []
        for inputs, (outs, title_raster, raster) in parts:
            out_p, out_d = outs
            sets = readout(out_p.times(), out_p.count)
            value.append(readout.value(out_p.times(), out_p.count))
            chords.extend(tuple(int(p) for p in np.nonzero(row)[0][::-1]) for row in sets)
            duration_class.append(readout.value(out_d.times(), out_d.count))
            spikes.append(title_raster)
            for k in range(len(raster)):
                pitch.append(_dense(raster[k], inputs, k, PITCH, index.subnets))
                duration.append(_dense(raster[k], inputs, k, DURATION, index.subnets))
        recorded.append(LayerRaster(
            layer=layer, pitch=np.concatenate(pitch), duration=np.concatenate(duration),
            pitch_value=np.concatenate(value), chords=tuple(chords),
            duration_class=np.concatenate(duration_class)))
        spikes = np.concatenate(spikes).reshape(-1)
        if spikes.size > title_spikes.size:
            title_spikes = spikes
    return RecallRaster(network.titles[t], cfg.network.dt_ms, recaller.steps, title_spikes,
                        tuple(recorded))


def _dense(raster: np.ndarray, inputs: dict, k: int, subnet: int, subnets: Subnets) -> np.ndarray:
    """One window's slot raster as ``[steps, neurons]`` of one subnetwork (its neurons in
    order; a neuron without a slot never fires)."""
    out = np.zeros((raster.shape[0], subnets.neurons(subnet)), bool)
    mine = inputs["slot_subnet"][k] == subnet
    neuron = inputs["slot_neuron"][k][mine] - subnets.offset(subnet)
    out[:, neuron] = raster[:, mine] > 0
    return out


def timing_raster(duration_classes: Sequence[np.ndarray], cfg: Config,
                  pacemaker_hz: float | None = None, seed: int | None = None) -> TimingRaster:
    """The pacemaker's and the striatal neurons' spikes for some tracks played together.

    **Arguments:**

    - `duration_classes`: per track, the recalled duration class of each event.
    - `cfg`: the config (``recall.timing`` and the timing keys, ``recall.pacemaker_hz``).
    - `pacemaker_hz`: the pacemaker's rate (default ``recall.pacemaker_hz``).
    - `seed`: the ``poisson`` pacemaker's random seed (default ``recall.pacemaker_seed``).

    **Returns:** a :class:`TimingRaster`: the striatal neuron of a track fires when it
    releases the next event (its spikes are the onsets after the first, and the end); with
    ``recall.timing = spiking`` every spike is one the timing circuit simulated.
    """
    rate = float(cfg.recall.pacemaker_hz if pacemaker_hz is None else pacemaker_hz)
    if cfg.recall.timing == "spiking":
        circuit = TimingCircuit.from_config(cfg)
        releases = run_circuit(duration_classes, cfg, seed, circuit)
        times = releases.seconds(rate)
        last = max((int(s[-1]) for s in releases.steps), default=0)
        seed = cfg.recall.pacemaker_seed if seed is None else seed
        width = 1 << max(last - 1, 0).bit_length()  # few compiled lengths
        train = np.asarray(pacemaker_train(circuit, width, jax.random.key(seed)))[:last]
        pacemaker = (np.nonzero(train)[0] + 1) / circuit.steps_per_period / rate
    else:
        times = release_times(duration_classes, cfg, rate)
        last = max((int(round(float(t[-1]) * rate)) for t in times), default=0)
        pacemaker = Pacemaker(rate).spike_time(np.arange(1, last + 1))
    return TimingRaster(rate, pacemaker, tuple(t[1:] for t in times), tuple(t[:-1] for t in times))


__all__ = ["LayerRaster", "RecallRaster", "TimingRaster", "record_recall", "timing_raster"]
