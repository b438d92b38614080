"""Leaky integrate-and-fire neurons, one forward-Euler step at a time.

``tau_m dV/dt = -V + R I`` is advanced by ``V <- V + dt/tau_m (-V + R I)``; a
neuron whose new ``V`` reaches ``v_th`` spikes, is set to ``v_reset`` and is then
held there, without integrating, for ``refractory_steps`` steps. The refractory
period is an integer step counter, never a comparison of float times.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig


class LIFState(eqx.Module):
    """What a step changes: the potential and the remaining refractory steps."""

    v: Float[Array, "*neurons"]
    refractory: Int[Array, "*neurons"]


class LIF(eqx.Module):
    """A population of identical LIF neurons (MODEL.md section 3).

    The parameters are plain floats: constants of the model. The threshold may
    instead be an array (one per neuron, broadcast against the state), which is
    how thresholds tuned in the differentiable mode (:mod:`jaxsnn_music.tune`)
    run in the plain simulator.
    """

    decay: float = eqx.field(static=True)
    """dt / tau_m: the Euler step's share of the distance to the fixed point."""
    resistance: float = eqx.field(static=True)
    v_th: float | Float[Array, "*neurons"]
    v_reset: float = eqx.field(static=True)
    v_0: float = eqx.field(static=True)
    refractory_steps: int = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: NetworkConfig) -> LIF:
        return LIF(decay=cfg.dt_ms / cfg.tau_m_ms, resistance=cfg.resistance, v_th=cfg.v_th,
                   v_reset=cfg.v_reset, v_0=cfg.v_0, refractory_steps=cfg.refractory_steps)

    def init(self, shape: tuple[int, ...]) -> LIFState:
        """The state of fresh neurons: ``V = v_0``, not refractory."""
        return LIFState(jnp.full(shape, self.v_0, jnp.float32), jnp.zeros(shape, jnp.int32))

    def step(self, state: LIFState, current: Float[Array, "*neurons"]
             ) -> tuple[LIFState, Bool[Array, "*neurons"]]:
        """Advance one time step.

        **Arguments:**

        - `state`: the neurons' state before the step.
        - `current`: input current during the step (same shape).

        **Returns:** ``(new_state, spikes)``.
        """
        refractory = state.refractory > 0
        v = state.v + self.decay * (-state.v + self.resistance * current)
        spikes = (v >= self.v_th) & ~refractory
        v = jnp.where(refractory | spikes, self.v_reset, v)
        counter = jnp.where(spikes, self.refractory_steps, jnp.maximum(state.refractory - 1, 0))
        return LIFState(v, counter.astype(jnp.int32)), spikes
