"""Tests for ``jaxsnn_music.corpus.folk``: music21's ABC folk tunes as pieces.

Listing a selection only reads text, so every count is checked on the whole
corpus; parsing is checked on a few tunes (one small file and hand-written
ABC), so the module runs in seconds. Expected values come from the files
themselves or from music21's own parse, except the hand-written tune, whose
events are worked out in the test.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from music21 import converter, harmony, stream

from jaxsnn_music.config import load_config
from jaxsnn_music.corpus import folk
from jaxsnn_music.corpus.cache import ParseCache
from jaxsnn_music.corpus.load import load_corpus
from jaxsnn_music.corpus.sources import FOLK_COLLECTIONS, SELECTIONS, abc_file_items, selection_items
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import REST

SMALL = "essenFolksong/erk5.abc"  # 27 short songs

# Two eighths of G, a tie, a triplet, a grace note, a rest, a repeat sign and two endings.
HAND = """X:7
T:Hand-made Tune (test)
M:4/4
L:1/8
Q:1/4=120
K:G
|: G2 A2 B2-B2 | (3cBA G2 z2 {g}d2 |[1 e8 :|[2 f8 |]
"""


@pytest.fixture(scope="module")
def enc():
    return load_config("default").encoding


def _reference_numbers(folder: str) -> int:
    """``X:`` lines in a collection's files, counted without the module under test."""
    files = (folk.corpus_root() / folder).glob("*.abc")
    return sum(len(re.findall(r"(?m)^\s*X:", p.read_text("utf-8"))) for p in files)


def test_selections_list_every_tune_of_their_collection():
    counts = {name: len(selection_items(name)) for name in FOLK_COLLECTIONS}
    assert counts == {name: _reference_numbers(folder) for name, folder in FOLK_COLLECTIONS.items()}
    # music21 10.5.1; the targets are 8,000 and 11,000.
    assert counts == {"essen": 8514, "oneills": 2009, "airds": 1180, "ryans": 1059, "misc-folk": 185}
    everything = selection_items("folk")
    assert len(everything) == sum(counts.values())
    assert [i.title.split("/")[0] for i in everything] == [
        name for name in FOLK_COLLECTIONS for _ in range(counts[name])]
    assert set(FOLK_COLLECTIONS) | {"folk"} <= set(SELECTIONS)


def test_titles_are_unique_safe_and_stable():
    items = selection_items("folk")
    titles = [i.title for i in items]
    assert len(set(titles)) == len(titles)
    assert all(re.fullmatch(r"[a-z-]+/[A-Za-z0-9._-]+/\d{4,}(\.\d+)?(-[a-z0-9-]+)?", t) for t in titles)
    assert titles == [i.title for i in selection_items("folk")]
    assert titles[0] == "essen/altdeu10/0001-das-hildebrandslied"  # X:1, T: Das Hildebrandslied
    assert {i.kind for i in items} == {"abc"}
    assert items[0].ref == "essenFolksong/altdeu10.abc#1"


def test_slug_and_numbering_rules(tmp_path):
    assert folk.slug("O'Neill's Fancy -- Reel.") == "oneills-fancy-reel"
    assert folk.slug("Wir haben verloren ein Blümelein") == "wir-haben-verloren-ein-blumelein"
    assert folk.slug("a " * 40) == "-".join(["a"] * 20)
    path = tmp_path / "My Book.abc"
    path.write_text("% header comment\nL:1/8\n\nX:5\nT:First\nK:C\nCDEF|\n"
                    "X:5\nT:Again\nK:C\nGABc|\nX:x\nK:C\nc2|\n")
    items = abc_file_items(path, "test")
    assert [i.title for i in items] == ["test/My-Book/0005-first", "test/My-Book/0005.2-again",
                                        "test/My-Book/0003"]
    # The header goes in front of every tune; each tune is its own text.
    texts = [folk.tune_text(i.ref) for i in items]
    assert all(t.startswith("% header comment\nL:1/8\n") for t in texts)
    assert [t.count("X:") for t in texts] == [1, 1, 1] and "GABc" in texts[1]
    with pytest.raises(BadMidiError, match="no tune #4"):
        folk.tune_text(items[0].ref.replace("#1", "#4"))
    with pytest.raises(CorpusError, match="cannot read file"):
        abc_file_items(tmp_path / "none.abc", "test")


def test_hand_written_tune_events(enc):
    raw = folk.read_tune_raw(HAND, "hand", enc)
    (track,) = raw.tracks
    # Triplet eighths are 160 ticks; the tie makes one B of 960; the grace note is
    # dropped; repeats are not expanded, so both endings follow each other.
    assert track.start.tolist() == [0, 480, 960, 1920, 2080, 2240, 2400, 3360, 3840, 5760]
    assert (track.end - track.start).tolist() == [480, 480, 960, 160, 160, 160, 480, 480, 1920, 1920]
    assert track.pitch.tolist() == [67, 69, 71, 72, 71, 69, 67, 74, 76, 78]  # F sharp in G
    assert track.name == "voice 1" and track.program == folk.PROGRAM
    assert raw.warnings == ("dropped 1 grace note(s)",)
    assert raw.tempo.qpm().tolist() == [120.0]
    assert (raw.tempo.ts_numerator.tolist(), raw.tempo.ts_denominator.tolist()) == ([4], [4])

    piece = folk.read_tune(HAND, "test/hand/0007-hand-made-tune-test", "hand#1", enc)
    (events,) = piece.tracks
    assert events.n_events == 11 and events.n_rests == 1
    assert events.chord(7) == (REST,) and events.duration[7] == 480
    assert piece.n_source_notes == 10


def test_real_tunes_match_music21s_own_reading(enc):
    """Tunes of a small file: our notes are music21's (with beams, from its opus reader)."""
    path = folk.corpus_root() / SMALL
    for title, ref in folk.file_tunes(path, "essen", SMALL)[:12]:
        raw = folk.read_tune_raw(folk.tune_text(ref), ref, enc)
        number = int(title.split("/")[2][:4])
        score = converter.parse(path, format="abc", number=number, forceSource=True)
        assert isinstance(score, stream.Score)
        starts, pitches = [], []
        for part in score.parts:
            for n in part.stripTies().flatten().notes:
                if isinstance(n, harmony.Harmony) or n.duration.isGrace:
                    continue
                starts += [round(float(n.offset) * 480)] * len(n.pitches)
                pitches += [p.midi for p in n.pitches]
        assert [len(t.start) for t in raw.tracks] == [len(starts)], title
        assert raw.tracks[0].start.tolist() == starts and raw.tracks[0].pitch.tolist() == pitches


def test_voices_become_tracks(enc):
    # Voice 1 and 2 written in alternating blocks, then inline; x holds voice 2's place.
    tune = ("X:1\nT:Two voices\nM:2/4\nL:1/8\nV:1\nV:2 merge\nK:C\n"
            "V:1\nCDEF|GABc|\nV:2\nE2G2|x4|\n[V:1] c4|]\n[V:2] x2 E2|]\n")
    assert [v for v, _ in folk.split_voices(tune)] == ["1", "2"]
    assert folk.split_voices(HAND) == []
    raw = folk.read_tune_raw(tune, "two", enc)
    one, two = raw.tracks
    assert (one.name, two.name) == ("voice 1", "voice 2")
    assert one.pitch.tolist() == [60, 62, 64, 65, 67, 69, 71, 72, 72]
    assert two.pitch.tolist() == [64, 67, 64] and two.start.tolist() == [0, 480, 2400]
    assert one.end.max() == two.end.max() == 2880


def test_beams_are_skipped_only_while_parsing():
    folk.parse_tune(HAND)
    assert "makeBeams" not in stream.Part.__dict__
    with pytest.raises(ZeroDivisionError):
        folk.parse_tune(HAND.replace("L:1/8", "L:0/0"))
    assert "makeBeams" not in stream.Part.__dict__


def test_broken_tune_is_skipped_in_one_line_and_the_cache_remembers(tmp_path, enc):
    tunes = [HAND.replace("X:7", f"X:{n}").replace("(test)", str(n)) for n in range(1, 17)]
    tunes.insert(5, "X:99\nT:Broken\nM:4/4\nL:0/0\nK:C\nCDEF|GABc|\n")
    path = tmp_path / "book.abc"
    path.write_text("\n".join(tunes))
    items = abc_file_items(path, "test")
    cache = ParseCache(tmp_path / "cache")

    cold = load_corpus(items, enc, cache=cache, workers=2, progress=False)  # the process pool
    assert (cold.parsed, cold.cached) == (17, 0)
    assert len(cold.pieces) == 16
    ((title, reason),) = cold.skipped
    assert title == "test/book/0099-broken"
    assert reason.startswith("music21 could not read it (ZeroDivisionError") and "\n" not in reason
    assert [p.title for p in cold.pieces] == [i.title for i in items if i.title != title]
    assert all(p.source.endswith(f"#{k}") for p, k in zip(cold.pieces, [*range(1, 6), *range(7, 18)]))

    warm = load_corpus(items, enc, cache=cache, workers=2, progress=False)
    assert (warm.parsed, warm.cached) == (0, 17)  # the refusal is cached too
    assert warm.skipped == cold.skipped
    for a, b in zip(cold.pieces, warm.pieces):
        assert a.title == b.title and a.sha256 == b.sha256
        assert all(np.array_equal(x.pitch, y.pitch) for x, y in zip(a.tracks, b.tracks))

    path.write_text(path.read_text().replace("X:16\nT:Hand-made Tune 16", "X:16\nT:Changed"))
    changed = load_corpus(abc_file_items(path, "test"), enc, cache=cache, progress=False)
    assert (changed.parsed, changed.cached) == (1, 16)
