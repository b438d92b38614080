"""Leaky integrate-and-fire neurons, one forward-Euler step at a time.

``tau_m dV/dt = -V + R I`` is advanced by ``V <- V + dt/tau_m (-V + R I)``
(:meth:`LIF.euler`, the one place this arithmetic is written); a neuron whose new ``V``
reaches ``v_th`` spikes (:mod:`.spikes`: the spike function is a swappable part), is set
to ``v_reset`` and is then held there, without integrating, for ``refractory_steps``
steps. The refractory period is an integer step counter, never a comparison of float
times; the reset takes no gradient (as in snnax and rockpool).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.network.spikes import AbstractSpike, Heaviside, is_spike


class LIFState(eqx.Module):
    """What a step changes: the potential and the remaining refractory steps."""

    v: Float[Array, "*neurons"]
    refractory: Int[Array, "*neurons"]


class LIF(eqx.Module):
    """A population of LIF neurons (MODEL.md section 3).

    The membrane constants are static floats. The threshold ``v_th`` is a float, or an array
    leaf (one per neuron, broadcast against the state; what the differentiable mode trains);
    a step may also be given its own threshold array.
    """

    decay: float = eqx.field(static=True)
    """dt / tau_m: the Euler step's share of the distance to the fixed point."""
    resistance: float = eqx.field(static=True)
    v_th: float | Float[Array, "*neurons"]
    v_reset: float = eqx.field(static=True)
    v_0: float = eqx.field(static=True)
    refractory_steps: int = eqx.field(static=True)
    spike: AbstractSpike = Heaviside()

    @staticmethod
    def from_config(cfg: NetworkConfig, spike: AbstractSpike | None = None) -> LIF:
        return LIF(decay=cfg.dt_ms / cfg.tau_m_ms, resistance=cfg.resistance, v_th=cfg.v_th,
                   v_reset=cfg.v_reset, v_0=cfg.v_0, refractory_steps=cfg.refractory_steps,
                   spike=Heaviside() if spike is None else spike)

    def init(self, shape: tuple[int, ...], dtype=jnp.float32) -> LIFState:
        """The state of fresh neurons: ``V = v_0``, not refractory."""
        return LIFState(jnp.full(shape, self.v_0, dtype), jnp.zeros(shape, jnp.int32))

    def euler(self, v: Float[Array, "*neurons"], current: Float[Array, "*neurons"]
              ) -> Float[Array, "*neurons"]:
        """The potential one Euler step reaches from ``v`` under ``current`` (before any reset)."""
        return v + self.decay * (-v + self.resistance * current)

    def fire(self, state: LIFState, reached: Float[Array, "*neurons"], v_th=None
             ) -> tuple[LIFState, Bool[Array, "*neurons"] | Float[Array, "*neurons"]]:
        """Spike, reset and count down, given the potential the step reached."""
        v_th = self.v_th if v_th is None else v_th
        refractory = state.refractory > 0
        spikes = self.spike(reached - v_th)
        spikes = jnp.where(refractory, jnp.zeros_like(spikes), spikes)
        fired = is_spike(spikes)
        v = jnp.where(refractory | fired, jnp.asarray(self.v_reset, reached.dtype), reached)
        counter = jnp.where(fired, self.refractory_steps, jnp.maximum(state.refractory - 1, 0))
        return LIFState(v, counter.astype(jnp.int32)), spikes

    def step(self, state: LIFState, current: Float[Array, "*neurons"], v_th=None
             ) -> tuple[LIFState, Bool[Array, "*neurons"] | Float[Array, "*neurons"]]:
        """Advance one time step.

        **Arguments:**

        - `state`: the neurons' state before the step.
        - `current`: input current during the step (same shape).
        - `v_th`: thresholds for this step (default: the neurons' own).

        **Returns:** ``(new_state, spikes)`` (spikes as the spike function gives them).
        """
        return self.fire(state, self.euler(state.v, current), v_th)
