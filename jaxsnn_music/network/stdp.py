"""Pair-based additive STDP with exponential traces, as a pure function.

All-to-all pairing (MODEL.md section 3): every presynaptic event ``Δt`` before a
postsynaptic spike adds ``a_plus exp(-Δt/tau_plus)``, every one ``Δt`` after it
subtracts ``a_minus exp(-Δt/tau_minus)``. Keeping, per neuron, the trace
``x(t) = Σ_{s<t} exp(-(t-s) dt/tau)`` of its past spikes makes this exact: a
postsynaptic spike collects ``a_plus x_pre``, a presynaptic event pays
``a_minus x_post``. An event in the same step as a postsynaptic spike
(``Δt = 0``) is counted as potentiation or not at all (``stdp_coincident``).

*Where* a presynaptic spike's time is taken is the job of a :class:`SpikeTiming`:
:class:`EmissionTiming` (the authors' code: the spike counts when it is emitted,
so a synapse of delay ``d`` columns sees it ``d`` windows early and learns about
``e^-d`` as much) or :class:`ArrivalTiming` (ours: when it arrives).
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from jaxsnn_music.config import NetworkConfig


class StdpTraces(eqx.Module):
    """Exponential spike traces after the last step (that step's spikes included)."""

    pre: Float[Array, "*batch pre"]
    post: Float[Array, "*post"]


class STDP(eqx.Module):
    """The pair rule. ``decay_*`` are the per-step factors ``exp(-dt/tau_*)``."""

    a_plus: float = eqx.field(static=True)
    a_minus: float = eqx.field(static=True)
    decay_plus: float = eqx.field(static=True)
    decay_minus: float = eqx.field(static=True)
    coincident_potentiates: bool = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: NetworkConfig) -> STDP:
        return STDP(a_plus=cfg.a_plus, a_minus=cfg.a_minus,
                    decay_plus=math.exp(-cfg.dt_ms / cfg.tau_plus_ms),
                    decay_minus=math.exp(-cfg.dt_ms / cfg.tau_minus_ms),
                    coincident_potentiates=cfg.stdp_coincident == "potentiate")

    def step(self, traces: StdpTraces, pre: Bool[Array, "*batch pre"], post: Bool[Array, " post"]
             ) -> tuple[StdpTraces, Float[Array, "*batch pre post"]]:
        """One time step of the rule.

        **Arguments:**

        - `traces`: the traces after the previous step.
        - `pre`: presynaptic events this step (emissions or arrivals, see :class:`SpikeTiming`).
        - `post`: postsynaptic spikes this step.

        **Returns:** ``(traces, dw)`` with ``dw[..., i, j]`` the change of the synapse
        ``pre i -> post j`` caused by this step's events.
        """
        pre = pre.astype(jnp.float32)
        post = post.astype(jnp.float32)
        x_pre = traces.pre * self.decay_plus
        x_post = traces.post * self.decay_minus
        # The trace a postsynaptic spike reads: with 'potentiate' the presynaptic
        # pathway runs first, so a same-step event already counts.
        seen_pre = x_pre + pre if self.coincident_potentiates else x_pre
        dw = (self.a_plus * seen_pre[..., :, None] * post[..., None, :]
              - self.a_minus * pre[..., :, None] * x_post[..., None, :])
        return StdpTraces(x_pre + pre, x_post + post), dw


class SpikeTiming(eqx.Module):
    """Where the learning window sees the spikes of an earlier column.

    In teacher-forced learning (see :mod:`.learn`) a column's neurons fire only
    in their own window, so for the synapses of delay ``d`` into column ``k`` the
    presynaptic side is fully described by column ``k - d``'s spike raster in its
    window and its emission trace at that window's end.
    """

    @abc.abstractmethod
    def presynaptic(self, rasters: Bool[Array, "delays steps pre"],
                    end_traces: Float[Array, "delays pre"], decay_plus: float
                    ) -> tuple[Float[Array, "delays pre"], Bool[Array, "steps delays pre"]]:
        """**Arguments:** the rasters of columns ``k-1 .. k-D`` in their own windows, their
        emission traces at those windows' ends, and the per-step trace decay.

        **Returns:** the presynaptic traces at the start of window ``k`` and the
        presynaptic events during window ``k``, step by step."""

    @staticmethod
    def from_config(cfg: NetworkConfig) -> SpikeTiming:
        if cfg.stdp_timing == "emission":
            return EmissionTiming(cfg.steps_per_window)
        return ArrivalTiming()


class EmissionTiming(SpikeTiming):
    """Δt from emission: the spikes lie ``d`` windows back; none happen during window ``k``."""

    steps_per_window: int = eqx.field(static=True)

    def presynaptic(self, rasters, end_traces, decay_plus):
        delays = jnp.arange(1, rasters.shape[0] + 1, dtype=jnp.float32)
        # From the end of window k-d to the start of window k: (d-1) whole windows.
        gap = decay_plus ** (self.steps_per_window * (delays - 1))
        events = jnp.zeros(rasters.shape, bool).transpose(1, 0, 2)
        return end_traces * gap[:, None], events


class ArrivalTiming(SpikeTiming):
    """Δt from arrival: a delay of ``d`` columns is ``d`` whole windows, so column ``k-d``'s
    raster arrives step for step during window ``k``, and nothing arrived before it."""

    def presynaptic(self, rasters, end_traces, decay_plus):
        return jnp.zeros(end_traces.shape, jnp.float32), rasters.transpose(1, 0, 2)
