"""The compiled recall dynamics: columns in order, each in its own 5 ms window.

MODEL.md section 4. During recall the cued title neuron is driven with
``title_current_recall`` from the recall's start; column ``k`` of a sequence
layer is simulated in window ``k`` (50 steps), where its neurons receive

- the title's goal links: ``w_forward * u_goal(t)``, one presynaptic neuron
  (the title) for all of them, so one facilitation trajectory serves every link;
- the sequential synapses from columns ``k-1 .. k-D``: the spikes column
  ``k-d`` fired in its own window arrive step for step in window ``k`` (a delay
  of ``d`` columns is ``d * 50`` steps, an integer, MODEL.md section 6);
- lateral inhibition inside the minicolumn.

**Facilitation, kept finite** (``network.facilitation_*``, see
:mod:`jaxsnn_music.network.facilitation`): ``u`` saturates at ``facilitation_cap``
(10). With ``facilitation_reset = "window"`` (default) the goal links' ``u``
returns to 0 at the start of every window; the title's arrival history is kept,
so every window sees the same ramp 0.5, 1.25, 2.4, ... whatever the title's
phase, and a goal-linked neuron without other input crosses threshold in step 2
of its window. With ``"recall"`` the goal ``u`` saturates in the first window and
stays at the cap: goal links drive their neurons across threshold in step 0 of
every later window, the closest finite analogue of the authors' overflowing ``u``
(their recall was a lookup). A sequential synapse into column ``k`` only ever
receives arrivals in window ``k`` (its presynaptic column fired only in its own
window), so for it both policies are the same: its ``u`` starts at 0 in that
window. Its ``u`` depends only on the presynaptic neuron's arrivals, so it is
kept per presynaptic neuron and delay, not per synapse.

**Phase locking, and why the read-out interpolates.** Delays are whole windows,
so the spikes a column sends arrive in later columns in exactly the steps they
were fired in, which are the steps in which those columns' goal-linked neurons
cross threshold. A neuron driven by strong summed sequential weights therefore
crosses in the *same step* as a goal-linked one; only the crossing time inside
the step (interpolated, see below) orders them, and the more strongly driven
neuron crosses first. With many pieces in one network the summed weights of a
shared transition reach hundreds (99 pieces share one at the same column in the
paper selection), which is what limits title-cued recall at that scale
(``evaluate --protocol capacity``; bounded weights, ``network.w_max``, lift it).

**What a column passes on** (``recall.propagate``). ``all``: every spike, as the
network is specified; every neuron reachable from a firing one through a
learned synapse is then driven far above threshold by facilitation (inhibition,
at most 20 below, cannot hold it), so wrong neurons spread from column to
column. ``readout`` (default): only the read-out's neurons (the column's chord
or its single value) send spikes on, a winner-take-all minicolumn.

**Why the sequential input is one matrix product per window.** The input of
column ``k`` depends on the spikes of earlier columns only, never on its own,
so the whole window's sequential current is ``U @ W``: ``U[t, (d, i)]`` the
facilitation of the synapses leaving neuron ``i`` of column ``k-d`` and
``W[(d, i), j]`` the learned weights into column ``k`` (dense, built from the
column's rows of the sparse store). Only the neuron dynamics (LIF, inhibition)
need the 50-step scan.

**What a window reports.** For every neuron the interpolated time of its first
spike (``t + (v_th - V_before) / (V_after - V_before)`` in steps, so that the
"first neuron to spike" is defined even when several cross in the same step) and
its spike count. Read-outs (:mod:`.readout`) are computed from these.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import Config
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.network.delays import RingBuffer
from jaxsnn_music.network.facilitation import Facilitation, FacilitationState, driven_window
from jaxsnn_music.network.inhibition import Inhibition
from jaxsnn_music.network.lif import LIF, LIFState
from jaxsnn_music.recall.readout import ColumnReadOut

N_PITCH = 129
N_DURATION = 64
SILENT = jnp.inf
"""First-spike time of a neuron that did not fire."""


class ColumnSynapses(eqx.Module):
    """Sequential synapses into one column (``[rows]``; padding rows have weight 0)."""

    delay: Int[Array, "*columns rows"]
    pre: Int[Array, "*columns rows"]
    post: Int[Array, "*columns rows"]
    weight: Float[Array, "*columns rows"]


def dense_weights(rows: ColumnSynapses, n_delays: int, neurons: int) -> Float[Array, "delays_pre post"]:
    """``W[(d - 1) * neurons + i, j]``: the weight from neuron ``i`` of column ``k - d`` to ``j``."""
    w = jnp.zeros((n_delays * neurons, neurons), jnp.float32)
    delay = rows.delay.astype(jnp.int32)
    source = jnp.where(delay >= 1, (delay - 1) * neurons + rows.pre.astype(jnp.int32),
                       n_delays * neurons)  # padding rows fall outside and are dropped
    return w.at[source, rows.post.astype(jnp.int32)].add(rows.weight, mode="drop")


class RecallState(eqx.Module):
    """What one recall carries from window to window."""

    title: LIFState
    """The cued title neuron (a scalar LIF)."""
    goal: FacilitationState
    """Facilitation of the goal links (their presynaptic neuron is the title)."""
    pitch: RingBuffer
    """Spike rasters ``[steps, 129]`` of the last ``D`` pitch columns."""
    duration: RingBuffer
    """Spike rasters ``[steps, 64]`` of the last ``D`` duration columns."""
    windows: Int[Array, ""]
    """Windows simulated since the recall began."""


class ColumnOutput(eqx.Module):
    """What one window of one subnetwork reports."""

    first: Float[Array, "*batch neurons"]
    """Interpolated time of each neuron's first spike, in steps from the window start (inf: none)."""
    count: Int[Array, "*batch neurons"]
    """Spikes of each neuron in the window."""


