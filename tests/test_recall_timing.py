"""Pacemaker and striatal timing: onsets from spikes, tempo by rate, MIDI out and back.

The spiking circuit (``recall.timing = spiking``, :mod:`jaxsnn_music.recall.timing`) against
the integer counter and against the closed forms of its LIF neurons; the Poisson pacemaker's
timing variability against interval length.
"""

from __future__ import annotations

import jax
import numpy as np
import pretty_midi
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.events import TempoMap
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.network import Network, grow
from jaxsnn_music.recall.cued import recall_title
from jaxsnn_music.recall.pacemaker import release_times, seconds_to_beats, time_piece, write_recall
from jaxsnn_music.recall.raster import timing_raster
from jaxsnn_music.recall.scores import score_piece
from jaxsnn_music.recall.timing import (
    TimingCircuit,
    pacemaker_train,
    run_circuit,
    simulate_trials,
)
from test_network_fixtures import make_piece, make_track

CFG = load_config("default", overrides={"recall.chunk_columns": 16, "recall.batch_units": 4})
# 120 qpm, then 150 qpm from beat 2, then 100 qpm from beat 4.
TEMPO = TempoMap(np.array([0, 960, 1920]), np.array([500_000, 400_000, 600_000]),
                 np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int16))


CLASSES = [np.array([0, 1, 3, 7, 63, -1, 5]), np.array([2, 2]), np.array([15])]


@pytest.mark.parametrize("timing", ["spiking", "counter"])
def test_release_times_count_pacemaker_spikes(timing):
    classes = [np.array([0, 1, 3, 7, 63]), np.array([2, 2])]
    for rate, per_step in ((16.0, 1), (10.0, 3)):
        cfg = load_config(overrides={"recall.spikes_per_step": per_step, "recall.timing": timing})
        times = release_times(classes, cfg, rate)
        for got, c in zip(times, classes):
            spikes = np.concatenate([[0], np.cumsum((c + 1) * per_step)])
            np.testing.assert_allclose(got, spikes / rate, rtol=1e-12)


def test_reference_rate_plays_the_stored_durations():
    """At reference_hz the onsets, in beats, are the running sum of the duration classes."""
    times = release_times([np.array([0, 1, 3, 7])], CFG, CFG.recall.reference_hz)[0]
    np.testing.assert_allclose(seconds_to_beats(times, CFG), [0, 0.125, 0.375, 0.875, 1.875])


@pytest.fixture(scope="module")
def recalled():
    piece = make_piece("tune", make_track([(72, 67, 64), (71,), (0,), (69,), (67, 64), (0,), (72,)],
                                          [3, 1, 1, 1, 7, 3, 15]),
                       make_track([(48,), (43,), (48,)], [7, 7, 15]))
    net = grow(Network.empty(), [piece], CFG)
    return piece, recall_title(net, "tune", CFG)


def test_doubling_the_rate_halves_the_length_and_keeps_the_notes(recalled, tmp_path):
    piece, rec = recalled
    f = CFG.recall.pacemaker_hz
    slow, fast = time_piece(rec, CFG, f, tempo=TEMPO), time_piece(rec, CFG, 2 * f, tempo=TEMPO)
    assert fast.length_seconds == pytest.approx(slow.length_seconds / 2, rel=0.01)
    for a, b in zip(slow.piece.tracks, fast.piece.tracks):
        assert a.chords() == b.chords()
        np.testing.assert_array_equal(a.duration_class, b.duration_class)
        np.testing.assert_allclose(b.onset, a.onset / 2, atol=1)
    # Written and read back: the same notes, half the time (the tempo changes move with
    # the music, so the seconds halve too).
    lengths = []
    for timed, name in ((slow, "slow.mid"), (fast, "fast.mid")):
        path = write_recall(timed, tmp_path / name, CFG)
        lengths.append(pretty_midi.PrettyMIDI(str(path)).get_end_time())
        back = read_piece(path, CFG.encoding)
        for written, read in zip(timed.piece.tracks, back.tracks):
            assert [c for c in read.chords() if c != (0,)] == \
                [c for c in written.chords() if c != (0,)]
    assert lengths[1] == pytest.approx(lengths[0] / 2, rel=0.01)


