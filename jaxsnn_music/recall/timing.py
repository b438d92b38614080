"""The timing circuit as spiking neurons: a pacemaker and one striatal integrator per track
(MODEL.md section 5, items 2 and 8).

The column read-out says *what* is recalled; this circuit says *when*. Both kinds of unit
are the network's LIF neurons (:class:`~jaxsnn_music.network.lif.LIF`, its Euler step and
reset), simulated step by step in a compiled loop, batched over the tracks of a piece:

- **Pacemaker** (one, shared by every track): the network's neuron as the config makes it
  (``LIF.from_config``: R, C, V_th, V_reset, refractory steps), under a drive
  (:class:`AbstractDrive`): a constant current computed from the Euler step's closed form
  so that it fires every ``P = recall.pacemaker_steps`` steps (:class:`TonicDrive`), or
  input spikes at random steps, each strong enough to make it fire (:class:`PoissonDrive`:
  what arrives in its refractory period is lost, so its intervals are the refractory
  period plus a geometric wait, mean ``P``; a Poisson process with dead time).
- **Striatal integrators** (one per track): LIF neurons with a long membrane time constant
  (``recall.striatal_tau_periods`` pacemaker periods; infinite by default) and the
  network's refractory period, that receive every pacemaker spike, in the step it is
  fired, through a synapse that adds one unit to their potential (rest and reset 0; a
  potential counts pulses). The threshold is set by the event being played: an event of
  duration class ``c`` lasts ``n = (c + 1) * recall.spikes_per_step`` pacemaker spikes, and
  the threshold is ``n - 1/2`` units, so a perfect integrator fires on the ``n``-th spike
  whatever float rounding does. Its spike releases the next event (the spike time *is* the
  next onset); the reset starts the next count. The pacemaker's period is longer than the
  refractory period, so no pacemaker spike falls into it.

One pacemaker for all tracks: with a Poisson drive the tracks' onsets move together, so
events that start together in the stored piece still do. An interval of ``n`` counts sums
``n`` independent pacemaker intervals: with a Poisson drive its SD grows as ``n^0.5``
(counting noise), not as ``n`` (the scalar property of interval timing, which needs a clock
that also varies from trial to trial; ``experiments/tempo.py`` measures both).

**Clock.** The network's neurons have ``tau_m = 0.4`` ms; no constant current makes one
fire at tens of Hz. The timing circuit therefore runs on its own, coarser clock: one Euler
step is ``1 / (f P)`` s of playback at pacemaker rate ``f`` (``recall.pacemaker_hz``), so
the pacemaker neuron, with the network's constants counted in steps, has period ``1 / f``.
A change of rate is a change of this clock: every time constant of the circuit, counted
in pacemaker periods, stays the same, and the recall at ``2 f`` is the same simulation in
half the time (for either drive, with or without leak). With the defaults (a regular drive,
``P = 6``: the network's 5 refractory steps plus one charging step; no leak) the striatal
spikes fall exactly on the times of the integer counter
(:class:`~jaxsnn_music.recall.pacemaker.Striatum`): ``n P`` steps is ``n / f`` s.

At ``t = 0`` the pacemaker and every striatal neuron have just fired: the start of the
recall releases event 0; the pacemaker's next spike is the first one counted.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from jaxsnn_music.config import Config, NetworkConfig
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.network.lif import LIF, LIFState

NO_LEAK_DECAY = 2.0 ** -100
"""The Euler step's ``dt / tau`` of a striatal integrator without leak (``tau = inf``): with
``R = 2**100`` a unit pulse adds exactly 1 and an idle step changes nothing in float32."""


# -- the pacemaker's drive --------------------------------------------------------------------


class AbstractDrive(eqx.Module):
    """What drives the pacemaker neuron: its input current at each step."""

    @abc.abstractmethod
    def current(self, key: PRNGKeyArray, step: Int[Array, ""]) -> Float[Array, ""]:
        """The current during step ``step`` (1-based), from the circuit's random key."""


