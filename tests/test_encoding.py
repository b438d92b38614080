"""The encoding rules of MODEL.md section 2, one test per rule, on hand-made tracks."""

from __future__ import annotations

import numpy as np
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.encoding import cut_at_restrike, duration_classes, encode_track
from jaxsnn_music.events import REST, RawPiece, RawTrack, TempoMap
from jaxsnn_music.encoding import encode_tracks

RES = 480
DEFAULT = load_config("default").encoding
PAPER = load_config("paper").encoding


def track(notes, name="t", drum=False) -> RawTrack:
    """notes: (start tick, end tick, MIDI pitch)."""
    s, e, p = (np.array(x, dtype=t) for x, t in zip(zip(*notes), (np.int64, np.int64, np.int16)))
    return RawTrack(name, 0, drum, s, e, p)


def pc(*midi):  # MIDI pitches -> pitch classes, highest first as events store chords
    return tuple(sorted((m + 1 for m in midi), reverse=True))


def test_single_notes_in_onset_order_and_last_event_kept():
    # Listed out of order (as pretty_midi does, by note-off): events follow onsets.
    ev = encode_track(track([(480, 960, 62), (0, 480, 60), (960, 1440, 64)]), RES, DEFAULT)
    assert ev.onset.tolist() == [0, 480, 960]
    assert ev.chords() == [pc(60), pc(62), pc(64)]
    assert ev.duration.tolist() == [480, 480, 480]


def test_chord_by_onset_tolerance_boundary():
    # 30 ticks (1/16 beat) apart joins; 31 does not.
    joined = encode_track(track([(0, 480, 60), (30, 100, 64)]), RES, DEFAULT)
    assert joined.chords() == [pc(60, 64)]
    apart = encode_track(track([(0, 40, 60), (31, 100, 64)]), RES, DEFAULT)
    assert apart.n_events == 2


def test_chord_by_overlap_boundary():
    # The first note overlaps the next by >= 30 ticks: one event, even 200 ticks later.
    joined = encode_track(track([(0, 260, 60), (200, 300, 55)]), RES, DEFAULT)
    assert joined.chords() == [pc(60, 55)] and joined.duration.tolist() == [260]
    apart = encode_track(track([(0, 229, 60), (200, 300, 55)]), RES, DEFAULT)
    assert apart.n_events == 2


def test_chord_duration_is_first_note_and_chords_first_keeps_top_pitch():
    notes = [(0, 240, 60), (0, 480, 67), (10, 960, 64)]
    full = encode_track(track(notes), RES, DEFAULT)
    assert full.chords() == [pc(60, 64, 67)]
    # First note: earliest onset, highest pitch on ties -> 67, 480 ticks.
    assert full.duration.tolist() == [480]
    melody = encode_track(track(notes), RES, PAPER)
    assert melody.chords() == [pc(67)] and melody.n_notes == 1


def test_leading_rest_boundary():
    assert encode_track(track([(30, 480, 60)]), RES, DEFAULT).chords()[0] == (REST,)
    assert encode_track(track([(29, 480, 60)]), RES, DEFAULT).n_rests == 0
    ev = encode_track(track([(240, 480, 60)]), RES, DEFAULT)
    assert ev.onset.tolist() == [0, 240] and ev.duration.tolist() == [240, 240]


def test_rest_gap_boundary_measured_from_event_end():
    # Gap of exactly 50 ticks -> rest; 49 -> none.
    ev = encode_track(track([(0, 480, 60), (530, 960, 62)]), RES, DEFAULT)
    assert ev.chords() == [pc(60), (REST,), pc(62)]
    assert (ev.onset[1], ev.duration[1]) == (480, 50)
    assert encode_track(track([(0, 480, 60), (529, 960, 62)]), RES, DEFAULT).n_rests == 0
    # The event ends with its first note, even if a chord tone sounds longer.
    ev = encode_track(track([(0, 240, 72), (0, 960, 48), (480, 600, 74)]), RES, DEFAULT)
    assert ev.chords() == [pc(72, 48), (REST,), pc(74)]


def test_restruck_note_is_cut():
    end = cut_at_restrike(np.array([0, 100, 100]), np.array([300, 200, 400]), np.array([60, 60, 62]))
    assert end.tolist() == [100, 200, 400]


@pytest.mark.parametrize("ticks,cls,approx", [
    (60, 0, False),      # 0.125 beat: class 0
    (480, 7, False),     # a quarter note
    (90, 1, False),      # exactly halfway 60|120 rounds up, and is within 1/16 beat
    (89, 0, False),
    (3840, 63, False),   # 8 beats: the last class
    (3870, 63, False),   # 8 beats + 1/16: still within tolerance
    (3871, 63, True),    # longer: clipped to 8 beats, approximated
    (29, 0, True),       # shorter than 1/16 beat: clipped to the first class
    (30, 0, False),
])
def test_duration_classes(ticks, cls, approx):
    c, a = duration_classes(np.array([ticks]), RES, DEFAULT)
    assert (int(c[0]), bool(a[0])) == (cls, approx)


def test_duration_classes_follow_resolution():
    c, a = duration_classes(np.array([96, 24, 12]), 96, DEFAULT)  # 1, 1/4 and 1/8 beat at 96 ppq
    assert c.tolist() == [7, 1, 0] and not a.any()


def test_every_duration_maps_deterministically():
    d = np.arange(1, 20_000)
    c1, a1 = duration_classes(d, RES, DEFAULT)
    c2, _ = duration_classes(d, RES, DEFAULT)
    assert np.array_equal(c1, c2) and c1.min() == 0 and c1.max() == 63
    assert np.all(np.diff(c1) >= 0)  # monotone in the duration
    # approximated exactly when outside every class's tolerance window
    assert not a1[(d >= 30) & (d <= 3870)].any() and a1[(d < 30) | (d > 3870)].all()


def test_tracks_presets_and_drums():
    melody = track([(0, 480, 72), (480, 960, 74)], "right")
    bass = track([(0, 960, 48), (0, 960, 55)], "left")
    drums = track([(0, 120, 36)], "drums", drum=True)
    raw = RawPiece(RES, TempoMap.constant(), (drums, melody, bass))
    full = encode_tracks(raw, DEFAULT)
    assert [t.name for t in full] == ["right", "left"]
    assert full[1].chords() == [pc(48, 55)]
    paper = encode_tracks(raw, PAPER)
    assert [t.name for t in paper] == ["right"]  # first non-drum instrument only


def test_authors_note_order_reproduces_their_grouping():
    # Listed by note-off: the later-starting short note comes first in the file.
    notes = [(240, 300, 64), (0, 480, 60)]
    authors = load_config("paper", overrides={"encoding.note_order": "file"}).encoding
    # The authors' loop starts from the note listed first and sees a leading rest.
    ev = encode_track(track(notes), RES, authors)
    assert ev.onset.tolist() == [0, 240] and ev.chords() == [(REST,), pc(64)]
    ours = encode_track(track(notes), RES, PAPER)
    assert ours.onset.tolist() == [0] and ours.chords() == [pc(60)]
