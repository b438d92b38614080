"""The recall simulator: columns in order, each in its own 5 ms window (MODEL.md section 4).

One simulator serves title-cued recall, the spike rasters of figures, identification's
continuation and the differentiable mode; they differ only in the parts they plug in
(:class:`Recaller`'s fields), never in a second copy of the dynamics:

- the spike function (:mod:`~jaxsnn_music.network.spikes`: exact Heaviside, or the
  SuperSpike surrogate for gradients);
- the delay read-out (:mod:`~jaxsnn_music.network.delays`: whole windows, whole-step
  shifts, or real-valued offsets read through a Gaussian or linear kernel);
- thresholds (an array leaf: one per neuron of every subnetwork, and the title's);
- what a column passes on to the columns after it (every spike, its read-out, or the
  stored values: teacher forcing while training).

**What a window does.** The cued title neuron is driven with ``title_current_recall``;
its goal links deliver ``w_forward * u_goal(t)`` to its linked neurons of the column.
The sequential synapses from columns ``k-1 .. k-D`` deliver the spikes those columns
passed on, ``d`` windows later (a delay of ``d`` columns is ``d * 50`` steps, an
integer, MODEL.md section 6), times the facilitation of their presynaptic channel
(:mod:`~jaxsnn_music.network.facilitation`, finite). Neurons of one subnetwork inhibit
each other (:mod:`~jaxsnn_music.network.inhibition`, a minicolumn per subnetwork). The
LIF neurons (:mod:`~jaxsnn_music.network.lif`) run the window's 50 steps.

**Slots.** A column simulates only the neurons learning used in it (its *slots*, from the
network's cell table): every other neuron has no input and cannot fire. A synapse row
names its presynaptic slot in column ``k - d`` and its postsynaptic slot in column ``k``.
Rows are sorted by presynaptic channel ``(d, slot)``, so a window whose earlier columns
fired few neurons gathers only their rows (``sparse`` below) instead of all of them;
both give the same currents.

**Why the sequential input needs no per-step scan of the synapses.** The input of column
``k`` depends on the spikes of earlier columns only, never on its own, so the whole
window's sequential current is computed before the neuron scan: the facilitation of each
presynaptic channel over the window, then one gather-and-sum over the rows. Only the
neuron dynamics (LIF, inhibition) need the 50-step scan.

**What a window reports.** For every neuron the time of its first spike (its step, or,
with ``recall.spike_timing = precise``, the threshold crossing located inside the step by
linear interpolation of ``V``: ``t + (v_th - V_before) / (V_after - V_before)``) and its
spike count; per subnetwork, each value's earliest cell and summed count. Read-outs
(:mod:`.readout`) are computed from these. A neuron that does not fire reports
``silent_time`` (after the window's end) with count 0: written so that the first-spike
time is a smooth function of the spikes, which is what the differentiable mode trains.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import Config
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.network.delays import AbstractDelayReadout, RingBuffer, WholeSteps
from jaxsnn_music.network.facilitation import Facilitation, FacilitationState
from jaxsnn_music.network.inhibition import Inhibition
from jaxsnn_music.network.lif import LIF, LIFState
from jaxsnn_music.network.spikes import AbstractSpike, Heaviside, is_spike
from jaxsnn_music.network.subnets import Subnets
from jaxsnn_music.recall.readout import ColumnReadOut

PASS_ON = ("all", "readout", "teacher")


class ColumnInputs(eqx.Module):
    """What the network holds for one column (a chunk stacks them on a leading axis).

    ``S`` slots, ``R`` synapse rows; padding slots have subnet ``-1``, padding rows delay 0
    and weight 0.
    """

    slot_subnet: Int[Array, " S"]
    slot_neuron: Int[Array, " S"]
    """Global neuron index (:class:`~jaxsnn_music.network.subnets.Subnets`), ``-1``: padding."""
    slot_value: Int[Array, " S"]
    """The value the neuron prefers, within its subnetwork."""
    row_delay: Int[Array, " R"]
    row_pre: Int[Array, " R"]
    """The presynaptic slot, in column ``k - delay``."""
    row_post: Int[Array, " R"]
    row_weight: Float[Array, " R"]


class CueInputs(eqx.Module):
    """What one recall adds to a column: its title's goal links, whether its track is still
    playing, and (teacher forcing only) the stored values."""

    goal: Float[Array, " S"]
    """Weight of the cued title's link into each slot (0: none)."""
    active: Bool[Array, ""]
    """False past the end of the track: the column gets no input."""
    targets: tuple[Bool[Array, " values"], ...] | None = None
    """Per subnetwork, the stored value(s) of this column (``pass_on = teacher``)."""


