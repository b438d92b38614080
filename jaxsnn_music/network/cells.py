"""Context cells: which neuron of a value a stored event uses, and the table of used neurons.

In the paper a column has one neuron per value (129 pitch, 64 duration neurons), shared
by every piece that has that value at that position. Then a neuron can be reached from
one piece's context by a delay-1 transition and from another piece's by a delay-3 one,
and the sequence memory cannot tell the pieces apart. With ``network.context_cells = M``
every value has ``M`` neurons (*context cells*, neuron ``value * M + cell``) that share its
input, and learning chooses one cell per stored context (the rule of high-order sequence
memory, Hawkins & Ahmad 2016):

- the **predicted** cell, if there is one: the cell of the value that this very context
  was stored with, i.e. whose learned delay-1 synapses come from exactly the cells of the
  event before (all subnetworks' cells when ``network.cross_subnet`` is on, else its own
  subnetwork's). A cell that was stored with two contexts (a shared least-used cell) stands
  for their union, and neither predicts it any more;
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

    def contexts(self, layer: int, column: int) -> dict[tuple[int, int], set[tuple[int, int]]]:
        """Every cell of ``column`` that has stored delay-1 synapses, and their presynaptic cells
        (of column ``column - 1``): ``{(subnet, neuron): {(pre_subnet, pre), ...}}``."""
        lo, hi = np.searchsorted(self.syn_key, [
            keys.prefix(keys.SYNAPSE, layer=layer, post_col=column, delay=1),
            keys.prefix(keys.SYNAPSE, layer=layer, post_col=column, delay=2)])
        out: dict[tuple[int, int], set[tuple[int, int]]] = {}
        s = self.syn
        for pre_subnet, pre, post_subnet, post in zip(
                s["pre_subnet"][lo:hi].tolist(), s["pre"][lo:hi].tolist(),
                s["post_subnet"][lo:hi].tolist(), s["post"][lo:hi].tolist()):
            out.setdefault((post_subnet, post), set()).add((pre_subnet, pre))
        return out


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
        local_uses: dict[tuple, np.ndarray] = {}
        # Each cell's context so far (its delay-1 presynaptic cells), and the cell a context
        # was stored with: (layer, subnet, value, context) -> cell.
        contexts: dict[tuple[int, int, int], frozenset] = {}
        stored_with: dict[tuple, int] = {}
        if k > 0:
            for layer in sorted(set(layer_of.tolist())):
                for (subnet, neuron), pre in sorted(stored.contexts(layer, k).items()):
                    ctx = frozenset(c for c in pre if cross or c[0] == subnet)
                    contexts[(layer, subnet, neuron)] = ctx
                    stored_with.setdefault((layer, subnet, neuron // m, ctx), neuron % m)
        for n, (key, subnet, value, (field, at)) in enumerate(slots):
            layer = key[1]
            group = (layer, subnet, value)
            if group not in local_uses:
                local_uses[group] = uses[n].copy()
            count = local_uses[group]
            ctx = None
            if k > 0:
                before = _context(out[key], pieces[key[0]].tracks[layer], k - 1)
                ctx = frozenset(c for c in before if cross or c[0] == subnet)
            cell = stored_with.get((*group, ctx)) if ctx is not None else None
            if cell is None:
                cell = int(np.lexsort((np.arange(m), count))[0])
            count[cell] += 1
            neuron = value * m + cell
            if ctx is not None:
                old = contexts.get((layer, subnet, neuron), frozenset())
                new = old | ctx
                if new != old:
                    # The cell now stands for a wider context: no longer predicted by the old one.
                    if stored_with.get((*group, old)) == cell:
                        del stored_with[(*group, old)]
                    contexts[(layer, subnet, neuron)] = new
                    stored_with.setdefault((*group, new), cell)
            getattr(out[key], field)[at] = neuron
    return [[out[(i, layer)] for layer in range(len(p.tracks))] for i, p in enumerate(pieces)]


def _context(neurons: TrackNeurons, track, k: int) -> tuple[tuple[int, int], ...]:
    """The cells of event ``k``: ``((subnet, neuron), ...)``."""
    lo, hi = int(track.chord_ptr[k]), int(track.chord_ptr[k + 1])
    return tuple((0, int(n)) for n in neurons.pitch[lo:hi]) + ((1, int(neurons.duration[k])),)


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
