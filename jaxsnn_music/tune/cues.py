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

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.errors import UserError
from jaxsnn_music.events import Piece, TrackEvents
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.synapses import DURATION, PITCH
from jaxsnn_music.recall.simulate import N_DURATION, N_PITCH, Recaller, ColumnSynapses, dense_weights
from jaxsnn_music.recall.index import NetworkIndex, row_bucket
from jaxsnn_music.tune.dynamics import CueBatch


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
    - `host`: reuse existing lookups (optional).
    """

    def __init__(self, network: Network, pieces: Sequence[Piece], cfg: Config,
                 host: NetworkIndex | None = None):
        self.cfg = cfg
        self.host = host or NetworkIndex(network)
        self.d = cfg.network.n_delays
        self.recaller = Recaller.from_config(cfg)
        by_title = {p.title: p for p in pieces}
        lengths = self.host.lengths
        self.tracks: dict[tuple[int, int], TrackEvents] = {}
        for t, name in enumerate(self.host.titles):
            piece = by_title.get(name)
            for layer, track in enumerate(piece.tracks if piece is not None else ()):
                if (layer < lengths.shape[1] and lengths[t, layer] == track.n_events
                        and track.n_events > self.d):
                    self.tracks[(t, layer)] = track
        if not self.tracks:
            raise NoCuesError(f"no memorized track longer than {self.d} events has its stored "
                              "piece at hand (pieces must match the network's titles)")
        steps = cfg.network.steps_per_window
        self._teacher = {
            n: jax.jit(jax.vmap(lambda ids, n=n: self.recaller.teacher_raster(ids, n)))
            for n in (N_PITCH, N_DURATION)}
        self._steps = steps

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

    def _ids(self, positions: Sequence[Position], columns: int, subnet: int, offset: int
             ) -> np.ndarray:
        """``[len(positions), columns, max chord]`` neuron ids of columns ``start + offset ..``
        (``-1``: none / past the end)."""
        width = self.cfg.network.max_chord_size if subnet == PITCH else 1
        ids = np.full((len(positions), columns, width), -1, np.int64)
        for b, pos in enumerate(positions):
            track = self.tracks[(pos.title, pos.layer)]
            for c in range(columns):
                k = pos.start + offset + c
                if 0 <= k < track.n_events:
                    values = track.chord(k) if subnet == PITCH else (int(track.duration_class[k]),)
                    ids[b, c, :len(values)] = values
        return ids

    def clean_cues(self, positions: Sequence[Position]) -> tuple[np.ndarray, np.ndarray]:
        """Boolean rasters ``[cues, D, steps, neurons]`` of each cue (slot ``d - 1`` = column
        ``start - d``), pitch and duration, unperturbed."""
        out = []
        for subnet, n in ((PITCH, N_PITCH), (DURATION, N_DURATION)):
            ids = self._ids(positions, self.d, subnet, -self.d)[:, ::-1]  # newest first
            flat = jnp.asarray(ids.reshape(-1, ids.shape[-1]))
            out.append(np.asarray(self._teacher[n](flat)).reshape(len(positions), self.d,
                                                                    self._steps, n))
        return out[0], out[1]

    def perturbed_cues(self, positions: Sequence[Position], key,
                       clean: tuple[np.ndarray, np.ndarray] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """The cues, spoiled as ``tune`` says (pitch and duration with independent draws);
        ``clean`` reuses the positions' :meth:`clean_cues` when the caller has them."""
        t = self.cfg.tune
        pitch, duration = clean if clean is not None else self.clean_cues(positions)
        k_p, k_d = jax.random.split(key)
        return (np.asarray(perturb(k_p, jnp.asarray(pitch), t.jitter_steps, t.drop_prob,
                                   t.extra_spikes)),
                np.asarray(perturb(k_d, jnp.asarray(duration), t.jitter_steps, t.drop_prob,
                                   t.extra_spikes)))

    # -- batches -----------------------------------------------------------------

    def batch(self, positions: Sequence[Position], cues: tuple[np.ndarray, np.ndarray],
              columns: int, title_cue: bool, dtype=jnp.float32) -> CueBatch:
        """The :class:`CueBatch` of these positions, cues and ``columns`` recalled columns."""
        data = {}
        for subnet, n, name in ((PITCH, N_PITCH, "pitch"), (DURATION, N_DURATION, "duration")):
            size = row_bucket(max(int(self.host.row_counts(p.layer, subnet, p.start, columns)
                                      .max(initial=0)) for p in positions))
            rows = [self.host.rows(p.layer, subnet, p.start, columns, size) for p in positions]
            stacked = ColumnSynapses(**{k: jnp.asarray(np.stack([r[k] for r in rows], axis=1))
                              for k in ("delay", "pre", "post", "weight")})
            data[f"weights_{name}"] = _dense(stacked, self.d, n).astype(dtype)
            goal = np.concatenate([self.host.goal_weights(np.array([p.title]), p.layer, subnet,
                                                          p.start, columns) for p in positions], axis=1)
            data[f"goal_{name}"] = jnp.asarray(goal if title_cue else np.zeros_like(goal), dtype)
            ids = self._ids(positions, columns, subnet, 0)  # [B, columns, width]
            target = np.zeros((len(positions), columns, n + 1), np.float32)
            np.put_along_axis(target, np.where(ids >= 0, ids, n), 1.0, axis=-1)
            data[f"target_{name}"] = jnp.asarray(target[..., :n].transpose(1, 0, 2), dtype)
        ends = np.array([self.tracks[(p.title, p.layer)].n_events - p.start for p in positions])
        active = np.arange(columns)[:, None] < ends[None, :]
        return CueBatch(jnp.asarray(cues[0], dtype), jnp.asarray(cues[1], dtype),
                        active=jnp.asarray(active), **data)


@eqx.filter_jit
def _dense(rows: ColumnSynapses, n_delays: int, neurons: int):
    return jax.vmap(jax.vmap(lambda r: dense_weights(r, n_delays, neurons)))(rows)