def test_reference_recall_writes_the_stored_piece(recalled, tmp_path):
    """A perfect recall at the reference rate, written through the tempo map and read back,
    gives the stored events (rests come back as silences of the stored length)."""
    piece, rec = recalled
    timed = time_piece(rec, CFG, CFG.recall.reference_hz, resolution=480, tempo=TEMPO)
    scores = score_piece(piece, rec, CFG, timed)
    assert all(s.pitch == s.duration == s.onset == 1.0 for s in scores)
    back = read_piece(write_recall(timed, tmp_path / "ref.mid", CFG), CFG.encoding)
    for stored, read in zip(piece.tracks, back.tracks):
        assert read.chords() == stored.chords()
        np.testing.assert_array_equal(read.duration_class, stored.duration_class)
    np.testing.assert_array_equal(back.tempo.us_per_beat, TEMPO.us_per_beat)
    np.testing.assert_array_equal(back.tempo.tick, TEMPO.tick)


# -- the spiking circuit ------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, {"recall.spikes_per_step": 3},
                                       {"recall.pacemaker_steps": 12},
                                       {"recall.pacemaker_steps": 7, "recall.spikes_per_step": 2}])
def test_regular_pacemaker_releases_exactly_on_the_counters_times(overrides):
    """A regular pacemaker and perfect striatal integrators: every onset is the counter's, bit
    for bit (``n P`` steps of ``1 / (f P)`` s is ``n / f``)."""
    spiking = load_config(overrides=overrides)
    counter = load_config(overrides={**overrides, "recall.timing": "counter"})
    for rate in (16.0, 3.7):
        for got, want in zip(release_times(CLASSES, spiking, rate), release_times(CLASSES, counter, rate)):
            np.testing.assert_array_equal(got, want)


def test_the_pacemaker_neuron_fires_at_its_period():
    """The regular drive's current comes from the Euler step's closed form: the network's LIF
    fires every P steps; a Poisson drive gives intervals of at least refractory + 1 steps, P on
    average, and a fixed seed gives the same train."""
    for steps in (0, 9, 20):
        circuit = TimingCircuit.from_config(load_config(overrides={"recall.pacemaker_steps": steps}))
        period = circuit.steps_per_period
        spikes = np.nonzero(np.asarray(pacemaker_train(circuit, 50 * period, jax.random.key(0))))[0] + 1
        np.testing.assert_array_equal(spikes, period * np.arange(1, 51))
    cfg = load_config(overrides={"recall.pacemaker": "poisson", "recall.pacemaker_steps": 20})
    circuit = TimingCircuit.from_config(cfg)
    train = np.asarray(pacemaker_train(circuit, 40_000, jax.random.key(3)))
    gaps = np.diff(np.concatenate([[0], np.nonzero(train)[0] + 1]))
    assert gaps.min() == circuit.pacemaker.refractory_steps + 1
    assert gaps.mean() == pytest.approx(20, rel=0.05)
    np.testing.assert_array_equal(train, np.asarray(pacemaker_train(circuit, 40_000, jax.random.key(3))))


def test_a_leaky_striatum_needs_the_spikes_its_membrane_predicts():
    """With a striatal membrane time constant of tau pacemaker periods the potential after m
    regular pulses is (1 - q^m) / (1 - q), q = (1 - 1/(tau P))^P: an event of n counts is
    released on the first m that reaches n - 1/2, later than the counter for long events. (A
    counter in place of the simulated integrators fails this.)"""
    classes = np.array([0, 3, 7, 15, 2])
    for tau in (20.0, 60.0):
        cfg = load_config(overrides={"recall.striatal_tau_periods": tau})
        circuit = TimingCircuit.from_config(cfg)
        q = circuit.leak_per_period
        n = (classes + 1).astype(np.float64)
        m = np.ceil(np.log1p(-(n - 0.5) * (1 - q)) / np.log(q))
        steps = run_circuit([classes], cfg).steps[0]
        np.testing.assert_array_equal(np.diff(steps), m * circuit.steps_per_period)
        assert (m >= n).all() and m[n == 16] > 16 and (m[n <= 2] == n[n <= 2]).all()
    # A shorter memory than the longest count: refused, not an endless wait.
    with pytest.raises(ValueError, match="saturate"):
        run_circuit([np.array([63])], load_config(overrides={"recall.striatal_tau_periods": 20.0}))