class RecallState(eqx.Module):
    """What one recall carries from window to window."""

    title: LIFState
    """The cued title neuron (a scalar LIF)."""
    goal: FacilitationState
    """Facilitation of the goal links (their presynaptic neuron is the title)."""
    ring: RingBuffer
    """``(raster [steps, S], neurons [S])`` of the last ``D`` columns: what they passed on."""
    windows: Int[Array, ""]
    """Windows simulated since the recall began."""


class ColumnOutput(eqx.Module):
    """What one window of one subnetwork reports, per value."""

    first: Float[Array, "*batch values"]
    """First-spike time of the value's earliest cell, in steps from the window start
    (``silent_time`` when none fired)."""
    count: Float[Array, "*batch values"]
    """Spikes of the value's cells in the window."""

    def times(self):
        """``first`` with ``inf`` where the value did not fire (what read-outs take)."""
        xp = jnp if isinstance(self.first, jax.Array) else __import__("numpy")
        return xp.where(self.count > 0, self.first, xp.inf)


class Recaller(eqx.Module):
    """The recall dynamics; every part is a swappable module or an array leaf.

    The differentiable mode is ``eqx.partition`` of this module: its trainable leaves are
    ``v_th``, ``v_th_title`` and the delay read-out's offsets; everything else is static.
    """

    lif: LIF
    """Neuron constants and the spike function (its ``v_th`` is the title's: see ``v_th``)."""
    v_th: Float[Array, " neurons"]
    """Threshold of every neuron of every subnetwork (global index)."""
    delays: AbstractDelayReadout
    inhibition: Inhibition
    sequential: Facilitation
    goal: Facilitation
    readouts: tuple[ColumnReadOut, ...]
    """Per subnetwork, what a column recalls (pitch: chords as the encoding says)."""
    subnets: Subnets = eqx.field(static=True)
    pass_on: str = eqx.field(static=True)
    use_sequential: bool = eqx.field(static=True)
    precise: bool = eqx.field(static=True)
    title_current: float = eqx.field(static=True)
    input_current: float = eqx.field(static=True)
    reset_goal_per_window: bool = eqx.field(static=True)
    n_delays: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    silent_time: float = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: Config, spike: AbstractSpike | None = None,
                    delays: AbstractDelayReadout | None = None, pass_on: str | None = None,
                    dtype=jnp.float32) -> Recaller:
        """The config's dynamics (the plain simulator unless other parts are given).

        **Arguments:**

        - `cfg`: the config (``network`` dynamics, ``recall`` read-outs and switches).
        - `spike`: the spike function (default :class:`~jaxsnn_music.network.spikes.Heaviside`).
        - `delays`: the delay read-out (default: exactly ``d`` windows).
        - `pass_on`: ``all``, ``readout`` or ``teacher`` (default ``recall.propagate``).
        """
        net, rc = cfg.network, cfg.recall
        subnets = Subnets.from_config(cfg)
        pass_on = rc.propagate if pass_on is None else pass_on
        if pass_on not in PASS_ON:
            raise ValueError(f"pass_on must be one of {PASS_ON}, got {pass_on!r}")
        lif = LIF.from_config(net, spike)
        lif = eqx.tree_at(lambda m: m.v_th, lif, jnp.asarray(net.v_th, dtype))
        return Recaller(
            lif=lif, v_th=jnp.full(subnets.total, net.v_th, dtype),
            delays=WholeSteps() if delays is None else delays,
            inhibition=Inhibition.from_config(net), sequential=Facilitation.sequential(net),
            goal=Facilitation.goal(net),
            readouts=(ColumnReadOut.from_config(cfg), ColumnReadOut.from_config(cfg, chords=False)),
            subnets=subnets, pass_on=pass_on, use_sequential=rc.sequential == "on",
            precise=rc.spike_timing == "precise", title_current=net.title_current_recall,
            input_current=net.input_current, reset_goal_per_window=net.facilitation_reset == "window",
            n_delays=net.n_delays, steps=net.steps_per_window,
            silent_time=float(net.steps_per_window + cfg.tune.silent_margin_steps))

    @property
    def dtype(self):
        return self.v_th.dtype

    @property
    def spike_dtype(self):
        """Booleans for exact spikes, floats for differentiable ones."""
        return bool if isinstance(self.lif.spike, Heaviside) else self.dtype

    # -- state -----------------------------------------------------------------

    def init(self, slots: int, context: Array | None = None,
             context_neurons: Int[Array, "delays slots"] | None = None) -> RecallState:
        """The reset state of a recall whose columns have ``slots`` slots; optionally with what
        the ``D`` columns before the first recalled one passed on (``context[d - 1]``: the
        raster ``[steps, slots]`` of column ``start - d``, e.g. a replayed fragment, with its
        slots' neurons ``context_neurons[d - 1]``)."""
        raster = jnp.zeros((self.steps, slots), self.spike_dtype)
        ring = RingBuffer.init(self.n_delays, (raster, jnp.full(slots, -1, jnp.int32)))
        if context is not None:
            # Push oldest first so that read(d) returns context[d - 1].
            for d in range(self.n_delays, 0, -1):
                ring = ring.push((context[d - 1].astype(raster.dtype), context_neurons[d - 1]))
        return RecallState(self.lif.init((), self.dtype), self.goal.init((), self.dtype), ring,
                           jnp.zeros((), jnp.int32))

    def teacher_raster(self, driven: Bool[Array, " slots"]) -> Bool[Array, "steps slots"]:
        """The raster of a column whose ``driven`` slots get the teacher current from rest and
        nothing else (a replayed fragment event; the model's thresholds)."""
        current = jnp.where(driven, self.input_current, 0.0).astype(self.dtype)
        lif = eqx.tree_at(lambda m: m.spike, self.lif, Heaviside())

        def step(state, _):
            return lif.step(state, current)

        return lax.scan(lambda s, x: step(s, x), lif.init(driven.shape, self.dtype), None,
                        length=self.steps)[1]

    # -- one window ------------------------------------------------------------

    def title_window(self, title: LIFState, goal: FacilitationState
                     ) -> tuple[LIFState, FacilitationState, Float[Array, " steps"], Array]:
        """The driven title neuron through one window, and its goal links' facilitation.

        Feedback from the notes is left out here: the cued title is driven far above
        threshold and fires at its refractory-limited rate whatever it receives.

        **Returns:** ``(title, goal, u, spikes)``: the states after the window, the links'
        ``u`` at every step and the title's spikes.
        """
        if self.reset_goal_per_window:
            goal = FacilitationState(jnp.zeros_like(goal.u), goal.history)
        drive = jnp.asarray(self.title_current, self.dtype)

        def step(carry, _):
            state, fac = carry
            state, spike = self.lif.step(state, drive)
            fac = self.goal.step(fac, spike)
            return (state, fac), (fac.u, spike)

        (title, goal), (u, spikes) = lax.scan(lambda c, x: step(c, x), (title, goal), None,
                                              length=self.steps)
        return title, goal, u, spikes

    def weights(self, column: ColumnInputs) -> Float[Array, "DS S"]:
        """The column's sequential weights, dense: ``W[(d - 1) * S + i, j]`` is the weight from
        slot ``i`` of column ``k - d`` to slot ``j`` (built once per column, shared by a batch)."""
        slots = column.slot_subnet.shape[0]
        channels = self.n_delays * slots
        used = column.row_delay >= 1
        source = jnp.where(used, (jnp.maximum(column.row_delay, 1) - 1) * slots + column.row_pre,
                           channels)
        w = jnp.zeros((channels + 1, slots), self.dtype)
        return w.at[source, column.row_post].add(column.row_weight.astype(self.dtype))[:channels]

    def chosen_channels(self, ring: RingBuffer, n_channels: int):
        """The presynaptic channels (delay slot, slot of column ``k - d``) that fired, at most
        ``n_channels`` of them (padded with channels that did not): ``(index, fired)``."""
        rasters = ring.read(jnp.arange(1, self.n_delays + 1))[0]
        fired = jnp.any(is_spike(rasters), axis=1).reshape(-1).astype(self.dtype)
        value, index = lax.top_k(fired, n_channels)
        return index, value

    def reach(self, ring: RingBuffer, cue: CueInputs, weights, n_channels: int) -> Bool[Array, " S"]:
        """The neurons of the column that can get input this window: targets of a fired
        presynaptic channel (of the first ``n_channels``) or of the cued title's links."""
        index, fired = self.chosen_channels(ring, n_channels)
        synapse = (weights[index] != 0) & (fired[:, None] > 0)
        by_title = cue.goal > 0
        return jnp.any(synapse, axis=0) & self.use_sequential | by_title

    def drive(self, ring: RingBuffer, column: ColumnInputs, cue: CueInputs, weights, u_goal,
              sparse: tuple[int, int] | int = 0):
        """The current into the column's neurons in every step of the window, and which neurons
        to simulate.

        The sequential synapses deliver ``u(t) @ W``: ``u`` the facilitation of each presynaptic
        channel (a neuron of column ``k - d``) over the window, ``W`` the column's weights
        (:meth:`weights`); the cued title's goal links ``u_goal(t) * w_forward``.

        **Arguments:**

        - `sparse`: ``(channels, slots)``: only the presynaptic channels that fired (at most
          ``channels``) take part, and, if ``slots``, only the neurons they and the title's
          links reach (at most ``slots``) are simulated; 0: everything. Channels that did not
          fire have ``u = 0`` and neurons without input never fire (``v_th > 0``, ``v_0 <
          v_th``), so the result is the same (the caller guarantees the bounds).

        **Returns:** ``(current [steps, N], neurons [N])``: the slots simulated.
        """
        slots = column.slot_subnet.shape[0]
        rasters, neurons = ring.read(jnp.arange(1, self.n_delays + 1))  # [D, steps, S], [D, S]
        channels = self.delays(rasters, neurons).transpose(1, 0, 2).reshape(self.steps, -1)
        n_channels, n_slots = sparse if sparse else (0, 0)
        if n_channels:
            index, _ = self.chosen_channels(ring, n_channels)
            channels, weights = channels[:, index], weights[index]
        if n_slots:
            # Within what reach() counted: targets of channels whose spikes arrive this window.
            arrived = jnp.any(channels > 0, axis=0)
            reach = jnp.any((weights != 0) & arrived[:, None], axis=0) & self.use_sequential
            reach = reach | (cue.goal > 0)
            _, chosen = lax.top_k(reach.astype(self.dtype), n_slots)
        else:
            chosen = jnp.arange(slots)
        goal = cue.goal[chosen]
        current = u_goal[:, None] * goal[None, :]
        if self.use_sequential:
            _, u = self.sequential.run(self.sequential.init(channels.shape[1:], self.dtype),
                                       channels)
            current = u @ weights[:, chosen] + current
        return jnp.where(cue.active, current, 0.0), chosen

    def neurons(self, current: Float[Array, "steps N"], slot_subnet: Int[Array, " N"],
                slot_neuron: Int[Array, " N"], windows: Int[Array, ""]
                ) -> tuple[Array, Float[Array, " N"], Float[Array, " N"]]:
        """Some of the column's neurons through the window (``slot_subnet`` -1: padding).

        **Returns:** ``(raster [steps, N], first [N], count [N])`` (see the module's text).
        """
        valid = slot_subnet >= 0
        v_th = jnp.where(valid, self.v_th[jnp.maximum(slot_neuron, 0)], jnp.inf)
        start = self.lif.init(v_th.shape, self.dtype)
        # Undriven since the recall began: v_0 has decayed (as in learning).
        idle = (1.0 - self.lif.decay) ** (self.steps * windows.astype(self.dtype))
        start = eqx.tree_at(lambda s: s.v, start, start.v * idle)

        def step(carry, xs):
            state, inhibition, alive, first, count = carry
            t, drive = xs
            drive = self.inhibition.apply(drive, inhibition)
            reached = self.lif.euler(state.v, drive)
            after, spikes = self.lif.fire(state, reached, v_th)
            inhibition = self.inhibition.update(inhibition, spikes, slot_subnet)
            s = spikes.astype(self.dtype)
            if self.precise:
                rise = reached - state.v
                frac = jnp.where(rise > 0, (v_th - state.v) / jnp.where(rise > 0, rise, 1.0), 1.0)
                crossing = t + jnp.clip(frac, 0.0, 1.0)
            else:
                crossing = jnp.broadcast_to(t, s.shape)
            w = s * alive
            return (after, inhibition, alive * (1.0 - s), first + w * crossing, count + s), spikes

        zeros = jnp.zeros(v_th.shape, self.dtype)
        init = (start, self.inhibition.init(v_th.shape, self.dtype), zeros + 1.0, zeros, zeros)
        (_, _, alive, first, count), raster = lax.scan(
            lambda c, x: step(c, x), init, (jnp.arange(self.steps, dtype=self.dtype), current))
        first = first + alive * self.silent_time
        return raster, first, count

    def by_value(self, column: ColumnInputs, first: Float[Array, " S"], count: Float[Array, " S"]
                 ) -> tuple[ColumnOutput, ...]:
        """Per subnetwork, each value's earliest cell and the summed spikes of its cells."""
        out = []
        for s in range(self.subnets.count):
            n = self.subnets.values[s]
            ids = jnp.where(column.slot_subnet == s, column.slot_value, n)
            f = jax.ops.segment_min(first, ids, num_segments=n + 1)[:n]
            c = jax.ops.segment_sum(count, ids, num_segments=n + 1)[:n]
            out.append(ColumnOutput(jnp.minimum(f, self.silent_time), c))
        return tuple(out)

    def passed_on(self, raster, column: ColumnInputs, outputs: tuple[ColumnOutput, ...],
                  cue: CueInputs):
        """What the column sends to the columns after it (``pass_on``)."""
        if self.pass_on == "all":
            return raster
        if self.pass_on == "readout":
            chosen = tuple(r(o.times(), o.count) for r, o in zip(self.readouts, outputs))
        else:
            chosen = cue.targets
        keep = jnp.zeros(column.slot_subnet.shape, bool)
        for s, values in enumerate(chosen):
            keep = keep | ((column.slot_subnet == s) & values[jnp.maximum(column.slot_value, 0)])
        return jnp.where(keep[None, :], raster, jnp.zeros_like(raster))

    def window(self, state: RecallState, column: ColumnInputs, cue: CueInputs, sparse=0,
               record: bool = False, weights=None):
        """One window of one recall: the title, then every subnetwork's minicolumn of the column
        (``weights``: the column's :meth:`weights`, when the caller built them for a batch;
        ``sparse``: see :meth:`drive`).

        **Returns:** ``(state, outputs)``: per subnetwork a :class:`ColumnOutput`, and with
        ``record`` also ``(title spikes, raster [steps, S])`` of the window.
        """
        title, goal, u_goal, title_spikes = self.title_window(state.title, state.goal)
        if weights is None:
            weights = self.weights(column)
        current, chosen = self.drive(state.ring, column, cue, weights, u_goal, sparse)
        slots = column.slot_subnet.shape[0]
        inside = chosen < slots
        picked = jnp.minimum(chosen, slots - 1)
        raster, first, count = self.neurons(
            current, jnp.where(inside, column.slot_subnet[picked], -1),
            jnp.where(inside, column.slot_neuron[picked], -1), state.windows)
        if chosen.shape[0] != slots or sparse:
            # Back onto every slot (slots not simulated did not fire).
            raster = jnp.zeros((self.steps, slots + 1), raster.dtype).at[:, chosen].set(raster)[:, :slots]
            first = jnp.full(slots + 1, self.silent_time, first.dtype).at[chosen].set(first)[:slots]
            count = jnp.zeros(slots + 1, count.dtype).at[chosen].set(count)[:slots]
        outputs = self.by_value(column, first, count)
        passed = self.passed_on(raster, column, outputs, cue)
        ring = state.ring.push((passed, column.slot_neuron))
        new = RecallState(title, goal, ring, state.windows + 1)
        if record:
            return new, (outputs, (title_spikes, raster))
        return new, outputs


