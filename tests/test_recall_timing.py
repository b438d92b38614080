"""Pacemaker and striatal timing: onsets from spikes, tempo by rate, MIDI out and back."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.events import TempoMap
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.network import Network, grow
from jaxsnn_music.recall.cued import recall_title
from jaxsnn_music.recall.pacemaker import release_times, seconds_to_beats, time_piece, write_recall
from jaxsnn_music.recall.scores import score_piece
from test_network_fixtures import make_piece, make_track

CFG = load_config("default", overrides={"recall.chunk_columns": 16, "recall.batch_units": 4})
# 120 qpm, then 150 qpm from beat 2, then 100 qpm from beat 4.
TEMPO = TempoMap(np.array([0, 960, 1920]), np.array([500_000, 400_000, 600_000]),
                 np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int16))


def test_release_times_count_pacemaker_spikes():
    classes = [np.array([0, 1, 3, 7, 63]), np.array([2, 2])]
    for rate, per_step in ((16.0, 1), (10.0, 3)):
        cfg = load_config(overrides={"recall.spikes_per_step": per_step})
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
