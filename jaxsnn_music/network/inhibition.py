"""Lateral inhibition inside a minicolumn: a switch point for the ablation.

MODEL.md section 3: all-to-all inhibitory synapses of weight ``w`` inside each
minicolumn (one per subnetwork of a column); the inhibitory input is subtracted from a
neuron's current and the total is clamped at ``floor`` from below. A spike inhibits the
other neurons of its minicolumn from the next step on (a synapse cannot act within the
step that produced its spike): for one step in the paper (``inhibition_tau_ms = 0``), or
as an inhibitory current that decays with time constant ``inhibition_tau_ms``, so that a
neuron that fired first keeps the others of its minicolumn down for the rest of the
window (winner-take-all: it can change what the column passes on, and so the later
columns' read-outs). :class:`NoInhibition` is the authors'-code setting.

Why it never matters while learning with the paper's numbers: every
teacher-driven neuron of a column starts its window fresh and fires in the same
steps (0, 6, 12, ... of the window), so the inhibition of step ``t + 1`` only ever
reaches neurons that are refractory anyway, and undriven neurons, inhibited or
not, cannot fire. With a lasting inhibitory current the chord tones of a taught
column inhibit each other between their spikes; they keep their lockstep trains as
long as the teacher current outweighs it (``input_current`` minus ``(tones - 1) x
inhibition_weight``, times ``R``, above threshold).
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from jaxsnn_music.config import NetworkConfig

MINICOLUMNS = 4
"""Most subnetworks (minicolumns per column) a neuron's ``minicolumn`` may name."""


class Inhibition(eqx.Module):
    """How the spikes of a minicolumn's neurons inhibit the others, step by step.

    The state is the inhibitory current each neuron receives (``init``); ``apply`` subtracts
    it from a step's input current; ``update`` adds the step's spikes to it.
    """

    def init(self, shape: tuple[int, ...], dtype=jnp.float32) -> Float[Array, "*neurons"]:
        return jnp.zeros(shape, dtype)

    @abc.abstractmethod
    def apply(self, current: Float[Array, "*batch neurons"], inhibition: Float[Array, "*batch neurons"]
              ) -> Float[Array, "*batch neurons"]:
        """The current the neurons receive in a step, given the inhibition they are under."""

    @abc.abstractmethod
    def update(self, inhibition: Float[Array, "*batch neurons"], spikes,
               minicolumn: Int[Array, " neurons"] | None = None) -> Float[Array, "*batch neurons"]:
        """The inhibition of the next step, after this step's ``spikes`` (neurons on the last
        axis; padding slots must not spike). ``minicolumn``: each neuron's minicolumn (its
        subnetwork, ``0 .. MINICOLUMNS - 1``; a neuron is inhibited only by the others of its
        own); None: all neurons are one minicolumn."""

    @staticmethod
    def from_config(cfg: NetworkConfig) -> Inhibition:
        if cfg.lateral_inhibition:
            decay = math.exp(-cfg.dt_ms / cfg.inhibition_tau_ms) if cfg.inhibition_tau_ms > 0 else 0.0
            return LateralInhibition(cfg.inhibition_weight, cfg.inhibition_floor, decay)
        return NoInhibition()


class LateralInhibition(Inhibition):
    """Every other spiking neuron of the minicolumn adds ``weight`` to the inhibitory current,
    which decays by ``decay`` per step (0: it lasts one step, the paper)."""

    weight: float = eqx.field(static=True)
    floor: float = eqx.field(static=True)
    decay: float = eqx.field(static=True, default=0.0)

    def apply(self, current, inhibition):
        return jnp.maximum(current - inhibition, self.floor)

    def update(self, inhibition, spikes, minicolumn=None):
        spikes = jnp.asarray(spikes).astype(inhibition.dtype)
        if minicolumn is None:
            others = jnp.sum(spikes, axis=-1, keepdims=True) - spikes
        else:
            member = (minicolumn[:, None] == jnp.arange(MINICOLUMNS)[None, :]).astype(spikes.dtype)
            others = (spikes @ member) @ member.T - spikes
        return self.decay * inhibition + self.weight * others


class NoInhibition(Inhibition):
    """Inhibition switched off: the current passes unchanged."""

    def apply(self, current, inhibition):
        return current

    def update(self, inhibition, spikes, minicolumn=None):
        return inhibition
