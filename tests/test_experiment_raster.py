"""The spike raster recorder of one recall (``jaxsnn_music.recall.raster``), on hand-made pieces."""

from __future__ import annotations

import numpy as np
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.network import Network, grow
from jaxsnn_music.recall.cued import recall_title
from jaxsnn_music.recall.pacemaker import release_times
from jaxsnn_music.recall.raster import record_recall, timing_raster
from test_network_fixtures import make_piece, make_track

CFG = load_config("default", overrides={"recall.chunk_columns": 4, "recall.batch_units": 4})


@pytest.fixture(scope="module")
def network():
    # Two pieces that share their opening, so sequential input competes with the title's links;
    # chords, rests and a second track; longer than one chunk of columns.
    a = make_piece("a", make_track([(72, 67, 64), (71,), (0,), (69,), (67, 64), (0,), (72,), (74,), (76,)],
                                   [3, 1, 1, 1, 7, 3, 15, 1, 3]),
                   make_track([(48,), (43,), (48,)], [7, 7, 15]))
    b = make_piece("b", make_track([(72, 67, 64), (71,), (0,), (62,), (60,), (59,)], [3, 1, 1, 0, 0, 7]))
    return grow(Network.empty(), [a, b], CFG)


@pytest.mark.parametrize("title", ["a", "b"])
def test_raster_read_out_is_the_recall(network, title):
    raster = record_recall(network, title, CFG)
    recalled = recall_title(network, title, CFG)
    assert [lr.layer for lr in raster.layers] == [t.layer for t in recalled.tracks]
    steps = CFG.network.steps_per_window
    for lr, track in zip(raster.layers, recalled.tracks):
        np.testing.assert_array_equal(lr.pitch_value, track.pitch)
        np.testing.assert_array_equal(lr.duration_class, track.duration_class)
        assert lr.chords == tuple(track.chords())
        assert lr.pitch.shape == (track.n_events * steps, 129)
        assert lr.duration.shape == (track.n_events * steps, 64)
        for k in range(lr.n_columns):
            window = slice(k * steps, (k + 1) * steps)
            # The read-out neurons fired in their column's window.
            assert lr.pitch[window, lr.pitch_value[k]].any()
            assert lr.duration[window, lr.duration_class[k]].any()
            for p in lr.chords[k]:
                assert lr.pitch[window, p].any()
    # The cued title fires throughout, at its refractory-limited rate.
    spikes = np.nonzero(raster.title_spikes)[0]
    assert len(raster.title_spikes) == max(t.n_events for t in recalled.tracks) * steps
    assert len(spikes) > 0 and len(set(np.diff(spikes))) == 1


def test_a_shorter_raster_is_the_start_of_the_whole(network):
    whole = record_recall(network, "a", CFG)
    part = record_recall(network, "a", CFG, columns=5, layers=[0])
    assert len(part.layers) == 1 and part.layers[0].n_columns == 5
    np.testing.assert_array_equal(part.layers[0].pitch, whole.layers[0].pitch[: 5 * whole.steps])
    np.testing.assert_array_equal(part.layers[0].pitch_value, whole.layers[0].pitch_value[:5])


@pytest.mark.parametrize("mode", ["spiking", "counter"])
def test_timing_raster_counts_pacemaker_spikes(mode):
    """The regular pacemaker's spikes every 1 / f, the striatal spikes on some of them; the
    simulated circuit (``spiking``) and the counter draw the same raster."""
    cfg = load_config("default", overrides={"recall.timing": mode})
    classes = [np.array([0, 1, 3, 7]), np.array([2, 2])]
    f = cfg.recall.pacemaker_hz
    timing = timing_raster(classes, cfg, f)
    times = release_times(classes, cfg, f)
    assert len(timing.pacemaker) == round(max(t[-1] for t in times) * f)
    np.testing.assert_allclose(np.diff(timing.pacemaker), 1 / f)
    for striatal, onsets, t, c in zip(timing.striatal, timing.onsets, times, classes):
        assert len(striatal) == len(onsets) == len(c)
        np.testing.assert_allclose(striatal, t[1:])
        # Every striatal spike is a pacemaker spike.
        assert np.isin(np.round(striatal * f), np.round(timing.pacemaker * f)).all()
    fast = timing_raster(classes, cfg, 2 * f)
    np.testing.assert_allclose(fast.striatal[0], timing.striatal[0] / 2)
    counter = timing_raster(classes, load_config("default", overrides={"recall.timing": "counter"}), f)
    np.testing.assert_array_equal(timing.pacemaker, counter.pacemaker)
    for a, b in zip(timing.striatal, counter.striatal):
        np.testing.assert_array_equal(a, b)


def test_raster_of_tuned_dynamics_is_their_recall(network):
    """With thresholds and delay shifts put in (the differentiable mode's tuned parameters), the
    recorder still reads out what recall does with the same dynamics."""
    import equinox as eqx
    import jax.numpy as jnp

    from jaxsnn_music.network.delays import WholeSteps
    from jaxsnn_music.recall.simulator import Recaller

    rng = np.random.default_rng(0)
    d, v_th = CFG.network.n_delays, CFG.network.v_th
    plain = Recaller.from_config(CFG)
    neurons = plain.v_th.shape[0]
    recaller = eqx.tree_at(lambda r: (r.v_th, r.delays), plain, (
        jnp.asarray(v_th * rng.uniform(0.9, 1.1, neurons), jnp.float32),
        WholeSteps(jnp.asarray(rng.integers(-2, 3, (d, neurons)), jnp.int32))))
    raster = record_recall(network, "a", CFG, recaller=recaller)
    recalled = recall_title(network, "a", CFG, recaller=recaller)
    for lr, track in zip(raster.layers, recalled.tracks):
        np.testing.assert_array_equal(lr.pitch_value, track.pitch)
        np.testing.assert_array_equal(lr.duration_class, track.duration_class)
        assert lr.chords == tuple(track.chords())
