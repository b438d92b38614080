"""Goal-based (title-cued) recall: drive a title neuron, read every column of its tracks.

MODEL.md section 4. A recall *unit* is one track (sequence layer) of one title:
the layers never exchange spikes, so the tracks of a piece, and the pieces of a
corpus, are recalled side by side: units of one layer are batched (vmapped),
longest first, and every batch walks its columns in chunks of
``recall.chunk_columns`` up to the end marker of its longest track
(``Network.track_lengths``); a unit whose track has ended gets no more input, and
the batch shrinks (to a power of four) as its units end. No recall walks the
columns of a longer piece than its batch's own.

Each chunk's report is read out at once (:mod:`.readout`) and only the compact
result is kept: the read-out neuron, the chord set, the duration class, the
first spike time and how many pitch neurons fired, per column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.network.model import Network
from jaxsnn_music.recall.errors import UnknownTitleError
from jaxsnn_music.recall.index import NetworkIndex, row_bucket
from jaxsnn_music.recall.readout import SILENT, ColumnReadOut
from jaxsnn_music.recall.simulator import ColumnInputs, ColumnOutput, CueInputs, Recaller, recall_chunk


@dataclasses.dataclass(frozen=True, eq=False)
class RecalledTrack:
    """What one recall unit recalled, column by column (NumPy).

    ``pitch`` is the read-out neuron of each pitch column (pitch class, ``SILENT``
    = no spike); ``chord`` / ``chord_ptr`` hold each column's chord set (high to
    low, like :class:`~jaxsnn_music.events.TrackEvents`; with ``encoding.chords =
    first`` the set is ``{pitch}``); ``duration_class`` is the duration read-out.
    """

    title: str
    layer: int
    start: int
    pitch: np.ndarray  # int [events]
    chord_ptr: np.ndarray  # int [events + 1]
    chord: np.ndarray  # int [tones]
    duration_class: np.ndarray  # int [events]
    first_time: np.ndarray  # float [events]: the pitch column's first spike (steps into its window)
    n_fired: np.ndarray  # int [events]: pitch neurons that fired in the column

    @property
    def n_events(self) -> int:
        return int(self.pitch.shape[0])

    def chords(self) -> list[tuple[int, ...]]:
        return [tuple(int(p) for p in self.chord[self.chord_ptr[k]:self.chord_ptr[k + 1]])
                for k in range(self.n_events)]


@dataclasses.dataclass(frozen=True, eq=False)
class RecalledPiece:
    """Every track of one title, recalled."""

    title: str
    tracks: tuple[RecalledTrack, ...]

    @property
    def n_events(self) -> int:
        return sum(t.n_events for t in self.tracks)


@dataclasses.dataclass(frozen=True, eq=False)
class CuedTrack:
    """One track to recall: title id (``-1``: no title is driven), layer, first column, number
    of columns, and optionally what the ``D`` columns before ``start`` passed on:
    ``context[d - 1]`` is the raster ``[steps, neurons]`` of column ``start - d`` over every
    neuron of every subnetwork (global index, :class:`~jaxsnn_music.network.subnets.Subnets`),
    e.g. a replayed fragment."""

    title: int
    layer: int
    start: int
    length: int
    context: np.ndarray | None = None


def title_index(network: Network, title: str | int) -> int:
    """The id of a title given by name (exact, or a unique case-insensitive match of
    its last path part) or by id; :class:`UnknownTitleError` otherwise."""
    titles = network.titles
    if isinstance(title, (int, np.integer)):
        if 0 <= title < len(titles):
            return int(title)
        raise UnknownTitleError(str(title), titles)
    if title in titles:
        return titles.index(title)
    matches = [i for i, t in enumerate(titles)
               if t.lower() == title.lower() or t.rsplit("/", 1)[-1].lower() == title.lower()]
    if len(matches) == 1:
        return matches[0]
    raise UnknownTitleError(title, titles)


def _chunk_readout(pitch: ColumnOutput, duration: ColumnOutput, column: ColumnReadOut
                   ) -> tuple[np.ndarray, ...]:
    """A unit's read-out of some columns from their ``[columns, values]`` reports: pitch
    value, chord sizes, chord tones (high to low, like the encoder's chords), duration,
    first spike time and the number of pitch values that fired."""
    first_p, count_p = pitch.times(), pitch.count
    first_d, count_d = duration.times(), duration.count
    sets = column(first_p, count_p)
    rows, cols = np.nonzero(sets[:, ::-1])
    tones = (first_p.shape[-1] - 1 - cols).astype(np.int64)
    sizes = np.bincount(rows, minlength=len(first_p))
    return (column.value(first_p, count_p), sizes, tones, column.value(first_d, count_d),
            first_p.min(axis=-1), (count_p > 0).sum(axis=-1))


def batch_slots(index: NetworkIndex, layer: int, first: int, last: int) -> int:
    """Slots every column of a recall over columns ``first .. last - 1`` (and the ``D`` before
    them, its context) fits in: a power of four."""
    lo = max(first - index.n_delays, 0)
    return row_bucket(int(index.slot_counts(layer, lo, max(last - lo, 1)).max(initial=1)))


def context_rasters(index: NetworkIndex, layer: int, start: int, context: np.ndarray, slots: int,
                    n_delays: int) -> tuple[np.ndarray, np.ndarray]:
    """A context given over every neuron (``[D, steps, neurons]``, column ``start - d`` at
    ``d - 1``) moved onto the slots of those columns: ``(rasters [D, steps, slots],
    neurons [D, slots])``. A neuron that is not a slot of its column has no synapse out of it,
    so nothing is lost."""
    steps = context.shape[1]
    rasters = np.zeros((n_delays, steps, slots), context.dtype)
    neurons = np.full((n_delays, slots), -1, np.int64)
    for k in range(1, n_delays + 1):
        if start - k < 0:
            continue
        inputs = index.column_inputs(layer, start - k, 1, slots)
        slot_neuron = inputs["slot_neuron"][0]
        neurons[k - 1] = slot_neuron
        used = slot_neuron >= 0
        rasters[k - 1][:, used] = np.asarray(context[k - 1])[:, slot_neuron[used]]
    return rasters, neurons


def context_state(recaller: Recaller, index: NetworkIndex, unit: CuedTrack | None, slots: int):
    """The initial state of a recall: reset, with its context moved onto the slots of the
    columns before its start."""
    if unit is None or unit.context is None:
        return recaller.init(slots)
    rasters, neurons = context_rasters(index, unit.layer, unit.start, unit.context, slots,
                                       recaller.n_delays)
    return recaller.init(slots, jnp.asarray(rasters), jnp.asarray(neurons))


def recall_units(index: NetworkIndex, units: Sequence[CuedTrack], cfg: Config,
                 recaller: Recaller | None = None) -> list[RecalledTrack]:
    """Recall a set of units; batches share a layer and a start column.

    **Arguments:**

    - `index`: the network's look-ups.
    - `units`: what to recall.
    - `cfg`: the config (network dynamics and ``recall`` section).
    - `recaller`: the dynamics, if not the config's (e.g. with tuned thresholds and delays).

    **Returns:** one :class:`RecalledTrack` per unit, in the order given.
    """
    recaller = recaller or Recaller.from_config(cfg)
    column_readout = recaller.readouts[0]
    rc = cfg.recall
    chunk, batch = rc.chunk_columns, rc.batch_units
    results: list[RecalledTrack | None] = [None] * len(units)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, u in enumerate(units):
        groups.setdefault((u.layer, u.start), []).append(i)
    for (layer, start), members in sorted(groups.items()):
        members.sort(key=lambda i: -units[i].length)
        for b0 in range(0, len(members), batch):
            part = members[b0:b0 + batch]
            size = _batch_size(len(part), batch)
            titles = np.full(size, -1, np.int64)
            lengths = np.zeros(size, np.int64)
            for j, i in enumerate(part):
                titles[j], lengths[j] = units[i].title, units[i].length
            slots = batch_slots(index, layer, start, start + int(lengths.max()))
            state = jax.tree.map(lambda *xs: jnp.stack(xs), *[
                context_state(recaller, index, units[part[j]] if j < len(part) else None, slots)
                for j in range(size)])
            parts: list[list[tuple]] = [[] for _ in part]  # per unit, each chunk's read-out
            for c0 in range(start, start + int(lengths.max()), chunk):
                # Units are sorted longest first: those that have ended are at the end of
                # the batch, and it shrinks once three quarters of it have ended.
                alive = int((start + lengths > c0).sum())
                if _batch_size(alive, batch) < size:
                    size = _batch_size(alive, batch)
                    state = jax.tree.map(lambda x: x[:size], state)
                    titles, lengths = titles[:size], lengths[:size]
                columns = index.column_inputs(layer, c0, chunk, slots)
                goal = index.goal_weights(titles, layer, c0, chunk, slots)
                active = (c0 + np.arange(chunk))[:, None] < (start + lengths)[None, :]
                state, (out_p, out_d) = recall_chunk(
                    recaller, state, ColumnInputs(**{k: jnp.asarray(v) for k, v in columns.items()}),
                    CueInputs(jnp.asarray(goal), jnp.asarray(active)), rc.sparse_inputs,
                    rc.sparse_slots if rc.sparse_slots < slots else 0)
                out_p, out_d = jax.tree.map(np.asarray, (out_p, out_d))
                for j in range(min(size, len(part))):
                    n = min(chunk, start + int(lengths[j]) - c0)
                    if n > 0:
                        parts[j].append(_chunk_readout(
                            jax.tree.map(lambda x: x[:n, j], out_p),
                            jax.tree.map(lambda x: x[:n, j], out_d), column_readout))
            for j, i in enumerate(part):
                pitch, sizes, tones, duration, earliest, fired = (
                    np.concatenate(x) for x in zip(*parts[j]))
                results[i] = RecalledTrack(
                    title=index.titles[units[i].title] if units[i].title >= 0 else "",
                    layer=layer, start=start, pitch=pitch,
                    chord_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                    chord=tones, duration_class=duration, first_time=earliest, n_fired=fired)
    return results


def _batch_size(n: int, batch: int) -> int:
    """Recalls simulated side by side for ``n`` units: a power of four (few compiled shapes),
    at most ``batch``."""
    size = 1
    while size < n:
        size *= 4
    return min(size, batch)


def recall_titles(network: Network, titles: Sequence[str | int] | None, cfg: Config,
                  index: NetworkIndex | None = None, recaller: Recaller | None = None
                  ) -> list[RecalledPiece]:
    """Title-cued recall of every track of the given titles (all when None).

    **Arguments:**

    - `network`: the memorized network.
    - `titles`: names or ids.
    - `cfg`: the config.
    - `index`: reuse the look-ups of an earlier call (optional).
    - `recaller`: the dynamics, if not the config's (e.g. tuned, :mod:`jaxsnn_music.tune`).

    **Returns:** one :class:`RecalledPiece` per title, in the order given.
    """
    index = index or NetworkIndex(network, cfg)
    ids = list(range(network.n_titles)) if titles is None else [title_index(network, t) for t in titles]
    lengths = index.lengths
    units = [CuedTrack(t, layer, 0, int(lengths[t, layer]))
             for t in ids for layer in range(lengths.shape[1]) if lengths[t, layer] > 0]
    tracks = recall_units(index, units, cfg, recaller)
    by_title: dict[int, list[RecalledTrack]] = {}
    for unit, track in zip(units, tracks):
        by_title.setdefault(unit.title, []).append(track)
    return [RecalledPiece(network.titles[t], tuple(by_title.get(t, ()))) for t in ids]


def recall_title(network: Network, title: str | int, cfg: Config,
                 recaller: Recaller | None = None) -> RecalledPiece:
    """Title-cued recall of one piece (every track it has)."""
    return recall_titles(network, [title], cfg, recaller=recaller)[0]


__all__ = ["SILENT", "RecalledPiece", "RecalledTrack", "CuedTrack", "recall_title", "recall_titles",
           "recall_units", "title_index"]
