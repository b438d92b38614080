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
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from jaxsnn_music.network.buckets import bucket, coalesce, count_trace, fit

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


def _synapse_key(s) -> Int[Array, " n"]:
    return (s.delay.astype(jnp.int32) * 256 + s.pre.astype(jnp.int32)) * 256 + s.post.astype(jnp.int32)


@partial(jax.jit, static_argnames=("w_min", "w_max"))
def _merge(store: SynapseStore, new: SynapseStore, w_min: float, w_max: float) -> SynapseStore:
    count_trace("synapses.merge")
    rows = lambda s: jnp.arange(s.capacity) < s.count
    both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]) if a.ndim else a, store, new)
    valid = jnp.concatenate([rows(store), rows(new)])
    (hi, lo), weight, count = coalesce((_column_key(both), _synapse_key(both)), both.weight, valid)
    pad = jnp.arange(hi.shape[0]) >= count
    group, post_col = hi // MAX_COLUMNS, hi % MAX_COLUMNS
    pre_post = lo % 65536
    fields = {"layer": jnp.where(pad, -1, group // 2), "subnet": group % 2,
              "post_col": post_col, "delay": lo // 65536, "pre": pre_post // 256,
              "post": pre_post % 256}
    fields = {k: jnp.where(pad, -1 if k == "layer" else 0, v).astype(_DTYPES[k])
              for k, v in fields.items()}
    # Bounds apply to the summed change: parallel learning clips once per merge,
    # where one-piece-at-a-time learning clips after every piece.
    weight = jnp.where(pad, 0.0, jnp.clip(weight, w_min, w_max))
    return SynapseStore(**fields, weight=weight, count=count)


def merge(store: SynapseStore, new: SynapseStore, w_min: float = -math.inf,
          w_max: float = math.inf) -> SynapseStore:
    """Add the weight changes ``new`` into ``store`` (union of keys, sums on shared keys).

    **Arguments:**

    - `store`: the current synapses.
    - `new`: weight changes, in any order, duplicates allowed (they add).
    - `w_min`, `w_max`: bounds applied to the summed weights.

    **Returns:** the merged store, in the capacity bucket of its size.
    """
    merged = _merge(store, new, w_min=float(w_min), w_max=float(w_max))
    return fit(merged, bucket(int(merged.count)), {"layer": -1})


def from_numpy(layer, subnet, post_col, delay, pre, post, weight) -> SynapseStore:
    """A (possibly unsorted, duplicated) table of weight changes, padded to its bucket."""
    n = len(weight)
    if n and (int(np.max(layer)) >= MAX_LAYERS or int(np.max(post_col)) >= MAX_COLUMNS):
        raise ValueError(f"synapse store supports < {MAX_LAYERS} layers and < {MAX_COLUMNS} columns")
    capacity = bucket(n)
    fields = {}
    for name, values in zip(_FIELDS, (layer, subnet, post_col, delay, pre, post)):
        padded = np.full(capacity, -1 if name == "layer" else 0, np.dtype(_DTYPES[name]))
        padded[:n] = values
        fields[name] = jnp.asarray(padded)
    w = np.zeros(capacity, np.float32)
    w[:n] = weight
    return SynapseStore(**fields, weight=jnp.asarray(w), count=jnp.asarray(n, jnp.int32))
