"""The surrogate spike: a Heaviside step forward, a smooth slope backward.

SuperSpike (Zenke & Ganguli 2018), the derivative of a fast sigmoid: the spike
``H(x)`` of ``x = V - v_th`` is exact in the forward pass, and its derivative is
replaced by ``1 / (1 + slope |x|)^2``. Defined with :func:`jax.custom_jvp`, so
forward- and reverse-mode both use it and the forward values (0 or 1) are those
of the plain simulator.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def superspike_grad(x: Float[Array, "*shape"], slope: float) -> Float[Array, "*shape"]:
    """The surrogate derivative ``1 / (1 + slope |x|)^2`` (1 at threshold, ~1/(slope x)^2 far away)."""
    return 1.0 / (1.0 + slope * jnp.abs(x)) ** 2


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def spike(x: Float[Array, "*shape"], slope: float) -> Float[Array, "*shape"]:
    """``1.0`` where ``x >= 0`` (the potential reached the threshold), else ``0.0``.

    **Arguments:**

    - `x`: ``V - v_th``.
    - `slope`: the surrogate's slope (a Python float, ``tune.surrogate_slope``).
    """
    return (x >= 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(slope, primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike(x, slope), dx * superspike_grad(x, slope)
