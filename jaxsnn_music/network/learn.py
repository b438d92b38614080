"""Teacher-forced learning: the compiled scan that turns note events into weight changes.

MODEL.md section 3. While a piece is learned, the neuron(s) preferring event
``k``'s value in column ``k`` (every chord tone, and the duration) receive
``input_current`` during window ``k``, the piece's title neuron receives
``title_current_learn`` throughout, and nothing else drives any neuron:
sequential synapses and goal links are recall machinery and do not act during
learning. Every piece starts from the reset state (``V = v_0``, traces 0).

**Why simulating one column per window is exact.** A column-``k`` neuron gets
input only in window ``k``; before it, it has decayed from ``v_0`` without
input (``v_0 (1 - dt/tau_m)^(50 k)`` at the window start); after it, it decays
without input from below threshold, so (``dt <= tau_m``, ``v_th > 0``) it never
fires again. Undriven neurons never fire at all: lateral inhibition only
lowers their current. Hence in window ``k`` only column ``k``'s chord tones
and duration (per layer) and the title can spike, each neuron fires in exactly
one window, and the STDP change of a synapse ``(k-d, p) -> (k, q)`` is complete
once window ``k`` is over: with arrival timing every pair meets in window ``k``;
with emission timing the pre spikes of window ``k-d`` reach window ``k`` as a
decayed trace. So each window needs only its own column's neurons, the title's
spikes, and a ring buffer of the previous ``D`` columns' rasters — and only the
``Δw`` of (chord tone of column ``k-d``) x (chord tone of column ``k``) pairs,
never a dense 129 x 129 block. ``tests/test_network_reference.py`` checks this
against a NumPy simulation of every neuron of every column.

**Why learning in parallel is exact.** Pieces never interact while learning
(each starts from reset, and weights do not drive activity), so the network
after a set of pieces is the sum of their changes, in any order. Segments of
one track interact only through the ``D`` context columns they each simulate.
Bounds (``w_min``, ``w_max``) are the exception: they are applied once to the
summed change of a whole :func:`~jaxsnn_music.network.growth` call, where
learning one piece at a time clips after each piece.

**Why sharding is exact, too.** Segments of a batch never interact (the scan is
vmapped over them), so a batch can be split across devices along its first
axis (:func:`batch_sharding`) and each device learns its share: the same
numbers, gathered back on the host.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.network.delays import RingBuffer
from jaxsnn_music.network.goal import CoincidenceRule
from jaxsnn_music.network.inhibition import Inhibition
from jaxsnn_music.network.lif import LIF
from jaxsnn_music.network.stdp import STDP, SpikeTiming, StdpTraces
from jaxsnn_music.network.subnets import DURATION, PITCH


class ColumnRecord(eqx.Module):
    """What one window leaves behind. Slots are the column's neurons: its chord's pitch
    neurons, then its duration neuron (``Learner.subnets`` says which subnetwork each is)."""

    dw: Float[Array, "delays pre_slots post_slots"]
    """Change of the synapse from slot ``i`` of column ``k-d`` to slot ``j`` of column ``k``."""
    goal: Bool[Array, " slots"]
    """Slots that earned title links."""
    raster: Bool[Array, "steps slots"]


class Learner(eqx.Module):
    """The learning dynamics of one sequence layer; every part is a swappable module."""

    lif: LIF
    inhibition: Inhibition
    stdp: STDP
    timing: SpikeTiming
    coincidence: CoincidenceRule
    input_current: float = eqx.field(static=True)
    title_current: float = eqx.field(static=True)
    title_events: int | None = eqx.field(static=True)
    """The title is driven during its piece's first ``title_events`` events only (None: all)."""
    n_delays: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: NetworkConfig) -> Learner:
        return Learner(LIF.from_config(cfg), Inhibition.from_config(cfg), STDP.from_config(cfg),
                       SpikeTiming.from_config(cfg), CoincidenceRule.from_config(cfg),
                       cfg.input_current, cfg.title_current_learn, cfg.goal_events, cfg.n_delays,
                       cfg.steps_per_window)

    def column(self, past: RingBuffer, ids: Int[Array, " slots"], subnets: Int[Array, " slots"],
               column: Int[Array, ""], title: Bool[Array, " steps"],
               title_before: Bool[Array, " steps"]) -> tuple[RingBuffer, ColumnRecord]:
        """Simulate window ``k``: its column's driven neurons (every subnetwork) and STDP.

        **Arguments:**

        - `past`: ring buffer of ``(raster, end trace, ids)`` of the previous columns.
        - `ids`: the neuron of each slot in its subnetwork, ``-1`` = empty.
        - `subnets`: the subnetwork of each slot (its minicolumn, for inhibition).
        - `column`: the global column index ``k``.
        - `title`, `title_before`: the title's spikes in windows ``k`` and ``k - 1``.

        **Returns:** the ring buffer with this column pushed, and its record.
        """
        delays = jnp.arange(1, self.n_delays + 1)
        rasters, end_traces, _ = past.read(delays)
        x_pre, pre_events = self.timing.presynaptic(rasters, end_traces, self.stdp.decay_plus)
        current = jnp.where(ids >= 0, self.input_current, 0.0)
        start = self.lif.init(ids.shape)
        # Undriven since the piece began: v_0 has decayed for k windows.
        idle = (1.0 - self.lif.decay) ** (self.steps * jnp.maximum(column, 0).astype(jnp.float32))
        start = eqx.tree_at(lambda s: s.v, start, start.v * idle)
        zeros = jnp.zeros(ids.shape, jnp.float32)

        def step(carry, pre_t):
            state, inhibition, traces, x_self, dw = carry
            state, spikes = self.lif.step(state, self.inhibition.apply(current, inhibition))
            inhibition = self.inhibition.update(inhibition, spikes, subnets)
            traces, dw_t = self.stdp.step(traces, pre_t, spikes)
            # The column's own emission trace, for the columns after it.
            x_self = x_self * self.stdp.decay_plus + spikes
            return (state, inhibition, traces, x_self, dw + dw_t), spikes

        init = (start, self.inhibition.init(ids.shape), StdpTraces(x_pre, zeros), zeros,
                jnp.zeros((self.n_delays,) + ids.shape * 2, jnp.float32))
        (_, _, _, x_self, dw), raster = lax.scan(lambda c, x: step(c, x), init, pre_events)
        goal = self.coincidence(raster, title, title_before) & (ids >= 0)
        return past.push((raster, x_self, ids)), ColumnRecord(dw, goal, raster)

    def segment(self, pitch: Int[Array, "windows slots"], duration: Int[Array, "windows 1"],
                column: Int[Array, " windows"], title: Bool[Array, "windows steps"],
                title_before: Bool[Array, "windows steps"]) -> ColumnRecord:
        """Scan the windows of one segment: each window's chord slots and duration slot
        together, one column of neurons.

        **Returns:** per-window records, stacked on a ``windows`` axis.
        """
        ids = jnp.concatenate([pitch, duration], axis=1)
        subnets = subnet_of_slots(pitch.shape[1])
        slots = ids.shape[1]
        ring = RingBuffer.init(self.n_delays, (jnp.zeros((self.steps, slots), bool),
                                               jnp.zeros(slots, jnp.float32),
                                               jnp.full(slots, -1, jnp.int32)))

        def window(ring, xs):
            ids_k, k, t, t_before = xs
            return self.column(ring, ids_k, subnets, k, t, t_before)

        _, records = lax.scan(lambda c, x: window(c, x), ring, (ids, column, title, title_before))
        return records