class TonicDrive(AbstractDrive):
    """A constant current: the pacemaker fires regularly."""

    amplitude: float = eqx.field(static=True)

    def current(self, key, step):
        return jnp.asarray(self.amplitude, jnp.float32)


class PoissonDrive(AbstractDrive):
    """Input spikes, each step with probability ``probability`` independently, each a current
    ``amplitude`` that makes the pacemaker fire in one step."""

    amplitude: float = eqx.field(static=True)
    probability: float = eqx.field(static=True)

    def current(self, key, step):
        kick = jax.random.bernoulli(jax.random.fold_in(key, step), self.probability)
        return jnp.where(kick, self.amplitude, 0.0).astype(jnp.float32)


def charging_current(lif: LIF, steps: int, v_start: float) -> float:
    """The constant current under which ``lif``, from ``v_start`` and out of its refractory
    period, first reaches threshold on step ``steps``.

    The Euler step from ``v`` under ``I`` is ``v + a (R I - v)``, so after ``k`` steps
    ``V_k = R I + (v_start - R I) (1 - a)^k``. The current puts the crossing at ``k = steps - 1/2``
    of the closed form, half a step from either neighbour, so float rounding cannot move it.
    """
    q = (1.0 - lif.decay) ** (steps - 0.5)
    return (float(lif.v_th) - v_start * q) / (1.0 - q) / lif.resistance


def _first_spike(lif: LIF, current: float, v_start: float, limit: int) -> int | None:
    """Simulate ``lif`` (out of refractoriness, at ``v_start``) under a constant current: the
    step of its first spike, or None within ``limit`` steps."""
    state = LIFState(jnp.asarray(v_start, jnp.float32), jnp.zeros((), jnp.int32))
    for k in range(1, limit + 1):
        state, spike = lif.step(state, jnp.asarray(current, jnp.float32))
        if bool(spike):
            return k
    return None


# -- the circuit ------------------------------------------------------------------------------


class TimingState(eqx.Module):
    """What a step changes: the step count, both kinds of neuron, each track's event."""

    step: Int[Array, ""]
    pacemaker: LIFState
    striatum: LIFState  # [tracks]
    event: Int[Array, " tracks"]
    """The event each track is playing (``n_events``: the track has ended)."""


