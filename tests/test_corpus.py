"""Corpus sources, the parallel loader, the parse cache, and the known facts of the corpus."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from conftest import make_midi
from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.cache import ParseCache
from jaxsnn_music.corpus.load import load_corpus
from jaxsnn_music.corpus.sources import directory_items, resolve_items, selection_items
from jaxsnn_music.corpus.stats import corpus_stats
from jaxsnn_music.errors import CorpusError
from jaxsnn_music.events import events_equal

DEFAULT = load_config("default").encoding


@pytest.fixture()
def small_corpus(tmp_path, corpus_root):
    """Four real files in nested folders, one broken file and one non-MIDI file."""
    root = tmp_path / "corpus"
    for name in ["Albeniz/alb_esp1.mid", "Bach/bach_846.mid", "Chopin/chpn_op10_e01.mid",
                 "Grieg/grieg_walzer.mid"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus_root / name, root / name)
    (root / "Broken").mkdir()
    (root / "Broken/cut.MID").write_bytes((corpus_root / "Bach/bach_846.mid").read_bytes()[:3000])
    (root / "notes.txt").write_text("not a corpus file")
    return root


def test_directory_titles_are_relative_paths(small_corpus):
    titles = [i.title for i in directory_items(small_corpus)]
    assert titles == ["Albeniz/alb_esp1", "Bach/bach_846", "Broken/cut", "Chopin/chpn_op10_e01",
                      "Grieg/grieg_walzer"]


def test_missing_or_empty_folders_are_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="no such folder"):
        directory_items(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no MIDI files"):
        directory_items(tmp_path)
    with pytest.raises(CorpusError, match="unknown selection"):
        selection_items("mozart-only")
    with pytest.raises(CorpusError, match="not both"):
        resolve_items(tmp_path, "paper")


def test_selections(corpus_root):
    paper = selection_items("paper", corpus_root)
    assert len(paper) == 331
    titles = {i.title for i in paper}
    assert "Debussy/debussy_cc_5" not in titles and not any(t.startswith("Christmas/") for t in titles)
    assert len({t.split("/")[0] for t in titles}) == 25
    assert len(selection_items("piano-midi", corpus_root)) == 337
    chorales = selection_items("bach-chorales")
    assert len(chorales) == 371 and len({i.title for i in chorales}) == 371


def test_bad_files_are_skipped_and_the_run_goes_on(small_corpus):
    report = load_corpus(directory_items(small_corpus), DEFAULT, cache=None, progress=False)
    assert [p.title for p in report.pieces] == ["Albeniz/alb_esp1", "Bach/bach_846",
                                                "Chopin/chpn_op10_e01", "Grieg/grieg_walzer"]
    assert len(report.skipped) == 1
    title, reason = report.skipped[0]
    assert title == "Broken/cut" and "truncated" in reason


def test_cache_hits_and_invalidation(small_corpus, tmp_path):
    cache = ParseCache(tmp_path / "cache")
    items = directory_items(small_corpus)
    cold = load_corpus(items, DEFAULT, cache=cache, progress=False)
    assert (cold.parsed, cold.cached) == (5, 0)
    warm = load_corpus(items, DEFAULT, cache=cache, progress=False)
    assert (warm.parsed, warm.cached) == (0, 5)  # the refusal is cached too
    assert warm.skipped == cold.skipped
    assert all(events_equal(a, b) for a, b in zip(cold.pieces, warm.pieces))

    # A changed file misses; the others still hit.
    make_midi(small_corpus / "Bach/bach_846.mid", [[(0, 1, 60), (1, 2, 62)]])
    changed = load_corpus(items, DEFAULT, cache=cache, progress=False)
    assert (changed.parsed, changed.cached) == (1, 4)
    assert changed.pieces[1].tracks[0].n_events == 2

    # A changed setting misses everywhere.
    paper = load_config("paper").encoding
    other = load_corpus(items, paper, cache=cache, progress=False)
    assert (other.parsed, other.cached) == (5, 0)


def test_damaged_cache_entry_is_a_miss(small_corpus, tmp_path):
    cache = ParseCache(tmp_path / "cache")
    items = directory_items(small_corpus)[:1]
    load_corpus(items, DEFAULT, cache=cache, progress=False)
    for entry in (tmp_path / "cache").rglob("*.pkl"):
        entry.write_bytes(entry.read_bytes()[:50])
    again = load_corpus(items, DEFAULT, cache=cache, progress=False)
    assert (again.parsed, again.cached, len(again.pieces)) == (1, 0, 1)


def test_same_file_under_another_title_hits_the_cache(small_corpus, tmp_path):
    cache = ParseCache(tmp_path / "cache")
    items = directory_items(small_corpus)[:1]
    load_corpus(items, DEFAULT, cache=cache, progress=False)
    renamed = [dataclasses.replace(items[0], title="elsewhere/esp1")]
    report = load_corpus(renamed, DEFAULT, cache=cache, progress=False)
    assert report.cached == 1 and report.pieces[0].title == "elsewhere/esp1"


def test_parallel_load_equals_serial(corpus_root):
    items = selection_items("paper", corpus_root)[:20]
    serial = load_corpus(items, DEFAULT, workers=1, progress=False)
    parallel = load_corpus(items, DEFAULT, workers=2, progress=False)
    assert [p.title for p in serial.pieces] == [p.title for p in parallel.pieces]
    assert all(events_equal(a, b) for a, b in zip(serial.pieces, parallel.pieces))


def test_slice_note_counts_match_the_manifest(corpus_root):
    manifest = {r["path"]: int(r["n_notes"]) for r in csv.DictReader(open(corpus_root / "manifest.csv"))}
    items = selection_items("paper", corpus_root)[::40]
    stats = corpus_stats(load_corpus(items, DEFAULT, progress=False))
    assert stats["source_notes"] == sum(manifest[i.title + ".mid"] for i in items)


@pytest.mark.slow
def test_paper_selection_known_facts(corpus_root):
    """The figures of the foundation issue (pretty_midi 0.2.11), over the whole paper selection."""
    items = selection_items("paper", corpus_root)
    authors = load_config("paper", overrides={"encoding.note_order": "file"}).encoding
    stats = corpus_stats(load_corpus(items, authors, progress=False))
    assert stats["pieces"] == 331 and stats["composers"] == 25 and stats["ticks_per_beat"] == [480]
    assert stats["source_notes"] == 779_970 - 336  # 332 classical files minus debussy_cc_5
    # The authors' event extraction, reproduced: first instrument, first chord tone.
    assert stats["events"] == 343_662 and stats["rests"] == 53_923


# --- what the network can hold, odd entries, an unwritable cache ------------------------

def test_pieces_the_network_cannot_hold_are_skipped_even_from_the_cache(tmp_path):
    from jaxsnn_music.corpus.load import PieceLimits, network_limits

    root = tmp_path / "c"
    make_midi(root / "ok.mid", [[(0, 1, 60), (1, 2, 62), (2, 3, 64)]])
    make_midi(root / "chord.mid", [[(0, 1, 60 + k) for k in range(5)] + [(1, 2, 70)]])
    make_midi(root / "long.mid", [[(k, k + 1, 60 + k % 12) for k in range(12)]])
    make_midi(root / "tracks.mid", [[(0, 1, 60)], [(0, 1, 62)], [(0, 1, 64)]])
    items = directory_items(root)
    cache = ParseCache(tmp_path / "cache")
    limits = PieceLimits(max_tracks=2, max_events=10, max_chord=4)
    for _ in range(2):  # parsed, then from the cache
        report = load_corpus(items, DEFAULT, cache=cache, progress=False, limits=limits)
        assert [p.title for p in report.pieces] == ["ok"]
        assert dict(report.skipped) == {
            "chord": "track 0 ('track0') has a chord of 5 tones at beat 0 (network.max_chord_size=4)",
            "long": "track 0 ('track0') has 12 events (the network holds at most 10 per track)",
            "tracks": "3 tracks (the network holds at most 2: one layer per track)"}
    assert report.cached == 4
    cfg = load_config(overrides={"network.max_chord_size": 3})
    assert network_limits(cfg) == PieceLimits(max_tracks=256, max_events=1 << 18, max_chord=3)


def test_the_issues_2000_track_file_is_skipped_with_its_reason(tmp_path):
    from hostile_midi import midi, note

    from jaxsnn_music.corpus.load import network_limits
    from jaxsnn_music.corpus.sources import CorpusItem

    path = tmp_path / "tracks.mid"
    path.write_bytes(midi(*[note(60 + k % 24) for k in range(2000)]))
    report = load_corpus([CorpusItem("tracks", "midi", str(path))], DEFAULT, progress=False,
                         limits=network_limits(load_config()))
    assert report.skipped == [("tracks", "2,000 tracks (the network holds at most 256: one layer "
                                         "per track)")]


def test_fifos_devices_and_folders_are_refused_without_blocking(tmp_path):
    from jaxsnn_music.errors import BadMidiError
    from jaxsnn_music.midi_io import read_file

    os.mkfifo(tmp_path / "pipe.mid")
    for path, reason in [(tmp_path / "pipe.mid", "a FIFO"), ("/dev/zero", "a character device"),
                         (tmp_path, "a folder"), (tmp_path / "nope.mid", "no such file")]:
        with pytest.raises(BadMidiError, match=reason):
            read_file(path, 1000)
    big = tmp_path / "big.mid"
    big.write_bytes(bytes(2000))
    with pytest.raises(BadMidiError, match=r"file too large \(2000 bytes > encoding.max_file_bytes=1000\)"):
        read_file(big, 1000)


def test_an_unlistable_subfolder_is_an_item_with_its_reason(tmp_path, monkeypatch):
    make_midi(tmp_path / "a.mid", [[(0, 1, 60)]])
    make_midi(tmp_path / "locked" / "b.mid", [[(0, 1, 60)]])
    scandir = os.scandir

    def refuse(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    items = directory_items(tmp_path)
    assert [(i.title, i.kind, i.ref) for i in items] == [
        ("a", "midi", str(tmp_path / "a.mid")),
        ("locked", "unusable", "cannot list this folder (Permission denied)")]
    report = load_corpus(items, DEFAULT, progress=False)
    assert report.skipped == [("locked", "cannot list this folder (Permission denied)")]


def test_a_cache_that_cannot_be_written_is_not_an_error(tmp_path):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    make_midi(tmp_path / "c" / "a.mid", [[(0, 1, 60)]])
    cache = ParseCache(blocked)
    report = load_corpus(directory_items(tmp_path / "c"), DEFAULT, cache=cache, progress=False)
    assert len(report.pieces) == 1 and "cannot write the parse cache" in cache.write_error