def subnet_of_slots(pitch_slots: int) -> Int[Array, " slots"]:
    """The subnetwork of each slot of a learning column: ``pitch_slots`` chord slots (pitch),
    then one duration slot."""
    return jnp.asarray([PITCH] * pitch_slots + [DURATION], jnp.int32)


@eqx.filter_jit
def learn_batch(learner: Learner, pitch, duration, column, title, title_before):
    """:meth:`Learner.segment` vmapped over a batch of segments (one compiled call)."""
    count_trace("learn.learn_batch")
    return jax.vmap(learner.segment)(pitch, duration, column, title, title_before)


def batch_sharding(devices: Sequence[jax.Device] | None = None) -> NamedSharding | None:
    """Split a batch of segments across devices: a 1-D mesh over its first axis.

    **Arguments:**

    - `devices`: the devices to use (default: all of :func:`jax.devices`).

    **Returns:** a :class:`~jax.sharding.NamedSharding` over the ``batch`` axis, or
    None for a single device (nothing is moved or split then).
    """
    devices = jax.devices() if devices is None else list(devices)
    if len(devices) <= 1:
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("batch",)), PartitionSpec("batch"))


@eqx.filter_jit
def _title_raster(lif: LIF, current: float, windows: int, driven: int, steps: int
                  ) -> Bool[Array, "windows steps"]:
    count_trace("learn.title_raster")
    drive = jnp.where(jnp.arange(windows * steps) < driven * steps, current, 0.0).astype(jnp.float32)

    def step(state, i):
        state, spike = lif.step(state, drive[i])
        return state, spike

    _, spikes = lax.scan(lambda s, x: step(s, x), lif.init(()), jnp.arange(windows * steps))
    return spikes.reshape(windows, steps)


def title_raster(learner: Learner, windows: int) -> Bool[Array, "windows steps"]:
    """The spikes of a title neuron, window by window, from the start of its piece.

    Every title receives the same current from its piece's start (for its first
    ``title_events`` windows, or throughout) and nothing else, so one trajectory serves
    all titles.
    """
    driven = windows if learner.title_events is None else min(learner.title_events, windows)
    return _title_raster(learner.lif, learner.title_current, windows, driven, learner.steps)