class TimingCircuit(eqx.Module):
    """A pacemaker neuron and striatal integrators (see the module docstring).

    Build it with :meth:`from_config`; run it with :func:`simulate`.
    """

    pacemaker: LIF
    drive: AbstractDrive
    striatum: LIF
    steps_per_period: int = eqx.field(static=True)
    """``P``: Euler steps per (mean) pacemaker period."""
    spikes_per_step: int = eqx.field(static=True)
    """Pacemaker spikes per duration step (1/8 beat)."""
    chunk_steps: int = eqx.field(static=True, default=256)
    """Steps simulated per pass of the compiled loop (speed only)."""

    @staticmethod
    def from_config(cfg: Config) -> TimingCircuit:
        """The circuit of ``cfg.recall`` (``pacemaker``, ``pacemaker_steps``,
        ``striatal_tau_periods``, ``spikes_per_step``) with the neurons of ``cfg.network``.

        Raises ``ValueError`` when the pacemaker cannot have the asked period: not more steps
        than its refractory period, or (``regular``) a charging time the network's fast
        membrane cannot resolve in float32.
        """
        rc = cfg.recall
        return _circuit(cfg.network, rc.pacemaker, rc.pacemaker_steps, rc.striatal_tau_periods,
                        rc.spikes_per_step)

    @property
    def leak_per_period(self) -> float:
        """The share of a striatal neuron's potential kept over one pacemaker period."""
        return (1.0 - self.striatum.decay) ** self.steps_per_period

    def counts(self, duration_class: Int[Array, "*tracks"]) -> Int[Array, "*tracks"]:
        """Pacemaker spikes an event of this class lasts (a silent column counts as class 0)."""
        return (jnp.maximum(duration_class, 0) + 1) * self.spikes_per_step

    def threshold(self, duration_class: Int[Array, "*tracks"]) -> Float[Array, "*tracks"]:
        """The striatal threshold while an event of this class plays: half a unit below its
        count of unit pulses (the neuron's rest and reset are 0)."""
        return self.counts(duration_class).astype(jnp.float32) - 0.5

    def saturation(self) -> float:
        """The potential a striatal neuron approaches under regular pacemaker spikes (units:
        pulses; inf without leak). A threshold above it is never reached."""
        keep = self.leak_per_period
        return math.inf if keep >= 1.0 else 1.0 / (1.0 - keep)

    def init(self, tracks: int) -> TimingState:
        """``t = 0``: the pacemaker and the striatal neurons have just fired (the start)."""
        pacemaker = LIFState(jnp.asarray(self.pacemaker.v_reset, jnp.float32),
                             jnp.asarray(self.pacemaker.refractory_steps, jnp.int32))
        striatum = LIFState(jnp.zeros(tracks, jnp.float32),
                            jnp.full(tracks, self.striatum.refractory_steps, jnp.int32))
        return TimingState(jnp.zeros((), jnp.int32), pacemaker, striatum,
                           jnp.zeros(tracks, jnp.int32))

    def step(self, state: TimingState, key: PRNGKeyArray,
             duration_class: Int[Array, "tracks events"], n_events: Int[Array, " tracks"]
             ) -> tuple[TimingState, tuple[Bool[Array, ""], Bool[Array, " tracks"]]]:
        """One Euler step of the circuit.

        **Returns:** the new state and ``(pacemaker spike, releases)``: which tracks' striatal
        neurons fired (each released its next event at this step).
        """
        t = state.step + 1
        pacemaker, pace = self.pacemaker.step(state.pacemaker, self.drive.current(key, t))
        playing = state.event < n_events
        rows = jnp.arange(duration_class.shape[0])
        playing_class = duration_class[rows, jnp.minimum(state.event, duration_class.shape[1] - 1)]
        # The synapse: every pacemaker spike is a unit current pulse into each playing track's
        # integrator during the same step.
        pulse = (pace & playing).astype(jnp.float32)
        striatum, fired = self.striatum.step(state.striatum, pulse, self.threshold(playing_class))
        release = fired & playing
        return TimingState(t, pacemaker, striatum, state.event + release), (pace, release)


@functools.lru_cache(maxsize=32)
def _circuit(network: NetworkConfig, kind: str, steps: int, tau: float, spikes_per_step: int
             ) -> TimingCircuit:
    """:meth:`TimingCircuit.from_config` (once per config: it simulates the pacemaker's first
    period to check it)."""
    pacemaker = LIF.from_config(network)
    refractory = pacemaker.refractory_steps
    period = steps or refractory + 1
    if period <= refractory:
        raise ValueError(f"recall.pacemaker_steps ({period}) must exceed the network's "
                         f"refractory period ({refractory} steps): the pacemaker cannot "
                         "fire faster")
    v_reset = float(pacemaker.v_reset)
    if kind == "regular":
        charge = period - refractory
        drive: AbstractDrive = TonicDrive(charging_current(pacemaker, charge, v_reset))
        if _first_spike(pacemaker, drive.amplitude, v_reset, charge + 1) != charge:
            raise ValueError(
                f"recall.pacemaker_steps = {period}: the pacemaker neuron (tau_m = "
                f"{network.tau_m_ms:g} ms, a = {pacemaker.decay:g} per step) cannot "
                f"charge for {charge} steps under a constant current in float32; use "
                "fewer steps")
    else:
        # From the lowest potential it can sit at (reset, or rest after decaying to it).
        drive = PoissonDrive(charging_current(pacemaker, 1, min(v_reset, 0.0)),
                             1.0 / (period - refractory))
    decay = NO_LEAK_DECAY if math.isinf(tau) else 1.0 / (tau * period)
    striatum = LIF(decay=decay, resistance=1.0 / decay, v_th=0.5, v_reset=0.0, v_0=0.0,
                   refractory_steps=refractory)
    return TimingCircuit(pacemaker, drive, striatum, period, spikes_per_step)


