"""Short-term facilitation of synapses during recall, kept finite.

MODEL.md section 3: each synapse has a factor ``u``, 0 at the start of a recall;
in every step in which its last (delayed) presynaptic arrival lies within the
last ``facilitation_window_ms``, ``u <- u + f (u + 1)`` (``f`` = 0.2 for
sequential synapses, 0.5 for goal links); the synaptic current is ``Σ w u``.

The authors' ``u`` grew by ~1.5x per step and overflowed float32 within one
window (MODEL.md section 6). Our choice, both parts configurable:

- ``u`` saturates at ``facilitation_cap`` (default 10: a fully facilitated link
  delivers 10x its weight, enough for a weight-3 goal link to drive a neuron
  past threshold, far from overflow);
- with ``facilitation_reset = "window"`` (default) ``u`` returns to 0 at the start
  of every column window, so a title that fires throughout the recall cannot
  carry facilitation from one column to the next; ``"recall"`` resets only once.

"An arrival within the last ``W`` steps (this one included)" is computed as
``near = 1 - prod_{m=0..W} (1 - a_{t-m})`` from the last ``W + 1`` arrivals, and the
update as ``u <- near * min(u + f (u + 1), cap) + (1 - near) * u``. For arrivals that are
0 or 1 (spikes) this is the rule above exactly, bit for bit (every factor is exactly 0
or 1); for real-valued arrivals (delays read through a kernel in the differentiable
mode) it is the smooth version of the same rule. Arrivals are counted in whole steps,
never compared as float times.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

from jaxsnn_music.config import NetworkConfig


class FacilitationState(eqx.Module):
    """Per synapse (or per presynaptic channel): the factor and the last ``W`` arrivals."""

    u: Float[Array, "*synapses"]
    history: Float[Array, " window *synapses"]
    """Arrivals of the last ``W`` steps, the most recent first."""


class Facilitation(eqx.Module):
    """The saturating facilitation rule for one kind of synapse."""

    increment: float = eqx.field(static=True)
    window_steps: int = eqx.field(static=True)
    cap: float = eqx.field(static=True)

    @staticmethod
    def sequential(cfg: NetworkConfig) -> Facilitation:
        return Facilitation(cfg.facilitation_sequential, cfg.facilitation_steps, cfg.facilitation_cap)

    @staticmethod
    def goal(cfg: NetworkConfig) -> Facilitation:
        return Facilitation(cfg.facilitation_goal, cfg.facilitation_steps, cfg.facilitation_cap)

    def init(self, shape: tuple[int, ...], dtype=jnp.float32) -> FacilitationState:
        """Reset: ``u = 0`` and no arrival yet."""
        return FacilitationState(jnp.zeros(shape, dtype), jnp.zeros((self.window_steps,) + shape, dtype))

    def step(self, state: FacilitationState, arrivals: Array) -> FacilitationState:
        """Advance one step given this step's presynaptic arrivals (0/1 or real).

        **Returns:** the new state; its ``u`` multiplies the weights in this step.
        """
        a = jnp.asarray(arrivals).astype(state.u.dtype)
        near = 1.0 - (1.0 - a) * jnp.prod(1.0 - state.history, axis=0)
        grown = jnp.minimum(state.u + self.increment * (state.u + 1.0), self.cap)
        u = near * grown + (1.0 - near) * state.u
        history = jnp.concatenate([a[None], state.history[:-1]]) if self.window_steps else state.history
        return FacilitationState(u, history)

    def run(self, state: FacilitationState, arrivals: Float[Array, " steps *synapses"]
            ) -> tuple[FacilitationState, Float[Array, " steps *synapses"]]:
        """:meth:`step` over a window of arrivals. **Returns:** the state after it and ``u`` at
        every step."""
        def one(state, a):
            state = self.step(state, a)
            return state, state.u

        return lax.scan(lambda c, x: one(c, x), state, arrivals)
