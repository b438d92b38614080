"""Learning: known answers on hand-made tracks, parallel = sequential, growth without retracing."""

import math

import equinox as eqx
import jax
import numpy as np
import pytest
from test_network_fixtures import make_piece, make_track, short_real_pieces

from jaxsnn_music.config import load_config
from jaxsnn_music.network import keys
from jaxsnn_music.network import (
    DURATION,
    PITCH,
    Network,
    learn,
    grow,
    grow_one_by_one,
    trace_counts,
)

STEPS_SPIKING = np.arange(0, 50, 6)  # every teacher-driven neuron, paper numbers


def config(**overrides):
    """Tests share segment and batch sizes so that they share compiled functions; weights
    are unbounded (the plain STDP sums) unless a test bounds them."""
    overrides = {"segment_columns": 7, "batch_segments": 8, "w_max": math.inf, **overrides}
    return load_config(overrides={f"network.{k}": v for k, v in overrides.items()})


def store_rows(network):
    """The store's rows, with ``subnet``: without ``network.cross_subnet`` a synapse stays
    inside its subnetwork."""
    rows = network.synapses.to_numpy()
    np.testing.assert_array_equal(rows["pre_subnet"], rows["post_subnet"])
    return {**rows, "subnet": rows["post_subnet"]}


def expected_weight(timing, d, cfg):
    """Δw of one synapse of delay d between two teacher-driven neurons, by pair sum."""
    steps = cfg.network.steps_per_window
    total = 0.0
    for s in STEPS_SPIKING:
        for t in STEPS_SPIKING:
            lag = (t + steps * d - s) if timing == "emission" else (t - s)
            if lag >= 0:
                total += math.exp(-lag * cfg.network.dt_ms / cfg.network.tau_plus_ms)
            else:
                total -= math.exp(lag * cfg.network.dt_ms / cfg.network.tau_minus_ms)
    return total


@pytest.mark.parametrize("timing", ["emission", "arrival"])
def test_melody_weights_are_known(timing):
    cfg = config(stdp_timing=timing)
    # 20 events: three segments of 7 columns, so the context columns are exercised.
    chords = [(61,), (63,), (0,), (61,), (65,), (66,)] * 3 + [(70,), (71,)]
    piece = make_piece("melody", make_track(chords, [3, 3, 1, 7, 3, 0] * 3 + [5, 5]))
    net = grow(Network.empty(), [piece], cfg)
    rows = store_rows(net)
    pitch = {(int(c), int(d), int(p), int(q)): float(w) for c, d, p, q, w, s in zip(
        rows["post_col"], rows["delay"], rows["pre"], rows["post"], rows["weight"], rows["subnet"])
        if s == PITCH}
    expected = {}
    for k in range(len(chords)):
        for d in range(1, 5):
            if k - d >= 0:
                key = (k, d, chords[k - d][0], chords[k][0])
                expected[key] = expected.get(key, 0.0) + expected_weight(timing, d, cfg)
    assert pitch.keys() == expected.keys()
    for key, w in expected.items():
        assert pitch[key] == pytest.approx(w, rel=1e-5, abs=1e-4), key
    if timing == "arrival":
        # Lock-step trains: every non-coincident pair cancels, the 9 coincident ones count.
        assert all(w / 9.0 == pytest.approx(round(w / 9.0)) for w in pitch.values())
    else:
        # Emission: long delays learn about e^-d as much (MODEL.md section 3).
        assert pitch[(4, 1, 61, 65)] > pitch[(4, 4, 61, 65)] * math.e ** 2.5
    n_dur = int((rows["subnet"] == DURATION).sum())
    assert n_dur == sum(1 for k in range(len(chords)) for d in range(1, 5) if k - d >= 0)
    # Goal links: every event's pitch and duration neuron, once.
    assert int(net.goal.count) == 2 * len(chords)
    assert net.end_columns().tolist() == [[len(chords) - 1]]


def test_chords_connect_every_tone_pair():
    cfg = config()
    piece = make_piece("chords", make_track([(61, 65, 68), (60,), (62, 66)], [1, 1, 1]))
    rows = store_rows(grow(Network.empty(), [piece], cfg))
    pitch = rows["subnet"] == PITCH
    keys = set(zip(rows["post_col"][pitch], rows["delay"][pitch], rows["pre"][pitch], rows["post"][pitch]))
    assert keys == ({(1, 1, p, 60) for p in (61, 65, 68)} | {(2, 1, 60, q) for q in (62, 66)}
                    | {(2, 2, p, q) for p in (61, 65, 68) for q in (62, 66)})