@eqx.filter_jit
def simulate(circuit: TimingCircuit, duration_class: Int[Array, "tracks events"],
             n_events: Int[Array, " tracks"], key: PRNGKeyArray, max_steps: Int[Array, ""]
             ) -> tuple[Int[Array, "tracks events_plus_1"], Int[Array, ""]]:
    """Run the circuit until every track has released its last event.

    **Arguments:**

    - `circuit`: the pacemaker and the striatal neurons.
    - `duration_class`: per track, the duration class of each event (padded beyond
      ``n_events``).
    - `n_events`: events per track.
    - `key`: the pacemaker drive's random key (unused by a regular drive).
    - `max_steps`: stop after this many steps even if some track has not ended.

    **Returns:** ``(released, steps)``: the step at which each event was released (event 0 at
    step 0; entry ``n_events`` is the track's end; ``-1`` where it was not reached) and the
    steps simulated.
    """
    count_trace("timing.simulate")
    tracks, events = duration_class.shape
    rows = jnp.arange(tracks)[None, :]

    def running(carry):
        state, _ = carry
        return jnp.any(state.event < n_events) & (state.step < max_steps)

    def chunk(carry):
        state, released = carry

        def one(s, _):
            event = s.event
            s, (_, release) = circuit.step(s, key, duration_class, n_events)
            return s, (release, event, s.step)

        state, (release, event, step) = lax.scan(one, state, None, length=circuit.chunk_steps)
        column = jnp.where(release, event + 1, events + 1)
        released = released.at[jnp.broadcast_to(rows, column.shape), column].set(
            jnp.broadcast_to(step[:, None], column.shape), mode="drop")
        return state, released

    released = jnp.full((tracks, events + 1), -1, jnp.int32).at[:, 0].set(0)
    state, released = lax.while_loop(running, chunk, (circuit.init(tracks), released))
    return released, state.step


@eqx.filter_jit
def pacemaker_train(circuit: TimingCircuit, n_steps: int, key: PRNGKeyArray) -> Bool[Array, " steps"]:
    """The pacemaker's spikes at steps ``1 .. n_steps`` (the same drive as :func:`simulate`'s
    under the same key)."""
    def one(state, t):
        state, spike = circuit.pacemaker.step(state, circuit.drive.current(key, t))
        return state, spike

    start = circuit.init(0).pacemaker
    return lax.scan(one, start, jnp.arange(1, n_steps + 1, dtype=jnp.int32))[1]


# -- host side --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Releases:
    """What one run of the circuit gives, in its own steps."""

    steps: tuple[np.ndarray, ...]
    """Per track, ``[events + 1]`` steps: event ``k`` released at ``steps[k]`` (0 for the first),
    the track's end last."""
    steps_per_period: int

    def seconds(self, pacemaker_hz: float) -> list[np.ndarray]:
        """The release times (s) at pacemaker rate ``pacemaker_hz``: one step is
        ``1 / (pacemaker_hz * steps_per_period)`` s. (A step count that is a whole number of
        periods gives ``periods / pacemaker_hz`` exactly, as the counter computes it.)"""
        return [s.astype(np.float64) / self.steps_per_period / pacemaker_hz for s in self.steps]


