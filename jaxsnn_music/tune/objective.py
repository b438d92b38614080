"""The differentiable mode's objective: cued recall of a batch, soft first-spike read-out.

A batch (:class:`CueBatch`) holds, per cue, what the ``D`` columns before its position
passed on (the replayed, perturbed cue, on the slots of those columns), the ``horizon``
columns after it (each cue its own columns) and the stored values there. The recall runs
in the one simulator (:func:`~jaxsnn_music.recall.simulator.scan_columns`) with the
differentiable parts (:mod:`.params`); each recalled column's value is read out softly,
``softmax(-first / readout_tau)`` over the values' first-spike times, and compared with
the stored chord and duration by cross-entropy. Recalled columns pass on the spikes of
their stored values (teacher forcing: as the plain simulator does whenever its read-out is
right).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.recall.simulator import ColumnInputs, CueInputs, Recaller, scan_columns


class CueBatch(eqx.Module):
    """A batch of cued recalls (``B`` cues, ``C`` columns each, ``S`` slots)."""

    context: Float[Array, "B D steps S"]
    """What each of the ``D`` columns before a cue's position passed on (slot ``d - 1``:
    column ``start - d``)."""
    context_neurons: Int[Array, "B D S"]
    columns: ColumnInputs
    """``[C, B, ...]``: every cue's own columns."""
    cues: CueInputs
    """``[C, B, ...]``: goal weights, activity and the stored values (targets)."""


def run(recaller: Recaller, batch: CueBatch):
    """The cued recall of a batch. **Returns:** per subnetwork, ``first`` ``[C, B, values]``."""
    def start(context, neurons):
        return recaller.init(context.shape[-1], context, neurons)

    state = jax.vmap(start)(batch.context, batch.context_neurons)
    _, outputs = scan_columns(recaller, state, batch.columns, batch.cues, shared=False)
    return tuple(jnp.minimum(o.first, recaller.silent_time) for o in outputs)


def _cross_entropy(first, target, tau):
    logp = jax.nn.log_softmax(-first / tau, axis=-1)
    share = target / jnp.maximum(target.sum(axis=-1, keepdims=True), 1.0)
    return -(share * logp).sum(axis=-1)


def _hit(first, target: Bool[Array, "..."]):
    """The earliest value is one of the stored ones (the plain read-out's value is right)."""
    best = jnp.argmin(first, axis=-1)
    return jnp.take_along_axis(target, best[..., None], axis=-1)[..., 0]


def loss_and_metrics(recaller: Recaller, batch: CueBatch, tau: float):
    """The objective: cross-entropy of the soft first-spike read-out against the stored pitch
    and duration of every recalled column, averaged over the active ones.

    **Returns:** ``(loss, {"loss", "pitch_hit", "duration_hit"})``.
    """
    first = run(recaller, batch)
    targets = batch.cues.targets
    mask = batch.cues.active.astype(first[0].dtype)
    count = jnp.maximum(mask.sum(), 1.0)
    loss = sum(_cross_entropy(f, t.astype(f.dtype), tau) for f, t in zip(first, targets))
    loss = (loss * mask).sum() / count
    metrics = {"loss": loss}
    for name, f, t in zip(("pitch", "duration"), first, targets):
        metrics[f"{name}_hit"] = (_hit(f, t) * mask).sum() / count
    return loss, metrics
