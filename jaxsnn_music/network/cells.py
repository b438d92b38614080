"""Context cells: which neuron of a value a stored event uses, and the table of used neurons.

In the paper a column has one neuron per value (129 pitch, 64 duration neurons), shared
by every piece that has that value at that position. Then a neuron can be reached from
one piece's context by a delay-1 transition and from another piece's by a delay-3 one,
and the sequence memory cannot tell the pieces apart. With ``network.context_cells = M``
every value has ``M`` neurons (*context cells*, neuron ``value * M + cell``) that share its
input, and learning chooses one cell per stored context (the rule of high-order sequence
memory, Hawkins & Ahmad 2016):

- the **predicted** cell, if there is one: a cell of the value that already has learned
  delay-1 synapses from every cell of the event before (all subnetworks' cells when
  ``network.cross_subnet`` is on, else its own subnetwork's), i.e. the cell this very
  context was stored with;
- else the **least-used** cell (ties: the lowest index), which is a fresh one while the
  value has unused cells. The first event of a track has no context, so it always takes
  the least-used cell: two pieces that begin alike still start separate chains.

A transition stored this way belongs to the context it came from: the cells of a piece's
later events are reached from its own earlier cells, and once two pieces have taken
different cells they never share one again (until a value runs out of cells and the
least-used one is shared). ``M = 1`` is the paper's network.

The choice depends on what was stored before, so it runs on the host, once per
:func:`~jaxsnn_music.network.grow` call, before the (parallel) learning scan: column by
column, and inside a column piece by piece in corpus order, which is the order a
one-piece-at-a-time memory would see them in. The :class:`CellTable` records how many
stored events used each cell; recall simulates exactly these neurons (a column's
*slots*).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from jaxsnn_music.network import keys
from jaxsnn_music.network.buckets import bucket
from jaxsnn_music.network.sorted_merge import place, union

FIELDS = keys.names(keys.CELL)
_DTYPES = {"layer": np.int16, "column": np.int32, "subnet": np.uint8, "neuron": np.int16}


class CellTable(eqx.Module):
    """The neurons learning used, sorted by (layer, column, subnet, neuron), with the number
    of stored events that used each; rows ``>= count`` are padding."""

    layer: Int[Array, " capacity"]
    column: Int[Array, " capacity"]
    subnet: Int[Array, " capacity"]
    neuron: Int[Array, " capacity"]
    uses: Int[Array, " capacity"]
    count: Int[Array, ""]

    @staticmethod
    def empty(capacity: int | None = None) -> CellTable:
        capacity = bucket(0) if capacity is None else capacity
        fields = {name: jnp.zeros(capacity, dtype) for name, dtype in _DTYPES.items()}
        fields["layer"] = jnp.full(capacity, -1, jnp.int16)
        return CellTable(**fields, uses=jnp.zeros(capacity, jnp.int32),
                         count=jnp.zeros((), jnp.int32))

    @property
    def n(self) -> int:
        return int(self.count)

    def to_numpy(self) -> dict[str, np.ndarray]:
        n = self.n
        return {name: np.asarray(getattr(self, name))[:n] for name in (*FIELDS, "uses")}


def merge_cells(table: CellTable, new: dict[str, np.ndarray]) -> CellTable:
    """Add uses (``new``: key fields and ``uses``, any order, repeats add) to the table."""
    old = table.to_numpy()
    new = {name: np.asarray(new[name]) for name in (*FIELDS, "uses")}
    u = union(keys.pack(keys.CELL, old, check=False), keys.pack(keys.CELL, new))
    capacity = bucket(u.size)
    fields = {name: jnp.asarray(place(u, capacity, -1 if name == "layer" else 0, old[name],
                                      new[name][u.new_rows].astype(_DTYPES[name])))
              for name in FIELDS}
    sums = np.zeros(len(u.known), np.int64)
    sums[u.known] += old["uses"][u.table_row[u.known]]
    np.add.at(sums, u.group, new["uses"][u.order])
    kept = old["uses"].astype(np.int64)
    kept[u.table_row[u.known]] = sums[u.known]
    uses = place(u, capacity, 0, kept.astype(np.int32), sums[~u.known].astype(np.int32))
    return CellTable(**fields, uses=jnp.asarray(uses), count=jnp.asarray(u.size, jnp.int32))


@dataclasses.dataclass(frozen=True, eq=False)
class TrackNeurons:
    """The neurons one track's events are stored in: ``pitch`` aligned with the track's chord
    tones (``TrackEvents.pitch``), ``duration`` one per event."""

    pitch: np.ndarray  # int [chord tones]
    duration: np.ndarray  # int [events]


def value_neurons(pieces: Sequence) -> list[list[TrackNeurons]]:
    """One cell per value (the paper's network): a neuron is its value."""
    return [[TrackNeurons(t.pitch.astype(np.int64), t.duration_class.astype(np.int64))
             for t in p.tracks] for p in pieces]


class _StoredContexts:
    """Look-ups into what earlier :func:`grow` calls stored: cell uses and delay-1 synapses."""

    def __init__(self, cells: CellTable, synapses):
        c = cells.to_numpy()
        self.cell_key = keys.pack(keys.CELL, c, check=False)
        self.uses = c["uses"]
        s = synapses.to_numpy()
        one = s["delay"] == 1
        self.syn = {k: v[one] for k, v in s.items()}
        self.syn_key = keys.pack(keys.SYNAPSE, self.syn, check=False)

    def uses_of(self, layer, column, subnet, first_neuron, m: int) -> np.ndarray:
        """``[queries, m]`` stored uses of the cells ``first_neuron .. + m - 1``."""
        neuron = np.asarray(first_neuron)[:, None] + np.arange(m)[None, :]
        key = keys.pack(keys.CELL, [np.asarray(layer)[:, None], np.asarray(column)[:, None],
                                    np.asarray(subnet)[:, None], neuron], check=False)
        if not len(self.cell_key):
            return np.zeros(key.shape, np.int64)
        at = np.minimum(np.searchsorted(self.cell_key, key), len(self.cell_key) - 1)
        return np.where(self.cell_key[at] == key, self.uses[at], 0)

    def successors(self, layer, column, pre_subnet, pre) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stored delay-1 synapse from each given cell of column ``column - 1`` into
        ``column``: ``(query index, post_subnet, post)``."""
        lo = np.searchsorted(self.syn_key, keys.prefix(
            keys.SYNAPSE, layer=layer, post_col=column, delay=1, pre_subnet=pre_subnet, pre=pre))
        hi = np.searchsorted(self.syn_key, keys.prefix(
            keys.SYNAPSE, layer=layer, post_col=column, delay=1, pre_subnet=pre_subnet,
            pre=np.asarray(pre) + 1))
        counts = hi - lo
        query = np.repeat(np.arange(len(counts)), counts)
        rows = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return query, self.syn["post_subnet"][rows].astype(np.int64), self.syn["post"][rows].astype(np.int64)


def allocate(pieces: Sequence, cells: CellTable, synapses, m: int, cross: bool
             ) -> list[list[TrackNeurons]]:
    """Choose the context cell of every chord tone and duration of ``pieces`` (see the module's
    text).

    **Arguments:**

    - `pieces`: the pieces about to be learned, in corpus order.
    - `cells`, `synapses`: the network's cell table and synapse store so far.
    - `m`: cells per value (``network.context_cells``).
    - `cross`: whether a cell's context includes the other subnetworks' cells
      (``network.cross_subnet``).

    **Returns:** per piece, per track, the :class:`TrackNeurons`.
    """
    if m == 1:
        return value_neurons(pieces)
    stored = _StoredContexts(cells, synapses)
    tracks = [(i, layer, t) for i, p in enumerate(pieces) for layer, t in enumerate(p.tracks)]
    out = {(i, layer): TrackNeurons(np.zeros(len(t.pitch), np.int64),
                                    np.zeros(t.n_events, np.int64)) for i, layer, t in tracks}
    chords = {(i, layer): t.chords() for i, layer, t in tracks}
    longest = max((t.n_events for _, _, t in tracks), default=0)
    for k in range(longest):
        here = [(i, layer, t) for i, layer, t in tracks if t.n_events > k]
        # Every (event, subnetwork, value) of this column, in corpus order.
        slots = []  # (track key, subnet, value, where the chosen neuron goes)
        for i, layer, t in here:
            start = int(t.chord_ptr[k])
            for j, value in enumerate(chords[(i, layer)][k]):
                slots.append(((i, layer), 0, int(value), ("pitch", start + j)))
            slots.append(((i, layer), 1, int(t.duration_class[k]), ("duration", k)))
        layer_of = np.array([key[1] for key, *_ in slots], np.int64)
        subnet_of = np.array([s for _, s, _, _ in slots], np.int64)
        value_of = np.array([v for _, _, v, _ in slots], np.int64)
        uses = stored.uses_of(layer_of, np.full(len(slots), k), subnet_of, value_of * m, m)
        contexts = {}
        predicted: dict[int, set[int]] = {}
        if k > 0:
            for key in {key for key, *_ in slots}:
                contexts[key] = _context(out[key], pieces[key[0]].tracks[key[1]], k - 1)
            predicted = _stored_predictions(stored, slots, contexts, k, m, cross)
        # What this call has stored into column k so far: (layer, pre cell) -> post cells.
        local: dict[tuple, set[tuple[int, int]]] = {}
        local_uses: dict[tuple, np.ndarray] = {}
        for n, (key, subnet, value, (field, at)) in enumerate(slots):
            group = (key[1], subnet, value)
            if group not in local_uses:
                local_uses[group] = uses[n].copy()
            count = local_uses[group]
            ctx = () if k == 0 else tuple(c for c in contexts[key] if cross or c[0] == subnet)
            cands = set(predicted.get(n, ()))
            if ctx:
                reached = set.intersection(*(local.get((key[1], c), set()) for c in ctx))
                cands |= {nn % m for s_, nn in reached if s_ == subnet and nn // m == value}
            cell = min(cands) if cands else int(np.lexsort((np.arange(m), count))[0])
            count[cell] += 1
            for c in ctx:
                local.setdefault((key[1], c), set()).add((subnet, value * m + cell))
            getattr(out[key], field)[at] = value * m + cell
    return [[out[(i, layer)] for layer in range(len(p.tracks))] for i, p in enumerate(pieces)]


def _context(neurons: TrackNeurons, track, k: int) -> tuple[tuple[int, int], ...]:
    """The cells of event ``k``: ``((subnet, neuron), ...)``."""
    lo, hi = int(track.chord_ptr[k]), int(track.chord_ptr[k + 1])
    return tuple((0, int(n)) for n in neurons.pitch[lo:hi]) + ((1, int(neurons.duration[k])),)


def _stored_predictions(stored: _StoredContexts, slots, contexts, k: int, m: int, cross: bool
                        ) -> dict[int, set[int]]:
    """For each slot of column ``k``: the cells of its value that earlier calls stored with
    exactly this context (a delay-1 synapse from every context cell)."""
    if not len(stored.syn_key):
        return {}
    queries = []  # (slot index, pre_subnet, pre)
    for n, (key, subnet, _, _) in enumerate(slots):
        for pre_subnet, pre in contexts[key]:
            if cross or pre_subnet == subnet:
                queries.append((n, pre_subnet, pre))
    if not queries:
        return {}
    q = np.array(queries, np.int64)
    layer = np.array([slots[n][0][1] for n in q[:, 0]], np.int64)
    hit, post_subnet, post = stored.successors(layer, np.full(len(q), k), q[:, 1], q[:, 2])
    slot = q[hit, 0]
    subnet = np.array([slots[n][1] for n in slot], np.int64)
    value = np.array([slots[n][2] for n in slot], np.int64)
    ok = (post_subnet == subnet) & (post // m == value)
    need = np.bincount(q[:, 0], minlength=len(slots))
    found: dict[tuple[int, int], int] = {}
    for n, cell in zip(slot[ok], post[ok] % m):
        found[(int(n), int(cell))] = found.get((int(n), int(cell)), 0) + 1
    out: dict[int, set[int]] = {}
    for (n, cell), hits in found.items():
        if hits == need[n]:
            out.setdefault(n, set()).add(cell)
    return out


def used_cells(pieces: Sequence, neurons: list[list[TrackNeurons]]) -> dict[str, np.ndarray]:
    """One use per stored event of each cell: rows for :func:`merge_cells`."""
    rows = {name: [] for name in (*FIELDS, "uses")}
    for piece, tracks in zip(pieces, neurons):
        for layer, (track, ids) in enumerate(zip(piece.tracks, tracks)):
            event = np.repeat(np.arange(track.n_events), track.chord_size)
            for subnet, column, neuron in ((0, event, ids.pitch),
                                           (1, np.arange(track.n_events), ids.duration)):
                rows["layer"].append(np.full(len(neuron), layer))
                rows["column"].append(column)
                rows["subnet"].append(np.full(len(neuron), subnet))
                rows["neuron"].append(neuron)
                rows["uses"].append(np.ones(len(neuron), np.int64))
    return {k: np.concatenate(v).astype(np.int64) if v else np.zeros(0, np.int64)
            for k, v in rows.items()}