def test_layers_and_titles():
    cfg = config()
    a = make_piece("a", make_track([(61,), (62,)], [1, 1]), make_track([(40,), (41,), (42,)], [1, 1, 1]))
    b = make_piece("b", make_track([(61,)] * 4, [1] * 4))
    net = grow(Network.empty(), [a, b], cfg)
    assert net.titles == ("a", "b")
    assert net.columns().tolist() == [4, 3]
    assert net.end_columns().tolist() == [[1, 2], [3, -1]]
    links = jax.tree.map(lambda x: np.asarray(x)[: int(net.goal.count)] if x.ndim else x, net.goal)
    assert sorted(set(zip(links.title.tolist(), links.layer.tolist()))) == [(0, 0), (0, 1), (1, 0)]
    np.testing.assert_array_equal(links.forward, 3.0)
    np.testing.assert_array_equal(links.feedback, 1.0)
    # Metadata and arrays separate cleanly for checkpoints.
    arrays, meta = eqx.partition(net, eqx.is_array)
    assert bool(eqx.tree_equal(eqx.combine(arrays, meta), net))
    # A column's inputs are contiguous rows, found by their key's prefix.
    rows = store_rows(net)
    packed = keys.pack(keys.SYNAPSE, rows)
    assert (np.diff(packed) > 0).all()
    for layer in range(2):
        for c in range(4):
            lo, hi = np.searchsorted(packed, [keys.prefix(keys.SYNAPSE, layer=layer, post_col=c),
                                              keys.prefix(keys.SYNAPSE, layer=layer, post_col=c + 1)])
            assert np.all(rows["post_col"][lo:hi] == c) and np.all(rows["layer"][lo:hi] == layer)
            assert hi - lo == np.sum((rows["post_col"] == c) & (rows["layer"] == layer))


def assert_same_network(a, b):
    ra, rb = store_rows(a), store_rows(b)
    for k in ra:
        if k != "weight":
            np.testing.assert_array_equal(ra[k], rb[k], err_msg=k)
    np.testing.assert_allclose(ra["weight"], rb["weight"], rtol=1e-5, atol=1e-4)
    assert bool(eqx.tree_equal(a.goal, b.goal))
    np.testing.assert_array_equal(a.track_lengths, b.track_lengths)
    assert a.titles == b.titles


@pytest.mark.parametrize("timing", ["emission", "arrival"])
def test_parallel_segmented_equals_sequential(timing):
    """All pieces and segments at once = one piece at a time, and (arrival) = unsegmented."""
    pieces = short_real_pieces()
    parallel = grow(Network.empty(), pieces, config(stdp_timing=timing))
    unsegmented = config(stdp_timing=timing, segment_columns=64, batch_segments=1)
    sequential = grow_one_by_one(Network.empty(), pieces,
                                     unsegmented if timing == "arrival" else config(stdp_timing=timing))
    assert_same_network(parallel, sequential)


def test_bounds_clip_the_summed_change():
    pieces = short_real_pieces()[:2]
    free = store_rows(grow(Network.empty(), pieces, config()))
    bounded = store_rows(grow(Network.empty(), pieces, config(w_max=12.0)))
    np.testing.assert_allclose(bounded["weight"], np.minimum(free["weight"], 12.0), rtol=1e-6)
    assert free["weight"].max() > 12.0


def test_inhibition_does_not_change_teacher_forced_learning():
    pieces = [make_piece("m", make_track([(61,), (62,), (0,), (64,), (61,), (66,)], [1, 2, 3, 4, 5, 6]))]
    on = grow(Network.empty(), pieces, config(lateral_inhibition=True))
    off = grow(Network.empty(), pieces, config(lateral_inhibition=False))
    assert_same_network(on, off)


def test_growth_does_not_retrace():
    cfg = config()
    rng = np.random.default_rng(3)

    def random_piece(i, n):
        return make_piece(f"p{i}", make_track([(int(p),) for p in rng.integers(1, 129, n)],
                                              list(rng.integers(0, 64, n))))

    net = grow(Network.empty(), [random_piece(0, 30)], cfg)
    before = trace_counts()
    capacities = set()
    for i in range(1, 9):
        # Different lengths and contents, same chord bucket: no new learning trace.
        net = grow(net, [random_piece(i, int(rng.integers(20, 60)))], cfg)
        capacities.add(net.synapses.capacity)
    after = trace_counts()
    assert after["learn.learn_batch"] == before["learn.learn_batch"]
    assert len(capacities) >= 2, "the store should have crossed a capacity bucket"
    # The merge retraces only when a table enters a new bucket.
    # (one trace per pair of store and change-table buckets: logarithmic in the size).
    assert after["synapses.merge"] - before["synapses.merge"] <= 2 * (len(capacities) + 1)
    assert net.n_titles == 9 and net.synapses.n > 256


def test_learn_reports_spikes_of_every_driven_neuron():
    piece = make_piece("x", make_track([(61, 64), (0,)], [2, 5]))
    spikes = learn([piece], config(), record_spikes=True).spikes
    for subnet, column, neuron in [(PITCH, 0, 61), (PITCH, 0, 64), (PITCH, 1, 0),
                                   (DURATION, 0, 2), (DURATION, 1, 5)]:
        sel = (spikes["subnet"] == subnet) & (spikes["column"] == column) & (spikes["neuron"] == neuron)
        np.testing.assert_array_equal(spikes["step"][sel], STEPS_SPIKING)
    assert len(spikes["step"]) == 5 * len(STEPS_SPIKING)
