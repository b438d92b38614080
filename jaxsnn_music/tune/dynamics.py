"""The recall dynamics of :mod:`jaxsnn_music.recall.simulate`, differentiable.

One cued recall, as the plain simulator runs it: a cue (the rasters of the
``D`` columns before ``start``, e.g. a replayed fragment) is in the delay buffer,
the title neuron is driven (or not), and the columns ``start .. start + H - 1``
are simulated one window each. Every operation is the plain simulator's, with
three changes that make it differentiable and nothing else:

- spikes are :func:`~jaxsnn_music.tune.surrogate.spike` (exact 0/1 forward,
  SuperSpike slope backward); the reset multiplies by the spike with its
  gradient stopped; the refractory counter is an integer and carries none;
- delays are the trainable offsets, read through the kernels of
  :mod:`jaxsnn_music.tune.delay_readout`; facilitation sees "an arrival within
  the last ``W`` steps" as ``1 - prod(1 - a)``, which is the plain rule for 0/1
  arrivals and smooth in between;
- the read-out "the first neuron to spike" becomes a soft-max over the
  neurons' first-spike times (each the interpolated threshold crossing of the
  plain read-out, with a silent neuron counted ``silent_margin`` after the
  window): ``logits = -first / readout_tau``.

Columns pass on what the plain simulator passes on (``recall.propagate``), with
the stored values standing in for the read-out (teacher forcing: a recalled
column passes on the spikes of its *correct* neurons, as it does in the plain
simulator whenever its read-out is right). At integer delays, 0/1 spikes and
the stored values as read-outs, the forward pass is the plain simulator's
(tested against it).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float

from jaxsnn_music.tune.delay_readout import read_delayed
from jaxsnn_music.tune.params import TuneModel
from jaxsnn_music.tune.surrogate import spike


class CueBatch(eqx.Module):
    """A batch of cued recalls: the cues, and per recalled column the data it needs."""

    cue_pitch: Float[Array, "batch delays steps 129"]
    """Rasters of the cue's columns: ``[:, d - 1]`` is column ``start - d``."""
    cue_duration: Float[Array, "batch delays steps 64"]
    weights_pitch: Float[Array, "columns batch delays_pre 129"]
    """Each recalled column's learned sequential weights, dense (``dense_weights``)."""
    weights_duration: Float[Array, "columns batch delays_pre 64"]
    goal_pitch: Float[Array, "columns batch 129"]
    """The cued title's goal-link weights into each column (0 without a title cue)."""
    goal_duration: Float[Array, "columns batch 64"]
    target_pitch: Float[Array, "columns batch 129"]
    """The stored chord of each column, as a 0/1 vector."""
    target_duration: Float[Array, "columns batch 64"]
    active: Bool[Array, "columns batch"]
    """False past the end of the track."""


def lif_step(model: TuneModel, v, refractory, drive, v_th):
    """One Euler step of :class:`~jaxsnn_music.network.lif.LIF`, with surrogate spikes.

    **Returns:** ``(v, refractory, spikes, reached)``; ``reached`` is the potential before any
    reset (for the interpolated crossing time)."""
    f = model.frozen
    reached = v + f.decay * (-v + f.resistance * drive)
    s = spike(reached - v_th, model.slope) * (refractory == 0)
    hard = lax.stop_gradient(s)
    v = jnp.where(refractory > 0, f.v_reset, reached * (1.0 - hard) + f.v_reset * hard)
    refractory = jnp.where(hard > 0.5, model.refractory_steps, jnp.maximum(refractory - 1, 0))
    return v, refractory, s, reached


def recent(arrivals: Float[Array, "batch steps channels"], window: int
           ) -> Float[Array, "batch steps channels"]:
    """"An arrival within the last ``window`` steps (this one included)": ``1 - prod(1 - a)``."""
    steps = arrivals.shape[1]
    padded = jnp.pad(arrivals, ((0, 0), (window, 0), (0, 0)))
    miss = jnp.ones_like(arrivals)
    for m in range(window + 1):
        miss = miss * (1.0 - padded[:, window - m:window - m + steps])
    return 1.0 - miss


def facilitate(near: Float[Array, "batch steps channels"], increment, cap,
               reset_every: int | None = None) -> Float[Array, "batch steps channels"]:
    """``u <- u + near (min(u + f (u + 1), cap) - u)``, from ``u = 0`` (and back to 0 every
    ``reset_every`` steps): the plain rule when ``near`` is 0 or 1."""
    def step(u, xs):
        t, r = xs
        if reset_every is not None:
            u = jnp.where(t % reset_every == 0, 0.0, u)
        u = u + r * (jnp.minimum(u + increment * (u + 1.0), cap) - u)
        return u, u

    steps = near.shape[1]
    _, u = lax.scan(lambda c, x: step(c, x), jnp.zeros_like(near[:, 0]),
                    (jnp.arange(steps), near.transpose(1, 0, 2)))
    return u.transpose(1, 0, 2)


def title_facilitation(model: TuneModel, windows: int) -> Float[Array, "windows steps"]:
    """The driven title neuron over ``windows`` windows, and its goal links' ``u`` per step."""
    f, steps = model.frozen, model.steps

    def step(carry, _):
        v, refractory = carry
        v, refractory, s, _ = lif_step(model, v, refractory, f.title_current, model.params.v_th_title)
        return (v, refractory), s

    _, s = lax.scan(lambda c, x: step(c, x), (f.v_0 * jnp.ones_like(model.params.v_th_title),
                                              jnp.zeros((), jnp.int32)), None, length=windows * steps)
    near = recent(s[None, :, None], model.facilitation_steps)
    u = facilitate(near, f.facilitation_goal, f.facilitation_cap,
                   steps if model.reset_goal_per_window else None)
    return u[0, :, 0].reshape(windows, steps)


