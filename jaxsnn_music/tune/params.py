"""What the differentiable mode trains: leaves of the one recall simulator.

The differentiable mode is the recall simulator (:class:`~jaxsnn_music.recall.Recaller`)
with two parts swapped in: the SuperSpike spike function
(:class:`~jaxsnn_music.network.spikes.SuperSpike`) and real-valued delays read through a
Gaussian or linear kernel (:class:`~jaxsnn_music.network.delays.GaussianDelays`,
:class:`~jaxsnn_music.network.delays.LinearDelays`), and recalled columns passing on the
stored values (teacher forcing). Its trainable leaves are the title neuron's threshold
(``lif.v_th``), every neuron's threshold (``v_th``) and the delay offsets
(``delays.offset``, one per delay slot and presynaptic neuron); :func:`trainable` is the
``eqx.partition`` filter that picks them, everything else stays as the network and the
config say (the memorized weights are data of each cue, never parameters).

:func:`plain_recaller` puts tuned leaves into the plain simulator (exact spikes, delays
rounded to whole steps), which is how tuned parameters are used and scored.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxsnn_music.config import Config
from jaxsnn_music.network.delays import GaussianDelays, LinearDelays, WholeSteps
from jaxsnn_music.network.spikes import SuperSpike
from jaxsnn_music.network.subnets import NAMES, Subnets
from jaxsnn_music.recall.simulator import Recaller


def initial_sigma(cfg: Config) -> float:
    """``tune.sigma_start``, or (when 0) a third of the delay range's width ``2 R + 1``."""
    t = cfg.tune
    return t.sigma_start if t.sigma_start > 0 else (2 * t.delay_range_steps + 1) / 3


def sigma_at(step, total_steps: int, start: float, end: float, anneal: float):
    """The Gaussian width at optimiser step ``step``: linear from ``start`` to ``end`` over the
    first ``anneal * total_steps`` steps, then ``end``."""
    span = max(anneal * total_steps, 1.0)
    progress = jnp.minimum(jnp.asarray(step, jnp.float32) / span, 1.0)
    return start + (end - start) * progress


def differentiable_recaller(cfg: Config, dtype=jnp.float32) -> Recaller:
    """The recall simulator as the differentiable mode runs it, at the paper's parameters
    (every threshold ``v_th``, every delay offset 0)."""
    t = cfg.tune
    offset = jnp.zeros((cfg.network.n_delays, Subnets.from_config(cfg).total), dtype)
    if t.delay_readout == "gaussian":
        delays = GaussianDelays(offset, t.delay_range_steps, jnp.asarray(initial_sigma(cfg), dtype))
    else:
        delays = LinearDelays(offset, t.delay_range_steps)
    return Recaller.from_config(cfg, spike=SuperSpike(t.surrogate_slope), delays=delays,
                                pass_on="teacher", dtype=dtype)


def _trainable_leaves(r: Recaller):
    return r.lif.v_th, r.v_th, r.delays.offset


def trainable(recaller: Recaller):
    """The filter spec: True on the trainable leaves, False everywhere else."""
    spec = jax.tree.map(lambda _: False, recaller)
    return eqx.tree_at(_trainable_leaves, spec, (True, True, True))


def parameters(recaller: Recaller):
    """The trainable part (``eqx.partition``'s first tree)."""
    return eqx.partition(recaller, trainable(recaller))[0]


def labels(params):
    """The optimiser's parameter groups (``optax.multi_transform``): thresholds and delays."""
    tree = jax.tree.map(lambda _: "threshold", params)
    return eqx.tree_at(lambda r: r.delays.offset, tree, "delay")


def clamp(params, cfg: Config):
    """Project onto the allowed set: thresholds in their range, delays in theirs."""
    t, r = cfg.tune, float(cfg.tune.delay_range_steps)
    th = lambda x: jnp.clip(x, t.threshold_min, t.threshold_max)  # noqa: E731
    return eqx.tree_at(_trainable_leaves, params,
                       (th(params.lif.v_th), th(params.v_th), jnp.clip(params.delays.offset, -r, r)))


def plain_recaller(params, cfg: Config) -> Recaller:
    """The plain simulator with these parameters: thresholds as they are, delays rounded to
    whole steps (the plain simulator's delays are integers)."""
    shift = jnp.round(params.delays.offset).astype(jnp.int32)
    plain = Recaller.from_config(cfg)
    return eqx.tree_at(lambda r: (r.lif.v_th, r.v_th, r.delays), plain,
                       (jnp.asarray(params.lif.v_th, plain.dtype),
                        jnp.asarray(params.v_th, plain.dtype), WholeSteps(shift)))


def summary(params, cfg: Config) -> dict:
    """How far the parameters moved from the paper's, in numbers (per subnetwork)."""
    v_th = cfg.network.v_th
    subnets = Subnets.from_config(cfg)
    out = {"v_th_title": float(params.lif.v_th)}
    for s, name in enumerate(NAMES):
        part = slice(subnets.offset(s), subnets.offset(s) + subnets.neurons(s))
        th = jnp.asarray(params.v_th)[part]
        delay = jnp.round(jnp.asarray(params.delays.offset)[:, part])
        out[f"v_th_{name}_mean"] = float(th.mean())
        out[f"v_th_{name}_min"] = float(th.min())
        out[f"v_th_{name}_max"] = float(th.max())
        out[f"v_th_{name}_moved"] = int((jnp.abs(th - v_th) > 1e-3).sum())
        out[f"delay_{name}_moved"] = int((delay != 0).sum())
        out[f"delay_{name}_mean"] = float(delay.mean())
        out[f"delay_{name}_mean_abs"] = float(jnp.abs(delay).mean())
        out[f"delay_{name}_range"] = [float(delay.min()), float(delay.max())]
    return out
