"""The sparse store of sequential (STDP) synapses.

A sequential synapse is named by ``(layer, post_col, delay, pre_subnet, pre, post_subnet,
post)`` (:data:`~jaxsnn_music.network.keys.SYNAPSE`): in sequence layer ``layer`` (one
per track index) it runs from neuron ``pre`` of subnetwork ``pre_subnet`` (0 = pitch,
1 = duration) in column ``post_col - delay`` to neuron ``post`` of subnetwork
``post_subnet`` in column ``post_col``. A neuron is a value (pitch class, duration
class) times its context cells (``network.context_cells``; one cell per value in the
paper). Synapses between the subnetworks exist when ``network.cross_subnet`` is on. Only
synapses that learning touched exist, so storage grows with note transitions x delays,
never with columns x neurons^2.

Rows are sorted by that key (the synapses into one column are contiguous), distinct, and
padded to a capacity bucket. Every leaf is a plain array, so the store saves as is.
Bytes per synapse: 2 (layer) + 4 (post_col) + 1 (delay) + 1 + 2 (pre) + 1 + 2 (post)
+ 4 (weight) = 17.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from jaxsnn_music.network import keys
from jaxsnn_music.network.buckets import bucket
from jaxsnn_music.network.sorted_merge import place, segment_sums, union


FIELDS = keys.names(keys.SYNAPSE)
_DTYPES = {"layer": np.int16, "post_col": np.int32, "delay": np.uint8, "pre_subnet": np.uint8,
           "pre": np.int16, "post_subnet": np.uint8, "post": np.int16}
BYTES_PER_SYNAPSE = sum(np.dtype(d).itemsize for d in _DTYPES.values()) + 4


class SynapseStore(eqx.Module):
    """Sorted, coalesced sequential synapses; rows ``>= count`` are padding (layer -1)."""

    layer: Int[Array, " capacity"]
    post_col: Int[Array, " capacity"]
    delay: Int[Array, " capacity"]
    pre_subnet: Int[Array, " capacity"]
    pre: Int[Array, " capacity"]
    post_subnet: Int[Array, " capacity"]
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
        return {name: np.asarray(getattr(self, name))[:n] for name in (*FIELDS, "weight")}


def _rows(new: SynapseStore | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The real rows of a table of changes, each field in the store's dtype."""
    if isinstance(new, SynapseStore):
        return new.to_numpy()
    rows = {name: np.asarray(new[name]).astype(_DTYPES[name], copy=False) for name in FIELDS}
    return {**rows, "weight": np.asarray(new["weight"], np.float32)}


def merge(store: SynapseStore, new: SynapseStore | Mapping[str, np.ndarray],
          w_min: float = -math.inf, w_max: float = math.inf) -> SynapseStore:
    """Add the weight changes ``new`` into ``store`` (union of keys, sums on shared keys).

    Runs on the host and costs about the size of ``new`` plus one copy of the
    store (see :mod:`.sorted_merge`), not a sort of the whole store. Per key the sum is
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
    old = store.to_numpy()
    # The store's rows were checked when they came in; new rows are checked here.
    u = union(keys.pack(keys.SYNAPSE, old, check=False), keys.pack(keys.SYNAPSE, _rows_checked(new)))
    rows = _rows(new)
    capacity = bucket(u.size)
    fields = {name: jnp.asarray(place(u, capacity, -1 if name == "layer" else 0, old[name],
                                      rows[name][u.new_rows]))
              for name in FIELDS}
    sums = segment_sums(u, old["weight"], rows["weight"])
    # Every stored weight was a sum that started from 0 (so -0.0 reads as 0.0).
    kept = old["weight"] + np.float32(0.0)
    kept[u.table_row[u.known]] = sums[u.known]
    weight = place(u, capacity, 0.0, kept, sums[~u.known])
    # Bounds apply to the summed change: parallel learning clips once per merge,
    # where one-piece-at-a-time learning clips after every piece.
    weight[:u.size] = np.clip(weight[:u.size], np.float32(w_min), np.float32(w_max))
    return SynapseStore(**fields, weight=jnp.asarray(weight), count=jnp.asarray(u.size, jnp.int32))


def _rows_checked(new) -> dict[str, np.ndarray]:
    """The key fields of ``new`` as given (before any narrowing cast), for the range check."""
    if isinstance(new, SynapseStore):
        return new.to_numpy()
    return {name: np.asarray(new[name]) for name in FIELDS}


def from_numpy(**columns) -> SynapseStore:
    """A (possibly unsorted, duplicated) table of weight changes, padded to its bucket
    (``columns``: every key field and ``weight``)."""
    keys.pack(keys.SYNAPSE, {name: columns[name] for name in FIELDS})  # range check
    n = len(columns["weight"])
    capacity = bucket(n)
    fields = {}
    for name in FIELDS:
        padded = np.full(capacity, -1 if name == "layer" else 0, _DTYPES[name])
        padded[:n] = columns[name]
        fields[name] = jnp.asarray(padded)
    w = np.zeros(capacity, np.float32)
    w[:n] = columns["weight"]
    return SynapseStore(**fields, weight=jnp.asarray(w), count=jnp.asarray(n, jnp.int32))
