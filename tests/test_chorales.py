"""Tests for ``jaxsnn_music.corpus.chorales``: the Bach chorales of music21's corpus as note events.

Expected values come from music21 itself (its chorale table and its own parse
of the same file), never from numbers typed in here. Only a few chorales are
parsed, so the module runs in a few seconds.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction

import numpy as np
import pytest
from music21 import corpus, stream, tempo
from music21.corpus.chorales import ChoraleListRKBWV

from jaxsnn_music.config import load_config
from jaxsnn_music.corpus import chorales
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import events_equal
from jaxsnn_music.midi_io import read_piece, write_midi

FIRST = "r001"
VOICES = ["Soprano", "Alto", "Tenor", "Bass"]


def _music21_score(chorale_id: str) -> stream.Score:
    return corpus.parse(chorales.chorale_source(chorale_id), forceSource=True)


@pytest.fixture(scope="module")
def enc():
    return load_config("default").encoding


@pytest.fixture(scope="module")
def first(enc):
    return chorales.read_chorale(FIRST, enc)


@pytest.fixture(scope="module")
def first_score():
    return _music21_score(FIRST)


def test_ids_are_music21s_riemenschneider_numbers():
    table = ChoraleListRKBWV().byRiemenschneider
    ids = chorales.chorale_ids()
    # music21 10.5.1 lists all 371 and every one resolves to a file.
    assert len(table) == 371
    assert chorales.missing_chorales() == {}
    assert ids == [f"r{n:03d}" for n in sorted(table)]


def test_distinct_files_drop_music21s_shared_bwv_numbers():
    table = ChoraleListRKBWV().byRiemenschneider
    distinct = chorales.chorale_ids(distinct_files=True)
    paths = [chorales.chorale_source_path(i) for i in distinct]
    assert len(set(paths)) == len(paths)
    assert {chorales.chorale_source_path(i) for i in chorales.chorale_ids()} == set(paths)
    assert len(distinct) == len({v["bwv"] for v in table.values()})


def test_titles_are_unique_and_name_the_bwv_number():
    table = ChoraleListRKBWV().byRiemenschneider
    titles = [chorales.chorale_title(i) for i in chorales.chorale_ids()]
    assert len(set(titles)) == len(titles)
    assert all(re.fullmatch(r"bach-chorales/r\d{3}-bwv[0-9a-z.\-]+", t) for t in titles)
    assert chorales.chorale_title(FIRST) == f"bach-chorales/{FIRST}-bwv{table[1]['bwv']}"


def test_source_is_the_exact_corpus_file():
    table = ChoraleListRKBWV().byRiemenschneider
    for chorale_id in chorales.chorale_ids():
        path = chorales.chorale_source_path(chorale_id)
        assert path.is_file()
        assert chorales.chorale_source(chorale_id).startswith("bach/")
        # Exact stem, except 18.5-l whose only file music21 stores as bwv18.5-lz.
        assert path.stem.startswith(f"bwv{table[int(chorale_id[1:])]['bwv']}")
    # music21's prefix lookup would pick bwv69.6-a.mxl (another chorale) for 69.6.
    bwv = table[333]["bwv"]
    assert chorales.chorale_source_path("r333").stem == f"bwv{bwv}"


def test_unknown_id_is_a_corpus_error(enc):
    with pytest.raises(CorpusError, match="unknown chorale id"):
        chorales.read_chorale("r999", enc)
    with pytest.raises(CorpusError):
        chorales.chorale_source_path("bwv269")


def test_piece_identity(first):
    path = chorales.chorale_source_path(FIRST)
    assert first.title == chorales.chorale_title(FIRST)
    assert first.source == chorales.chorale_source(FIRST) == f"bach/{path.name}"
    assert first.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.resolution == 480


def test_four_tracks_named_for_the_voices(first, first_score):
    assert [p.partName for p in first_score.parts] == VOICES
    assert [t.name for t in first.tracks] == VOICES


def test_soprano_matches_music21(first, first_score):
    soprano = first_score.parts[0].stripTies().flatten().notes
    expected = [(int(n.offset * 480), n.pitch.midi + 1, int(n.quarterLength * 480))
                for n in list(soprano)[:12]]
    track = first.tracks[0]
    notes = [k for k in range(track.n_events) if not track.is_rest[k]][:12]
    got = [(int(track.onset[k]), track.chord(k)[0], int(track.duration[k])) for k in notes]
    assert got == expected
    assert all(len(track.chord(k)) == 1 for k in notes)


def test_notes_counted_before_encoding(first, first_score):
    n = sum(len(e.pitches) for p in first_score.parts for e in p.stripTies().flatten().notes)
    assert first.n_source_notes == n


def test_ties_are_merged(enc, first_score):
    raw = chorales.read_chorale_raw(FIRST, enc)
    merged = 0
    for part, track in zip(first_score.parts, raw.tracks):
        notes = list(part.flatten().notes)
        spans = set(zip(track.start.tolist(), track.end.tolist(), track.pitch.tolist()))
        for i, n in enumerate(notes):
            if n.tie is None or n.tie.type != "start":
                continue
            # Follow the tie through the written notes, independently of stripTies.
            length = Fraction(n.quarterLength)
            for m in notes[i + 1:]:
                length += Fraction(m.quarterLength)
                if m.tie is not None and m.tie.type == "stop":
                    break
            start = int(n.offset * 480)
            assert (start, start + int(length * 480), n.pitch.midi) in spans
            assert not np.any((track.start == start + int(n.quarterLength * 480))
                              & (track.pitch == n.pitch.midi))
            merged += 1
        written = sum(1 for n in notes if n.tie is None or n.tie.type == "start")
        assert len(track.start) == written
    assert merged > 0


def test_tempo_and_time_signatures(first, first_score, enc):
    assert not list(first_score.recurse().getElementsByClass(tempo.MetronomeMark))
    assert first.tempo.tick.tolist() == [0]
    assert first.tempo.qpm().tolist() == [chorales.DEFAULT_QPM]
    signatures = list(first_score.parts[0].recurse().getElementsByClass("TimeSignature"))
    assert first.tempo.ts_numerator.tolist() == [s.numerator for s in signatures]
    assert first.tempo.ts_denominator.tolist() == [s.denominator for s in signatures]

    marked = "r006"
    mark = next(iter(_music21_score(marked).parts[0].recurse().getElementsByClass(tempo.MetronomeMark)))
    piece = chorales.read_chorale(marked, enc)
    assert piece.tempo.tick.tolist() == [0]
    assert piece.tempo.us_per_beat.tolist() == [round(6e7 / mark.getQuarterBPM())]


def test_instrumental_parts_are_dropped(enc):
    # r011 (BWV 41.6) is a full score: trumpets, timpani and oboe beside the choir.
    score = _music21_score("r011")
    piece = chorales.read_chorale("r011", enc)
    sung = [p.partName for p in score.parts if p.partName.split()[0] in VOICES]
    assert len(score.parts) > 4 and len(sung) == 4
    assert [t.name for t in piece.tracks] == sung
    assert any("instrumental part" in w for w in piece.warnings)


def test_paper_preset_keeps_the_soprano_melody(first):
    paper = chorales.read_chorale(FIRST, load_config("paper").encoding)
    assert len(paper.tracks) == 1
    assert paper.tracks[0].name == "Soprano"
    assert np.all(paper.tracks[0].chord_size == 1)
    assert events_equal(paper.tracks[0], first.tracks[0])


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_midi_round_trip(tmp_path, preset):
    enc = load_config(preset).encoding
    piece = chorales.read_chorale(FIRST, enc)
    back = read_piece(write_midi(piece, tmp_path / "chorale.mid", enc), enc)
    assert len(back.tracks) == len(piece.tracks)
    for a, b in zip(piece.tracks, back.tracks):
        assert events_equal(a, b), a.name


def test_unparseable_chorale_is_a_bad_midi_error(enc, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(chorales.converter, "parse", broken)
    with pytest.raises(BadMidiError, match="music21 could not parse it"):
        chorales.read_chorale(FIRST, enc)


def test_chorale_without_notes_is_a_bad_midi_error(enc, monkeypatch):
    def empty(*args, **kwargs):
        part = stream.Part()
        part.partName = "Soprano"
        score = stream.Score()
        score.insert(0, part)
        return score

    monkeypatch.setattr(chorales.converter, "parse", empty)
    with pytest.raises(BadMidiError, match="no notes"):
        chorales.read_chorale(FIRST, enc)
