"""Spike functions: when a neuron's potential counts as a spike (a switch point of the dynamics).

A spike function maps ``x = V - v_th`` to a spike. :class:`Heaviside` is the model's
(``V >= v_th``) and returns booleans. :class:`SuperSpike` is the same step in the forward
pass, as floats 0/1, with a smooth derivative ``1 / (1 + slope |x|)^2`` in the backward
pass (SuperSpike, Zenke & Ganguli 2018; :func:`jax.custom_jvp`, so forward and reverse mode
both use it): swapping it in turns the recall simulator into the differentiable mode
(:mod:`jaxsnn_music.tune`) without changing a single forward value.
"""

from __future__ import annotations

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float


class AbstractSpike(eqx.Module):
    """``x = V - v_th`` -> spike (True / 1.0 where ``x >= 0``)."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, "*shape"]) -> Bool[Array, "*shape"] | Float[Array, "*shape"]:
        """**Returns:** the spikes, booleans or floats 0/1 (then differentiable)."""


class Heaviside(AbstractSpike):
    """The model's spike: ``V >= v_th`` (booleans; no gradient)."""

    def __call__(self, x):
        return x >= 0


class SuperSpike(AbstractSpike):
    """The step forward (floats 0/1), the SuperSpike surrogate derivative backward."""

    slope: float = eqx.field(static=True)

    def __call__(self, x):
        return superspike(x, self.slope)


def superspike_grad(x: Float[Array, "*shape"], slope: float) -> Float[Array, "*shape"]:
    """The surrogate derivative ``1 / (1 + slope |x|)^2`` (1 at threshold, ~1/(slope x)^2 far away)."""
    return 1.0 / (1.0 + slope * jnp.abs(x)) ** 2


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def superspike(x: Float[Array, "*shape"], slope: float) -> Float[Array, "*shape"]:
    """``1.0`` where ``x >= 0`` (the potential reached the threshold), else ``0.0``.

    **Arguments:**

    - `x`: ``V - v_th``.
    - `slope`: the surrogate's slope (a Python float, ``tune.surrogate_slope``).
    """
    return (x >= 0).astype(x.dtype)


@superspike.defjvp
def _superspike_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return superspike(x, slope), dx * superspike_grad(x, slope)


def is_spike(spikes: Bool[Array, "*shape"] | Float[Array, "*shape"]) -> Bool[Array, "*shape"]:
    """The spikes as booleans, with no gradient through them (for resets and counters)."""
    if spikes.dtype == jnp.bool_:
        return spikes
    return jax.lax.stop_gradient(spikes) > 0.5
