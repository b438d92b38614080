"""The sparse store of sequential (STDP) synapses.

A sequential synapse is named by ``(layer, subnet, post_col, delay, pre, post)``:
in sequence layer ``layer`` (one per track index), subnetwork ``subnet``
(0 = pitch, 1 = duration), it runs from neuron ``pre`` of column
``post_col - delay`` to neuron ``post`` of column ``post_col``. Only synapses
that learning touched exist, so storage grows with note transitions x delays,
never with columns x 129^2.

Rows are sorted by that key (columns are contiguous, so recall finds a column's
inputs with :meth:`SynapseStore.column_offsets`), distinct, and padded to a
capacity bucket. Every leaf is a plain array, so the store saves as is.
Bytes per synapse: 2 (layer) + 1 (subnet) + 4 (post_col) + 1 (delay) + 1 (pre)
+ 1 (post) + 4 (weight) = 14.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from jaxsnn_music.network.buckets import bucket
from jaxsnn_music.network.sorted_merge import pack_keys, place, segment_sums, union

MAX_LAYERS = 1 << 10
MAX_COLUMNS = 1 << 20
PITCH, DURATION = 0, 1
_FIELDS = ("layer", "subnet", "post_col", "delay", "pre", "post")
_DTYPES = {"layer": jnp.int16, "subnet": jnp.uint8, "post_col": jnp.int32, "delay": jnp.uint8,
           "pre": jnp.uint8, "post": jnp.uint8}
BYTES_PER_SYNAPSE = sum(np.dtype(d).itemsize for d in _DTYPES.values()) + 4


class SynapseStore(eqx.Module):
    """Sorted, coalesced sequential synapses; rows ``>= count`` are padding (layer -1)."""

    layer: Int[Array, " capacity"]
    subnet: Int[Array, " capacity"]
    post_col: Int[Array, " capacity"]
    delay: Int[Array, " capacity"]
    pre: Int[Array, " capacity"]
    post: Int[Array, " capacity"]
    weight: Float[Array, " capacity"]
    count: Int[Array, ""]

    @staticmethod
    def empty(capacity: int | None = None) -> SynapseStore:
        capacity = bucket(0) if capacity is None else capacity
        fields = {name: jnp.zeros(capacity, dtype) for name, dtype in _DTYPES.items()}
        fields["layer"] = jnp.full(capacity, -1, jnp.int16)
        return SynapseStore(**fields, weight=jnp.zeros(capacity, jnp.float32),
                            count=jnp.zeros((), jnp.int32))

    @property
    def capacity(self) -> int:
        return self.weight.shape[0]

    @property
    def n(self) -> int:
        return int(self.count)

    @property
    def nbytes(self) -> int:
        """Bytes of the real rows (padding excluded)."""
        return self.n * BYTES_PER_SYNAPSE

    def to_numpy(self) -> dict[str, np.ndarray]:
        """The real rows as NumPy arrays, by field (for tests and inspection)."""
        n = self.n
        return {name: np.asarray(getattr(self, name))[:n] for name in (*_FIELDS, "weight")}

    def column_offsets(self, n_layers: int, n_columns: int) -> Int[Array, "layers 2 columns_plus_1"]:
        """Row ranges: the inputs of column ``c`` of ``(layer, subnet)`` are the rows
        ``offsets[layer, subnet, c] : offsets[layer, subnet, c + 1]``."""
        keys = jnp.where(jnp.arange(self.capacity) < self.count, _column_key(self),
                         jnp.iinfo(jnp.int32).max)
        layer = jnp.arange(n_layers)[:, None, None]
        subnet = jnp.arange(2)[None, :, None]
        column = jnp.arange(n_columns + 1)[None, None, :]
        query = (layer * 2 + subnet) * MAX_COLUMNS + column
        return jnp.searchsorted(keys, query, side="left").astype(jnp.int32)


def _column_key(s) -> Int[Array, " n"]:
    return (s.layer.astype(jnp.int32) * 2 + s.subnet.astype(jnp.int32)) * MAX_COLUMNS \
        + s.post_col.astype(jnp.int32)


# Key bits of each field, most significant first (the store's sort order).
_KEY_BITS = {"layer": (MAX_LAYERS - 1).bit_length(), "subnet": 1,
             "post_col": (MAX_COLUMNS - 1).bit_length(), "delay": 8, "pre": 8, "post": 8}


def _rows(new: SynapseStore | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The real rows of a table of changes, each field in the store's dtype."""
    if isinstance(new, SynapseStore):
        return new.to_numpy()
    _check_range(new["layer"], new["post_col"])
    rows = {name: np.asarray(new[name]).astype(np.dtype(_DTYPES[name]), copy=False)
            for name in _FIELDS}
    return {**rows, "weight": np.asarray(new["weight"], np.float32)}


