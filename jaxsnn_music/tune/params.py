"""What the differentiable mode trains, and what it keeps frozen.

:class:`TunedParams` holds the trainable leaves: the title neuron's threshold,
one threshold per pitch and per duration neuron, and one delay offset (steps,
relative to ``d`` windows) per delay slot and presynaptic neuron of each
subnetwork. :class:`Frozen` holds the rest of the dynamics' constants as
arrays, so that a gradient *could* reach them and the tests can check that none
does; the memorized weights are data of each cue, never parameters.
:class:`TuneModel` joins both with the static settings; :func:`trainable`
is the ``eqx.partition`` filter.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from jaxsnn_music.config import Config
from jaxsnn_music.recall.simulate import N_DURATION, N_PITCH, Recaller


class TunedParams(eqx.Module):
    """Thresholds and delay offsets; the paper's values are ``v_th`` everywhere and offset 0."""

    v_th_title: Float[Array, ""]
    v_th_pitch: Float[Array, " 129"]
    v_th_duration: Float[Array, " 64"]
    delay_pitch: Float[Array, "delays 129"]
    """Offset (steps) of the delay from column ``k - d`` (row ``d - 1``) per presynaptic neuron."""
    delay_duration: Float[Array, "delays 64"]

    @staticmethod
    def from_config(cfg: Config, dtype=jnp.float32) -> TunedParams:
        net = cfg.network
        d = net.n_delays
        return TunedParams(jnp.asarray(net.v_th, dtype), jnp.full(N_PITCH, net.v_th, dtype),
                           jnp.full(N_DURATION, net.v_th, dtype), jnp.zeros((d, N_PITCH), dtype),
                           jnp.zeros((d, N_DURATION), dtype))

    def clamp(self, cfg: Config) -> TunedParams:
        """Project onto the allowed set: thresholds in their range, delays in theirs."""
        t, r = cfg.tune, float(cfg.tune.delay_range_steps)
        th = lambda x: jnp.clip(x, t.threshold_min, t.threshold_max)  # noqa: E731
        return TunedParams(th(self.v_th_title), th(self.v_th_pitch), th(self.v_th_duration),
                           jnp.clip(self.delay_pitch, -r, r), jnp.clip(self.delay_duration, -r, r))

    def labels(self) -> TunedParams:
        """The optimiser's parameter groups (``optax.multi_transform``)."""
        return TunedParams("threshold", "threshold", "threshold", "delay", "delay")

    def recaller(self, cfg: Config) -> Recaller:
        """The plain simulator with these parameters: thresholds as they are, delays rounded
        to whole steps (the plain simulator's delays are integers)."""
        shift = lambda x: jnp.round(x).astype(jnp.int32)  # noqa: E731
        return Recaller.from_config(cfg).tuned(self.v_th_title, self.v_th_pitch, self.v_th_duration,
                                               shift(self.delay_pitch), shift(self.delay_duration))

    def summary(self, cfg: Config) -> dict:
        """How far the parameters moved from the paper's, in numbers."""
        v_th = cfg.network.v_th
        out = {"v_th_title": float(self.v_th_title)}
        for name in ("pitch", "duration"):
            th = jnp.asarray(getattr(self, f"v_th_{name}"))
            delay = jnp.round(jnp.asarray(getattr(self, f"delay_{name}")))
            out[f"v_th_{name}_mean"] = float(th.mean())
            out[f"v_th_{name}_min"] = float(th.min())
            out[f"v_th_{name}_max"] = float(th.max())
            out[f"v_th_{name}_moved"] = int((jnp.abs(th - v_th) > 1e-3).sum())
            out[f"delay_{name}_moved"] = int((delay != 0).sum())
            out[f"delay_{name}_mean"] = float(delay.mean())
            out[f"delay_{name}_mean_abs"] = float(jnp.abs(delay).mean())
            out[f"delay_{name}_range"] = [float(delay.min()), float(delay.max())]
        return out


class Frozen(eqx.Module):
    """Constants of the dynamics, as array leaves that the optimiser never sees."""

    decay: Float[Array, ""]
    resistance: Float[Array, ""]
    v_reset: Float[Array, ""]
    v_0: Float[Array, ""]
    title_current: Float[Array, ""]
    inhibition_weight: Float[Array, ""]
    inhibition_floor: Float[Array, ""]
    facilitation_sequential: Float[Array, ""]
    facilitation_goal: Float[Array, ""]
    facilitation_cap: Float[Array, ""]

    @staticmethod
    def from_config(cfg: Config, dtype=jnp.float32) -> Frozen:
        net = cfg.network
        weight = net.inhibition_weight if net.lateral_inhibition else 0.0
        floor = net.inhibition_floor if net.lateral_inhibition else -jnp.inf
        values = (net.dt_ms / net.tau_m_ms, net.resistance, net.v_reset, net.v_0,
                  net.title_current_recall, weight, floor, net.facilitation_sequential,
                  net.facilitation_goal, net.facilitation_cap)
        return Frozen(*(jnp.asarray(v, dtype) for v in values))


class TuneModel(eqx.Module):
    """The differentiable recall's parameters, constants and static settings."""

    params: TunedParams
    frozen: Frozen
    slope: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    n_delays: int = eqx.field(static=True)
    refractory_steps: int = eqx.field(static=True)
    facilitation_steps: int = eqx.field(static=True)
    reset_goal_per_window: bool = eqx.field(static=True)
    propagate_readout: bool = eqx.field(static=True)
    delay_range: int = eqx.field(static=True)
    delay_readout: str = eqx.field(static=True)
    readout_tau: float = eqx.field(static=True)
    silent_margin: float = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: Config, params: TunedParams | None = None, dtype=jnp.float32) -> TuneModel:
        net, t = cfg.network, cfg.tune
        return TuneModel(params if params is not None else TunedParams.from_config(cfg, dtype),
                         Frozen.from_config(cfg, dtype), t.surrogate_slope, net.steps_per_window,
                         net.n_delays, net.refractory_steps, net.facilitation_steps,
                         net.facilitation_reset == "window", cfg.recall.propagate == "readout",
                         t.delay_range_steps, t.delay_readout, t.readout_tau_steps,
                         t.silent_margin_steps)


def trainable(model: TuneModel):
    """The filter spec: True on the :class:`TunedParams` leaves, False everywhere else."""
    spec = jax.tree.map(lambda _: False, model)
    return eqx.tree_at(lambda m: m.params, spec, jax.tree.map(lambda _: True, model.params))
