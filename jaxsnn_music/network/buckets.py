"""Growth without recompiling: padded tables whose capacity doubles.

The network grows as pieces arrive, but a jit-compiled function recompiles for
every new input shape. So every growing table (synapses, goal links, learning
batches) is padded to a *capacity bucket*, a power of two, and carries how many
of its rows are real. Adding a piece recompiles only when a table crosses into
the next bucket, i.e. ``O(log n)`` times over a whole corpus.

This file also counts how often each compiled function is traced
(:func:`trace_counts`), so tests can check that growth does not retrace.
"""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

MIN_CAPACITY = 256
_TRACES: collections.Counter[str] = collections.Counter()


def count_trace(name: str) -> None:
    """Call at the top of a jitted function's Python body: it runs once per trace."""
    _TRACES[name] += 1


def trace_counts() -> dict[str, int]:
    """How many times each compiled function of the network has been traced so far."""
    return dict(_TRACES)


def bucket(n: int, minimum: int = MIN_CAPACITY) -> int:
    """The capacity for ``n`` rows: the next power of two, at least ``minimum``."""
    n = max(int(n), minimum, 1)
    return 1 << (n - 1).bit_length()


def coalesce(keys: tuple[Int[Array, " n"], ...], values: Float[Array, " n"],
             valid: Bool[Array, " n"]
             ) -> tuple[tuple[Int[Array, " n"], ...], Float[Array, " n"], Int[Array, ""]]:
    """Sort rows by ``keys`` (lexicographic, first key most significant) and sum duplicates.

    **Arguments:**

    - `keys`: int32 key columns, each >= 0 on valid rows.
    - `values`: the values to add up per distinct key.
    - `valid`: which rows are real; the others are dropped.

    **Returns:** ``(keys, values, count)``: the first ``count`` rows are the distinct
    keys in order with their sums; later rows are padding with key ``int32 max``
    and value 0. Output length = input length.
    """
    n = values.shape[0]
    big = jnp.iinfo(jnp.int32).max
    keys = tuple(jnp.where(valid, k.astype(jnp.int32), big) for k in keys)
    *keys, values, valid = lax.sort((*keys, values, valid.astype(jnp.int32)),
                                    num_keys=len(keys), is_stable=True)
    change = jnp.zeros(n - 1, bool)
    for k in keys:
        change = change | (k[1:] != k[:-1])
    first = jnp.concatenate([jnp.ones(1, bool), change])
    segment = jnp.cumsum(first) - 1
    count = jnp.sum(first & (valid > 0))
    sums = jax.ops.segment_sum(jnp.where(valid > 0, values, 0.0), segment, num_segments=n)
    out_keys = tuple(jnp.full(n, big, jnp.int32).at[segment].set(k) for k in keys)
    rows = jnp.arange(n)
    out_keys = tuple(jnp.where(rows < count, k, big) for k in out_keys)
    return out_keys, jnp.where(rows < count, sums, 0.0), count.astype(jnp.int32)


def fit(table, capacity: int, fills: dict[str, object]):
    """Cut or pad every 1-d leaf of ``table`` (an equinox module of columns) to ``capacity``
    rows, padding each field ``name`` with ``fills[name]``."""
    import dataclasses
    changes = {}
    for field in dataclasses.fields(table):
        x = getattr(table, field.name)
        if x.ndim == 0:
            continue
        if x.shape[0] >= capacity:
            changes[field.name] = x[:capacity]
        else:
            pad = jnp.full(capacity - x.shape[0], fills.get(field.name, 0), x.dtype)
            changes[field.name] = jnp.concatenate([x, pad])
    return dataclasses.replace(table, **changes)
