"""Transmission delays: a ring buffer of past values read at ``t - d``, and delay read-outs.

Delays are whole numbers of ticks (MODEL.md section 6: the authors' code compared
float arrival times for equality and its sequential input never arrived). A tick
is whatever the owner pushes once per tick: a spike vector per time step (a delay
of ``d`` columns is then ``d * steps_per_window`` ticks), or, as in learning, a
whole column's window raster per window (a delay of ``d`` columns is ``d`` ticks).

A *delay read-out* (:class:`AbstractDelayReadout`) says where inside the target window a
delayed spike lands: exactly ``d`` windows later (:class:`WholeSteps`, the model), shifted
by whole steps (tuned delays run in the plain simulator), or by real-valued offsets read
through a kernel (:class:`GaussianDelays`, :class:`LinearDelays`: the differentiable mode).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PyTree


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


class AbstractDelayReadout(eqx.Module):
    """When the spikes of an earlier column arrive in the current one (a switch point).

    A sequential synapse of delay slot ``d`` carries column ``k - d``'s spikes ``d`` whole
    windows later (MODEL.md: the delay is the column distance), plus an offset per delay
    slot and presynaptic neuron: the spike its neuron fired at step ``s`` of its own window
    arrives at step ``s + offset`` of column ``k``'s window; what would land outside that
    window is lost (column ``k`` is simulated in its own window only).
    """

    @abc.abstractmethod
    def __call__(self, rasters: Array, neurons: Int[Array, "delays slots"]) -> Array:
        """**Arguments:** the rasters ``[delays, steps, slots]`` of columns ``k-1 .. k-D`` (what
        they passed on) and the neuron of each of their slots (``-1``: padding).

        **Returns:** the arrivals in column ``k``'s window, ``[delays, steps, slots]``."""


def _offsets(table: Array, neurons: Int[Array, "delays slots"]) -> Array:
    """``table[d, neuron]`` for every slot (0 for padding)."""
    rows = jnp.arange(table.shape[0])[:, None]
    return jnp.where(neurons >= 0, table[rows, jnp.maximum(neurons, 0)], 0)


class WholeSteps(AbstractDelayReadout):
    """Delays of whole steps: ``shift`` (``[delays, neurons]``, whole steps) or none (the paper:
    exactly ``d`` windows). Exact for boolean spikes."""

    shift: Int[Array, "delays neurons"] | None = None

    def __call__(self, rasters, neurons):
        if self.shift is None:
            return rasters
        shift = _offsets(self.shift, neurons)
        steps = rasters.shape[1]
        t = jnp.arange(steps)[None, :, None] - shift[:, None, :]
        inside = (t >= 0) & (t < steps)
        moved = jnp.take_along_axis(rasters, jnp.clip(t, 0, steps - 1), axis=1)
        return jnp.where(inside, moved, jnp.zeros_like(moved))


class KernelDelays(AbstractDelayReadout):
    """Real-valued delay offsets (``[delays, neurons]``, steps, within ``+-delay_range``) read
    through a kernel over the whole-step offsets ``m = -R .. R`` (each row sums to 1); the
    differentiable mode's delays (MODEL.md section 5.4)."""

    offset: Float[Array, "delays neurons"]
    delay_range: int = eqx.field(static=True)

    @abc.abstractmethod
    def kernel(self, delta: Float[Array, " channels"]) -> Float[Array, "channels offsets"]:
        """``K[c, m + R]``: how much of a spike arrives ``m`` steps after the exact delay."""

    def __call__(self, rasters, neurons):
        d, steps, slots = rasters.shape
        delta = _offsets(self.offset, neurons).reshape(-1)
        k = self.kernel(delta)
        lag = jnp.arange(steps)[:, None] - jnp.arange(steps)[None, :]
        r = self.delay_range
        inside = jnp.abs(lag) <= r
        a = jnp.where(inside[None], k[:, jnp.clip(lag + r, 0, 2 * r)], 0.0)  # [channels, t, s]
        x = rasters.astype(k.dtype).transpose(0, 2, 1).reshape(d * slots, steps)
        return jnp.einsum("cts,cs->ct", a, x).reshape(d, slots, steps).transpose(0, 2, 1)


class GaussianDelays(KernelDelays):
    """``K(m) = exp(-(m - delta)^2 / 2 sigma^2)``, normalised (Hammouamri, Khalfaoui-Hassani &
    Masquelier, ICLR 2024); ``sigma`` anneals during training, toward the whole-step shift."""

    sigma: Float[Array, ""]

    def kernel(self, delta):
        offsets = jnp.arange(-self.delay_range, self.delay_range + 1, dtype=delta.dtype)
        logits = -0.5 * ((offsets[None, :] - delta[:, None]) / self.sigma) ** 2
        weights = jnp.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)


class LinearDelays(KernelDelays):
    """Linear interpolation between the two nearest whole steps: ``K(floor(delta)) = 1 - frac``,
    ``K(floor(delta) + 1) = frac`` (written with ``floor`` so that the gradient at a whole-step
    delay is not zero). At whole-step offsets it is exactly :class:`WholeSteps`."""

    def kernel(self, delta):
        offsets = jnp.arange(-self.delay_range, self.delay_range + 1, dtype=delta.dtype)
        low = jnp.floor(delta)
        frac = delta - low
        return (jnp.where(offsets[None, :] == low[:, None], 1.0 - frac[:, None], 0.0)
                + jnp.where(offsets[None, :] == low[:, None] + 1, frac[:, None], 0.0))