def _check_range(layer, post_col) -> None:
    if len(layer) and (int(np.max(layer)) >= MAX_LAYERS or int(np.max(post_col)) >= MAX_COLUMNS):
        raise ValueError(f"synapse store supports < {MAX_LAYERS} layers and < {MAX_COLUMNS} columns")


def merge(store: SynapseStore, new: SynapseStore | Mapping[str, np.ndarray],
          w_min: float = -math.inf, w_max: float = math.inf) -> SynapseStore:
    """Add the weight changes ``new`` into ``store`` (union of keys, sums on shared keys).

    Runs on the host and costs about the size of ``new`` plus one copy of the
    store (see :mod:`.tables`), not a sort of the whole store. Per key the sum is
    ``0 + (stored weight) + change + change ...`` in float32, the changes in the
    order they come in ``new``.

    **Arguments:**

    - `store`: the current synapses.
    - `new`: weight changes, in any order, duplicates allowed (they add): a
      :class:`SynapseStore` or NumPy columns by field name (as
      :attr:`~jaxsnn_music.network.Learned.changes`).
    - `w_min`, `w_max`: bounds applied to the summed weights.

    **Returns:** the merged store, in the capacity bucket of its size.
    """
    old, rows = store.to_numpy(), _rows(new)
    bits = list(_KEY_BITS.values())
    # The store's rows were checked when they came in.
    u = union(pack_keys([old[k] for k in _FIELDS], bits, check=False),
              pack_keys([rows[k] for k in _FIELDS], bits))
    capacity = bucket(u.size)
    fields = {name: jnp.asarray(place(u, capacity, -1 if name == "layer" else 0, old[name],
                                      rows[name][u.new_rows]))
              for name in _FIELDS}
    sums = segment_sums(u, old["weight"], rows["weight"])
    # Every stored weight was a sum that started from 0 (so -0.0 reads as 0.0).
    kept = old["weight"] + np.float32(0.0)
    kept[u.table_row[u.known]] = sums[u.known]
    weight = place(u, capacity, 0.0, kept, sums[~u.known])
    # Bounds apply to the summed change: parallel learning clips once per merge,
    # where one-piece-at-a-time learning clips after every piece.
    weight[:u.size] = np.clip(weight[:u.size], np.float32(w_min), np.float32(w_max))
    return SynapseStore(**fields, weight=jnp.asarray(weight), count=jnp.asarray(u.size, jnp.int32))


def from_numpy(layer, subnet, post_col, delay, pre, post, weight) -> SynapseStore:
    """A (possibly unsorted, duplicated) table of weight changes, padded to its bucket."""
    n = len(weight)
    _check_range(layer, post_col)
    capacity = bucket(n)
    fields = {}
    for name, values in zip(_FIELDS, (layer, subnet, post_col, delay, pre, post)):
        padded = np.full(capacity, -1 if name == "layer" else 0, np.dtype(_DTYPES[name]))
        padded[:n] = values
        fields[name] = jnp.asarray(padded)
    w = np.zeros(capacity, np.float32)
    w[:n] = weight
    return SynapseStore(**fields, weight=jnp.asarray(w), count=jnp.asarray(n, jnp.int32))