def _padded(duration_classes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``[tracks, events]`` classes and ``[tracks]`` event counts, both padded to powers of two
    (few compiled shapes; a padded track has no events)."""
    def up(k: int) -> int:
        return 1 << max(k - 1, 0).bit_length()

    n = np.zeros(up(len(duration_classes)), np.int32)
    n[:len(duration_classes)] = [len(d) for d in duration_classes]
    classes = np.zeros((len(n), up(int(n.max(initial=1)))), np.int32)
    for i, d in enumerate(duration_classes):
        classes[i, :len(d)] = d
    return classes, n


def step_budget(circuit: TimingCircuit, duration_classes: Sequence[np.ndarray]) -> int:
    """A bound on the steps a run needs: four times the longest track's steps at the mean
    pacemaker rate (its spikes per event as a leaky integrator needs them), plus slack.

    Raises ``ValueError`` when an event's threshold lies beyond the striatal saturation."""
    keep, top = circuit.leak_per_period, circuit.saturation()
    longest = 0
    for d in duration_classes:  # circuit.counts, on the host
        n = (np.maximum(np.asarray(d, np.float64), 0) + 1) * circuit.spikes_per_step
        if n.size and n.max() - 0.5 >= top:
            raise ValueError(
                f"the striatal integrators saturate at {top:.1f} pacemaker spikes "
                f"(recall.striatal_tau_periods = {-1 / math.log(keep) if keep < 1 else math.inf:.3g})"
                f", below the {int(n.max())} an event of this recall needs")
        if keep < 1.0:  # spikes a leaky integrator needs under a regular pacemaker
            n = np.ceil(np.log1p(-(n - 0.5) * (1.0 - keep)) / np.log(keep))
        longest = max(longest, int(n.sum()))
    return 4 * circuit.steps_per_period * (longest + 16) + circuit.chunk_steps


def run_circuit(duration_classes: Sequence[np.ndarray], cfg: Config, seed: int | None = None,
                circuit: TimingCircuit | None = None) -> Releases:
    """Simulate the timing circuit for some tracks played together.

    **Arguments:**

    - `duration_classes`: per track, the recalled duration class of each event (``-1``, a
      silent column, counts as the shortest class).
    - `cfg`: the config (``recall.pacemaker``, ``pacemaker_steps``, ``striatal_tau_periods``,
      ``spikes_per_step``, the network's neuron constants).
    - `seed`: the pacemaker's random seed (default ``recall.pacemaker_seed``).
    - `circuit`: the circuit, if not the config's.

    **Returns:** the :class:`Releases`.
    """
    circuit = circuit or TimingCircuit.from_config(cfg)
    seed = cfg.recall.pacemaker_seed if seed is None else seed
    classes, n = _padded(duration_classes)
    budget = step_budget(circuit, duration_classes)
    released, steps = simulate(circuit, jnp.asarray(classes), jnp.asarray(n),
                               jax.random.key(seed), jnp.asarray(budget, jnp.int32))
    released = np.asarray(released)
    out = tuple(released[i, :len(d) + 1].astype(np.int64) for i, d in enumerate(duration_classes))
    if any((r < 0).any() for r in out):
        raise RuntimeError(f"the striatal neurons did not release every event within {budget} "
                           "steps of the timing circuit")
    return Releases(out, circuit.steps_per_period)


def simulate_trials(duration_class: np.ndarray, cfg: Config, trials: int, seed: int = 0,
                    circuit: TimingCircuit | None = None) -> np.ndarray:
    """Play one sequence of events ``trials`` times, each with its own pacemaker (independent
    random drives), side by side (vmapped): for measuring timing variability.

    **Returns:** ``[trials, events + 1]`` release steps (as :class:`Releases` steps).
    """
    circuit = circuit or TimingCircuit.from_config(cfg)
    classes, n = _padded([np.asarray(duration_class)])
    budget = jnp.asarray(step_budget(circuit, [duration_class]), jnp.int32)
    keys = jax.random.split(jax.random.key(seed), trials)
    run = eqx.filter_vmap(lambda k: simulate(circuit, jnp.asarray(classes), jnp.asarray(n), k,
                                             budget)[0][0])
    released = np.asarray(run(keys))[:, :int(n[0]) + 1].astype(np.int64)
    if (released < 0).any():
        raise RuntimeError(f"a trial did not release every event within {int(budget)} steps")
    return released


__all__ = ["AbstractDrive", "PoissonDrive", "Releases", "TimingCircuit", "TimingState",
           "TonicDrive", "charging_current", "pacemaker_train", "run_circuit", "simulate",
           "simulate_trials", "step_budget"]