def shift_rasters(rasters: Bool[Array, "delays steps neurons"], shift: Int[Array, "delays neurons"]
                  ) -> Bool[Array, "delays steps neurons"]:
    """``rasters[d, t - shift[d, n], n]``: each presynaptic neuron's spikes arriving ``shift``
    steps later (earlier when negative) than ``d`` whole windows; what falls outside the
    window is lost (the target column is simulated in its own window only)."""
    steps = rasters.shape[1]
    t = jnp.arange(steps)[None, :, None] - shift[:, None, :]
    inside = (t >= 0) & (t < steps)
    return jnp.take_along_axis(rasters, jnp.clip(t, 0, steps - 1), axis=1) & inside


class Recaller(eqx.Module):
    """The recall dynamics of one (title, track); every part is a swappable module.

    ``lif`` is the title neuron (and the neurons a replayed cue drives); ``lif_pitch`` and
    ``lif_duration`` are the sequence layers' neurons, the same model unless thresholds
    tuned in the differentiable mode were put in (:meth:`tuned`), as were the optional
    per-(delay, presynaptic neuron) ``shift_*``: whole steps added to the delays of ``d``
    windows (None: delays are exactly ``d`` windows, the paper)."""

    lif: LIF
    lif_pitch: LIF
    lif_duration: LIF
    shift_pitch: Int[Array, "delays 129"] | None
    shift_duration: Int[Array, "delays 64"] | None
    inhibition: Inhibition
    sequential: Facilitation
    goal: Facilitation
    output_pitch: ColumnReadOut | None
    """What a pitch column passes on to later columns: its read-out set only, or (None) every
    spike."""
    output_duration: ColumnReadOut | None
    """The same for duration columns (a single value, never a set)."""
    title_current: float = eqx.field(static=True)
    input_current: float = eqx.field(static=True)
    reset_goal_per_window: bool = eqx.field(static=True)
    n_delays: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: Config) -> Recaller:
        net = cfg.network
        readout = cfg.recall.propagate == "readout"
        lif = LIF.from_config(net)
        return Recaller(lif, lif, lif, None, None, Inhibition.from_config(net),
                        Facilitation.sequential(net), Facilitation.goal(net),
                        ColumnReadOut.from_config(cfg) if readout else None,
                        ColumnReadOut.from_config(cfg, chords=False) if readout else None,
                        net.title_current_recall, net.input_current,
                        net.facilitation_reset == "window", net.n_delays, net.steps_per_window)

    def tuned(self, v_th_title, v_th_pitch, v_th_duration, shift_pitch, shift_duration) -> Recaller:
        """The same dynamics with tuned thresholds (title scalar, one per pitch / duration
        neuron) and integer delay shifts ``[delays, neurons]`` (see :func:`shift_rasters`)."""
        def lif(v_th):
            return eqx.tree_at(lambda m: m.v_th, self.lif, jnp.asarray(v_th, jnp.float32))

        return eqx.tree_at(
            lambda r: (r.lif, r.lif_pitch, r.lif_duration, r.shift_pitch, r.shift_duration), self,
            (lif(v_th_title), lif(v_th_pitch), lif(v_th_duration),
             jnp.asarray(shift_pitch, jnp.int32), jnp.asarray(shift_duration, jnp.int32)),
            is_leaf=lambda x: x is None)

    # -- state -----------------------------------------------------------------

    def init(self, context_pitch: Bool[Array, "delays steps 129"] | None = None,
             context_duration: Bool[Array, "delays steps 64"] | None = None) -> RecallState:
        """The reset state; optionally with the rasters of the ``D`` columns before the
        first recalled one (``context[d - 1]`` = column ``start - d``), e.g. a replayed fragment."""
        def ring(context, neurons):
            buf = RingBuffer.init(self.n_delays, jnp.zeros((self.steps, neurons), bool))
            if context is None:
                return buf
            # Push oldest first so that read(d) returns context[d - 1].
            for d in range(self.n_delays, 0, -1):
                buf = buf.push(context[d - 1])
            return buf

        return RecallState(self.lif.init(()), self.goal.init(()), ring(context_pitch, N_PITCH),
                           ring(context_duration, N_DURATION), jnp.zeros((), jnp.int32))

    def teacher_raster(self, ids: Int[Array, " slots"], neurons: int) -> Bool[Array, "steps neurons"]:
        """The raster of a column whose neurons ``ids`` (``-1`` = none) are driven with the
        teacher current from rest and nothing else (a replayed fragment event)."""
        current = jnp.zeros(neurons, jnp.float32).at[jnp.where(ids >= 0, ids, neurons)].set(
            self.input_current, mode="drop")

        def step(state, _):
            state, spikes = self.lif.step(state, current)
            return state, spikes

        _, raster = lax.scan(lambda s, x: step(s, x), self.lif.init((neurons,)), None,
                             length=self.steps)
        return raster

    # -- one window ------------------------------------------------------------

    def title_window(self, title: LIFState, goal: FacilitationState
                     ) -> tuple[LIFState, FacilitationState, Float[Array, " steps"]]:
        """The driven title neuron through one window, and its goal links' facilitation.

        Feedback from the notes is left out here: the cued title is driven far above
        threshold and fires at its refractory-limited rate whatever it receives.
        """
        if self.reset_goal_per_window:
            goal = FacilitationState(jnp.zeros_like(goal.u), goal.since_arrival)
        return driven_window(self.lif, self.goal, title, goal, self.title_current, self.steps)

    def column(self, ring: RingBuffer, weights: Float[Array, "delays_pre neurons"],
               goal_weights: Float[Array, " neurons"], u_goal: Float[Array, " steps"],
               active: Bool[Array, ""], windows: Int[Array, ""], inputs: int | None = None,
               output: ColumnReadOut | None = None, lif: LIF | None = None,
               shift: Int[Array, "delays neurons"] | None = None
               ) -> tuple[RingBuffer, ColumnOutput]:
        """Simulate one column of one subnetwork in its window.

        **Arguments:**

        - `ring`: rasters of the previous ``D`` columns of this subnetwork.
        - `weights`: the column's sequential weights, dense (:func:`dense_weights`).
        - `goal_weights`: title -> neuron weights of the cued title into this column.
        - `u_goal`: the goal links' facilitation in each step of the window.
        - `active`: False past the end of the track: the column gets no input.
        - `windows`: windows since the recall began (for the idle decay of ``v_0``).
        - `inputs`: if given, at most this many presynaptic neurons (over the ``D`` previous
          columns) fired, and only their rows of ``weights`` are used (the same result, faster).
        - `output`: if given, only the spikes of this read-out's neurons are passed on.
        - `lif`: the column's neurons (default: ``self.lif``).
        - `shift`: if given, whole steps added to each (delay, presynaptic neuron)'s delay.

        **Returns:** the ring with this column's raster pushed, and its :class:`ColumnOutput`.
        """
        neurons = goal_weights.shape[0]
        lif = self.lif if lif is None else lif
        rasters = ring.read(jnp.arange(1, self.n_delays + 1))  # [D, steps, N]
        if shift is not None:
            rasters = shift_rasters(rasters, shift)
        if inputs is None:
            arrivals = rasters.transpose(1, 0, 2).reshape(self.steps, -1)
        else:
            # Neurons that did not fire have u = 0: leaving them out changes nothing.
            _, fired = lax.top_k(rasters.any(axis=1).reshape(-1).astype(jnp.float32), inputs)
            arrivals = rasters[fired // neurons, :, fired % neurons].T
            weights = weights[fired]

        def facilitate(state, arrived):
            state = self.sequential.step(state, arrived)
            return state, state.u

        _, u = lax.scan(lambda c, x: facilitate(c, x),
                        self.sequential.init(arrivals.shape[1:]), arrivals)
        current = u @ weights + u_goal[:, None] * goal_weights[None, :]
        current = jnp.where(active, current, 0.0)

        start = lif.init((neurons,))
        # Undriven since the recall began: v_0 has decayed (as in learning).
        idle = (1.0 - lif.decay) ** (self.steps * windows.astype(jnp.float32))
        start = eqx.tree_at(lambda s: s.v, start, start.v * idle)

        def step(carry, xs):
            state, previous, first, count = carry
            t, drive = xs
            drive = self.inhibition(drive, previous)
            # The potential the Euler step reaches before any reset (the arithmetic of
            # LIF.step), for the crossing time inside the step.
            reached = state.v + lif.decay * (-state.v + lif.resistance * drive)
            state_after, spikes = lif.step(state, drive)
            rise = reached - state.v
            frac = jnp.where(rise > 0, (lif.v_th - state.v) / jnp.where(rise > 0, rise, 1.0), 1.0)
            crossing = t + jnp.clip(frac, 0.0, 1.0)
            first = jnp.where(spikes & jnp.isinf(first), crossing, first)
            return (state_after, spikes, first, count + spikes), spikes

        init = (start, jnp.zeros(neurons, bool), jnp.full(neurons, SILENT, jnp.float32),
                jnp.zeros(neurons, jnp.int32))
        (_, _, first, count), raster = lax.scan(
            lambda c, x: step(c, x), init,
            (jnp.arange(self.steps, dtype=jnp.float32), current))
        if output is not None:
            raster = raster & output(first, count)[None, :]
        return ring.push(raster), ColumnOutput(first, count)

    def window(self, state: RecallState, weights_pitch, weights_duration,
               goal_pitch: Float[Array, " 129"], goal_duration: Float[Array, " 64"],
               active: Bool[Array, ""], inputs: int | None = None
               ) -> tuple[RecallState, tuple[ColumnOutput, ColumnOutput]]:
        """One window of one recall: the title, then the pitch and duration columns."""
        title, goal, u_goal = self.title_window(state.title, state.goal)
        ring_p, out_p = self.column(state.pitch, weights_pitch, goal_pitch, u_goal, active,
                                    state.windows, inputs, self.output_pitch, self.lif_pitch,
                                    self.shift_pitch)
        ring_d, out_d = self.column(state.duration, weights_duration, goal_duration, u_goal, active,
                                    state.windows, inputs, self.output_duration, self.lif_duration,
                                    self.shift_duration)
        return RecallState(title, goal, ring_p, ring_d, state.windows + 1), (out_p, out_d)


class ChunkInputs(eqx.Module):
    """Per column of a chunk: the layer's sequential rows and each recall's goal weights."""

    rows_pitch: ColumnSynapses  # [columns, rows]
    rows_duration: ColumnSynapses  # [columns, rows]
    goal_pitch: Float[Array, "columns batch 129"]
    goal_duration: Float[Array, "columns batch 64"]
    active: Bool[Array, "columns batch"]


def _fired(ring: RingBuffer) -> Int[Array, "*batch"]:
    """Neurons (over the ``D`` buffered columns) that fired at least once."""
    return jnp.sum(jnp.any(ring.data, axis=-2), axis=(-2, -1))


@eqx.filter_jit
def recall_chunk(recaller: Recaller, state: RecallState, inputs: ChunkInputs,
                 sparse_inputs: int = 0) -> tuple[RecallState, tuple[ColumnOutput, ColumnOutput]]:
    """Scan a chunk of columns for a batch of recalls of one layer (vmapped over the batch).

    **Arguments:**

    - `recaller`: the dynamics.
    - `state`: the batch's states (leading ``batch`` axis).
    - `inputs`: a :class:`ChunkInputs` (leading ``columns`` axis).
    - `sparse_inputs`: when no recall of the batch has more presynaptic neurons that fired
      than this, a window gathers only their weights (``0``: always use the dense product).

    **Returns:** the new states and, per column, the pitch and duration
    :class:`ColumnOutput` ``[columns, batch, neurons]``.
    """
    count_trace("recall.recall_chunk")

    def body(state, xs):
        rows_p, rows_d, goal_p, goal_d, active = xs
        w_p = dense_weights(rows_p, recaller.n_delays, N_PITCH)
        w_d = dense_weights(rows_d, recaller.n_delays, N_DURATION)

        def run(inputs):
            def window(*args):
                return recaller.window(*args, inputs=inputs)

            return jax.vmap(window, in_axes=(0, None, None, 0, 0, 0))(
                state, w_p, w_d, goal_p, goal_d, active)

        if not sparse_inputs:
            return run(None)
        few = jnp.maximum(_fired(state.pitch).max(), _fired(state.duration).max()) <= sparse_inputs
        return lax.cond(few, lambda: run(sparse_inputs), lambda: run(None))

    return lax.scan(lambda s, x: body(s, x), state,
                    (inputs.rows_pitch, inputs.rows_duration, inputs.goal_pitch,
                     inputs.goal_duration, inputs.active))
