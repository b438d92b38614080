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

Arrival times are integer step counts (the time since the last arrival), never
compared as floats.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig


class FacilitationState(eqx.Module):
    """Per synapse: the factor and the steps since the last presynaptic arrival."""

    u: Float[Array, "*synapses"]
    since_arrival: Int[Array, "*synapses"]


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

    def init(self, shape: tuple[int, ...]) -> FacilitationState:
        """Reset: ``u = 0`` and no arrival yet (the counter starts beyond the window)."""
        return FacilitationState(jnp.zeros(shape, jnp.float32),
                                 jnp.full(shape, self.window_steps + 1, jnp.int32))

    def step(self, state: FacilitationState, arrivals: Bool[Array, "*synapses"]) -> FacilitationState:
        """Advance one step given this step's presynaptic arrivals.

        **Returns:** the new state; its ``u`` multiplies the weights in this step.
        """
        since = jnp.where(arrivals, 0, jnp.minimum(state.since_arrival + 1, self.window_steps + 1))
        recent = since <= self.window_steps
        u = jnp.where(recent, jnp.minimum(state.u + self.increment * (state.u + 1.0), self.cap),
                      state.u)
        return FacilitationState(u, since)


def driven_window(lif, facilitation: Facilitation, neuron, links: FacilitationState,
                  current: float, steps: int):
    """One neuron driven at a constant ``current`` for ``steps`` steps, with the
    facilitation of the links it sends (each of its spikes is an arrival on them).

    **Arguments:**

    - `lif`: the neuron model (:class:`~jaxsnn_music.network.lif.LIF`).
    - `facilitation`: the rule of its outgoing links.
    - `neuron`: the neuron's state at the start; `links`: the links' facilitation state.

    **Returns:** ``(neuron, links, u)``: both states after the window, and ``u`` at every step.
    """
    drive = jnp.asarray(current, jnp.float32)

    def step(carry, _):
        state, fac = carry
        state, spike = lif.step(state, drive)
        fac = facilitation.step(fac, spike)
        return (state, fac), fac.u

    (neuron, links), u = lax.scan(lambda c, x: step(c, x), (neuron, links), None, length=steps)
    return neuron, links, u
