"""MIDI in and out: the round trip on real files, and every kind of bad file."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from conftest import make_midi
from jaxsnn_music.config import load_config
from jaxsnn_music.errors import BadMidiError
from jaxsnn_music.events import events_equal
from jaxsnn_music.midi_io import read_piece, write_midi

DEFAULT = load_config("default").encoding
PAPER = load_config("paper").encoding
# Files with chords, tempo changes, several voices, and notes held across re-strikes.
SLICE = ["Albeniz/alb_esp1.mid", "Bach/bach_846.mid", "Chopin/chpn_op10_e01.mid",
         "Albeniz/alb_se6.mid", "Tchaikovsky/ty_juli.mid", "Mozart/mz_311_2.mid"]


def same_events(a, b) -> bool:
    return events_equal(a, b, ignore=("title", "source", "sha256", "n_source_notes", "warnings"))


@pytest.mark.parametrize("enc", [DEFAULT, PAPER], ids=["default", "paper"])
@pytest.mark.parametrize("name", SLICE)
def test_round_trip_on_real_files(corpus_root, tmp_path, name, enc):
    piece = read_piece(corpus_root / name, enc)
    again = read_piece(write_midi(piece, tmp_path / "out.mid", enc), enc)
    assert same_events(piece, again)
    # and the tempo map survives exactly, so events land at the same seconds
    assert events_equal(piece.tempo, again.tempo)


def test_round_trip_of_made_chords_and_rests(tmp_path):
    src = make_midi(tmp_path / "a.mid", [[(0.5, 1, 60), (0.5, 1, 64), (1.5, 3, 67), (1.52, 2, 55)],
                                         [(0, 4, 36)]], qpm=90)
    piece = read_piece(src, DEFAULT)
    assert [t.n_rests for t in piece.tracks] == [2, 0]
    assert same_events(piece, read_piece(write_midi(piece, tmp_path / "b.mid", DEFAULT), DEFAULT))


def test_real_file_facts(corpus_root):
    piece = read_piece(corpus_root / "Albeniz/alb_esp1.mid", DEFAULT)
    assert piece.resolution == 480 and piece.n_source_notes == 634  # manifest.csv: n_notes
    assert [t.name for t in piece.tracks] == ["Piano right", "Piano left"]
    assert len(piece.tempo.tick) == 553  # manifest.csv: n_tempo_changes
    assert piece.tempo.qpm()[0] == pytest.approx(93.43, abs=0.01)
    for t in piece.tracks:
        assert np.all(np.diff(t.onset) >= 0)


# --- bad input ---------------------------------------------------------------------------

def _tempo_file(path, tempo_us):
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo_us),
                            mido.Message("note_on", note=60, velocity=90, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=480)])
    mid.tracks.append(track)
    mid.save(path)
    return path


def _bad_time_signature_file(tmp_path):
    path = make_midi(tmp_path / "ts.mid", [[(0, 1, 60), (1, 2, 62)]])
    data = bytearray(path.read_bytes())
    i = data.find(b"\xff\x58\x04")
    assert i >= 0
    data[i + 3] = 0  # numerator 0
    path.write_bytes(bytes(data))
    return path


def _case(tmp_path, corpus_root, kind):
    if kind == "not midi":
        p = tmp_path / "x.mid"
        p.write_text("this is a text file, not MIDI\n")
    elif kind == "empty":
        p = tmp_path / "x.mid"
        p.write_bytes(b"")
    elif kind == "truncated":
        p = tmp_path / "x.mid"
        p.write_bytes((corpus_root / "Albeniz/alb_esp1.mid").read_bytes()[:4000])
    elif kind == "no notes":
        p = make_midi(tmp_path / "x.mid", [[]])
    elif kind == "only drums":
        p = make_midi(tmp_path / "x.mid", [[(0, 1, 36), (1, 2, 38)]], drum=(True,))
    elif kind == "only zero-length notes":
        p = make_midi(tmp_path / "x.mid", [[(0, 0, 60), (1, 1, 62)]])
    elif kind == "absurd tempo":
        p = _tempo_file(tmp_path / "x.mid", 1)
    elif kind == "missing":
        p = tmp_path / "nope.mid"
    return p


@pytest.mark.parametrize("kind,reason", [
    ("not midi", "not a MIDI file"), ("empty", "empty file"), ("truncated", "truncated"),
    ("no notes", "no notes"), ("only drums", "only drum tracks"),
    ("only zero-length notes", "no notes of non-zero length"), ("absurd tempo", "absurd tempo"),
    ("missing", "cannot read file"),
])
def test_bad_files_are_refused_in_one_line(tmp_path, request, kind, reason):
    root = request.getfixturevalue("corpus_root") if kind == "truncated" else None
    path = _case(tmp_path, root, kind)
    with pytest.raises(BadMidiError) as err:
        read_piece(path, DEFAULT)
    message = str(err.value)
    assert reason in message and str(path) in message and "\n" not in message


def test_zero_length_notes_are_dropped_with_a_warning(tmp_path):
    path = make_midi(tmp_path / "z.mid", [[(0, 1, 60), (1, 1, 62), (1, 2, 64)]])
    piece = read_piece(path, DEFAULT)
    assert piece.tracks[0].n_notes == 2
    assert any("1 zero-length" in w for w in piece.warnings)


def test_absurd_time_signature_is_dropped_with_a_warning(tmp_path):
    piece = read_piece(_bad_time_signature_file(tmp_path), DEFAULT)
    assert piece.tracks[0].n_notes == 2 and piece.tempo.ts_tick.size == 0
    assert any("absurd time signature" in w for w in piece.warnings)


def test_too_many_notes_and_too_large_are_refused(corpus_root):
    small = load_config(overrides={"encoding.max_notes": 100}).encoding
    # Counting stops at the limit: the message says "more than", not the file's total (634).
    with pytest.raises(BadMidiError, match=r"too many notes \(more than encoding.max_notes=100\)"):
        read_piece(corpus_root / "Albeniz/alb_esp1.mid", small)
    tiny = load_config(overrides={"encoding.max_file_bytes": 1000}).encoding
    with pytest.raises(BadMidiError, match="file too large"):
        read_piece(corpus_root / "Albeniz/alb_esp1.mid", tiny)


def test_a_million_notes_are_refused_before_pretty_midi(tmp_path):
    # A real file of 1,000,001 notes, built as raw bytes (mido would take minutes to write it).
    note = bytes([0x00, 0x90, 60, 90, 0x01, 0x80, 60, 0])
    body = note * 1_000_001 + b"\x00\xff\x2f\x00"
    data = (b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big")
            + (480).to_bytes(2, "big") + b"MTrk" + len(body).to_bytes(4, "big") + body)
    path = tmp_path / "million.mid"
    path.write_bytes(data)
    with pytest.raises(BadMidiError, match="too many notes"):
        read_piece(path, DEFAULT)


def test_real_files_pass_the_byte_scan_untouched(corpus_root):
    """The scan repairs nothing in well-formed files: mido parses the very bytes on disk."""
    from jaxsnn_music.midi_scan import scan_midi

    for name in SLICE:
        data = (corpus_root / name).read_bytes()
        scan = scan_midi(data, DEFAULT)
        assert scan.data is data and scan.warnings == () and scan.notes > 0, name