def fired_channels(state: RecallState) -> Int[Array, "*batch"]:
    """Presynaptic channels (delay slot, slot) of the ring that fired at least once."""
    rasters = state.ring.data[0]
    return jnp.sum(jnp.any(is_spike(rasters), axis=-2), axis=(-2, -1))


def scan_columns(recaller: Recaller, state: RecallState, columns: ColumnInputs, cues: CueInputs,
                 sparse_channels: int = 0, sparse_slots: int = 0, shared: bool = True,
                 record: bool = False):
    """Scan a chunk of columns for a batch of recalls (vmapped over the batch).

    **Arguments:**

    - `recaller`: the dynamics.
    - `state`: the batch's states (leading ``batch`` axis).
    - `columns`: :class:`ColumnInputs` with a leading ``columns`` axis (and, unless `shared`,
      a ``batch`` axis after it: every recall its own columns).
    - `cues`: :class:`CueInputs` ``[columns, batch, ...]``.
    - `sparse_channels`, `sparse_slots`: while no recall of the batch has more fired
      presynaptic channels than `sparse_channels` (0: never), a window uses only those
      channels; while also no recall can reach more than `sparse_slots` neurons of the column
      (0: never), only those are simulated (:meth:`Recaller.drive`; the same result either way).
    - `record`: also return every window's title spikes and slot raster.

    **Returns:** the new states and, per column, the outputs ``[columns, batch, ...]``.
    """
    in_axes = (0, None if shared else 0, 0, None if shared else 0)

    def body(state, xs):
        column, cue = xs
        weights = recaller.weights(column) if shared else jax.vmap(recaller.weights)(column)

        def run(sparse):
            def window(state, column, cue, weights):
                return recaller.window(state, column, cue, sparse, record, weights)

            return jax.vmap(window, in_axes=in_axes)(state, column, cue, weights)

        if not sparse_channels:
            return run(0)

        def few_channels():
            if not sparse_slots:
                return run((sparse_channels, 0))
            reach = jax.vmap(lambda r, c, w: recaller.reach(r, c, w, sparse_channels).sum(),
                             in_axes=(0, 0, None if shared else 0))(state.ring, cue, weights)
            return lax.cond(reach.max() <= sparse_slots, lambda: run((sparse_channels, sparse_slots)),
                            lambda: run((sparse_channels, 0)))

        few = fired_channels(state).max() <= sparse_channels
        return lax.cond(few, few_channels, lambda: run(0))

    return lax.scan(lambda s, x: body(s, x), state, (columns, cues))


@eqx.filter_jit
def recall_chunk(recaller: Recaller, state: RecallState, columns: ColumnInputs, cues: CueInputs,
                 sparse_channels: int = 0, sparse_slots: int = 0, shared: bool = True,
                 record: bool = False):
    """:func:`scan_columns`, compiled (one compilation per shape and setting)."""
    count_trace("recall.recall_chunk")
    return scan_columns(recaller, state, columns, cues, sparse_channels, sparse_slots, shared,
                        record)
