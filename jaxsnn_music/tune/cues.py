"""Perturbed cues: where a cued recall starts, what its cue is, and how it is spoiled.

A cue is the stored events of the ``D`` columns before a position ``start`` of a
memorized track, replayed as the plain simulator replays a fragment: each
event's neurons driven with the teacher current from rest
(:meth:`~jaxsnn_music.recall.simulate.Recaller.teacher_raster`, the paper's
thresholds: the cue is input, not part of what is tuned). It is then spoiled
(:func:`perturb`) by

- **timing jitter**: every spike moves by a uniform whole number of steps in
  ``+-tune.jitter_steps`` (a spike moved out of its window is lost);
- **dropped spikes**: every spike is lost with probability ``tune.drop_prob``;
- **extra spikes**: on average ``tune.extra_spikes`` spurious spikes per cue
  column, each at a uniformly random neuron and step.

:class:`CueSource` draws positions from a set of titles (the tuning titles, or
the held-out ones) and builds the batches of :mod:`.dynamics` from the
network's lookups (:class:`~jaxsnn_music.recall.index.NetworkIndex`) and the
stored pieces.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.errors import UserError
from jaxsnn_music.events import Piece, TrackEvents
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.subnets import PITCH
from jaxsnn_music.recall.cued import batch_slots, context_rasters
from jaxsnn_music.recall.index import NetworkIndex
from jaxsnn_music.recall.simulator import ColumnInputs, CueInputs, Recaller
from jaxsnn_music.tune.objective import CueBatch


class NoCuesError(UserError):
    """No memorized track is long enough to cue (or no stored piece matches the network)."""


@dataclasses.dataclass(frozen=True)
class Position:
    """A cued recall: title id, layer (track) and the first recalled column."""

    title: int
    layer: int
    start: int


def perturb(key, rasters, jitter: int, drop_prob: float, extra_spikes: float):
    """Spoil boolean cue rasters ``[..., steps, neurons]`` (see the module's text)."""
    k_jitter, k_drop, k_extra = jax.random.split(key, 3)
    shape = rasters.shape
    steps, neurons = shape[-2], shape[-1]
    keep = rasters & (jax.random.uniform(k_drop, shape) >= drop_prob)
    index = jnp.indices(shape)
    moved = index[-2] + jax.random.randint(k_jitter, shape, -jitter, jitter + 1)
    moved = jnp.where((moved >= 0) & (moved < steps), moved, steps)  # out of the window: dropped
    out = jnp.zeros(shape, bool).at[(*index[:-2], moved, index[-1])].max(keep, mode="drop")
    extra = jax.random.uniform(k_extra, shape) < extra_spikes / (steps * neurons)
    return out | extra


class CueSource:
    """Cue positions and batches over the memorized tracks whose stored events are known.

    **Arguments:**

    - `network`: the memorized network.
    - `pieces`: the stored pieces (matched to the network's titles by title).
    - `cfg`: the config.
    - `index`: reuse existing look-ups (optional).
    """

    def __init__(self, network: Network, pieces: Sequence[Piece], cfg: Config,
                 index: NetworkIndex | None = None):
        self.cfg = cfg
        self.index = index or NetworkIndex(network, cfg)
        self.subnets = self.index.subnets
        self.d = cfg.network.n_delays
        self.recaller = Recaller.from_config(cfg)
        by_title = {p.title: p for p in pieces}
        lengths = self.index.lengths
        self.tracks: dict[tuple[int, int], TrackEvents] = {}
        for t, name in enumerate(self.index.titles):
            piece = by_title.get(name)
            for layer, track in enumerate(piece.tracks if piece is not None else ()):
                if (layer < lengths.shape[1] and lengths[t, layer] == track.n_events
                        and track.n_events > self.d):
                    self.tracks[(t, layer)] = track
        if not self.tracks:
            raise NoCuesError(f"no memorized track longer than {self.d} events has its stored "
                              "piece at hand (pieces must match the network's titles)")
        self._teacher = jax.jit(jax.vmap(self.recaller.teacher_raster))
        self._steps = cfg.network.steps_per_window

    @property
    def titles(self) -> list[int]:
        return sorted({t for t, _ in self.tracks})

    def split(self, share: float, seed: int) -> tuple[list[int], list[int]]:
        """The titles whose cues tune (``share`` of them, at least one) and the held-out rest."""
        titles = np.random.default_rng(seed).permutation(self.titles)
        n = min(max(1, round(share * len(titles))), len(titles) - 1) if len(titles) > 1 else 1
        return sorted(titles[:n].tolist()), sorted(titles[n:].tolist())

    def positions(self, titles: Sequence[int], n: int, rng: np.random.Generator) -> list[Position]:
        """``n`` random positions (tracks weighted by length, ``start`` uniform after the first
        ``D`` events) on the tracks of ``titles``."""
        keys = [k for k in self.tracks if k[0] in set(titles)]
        if not keys:
            raise NoCuesError("no cue-able track among the chosen titles")
        sizes = np.array([self.tracks[k].n_events - self.d for k in keys], np.float64)
        picks = rng.choice(len(keys), size=n, p=sizes / sizes.sum())
        out = []
        for i in picks:
            t, layer = keys[i]
            out.append(Position(t, layer, int(rng.integers(self.d, self.tracks[(t, layer)].n_events))))
        return out

    # -- cues --------------------------------------------------------------------

    def _values(self, pos: Position, column: int, subnet: int) -> tuple[int, ...]:
        track = self.tracks[(pos.title, pos.layer)]
        if not 0 <= column < track.n_events:
            return ()
        return track.chord(column) if subnet == PITCH else (int(track.duration_class[column]),)

    def clean_cues(self, positions: Sequence[Position]) -> tuple[np.ndarray, ...]:
        """Per subnetwork, boolean rasters ``[cues, D, steps, neurons]`` of each cue (slot
        ``d - 1`` = column ``start - d``): every cell of each stored value driven, unperturbed."""
        out = []
        m = self.subnets.cells
        for subnet in range(self.subnets.count):
            driven = np.zeros((len(positions), self.d, self.subnets.neurons(subnet)), bool)
            for b, pos in enumerate(positions):
                for d in range(1, self.d + 1):
                    for v in self._values(pos, pos.start - d, subnet):
                        driven[b, d - 1, v * m:(v + 1) * m] = True
            flat = jnp.asarray(driven.reshape(-1, driven.shape[-1]))
            out.append(np.asarray(self._teacher(flat)).reshape(len(positions), self.d, self._steps,
                                                               driven.shape[-1]))
        return tuple(out)

    def perturbed_cues(self, positions: Sequence[Position], key,
                       clean: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, ...]:
        """The cues, spoiled as ``tune`` says (each subnetwork with its own draws); ``clean``
        reuses the positions' :meth:`clean_cues` when the caller has them."""
        t = self.cfg.tune
        clean = clean if clean is not None else self.clean_cues(positions)
        keys = jax.random.split(key, len(clean))
        return tuple(np.asarray(perturb(k, jnp.asarray(c), t.jitter_steps, t.drop_prob,
                                        t.extra_spikes)) for k, c in zip(keys, clean))

    def context(self, cues: tuple[np.ndarray, ...], b: int) -> np.ndarray:
        """Cue ``b`` as one raster ``[D, steps, neurons]`` over every subnetwork's neurons
        (global index: what :class:`~jaxsnn_music.recall.CuedTrack` takes)."""
        return np.concatenate([c[b] for c in cues], axis=-1)

    # -- batches -----------------------------------------------------------------

    def batch(self, positions: Sequence[Position], cues: tuple[np.ndarray, ...], columns: int,
              title_cue: bool, dtype=jnp.float32) -> CueBatch:
        """The :class:`~.objective.CueBatch` of these positions, cues and ``columns`` recalled
        columns."""
        index = self.index
        slots = max(batch_slots(index, p.layer, p.start, p.start + columns) for p in positions)
        inputs = [index.column_inputs(p.layer, p.start, columns, slots) for p in positions]
        rows = max(x["row_delay"].shape[1] for x in inputs)
        stacked = {}
        for name in inputs[0]:
            parts = []
            for x in inputs:
                v = x[name]
                if name.startswith("row_") and v.shape[1] < rows:
                    v = np.pad(v, ((0, 0), (0, rows - v.shape[1])))
                parts.append(v)
            stacked[name] = jnp.asarray(np.stack(parts, axis=1))  # [C, B, ...]
        goal = np.concatenate([index.goal_weights(np.array([p.title]), p.layer, p.start, columns,
                                                  slots) for p in positions], axis=1)
        targets = []
        for subnet in range(self.subnets.count):
            target = np.zeros((columns, len(positions), self.subnets.values[subnet]), bool)
            for b, pos in enumerate(positions):
                for c in range(columns):
                    target[c, b, list(self._values(pos, pos.start + c, subnet))] = True
            targets.append(jnp.asarray(target))
        ends = np.array([self.tracks[(p.title, p.layer)].n_events - p.start for p in positions])
        active = np.arange(columns)[:, None] < ends[None, :]
        context, neurons = [], []
        for b, pos in enumerate(positions):
            raster, neuron = context_rasters(index, pos.layer, pos.start, self.context(cues, b),
                                             slots, self.d)
            context.append(raster)
            neurons.append(neuron)
        cue_inputs = CueInputs(jnp.asarray(goal if title_cue else np.zeros_like(goal), dtype),
                               jnp.asarray(active), tuple(targets))
        return CueBatch(jnp.asarray(np.stack(context), dtype), jnp.asarray(np.stack(neurons)),
                        ColumnInputs(**stacked), cue_inputs)
