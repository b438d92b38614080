"""Lateral inhibition inside a minicolumn: a switch point for the ablation.

MODEL.md section 3: all-to-all inhibitory synapses of weight ``w`` inside each
minicolumn; the inhibitory input is subtracted from a neuron's current and the
total is clamped at ``floor`` from below. A spike inhibits the other neurons of
its minicolumn one step later (a synapse cannot act within the step that
produced its spike). :class:`NoInhibition` is the authors'-code setting.

Why it never matters while learning with the paper's numbers: every
teacher-driven neuron of a column starts its window fresh and fires in the same
steps (0, 6, 12, ... of the window), so the inhibition of step ``t + 1`` only ever
reaches neurons that are refractory anyway, and undriven neurons, inhibited or
not, cannot fire. It matters in recall, where neurons are driven unequally.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig

MINICOLUMNS = 4
"""Most subnetworks (minicolumns per column) a neuron's ``minicolumn`` may name."""


class Inhibition(eqx.Module):
    """How the previous step's spikes of a minicolumn change its neurons' current."""

    @abc.abstractmethod
    def __call__(self, current: Float[Array, "*batch neurons"],
                 previous_spikes: Bool[Array, "*batch neurons"] | Float[Array, "*batch neurons"],
                 minicolumn: Int[Array, " neurons"] | None = None) -> Float[Array, "*batch neurons"]:
        """**Arguments:** the input current and the spikes of the previous step, neurons on
        the last axis (padding slots must not spike), and optionally each neuron's
        minicolumn (its subnetwork, ``0 .. MINICOLUMNS - 1``): a neuron is inhibited only by
        the others of its own minicolumn. None: all neurons are one minicolumn.

        **Returns:** the current the neurons receive."""

    @staticmethod
    def from_config(cfg: NetworkConfig) -> Inhibition:
        if cfg.lateral_inhibition:
            return LateralInhibition(cfg.inhibition_weight, cfg.inhibition_floor)
        return NoInhibition()


class LateralInhibition(Inhibition):
    """Every other spiking neuron of the minicolumn removes ``weight`` from the current."""

    weight: float = eqx.field(static=True)
    floor: float = eqx.field(static=True)

    def __call__(self, current, previous_spikes, minicolumn=None):
        spikes = jnp.asarray(previous_spikes).astype(current.dtype)
        if minicolumn is None:
            others = jnp.sum(spikes, axis=-1, keepdims=True) - spikes
        else:
            member = (minicolumn[:, None] == jnp.arange(MINICOLUMNS)[None, :]).astype(spikes.dtype)
            others = (spikes @ member) @ member.T - spikes
        return jnp.maximum(current - self.weight * others, self.floor)


class NoInhibition(Inhibition):
    """Inhibition switched off: the current passes unchanged."""

    def __call__(self, current, previous_spikes, minicolumn=None):
        return current
