"""The Python API (``jaxsnn_music.memorize``, ``recall``, ``identify``, ``save``, ``load``,
``evaluate``) on six real Bach chorales, as a researcher calls it.

The network is the tutorial's (the first six chorales, ``default`` preset), so the compiled
recall is shared with ``test_tutorial.py``; expected values come from the corpus itself (the
stored pieces), never from numbers typed in here.
"""

from __future__ import annotations

import json
import subprocess
import sys

import equinox as eqx
import numpy as np
import pytest

import jaxsnn_music as jm
from conftest import make_midi
from jaxsnn_music.errors import BadMidiError, CheckpointError, ConfigError, CorpusError, UserError

TITLE = "bach-chorales/r001-bwv269"


@pytest.fixture(scope="module")
def pieces():
    return jm.read_pieces("bach-chorales", limit=6)


@pytest.fixture(scope="module")
def network(pieces):
    return jm.memorize("bach-chorales", limit=6)


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert isinstance(excinfo.value, UserError) and message and "\n" not in message
    return message


def test_the_package_exposes_the_api_without_loading_jax():
    code = ("import sys, jaxsnn_music as j; "
            "fs = [j.memorize, j.recall, j.identify, j.save, j.load, j.evaluate]; "
            "print(all(callable(f) for f in fs), [m for m in ('jax', 'orbax', 'optax', "
            "'jaxsnn_music.network', 'jaxsnn_music.recall') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True []"


def test_the_functions_keep_their_names_when_the_subpackages_are_imported():
    import jaxsnn_music.evaluate.protocols  # noqa: F401
    import jaxsnn_music.recall.cued  # noqa: F401
    from jaxsnn_music.recall.cued import recall_title

    assert jm.recall.__module__ == jm.evaluate.__module__ == "jaxsnn_music.api"
    assert callable(recall_title) and "Arguments" in jm.recall.__doc__


def test_memorize_records_its_config_and_pieces(network, pieces):
    assert network.titles == tuple(p.title for p in pieces)
    assert network.config == jm.load_config("default")
    assert network.track_lengths.shape == (6, 4)
    same = jm.memorize(pieces)  # pieces in hand give the same network as the selection's name
    assert eqx.tree_equal(same, network)


def test_memorize_to_a_checkpoint_is_the_command_line_run(network, pieces, tmp_path):
    run = jm.memorize(pieces, out=tmp_path / "run", overrides={"memorize.chunk_pieces": 4})
    assert eqx.tree_equal(jm.load(tmp_path / "run"), run)
    # Chunks merge one after another, so the run's network is the in-memory one of its chunks.
    assert eqx.tree_equal(jm.memorize(pieces, overrides=["memorize.chunk_pieces=4"]), run)
    assert run.titles == network.titles


def test_memorize_grows_a_network_with_its_own_config(network, pieces):
    first = jm.memorize(pieces[:4], overrides=["network.n_delays=3"])
    grown = jm.memorize(pieces[4:], network=first)
    assert grown.titles == network.titles and grown.config == first.config
    with pytest.raises(ConfigError) as excinfo:
        jm.memorize(pieces[4:], network=first, cfg="default")
    assert "network.n_delays" in one_line(excinfo)
    with pytest.raises(CorpusError) as excinfo:
        jm.memorize(pieces[:1], network=first)
    assert "memorized already" in one_line(excinfo)


def test_read_pieces_takes_a_preset_a_file_and_a_folder(tmp_path, pieces):
    paper = jm.read_pieces("bach-chorales", "paper", limit=2)
    assert [len(p.tracks) for p in paper] == [1, 1]  # the paper preset keeps the first track
    assert paper[0].tracks[0].n_events == pieces[0].tracks[0].n_events
    make_midi(tmp_path / "a" / "one.mid", [[(0, 1, 60), (1, 2, 62)]])
    make_midi(tmp_path / "b.mid", [[(0, 1, 64), (1, 3, 65)]])
    assert [p.title for p in jm.read_pieces(tmp_path)] == ["a/one", "b"]
    assert [p.title for p in jm.read_pieces(str(tmp_path / "b.mid"))] == ["b"]
    skipped = []
    (tmp_path / "c.mid").write_bytes(b"not midi")
    assert len(jm.read_pieces(tmp_path, on_skip=lambda t, r: skipped.append(t))) == 2
    assert skipped == ["c"]


def test_read_corpus_reports_what_it_found_and_leaves_out_titles(tmp_path):
    from jaxsnn_music.api import read_corpus

    make_midi(tmp_path / "a.mid", [[(0, 1, 60), (1, 2, 62)]])
    make_midi(tmp_path / "b.mid", [[(0, 1, 64), (1, 3, 65)]])
    (tmp_path / "c.mid").write_bytes(b"not midi")
    skipped = []
    report = read_corpus(tmp_path, on_skip=lambda t, r: skipped.append((t, r)))
    assert [p.title for p in report.pieces] == ["a", "b"]
    assert report.skipped == skipped == [("c", "not a MIDI file (no MThd header)")]
    assert [p.title for p in jm.read_pieces(tmp_path, exclude={"a", "c"})] == ["b"]
    assert [p.title for p in jm.read_pieces(report.pieces, exclude=["a"])] == ["b"]
    with pytest.raises(CorpusError) as excinfo:  # a Path is a path, never a selection
        jm.read_pieces(tmp_path / "none")
    assert one_line(excinfo) == f"{tmp_path / 'none'}: no such folder"


def test_memorized_pieces_are_read_again_from_a_checkpoint(network, pieces, tmp_path):
    import dataclasses

    from jaxsnn_music.api import memorized_pieces

    def chords(pieces):
        return [(p.title, [t.chords() for t in p.tracks]) for p in pieces]

    assert chords(memorized_pieces(network)) == chords(pieces)  # at hand
    loaded = jm.load(jm.save(tmp_path / "ckpt", network))
    assert chords(memorized_pieces(loaded)) == chords(pieces)  # read again from music21
    melody = memorized_pieces(loaded, jm.load_config("paper"), titles=[TITLE])
    assert [p.title for p in melody] == [TITLE] and len(melody[0].tracks) == 1
    with pytest.raises(UserError) as excinfo:
        memorized_pieces(dataclasses.replace(network))  # made another way: not known
    assert "not known here" in one_line(excinfo)
    jm.save(tmp_path / "anonymous", dataclasses.replace(network))
    with pytest.raises(UserError) as excinfo:
        memorized_pieces(jm.load(tmp_path / "anonymous"))
    assert "records no sources" in one_line(excinfo)


def test_recall_scores_against_the_stored_piece_and_writes_midi(network, pieces, tmp_path):
    from jaxsnn_music.midi_io import read_piece

    recalled = jm.recall(network, "r001-bwv269")
    stored = pieces[0]
    assert recalled.title == TITLE and recalled.stored is not None and recalled.raster is None
    assert recalled.n_events == stored.n_events
    assert [t.chords() for t in recalled.tracks] == [t.chords() for t in stored.tracks]
    assert recalled.pitch_accuracy == 1.0 and len(recalled.scores) == 4
    assert recalled.summary["onset_weighted"] == 1.0
    # The MIDI file reads back as the recalled events, at the stored piece's tempo.
    back = read_piece(recalled.write_midi(tmp_path / "r001.mid"), network.config.encoding)
    assert [t.chords() for t in back.tracks] == [t.chords() for t in stored.tracks]
    # The dynamics can be swapped (here: the config's own, so nothing changes).
    from jaxsnn_music.recall.simulator import Recaller

    same = jm.recall(network, TITLE, recaller=Recaller.from_config(network.config))
    assert [t.chords() for t in same.tracks] == [t.chords() for t in recalled.tracks]
    fast = jm.recall(network, 0, pacemaker_hz=2 * network.config.recall.reference_hz)
    assert fast.timed.length_seconds == pytest.approx(recalled.timed.length_seconds / 2)
    assert [t.chords() for t in fast.piece.tracks] == [t.chords() for t in recalled.piece.tracks]


def test_recall_of_several_titles_and_at_recall_time_settings(network):
    every = jm.recall(network, network.titles)
    assert [r.title for r in every] == list(network.titles)
    assert all(r.pitch_accuracy == 1.0 for r in every)
    assert [r.title for r in jm.recall(network, [TITLE])] == [TITLE]
    with pytest.raises(ConfigError) as excinfo:
        jm.recall(network, TITLE, {"network.n_delays": 2})
    assert "network.n_delays is fixed" in one_line(excinfo)
    with pytest.raises(UserError) as excinfo:
        jm.recall(network, "no-such-piece")
    assert "unknown title 'no-such-piece'" in one_line(excinfo)
    for rate, message in [(float("nan"), "pacemaker_hz must be a finite number"),
                          (0, "pacemaker_hz must be > 0.01, got 0")]:
        with pytest.raises(ConfigError) as excinfo:  # checked as recall.pacemaker_hz is
            jm.recall(network, TITLE, pacemaker_hz=rate)
        assert one_line(excinfo).startswith(message)


def test_identify_a_midi_file_a_note_list_and_an_unknown_fragment(network, pieces, tmp_path):
    from jaxsnn_music.midi_io import write_midi
    from jaxsnn_music.recall.episodic import Fragment

    source = pieces[4]
    path = write_midi(source, tmp_path / "whole.mid", network.config.encoding)
    found = jm.identify(network, path, track=2)
    assert found.title == source.title and found.best.layer == 2 and found.best.column == 0
    melody = list(source.tracks[0].top_pitch()[10:20] - 1)  # NumPy integers do too
    found = jm.identify(network, melody)
    assert found.title == source.title and found.best.column == 10
    assert found.continuation.chords()[:4] == source.tracks[0].chords()[20:24]
    assert jm.identify(network, Fragment.from_track(source.tracks[3], 30, 8)).title == source.title
    unseen = jm.read_pieces("bach-chorales", limit=7)[-1]
    assert jm.identify(network, Fragment.from_track(unseen.tracks[0], 8, 12)).unknown
    with pytest.raises(UserError) as excinfo:
        jm.identify(network, [60, 200])
    assert "200" in one_line(excinfo)
    with pytest.raises(BadMidiError) as excinfo:
        jm.identify(network, tmp_path / "missing.mid")
    one_line(excinfo)


def test_save_and_load_keep_the_network_and_its_sources(network, tmp_path):
    folder = jm.save(tmp_path / "ckpt", network)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [e["source"] for e in manifest["corpus"]][:2] == ["r001", "r002"]
    loaded = jm.load(folder)
    assert eqx.tree_equal(loaded, network)
    recalled = jm.recall(loaded, TITLE)  # scored against the chorale, read again from music21
    assert recalled.stored is not None and recalled.pitch_accuracy == 1.0

    # A network made another way (here: changed by hand) saves its titles without sources.
    import dataclasses

    other = dataclasses.replace(network)
    jm.save(tmp_path / "anonymous", other)
    again = jm.load(tmp_path / "anonymous")
    assert again.titles == network.titles and jm.recall(again, TITLE).stored is None
    with pytest.raises(CheckpointError) as excinfo:
        jm.load(tmp_path / "missing")
    one_line(excinfo)


def test_evaluate_full_in_memory_and_to_files(network, tmp_path):
    settings = {"recall.fragment_lengths": "6", "recall.fragments_per_length": 2}
    unseen = jm.read_pieces("bach-chorales", limit=7)[-1:]
    result = jm.evaluate(network, "full", settings, held_out=unseen)
    assert result["tracks"]["pitch_weighted"] == 1.0 and result["tracks"]["tracks"] == 24
    episodic = result["episodic"]["summary"]
    assert episodic["memorized_fragments"] == episodic["held_out_fragments"] == 2
    assert episodic["top1"] == 1.0 and episodic["false_known_rate"] == 0.0
    written = jm.evaluate(network, "full", episodic=False, out=tmp_path / "eval")
    assert written["tracks"] == result["tracks"] and "episodic" not in written
    assert json.loads((tmp_path / "eval" / "full.json").read_text())["tracks"]["tracks"] == 24
    assert (tmp_path / "eval" / "full_tracks.csv").is_file()
    with pytest.raises(UserError) as excinfo:
        jm.evaluate(network, "no-such-protocol")
    assert "unknown protocol" in one_line(excinfo)
    with pytest.raises(UserError) as excinfo:
        jm.evaluate(network, "paper", {"recall.paper_pieces": 11})
    assert "paper_pieces" in one_line(excinfo)


def test_evaluate_paper_reads_the_memorized_chorales_again_as_melodies(network):
    result = jm.evaluate(network, "paper", {"recall.paper_runs": 1, "recall.paper_pieces": 2})
    run = result["runs"][0]
    assert set(run["memorized"]) <= set(network.titles) and len(run["memorized"]) == 2
    assert result["summary"]["mean_pitch_accuracy"] == 1.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: jm.memorize("no/such/folder"), CorpusError, "no such file or folder"),
    (lambda: jm.memorize("bach-chorales", "no-such-preset", limit=1), ConfigError, "unknown preset"),
    (lambda: jm.memorize("bach-chorales", overrides={"network.n_delays": 0}, limit=1),
     ConfigError, "network.n_delays"),
    (lambda: jm.memorize([]), CorpusError, "nothing to memorize"),
])
def test_user_errors_are_one_line(call, error, message):
    with pytest.raises(error) as excinfo:
        call()
    assert message in one_line(excinfo)


def test_an_empty_network_cannot_be_recalled():
    from jaxsnn_music.network import Network

    with pytest.raises(UserError) as excinfo:
        jm.recall(Network.empty(), 0)
    assert "records no config" in one_line(excinfo)
    assert np.asarray(Network.empty().track_lengths).size == 0
