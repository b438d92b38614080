"""Real-valued delays read from the delay buffer (MODEL.md section 5.4).

A sequential synapse of delay slot ``d`` carries its presynaptic column's spikes
``d`` windows later, plus an offset ``delta`` (steps, trainable, clamped to
``[-R, R]`` with ``R = tune.delay_range_steps``): the spike its neuron fired at
step ``s`` of its own window arrives at step ``s + delta`` of the target
column's window (what lands outside that window is lost, as in the plain
simulator's :func:`~jaxsnn_music.recall.simulate.shift_rasters`).

A real ``delta`` reads the buffer through a kernel over the integer offsets
``m = -R .. R``:

- ``gaussian`` (Hammouamri, Khalfaoui-Hassani & Masquelier, ICLR 2024):
  ``K(m) = exp(-(m - delta)^2 / 2 sigma^2)``, normalised to sum 1 over the range;
  ``sigma`` anneals from about a third of the range's width to ``sigma_end``
  (0.3) over the first ``sigma_anneal`` of training, after which the kernel is
  all but the integer shift the plain simulator uses.
- ``linear``: ``K(floor(delta)) = 1 - frac``, ``K(floor(delta) + 1) = frac``; written
  with ``floor`` so that the gradient at an integer delay is not zero.

Both give, at an integer ``delta`` (and ``sigma -> 0``), exactly the integer shift.
The read-out is one matrix per (slot, presynaptic neuron): ``A[c, t, s] = K_c(t - s)``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def sigma_at(step, total_steps: int, start: float, end: float, anneal: float):
    """The Gaussian width at optimiser step ``step``: linear from ``start`` to ``end`` over the
    first ``anneal * total_steps`` steps, then ``end``."""
    span = max(anneal * total_steps, 1.0)
    progress = jnp.minimum(jnp.asarray(step, jnp.float32) / span, 1.0)
    return start + (end - start) * progress


def initial_sigma(start: float, delay_range: int) -> float:
    """``tune.sigma_start``, or (when 0) a third of the range's width ``2 R + 1``."""
    return start if start > 0 else (2 * delay_range + 1) / 3


def kernel(delta: Float[Array, " channels"], delay_range: int, kind: str, sigma=None
           ) -> Float[Array, "channels offsets"]:
    """``K[c, m + R]`` over the offsets ``m = -R .. R`` (each row sums to 1)."""
    offsets = jnp.arange(-delay_range, delay_range + 1, dtype=delta.dtype)
    if kind == "gaussian":
        logits = -0.5 * ((offsets[None, :] - delta[:, None]) / sigma) ** 2
        weights = jnp.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)
    if kind == "linear":
        low = jnp.floor(delta)
        frac = delta - low
        return (jnp.where(offsets[None, :] == low[:, None], 1.0 - frac[:, None], 0.0)
                + jnp.where(offsets[None, :] == low[:, None] + 1, frac[:, None], 0.0))
    raise ValueError(f"unknown delay read-out {kind!r}")


def readout_matrix(delta: Float[Array, " channels"], steps: int, delay_range: int, kind: str,
                   sigma=None) -> Float[Array, "channels steps steps"]:
    """``A[c, t, s]``: how much a spike at step ``s`` arrives at step ``t`` (``K_c(t - s)``)."""
    k = kernel(delta, delay_range, kind, sigma)
    lag = jnp.arange(steps)[:, None] - jnp.arange(steps)[None, :]
    inside = jnp.abs(lag) <= delay_range
    return jnp.where(inside[None], k[:, jnp.clip(lag + delay_range, 0, 2 * delay_range)], 0.0)


def read_delayed(spikes: Float[Array, "batch steps channels"], delta: Float[Array, " channels"],
                 delay_range: int, kind: str, sigma=None) -> Float[Array, "batch steps channels"]:
    """The arrivals of every channel's spikes, each delayed by its own offset."""
    a = readout_matrix(delta, spikes.shape[1], delay_range, kind, sigma)
    return jnp.einsum("cts,bsc->btc", a, spikes)