def column(model: TuneModel, ring, delay, v_th, weights, goal, u_goal, active, windows, sigma):
    """One column of one subnetwork for a batch of recalls.

    **Arguments:** ``ring [batch, D, steps, N]`` the previous columns' rasters (slot 0 = the
    column before), ``delay [D, N]`` offsets, ``v_th [N]``, ``weights [batch, D N, N]``,
    ``goal [batch, N]``, ``u_goal [steps]``, ``active [batch]``, ``windows`` since the recall
    began, ``sigma`` the Gaussian read-out's width.

    **Returns:** ``(raster [batch, steps, N], first [batch, N])``.
    """
    f, steps = model.frozen, model.steps
    batch, d, _, n = ring.shape
    x = ring.transpose(0, 2, 1, 3).reshape(batch, steps, d * n)
    arrivals = read_delayed(x, delay.reshape(-1), model.delay_range, model.delay_readout, sigma)
    u = facilitate(recent(arrivals, model.facilitation_steps), f.facilitation_sequential,
                   f.facilitation_cap)
    current = jnp.einsum("btc,bcn->btn", u, weights) + u_goal[None, :, None] * goal[:, None, :]
    current = jnp.where(active[:, None, None], current, 0.0)
    v0 = f.v_0 * (1.0 - f.decay) ** (steps * jnp.asarray(windows, current.dtype))

    def step(carry, xs):
        v, refractory, previous, alive, first, fired = carry
        t, drive = xs
        spikes_before = previous.sum(axis=-1, keepdims=True) - previous
        drive = jnp.maximum(drive - f.inhibition_weight * spikes_before, f.inhibition_floor)
        v_new, refractory, s, reached = lif_step(model, v, refractory, drive, v_th)
        rise = reached - v
        frac = jnp.where(rise > 0, (v_th - v) / jnp.where(rise > 0, rise, 1.0), 1.0)
        crossing = t + jnp.clip(frac, 0.0, 1.0)
        w = s * alive
        return (v_new, refractory, s, alive * (1.0 - s), first + w * crossing, fired + w), s

    zeros = jnp.zeros((batch, n), current.dtype)
    init = (zeros + v0, jnp.zeros((batch, n), jnp.int32), zeros, zeros + 1.0, zeros, zeros)
    (_, _, _, _, first, fired), raster = lax.scan(
        lambda c, x: step(c, x), init,
        (jnp.arange(steps, dtype=current.dtype), current.transpose(1, 0, 2)))
    first = first + (1.0 - fired) * (steps + model.silent_margin)
    return raster.transpose(1, 0, 2), first


def recall(model: TuneModel, batch: CueBatch, sigma=None
           ) -> tuple[Float[Array, "columns batch 129"], Float[Array, "columns batch 64"]]:
    """The cued recall of a batch: each recalled column's soft first-spike times."""
    p = model.params
    columns = batch.active.shape[0]
    u_goal = title_facilitation(model, columns)

    def push(ring, raster):
        return jnp.concatenate([raster[:, None], ring[:, :-1]], axis=1)

    def body(carry, xs):
        ring_p, ring_d = carry
        h, u, w_p, w_d, g_p, g_d, t_p, t_d, active = xs
        r_p, f_p = column(model, ring_p, p.delay_pitch, p.v_th_pitch, w_p, g_p, u, active, h, sigma)
        r_d, f_d = column(model, ring_d, p.delay_duration, p.v_th_duration, w_d, g_d, u, active, h,
                          sigma)
        if model.propagate_readout:
            r_p, r_d = r_p * t_p[:, None, :], r_d * t_d[:, None, :]
        return (push(ring_p, r_p), push(ring_d, r_d)), (f_p, f_d)

    xs = (jnp.arange(columns), u_goal, batch.weights_pitch, batch.weights_duration, batch.goal_pitch,
          batch.goal_duration, batch.target_pitch, batch.target_duration, batch.active)
    _, (first_p, first_d) = lax.scan(lambda c, x: body(c, x), (batch.cue_pitch, batch.cue_duration), xs)
    return first_p, first_d


def _cross_entropy(first, target, tau):
    logp = jax.nn.log_softmax(-first / tau, axis=-1)
    share = target / jnp.maximum(target.sum(axis=-1, keepdims=True), 1.0)
    return -(share * logp).sum(axis=-1)


def _hit(first, target):
    """The earliest neuron is one of the stored ones (the plain read-out's value is right)."""
    best = jnp.argmin(first, axis=-1)
    return jnp.take_along_axis(target, best[..., None], axis=-1)[..., 0] > 0


def loss_and_metrics(model: TuneModel, batch: CueBatch, sigma=None):
    """The objective: cross-entropy of the soft first-spike read-out against the stored pitch
    and duration of every recalled column, averaged over the active ones.

    **Returns:** ``(loss, {"loss", "pitch_hit", "duration_hit"})``.
    """
    first_p, first_d = recall(model, batch, sigma)
    tau = model.readout_tau
    mask = batch.active.astype(first_p.dtype)
    count = jnp.maximum(mask.sum(), 1.0)
    loss = ((_cross_entropy(first_p, batch.target_pitch, tau)
             + _cross_entropy(first_d, batch.target_duration, tau)) * mask).sum() / count
    metrics = {"loss": loss,
               "pitch_hit": (_hit(first_p, batch.target_pitch) * mask).sum() / count,
               "duration_hit": (_hit(first_d, batch.target_duration) * mask).sum() / count}
    return loss, metrics
