"""Transmission delays: a ring buffer of past values read at ``t - d``.

Delays are whole numbers of ticks (MODEL.md section 6: the authors' code compared
float arrival times for equality and its sequential input never arrived). A tick
is whatever the owner pushes once per tick: a spike vector per time step (a delay
of ``d`` columns is then ``d * steps_per_window`` ticks), or, as in learning, a
whole column's window raster per window (a delay of ``d`` columns is ``d`` ticks).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Int, PyTree


class RingBuffer(eqx.Module):
    """The last ``length`` pushed values (a pytree with a leading ``length`` axis).

    ``read(d)`` is the value pushed ``d`` pushes ago (``d = 1`` is the latest);
    ``1 <= d <= length``. A fresh buffer holds the ``fill`` value everywhere.
    """

    data: PyTree[Array]
    head: Int[Array, ""]
    """Where the next value is written."""

    @staticmethod
    def init(length: int, example: PyTree[Array], fill=0) -> RingBuffer:
        data = jax.tree.map(lambda x: jnp.full((length,) + jnp.shape(x), fill, jnp.asarray(x).dtype),
                            example)
        return RingBuffer(data, jnp.zeros((), jnp.int32))

    @property
    def length(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]

    def push(self, value: PyTree[Array]) -> RingBuffer:
        data = jax.tree.map(lambda buf, x: buf.at[self.head].set(x), self.data, value)
        return RingBuffer(data, (self.head + 1) % self.length)

    def read(self, delay: int | Int[Array, "*delays"]) -> PyTree[Array]:
        """The value(s) pushed ``delay`` pushes ago; an array of delays stacks them."""
        index = (self.head - jnp.asarray(delay)) % self.length
        return jax.tree.map(lambda buf: buf[index], self.data)