def test_a_higher_striatal_threshold_counts_more_spikes():
    """The threshold is the duration's count: the same classes with 3 spikes per duration step
    are released 3 times later, spike for spike."""
    one = run_circuit(CLASSES, load_config()).steps
    three = run_circuit(CLASSES, load_config(overrides={"recall.spikes_per_step": 3})).steps
    for a, b in zip(one, three):
        np.testing.assert_array_equal(b, 3 * a)


def test_pacemaker_refuses_a_period_it_cannot_fire():
    with pytest.raises(ValueError, match="refractory"):
        TimingCircuit.from_config(load_config(overrides={"recall.pacemaker_steps": 5}))
    with pytest.raises(ValueError, match="cannot charge"):
        TimingCircuit.from_config(load_config(overrides={"recall.pacemaker_steps": 200}))


def test_poisson_interval_sd_grows_as_the_square_root_of_its_length():
    """A Poisson pacemaker counted by perfect integrators: an interval of n counts is a sum of n
    independent pacemaker intervals, so its SD grows as n^0.5 (counting noise), not n^1 (the
    scalar property); its mean stays n periods. Fixed seed, same trials."""
    cfg = load_config(overrides={"recall.pacemaker": "poisson", "recall.pacemaker_steps": 20})
    classes = np.array([0, 3, 15, 63])
    released = simulate_trials(classes, cfg, trials=300, seed=5)
    intervals = np.diff(released, axis=1) / 20  # pacemaker periods
    n = classes + 1
    np.testing.assert_allclose(intervals.mean(0), n, rtol=0.1)
    exponent = np.polyfit(np.log(n), np.log(intervals.std(0)), 1)[0]
    assert exponent == pytest.approx(0.5, abs=0.08)
    # One pacemaker interval: refractory 5 + a geometric wait of mean 15 steps.
    assert intervals[:, 0].std() == pytest.approx(np.sqrt(1 - 1 / 15) * 15 / 20, rel=0.2)
    np.testing.assert_array_equal(released, simulate_trials(classes, cfg, trials=300, seed=5))
    assert not np.array_equal(released, simulate_trials(classes, cfg, trials=300, seed=6))


def test_poisson_recall_halves_with_the_rate_and_loses_onsets(recalled):
    """A Poisson pacemaker: the same seed at twice the rate is the same recall in half the time;
    the onsets drift from the stored ones, which the onset score sees (a regular one scores 1)."""
    piece, rec = recalled
    cfg = load_config("default", overrides={"recall.pacemaker": "poisson",
                                            "recall.pacemaker_steps": 100})
    f = cfg.recall.reference_hz
    slow, fast = time_piece(rec, cfg, f, seed=1), time_piece(rec, cfg, 2 * f, seed=1)
    for a, b in zip(slow.seconds, fast.seconds):
        np.testing.assert_allclose(b, a / 2, rtol=1e-12)
    assert not all(np.array_equal(a, b) for a, b in
                   zip(slow.seconds, time_piece(rec, cfg, f, seed=2).seconds))
    onset = [s.onset for s in score_piece(piece, rec, cfg, slow)]
    assert min(onset) < 1.0
    assert all(s.onset == 1.0 for s in score_piece(piece, rec, CFG, time_piece(rec, CFG, f)))


def test_poisson_timing_raster_is_the_recalls(recalled):
    """Every striatal spike is a pacemaker spike of the same simulated train."""
    _, rec = recalled
    cfg = load_config(overrides={"recall.pacemaker": "poisson", "recall.pacemaker_steps": 10})
    classes = [t.duration_class for t in rec.tracks]
    raster = timing_raster(classes, cfg, 16.0, seed=4)
    times = release_times(classes, cfg, 16.0, seed=4)
    for striatal, t in zip(raster.striatal, times):
        np.testing.assert_array_equal(striatal, t[1:])
        assert np.isin(np.rint(striatal * 160), np.rint(raster.pacemaker * 160)).all()
    assert raster.pacemaker[-1] == max(t[-1] for t in times)
