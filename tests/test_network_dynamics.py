"""Unit tests of the network's dynamics: LIF, inhibition, STDP, delays, goal rule, facilitation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.errors import ConfigError
from jaxsnn_music.network import (
    LIF,
    STDP,
    ArrivalTiming,
    CoincidenceRule,
    EmissionTiming,
    Facilitation,
    Inhibition,
    RingBuffer,
    StdpTraces,
)

CFG = load_config("default").network


def run_lif(lif, currents, inhibition=None):
    state = lif.init(currents.shape[1:])
    inhibited = jnp.zeros(currents.shape[1:])
    spikes, vs = [], []
    for current in currents:
        if inhibition is not None:
            current = inhibition.apply(current, inhibited)
        state, fired = lif.step(state, current)
        if inhibition is not None:
            inhibited = inhibition.update(inhibited, fired)
        spikes.append(np.asarray(fired))
        vs.append(np.asarray(state.v))
    return np.array(spikes), np.array(vs)


@pytest.mark.parametrize("current", [10.0, 3.0, 2.7, 8.0])
def test_lif_matches_closed_form(current):
    lif = LIF.from_config(CFG)
    a, v_inf = CFG.dt_ms / CFG.tau_m_ms, CFG.resistance * current
    # Euler recurrence from rest: V_n = V_inf (1 - (1 - a)^n); the first spike is the
    # first n with V_n >= v_th, then every (refractory + n_first) steps.
    n_first = next(n for n in range(1, 1000) if v_inf * (1 - (1 - a) ** n) >= CFG.v_th)
    period = n_first + CFG.refractory_steps
    steps = 200
    spikes, vs = run_lif(lif, jnp.full((steps, 1), current))
    expected = np.arange(n_first - 1, steps, period)
    np.testing.assert_array_equal(np.nonzero(spikes[:, 0])[0], expected)
    # Below threshold the trajectory is the recurrence itself.
    n = np.arange(1, n_first)
    np.testing.assert_allclose(vs[: n_first - 1, 0], v_inf * (1 - (1 - a) ** n), rtol=1e-5)
    # During the refractory period V is held at v_reset.
    assert np.all(vs[n_first - 1: n_first - 1 + CFG.refractory_steps + 1, 0] == CFG.v_reset)


def test_lif_paper_numbers_fire_every_six_steps():
    spikes, _ = run_lif(LIF.from_config(CFG), jnp.full((50, 1), CFG.input_current))
    assert list(np.nonzero(spikes[:, 0])[0]) == [0, 6, 12, 18, 24, 30, 36, 42, 48]


def test_subthreshold_current_never_fires():
    spikes, vs = run_lif(LIF.from_config(CFG), jnp.full((300, 1), 2.4))  # R I = 4.8 < 5
    assert not spikes.any() and vs.max() < CFG.v_th


def test_lateral_inhibition_switch():
    # A strongly driven neuron fires first; a weakly driven one would fire later.
    currents = jnp.tile(jnp.array([10.0, 3.0, 0.0]), (60, 1))
    on = Inhibition.from_config(CFG)
    off = Inhibition.from_config(load_config(overrides={"network.lateral_inhibition": False}).network)
    lif = LIF.from_config(CFG)
    spikes_off, _ = run_lif(lif, currents, off)
    spikes_on, vs_on = run_lif(lif, currents, on)
    assert spikes_off[:, 1].any() and not spikes_on[:, 1].any()
    np.testing.assert_array_equal(spikes_on[:, 0], spikes_off[:, 0])
    # The clamp: the undriven neuron never sees less than the floor, R * floor = -40.
    assert vs_on[:, 2].min() >= CFG.resistance * CFG.inhibition_floor - 1e-4
    assert vs_on[:, 2].min() < 0
    # Two other spikes: 10 - 40 is clamped at -20.
    inhibited = on.update(on.init((3,)), jnp.array([False, True, True]))
    got = on.apply(jnp.array([10.0, 10.0, 10.0]), inhibited)
    np.testing.assert_allclose(got, [-20.0, -10.0, -10.0])
    # The paper's inhibition lasts one step; with a time constant it decays step by step.
    np.testing.assert_allclose(on.update(inhibited, jnp.zeros(3, bool)), 0.0)
    lasting = Inhibition.from_config(load_config(overrides={"network.inhibition_tau_ms": 1.0}).network)
    after = lasting.update(lasting.update(lasting.init((3,)), jnp.array([True, False, False])),
                           jnp.zeros(3, bool))
    np.testing.assert_allclose(after, [0.0, 20 * np.exp(-0.1), 20 * np.exp(-0.1)], rtol=1e-6)
    # One minicolumn per subnetwork: a spike inhibits only its own.
    split = on.update(on.init((4,)), jnp.array([True, False, False, False]), jnp.array([0, 0, 1, 1]))
    np.testing.assert_allclose(split, [0.0, 20.0, 0.0, 0.0])


def pair_sum(pre_times, post_times, cfg, coincident="potentiate"):
    """The explicit all-to-all pair sum, times in steps."""
    total = 0.0
    for tp in pre_times:
        for tq in post_times:
            dt = (tq - tp) * cfg.dt_ms
            if dt > 0 or (dt == 0 and coincident == "potentiate"):
                total += cfg.a_plus * math.exp(-dt / cfg.tau_plus_ms)
            elif dt < 0:
                total -= cfg.a_minus * math.exp(dt / cfg.tau_minus_ms)
    return total


@pytest.mark.parametrize("coincident", ["potentiate", "ignore"])
def test_stdp_traces_equal_pair_sum(coincident):
    cfg = load_config(overrides={"network.stdp_coincident": coincident,
                                 "network.tau_minus_ms": 3.0, "network.a_minus": 0.7}).network
    stdp = STDP.from_config(cfg)
    rng = np.random.default_rng(0)
    pre = rng.random((300, 3)) < 0.08
    post = rng.random((300, 2)) < 0.08
    pre[100, 0] = post[100, 1] = True  # at least one coincident pair
    traces = StdpTraces(jnp.zeros(3), jnp.zeros(2))
    dw = jnp.zeros((3, 2))
    for t in range(300):
        traces, d = stdp.step(traces, jnp.asarray(pre[t]), jnp.asarray(post[t]))
        dw = dw + d
    expected = [[pair_sum(np.nonzero(pre[:, i])[0], np.nonzero(post[:, j])[0], cfg, coincident)
                 for j in range(2)] for i in range(3)]
    np.testing.assert_allclose(dw, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("timing", ["emission", "arrival"])
def test_spike_timing_variants_equal_pair_sum(timing):
    """Synapses of delay d into column k: the pre raster of window k-d, seen from window k."""
    cfg = load_config(overrides={"network.stdp_timing": timing}).network
    stdp, steps, n_delays = STDP.from_config(cfg), cfg.steps_per_window, cfg.n_delays
    timing_rule = EmissionTiming(steps) if timing == "emission" else ArrivalTiming()
    rng = np.random.default_rng(1)
    rasters = rng.random((n_delays, steps, 2)) < 0.15  # column k-d, d = 1..D
    post = rng.random((steps, 2)) < 0.15
    ends = np.array([[sum(stdp.decay_plus ** (steps - 1 - t) for t in np.nonzero(r[:, i])[0])
                      for i in range(2)] for r in rasters], np.float32)
    x0, events = timing_rule.presynaptic(jnp.asarray(rasters), jnp.asarray(ends), stdp.decay_plus)
    traces = StdpTraces(x0, jnp.zeros(2))
    dw = jnp.zeros((n_delays, 2, 2))
    for t in range(steps):
        traces, d = stdp.step(traces, events[t], jnp.asarray(post[t]))
        dw = dw + d
    k = 10
    for d in range(1, n_delays + 1):
        for i in range(2):
            emitted = np.nonzero(rasters[d - 1, :, i])[0] + steps * (k - d)
            seen = emitted + (steps * d if timing == "arrival" else 0)
            for j in range(2):
                expected = pair_sum(seen, np.nonzero(post[:, j])[0] + steps * k, cfg)
                np.testing.assert_allclose(dw[d - 1, i, j], expected, rtol=1e-4, atol=1e-5)


def test_ring_buffer_delivers_after_exactly_d_pushes():
    ring = RingBuffer.init(4, jnp.zeros(3, jnp.int32))
    for t in range(10):
        ring = ring.push(jnp.full(3, t, jnp.int32))
        for d in range(1, 5):
            expected = max(t - d + 1, 0)
            assert int(ring.read(d)[0]) == expected
    np.testing.assert_array_equal(ring.read(jnp.arange(1, 5))[:, 0], [9, 8, 7, 6])


def test_step_ring_delay_of_d_columns_is_d_windows():
    """At step granularity a spike sent with a delay of d columns arrives d*50 steps later."""
    steps = CFG.steps_per_window
    ring = RingBuffer.init(CFG.n_delays * steps, jnp.zeros(1, bool))
    sent = 7
    arrivals = {d: [] for d in range(1, CFG.n_delays + 1)}
    for t in range(CFG.n_delays * steps + 20):
        for d in arrivals:
            if bool(ring.read(d * steps)[0]):
                arrivals[d].append(t)
        ring = ring.push(jnp.array([t == sent]))
    # read(n) before pushing step t sees the value pushed at step t - n.
    assert arrivals == {d: [sent + d * steps] for d in arrivals}


def test_coincidence_rule():
    rule = CoincidenceRule(window_steps=5, min_count=4)
    steps = 50
    title, before = np.zeros(steps, bool), np.zeros(steps, bool)
    title[[10, 30]] = True
    before[47] = True  # 3 steps before the window: reaches its steps 0..2
    notes = np.zeros((steps, 4), bool)
    notes[[5, 15, 25, 35], 0] = True  # all within 5 of a title spike -> 4: linked
    notes[[4, 16, 24, 36], 1] = True  # all 6 away -> 0
    notes[[0, 2, 10, 49], 2] = True  # 0 and 2 via the previous window, 10; not 49 -> 3
    notes[[0, 5, 10, 15, 20, 25], 3] = True  # 0, 5, 10, 15, 25; 20 is 10 away -> 5
    counts = rule.counts(jnp.asarray(notes), jnp.asarray(title), jnp.asarray(before))
    np.testing.assert_array_equal(counts, [4, 0, 3, 5])
    np.testing.assert_array_equal(rule(jnp.asarray(notes), jnp.asarray(title), jnp.asarray(before)),
                                  [True, False, False, True])


def test_facilitation_stays_finite_and_uses_integer_windows():
    fac = Facilitation.goal(CFG)
    state = fac.init((2,))
    us = []
    for t in range(60):
        # Synapse 0: an arrival every step (the title during recall); synapse 1: one at t=3.
        state = fac.step(state, jnp.array([True, t == 3]))
        us.append(np.asarray(state.u))
    us = np.array(us)
    assert np.all(np.isfinite(us)) and us[:, 0].max() == CFG.facilitation_cap
    np.testing.assert_allclose(us[:2, 0], [0.5, 1.25])
    # Synapse 1 grows on steps 3..3+window (inclusive), then stays.
    grown = 1 + CFG.facilitation_steps
    u = 0.0
    for _ in range(grown):
        u = u + 0.5 * (u + 1)
    assert us[2, 1] == 0 and np.isclose(us[-1, 1], min(u, CFG.facilitation_cap))
    assert np.isclose(us[3 + grown - 1, 1], us[-1, 1]) and us[3 + grown - 2, 1] < us[-1, 1]


def test_network_config_validation():
    with pytest.raises(ConfigError):
        load_config(overrides={"network.dt_ms": 0.5})  # > tau_m
    with pytest.raises(ConfigError):
        load_config(overrides={"network.window_ms": 5.05})
    with pytest.raises(ConfigError):
        load_config(overrides={"network.stdp_timing": "sometimes"})
    with pytest.raises(ConfigError):
        load_config(overrides={"network.w_max": -math.inf})
    assert load_config("paper").network.stdp_timing == "emission"
    assert load_config("default").network.stdp_timing == "arrival"
    assert load_config(overrides=["network.w_max=inf"]).network.w_max == math.inf


def test_jit_step_is_pure():
    lif = LIF.from_config(CFG)
    step = jax.jit(lambda s, i: lif.step(s, i))
    s1, sp1 = step(lif.init((3,)), jnp.array([10.0, 0.0, 2.0]))
    s2, sp2 = lif.step(lif.init((3,)), jnp.array([10.0, 0.0, 2.0]))
    assert bool(jnp.all(sp1 == sp2)) and bool(jnp.allclose(s1.v, s2.v))
