"""recall / identify / evaluate as a user runs them: a checkpoint on disk, files out."""

from __future__ import annotations

import json

import pretty_midi
import pytest
from click.testing import CliRunner

from conftest import make_midi
from jaxsnn_music.cli import main
from jaxsnn_music.config import load_config
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.network import Network, grow

SETTINGS = ["--set", "recall.chunk_columns=16", "--set", "recall.batch_units=4"]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def scale(pitches, start=0.0, step=0.5):
    return [(start + i * step, start + (i + 1) * step, p) for i, p in enumerate(pitches)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from jaxsnn_music.checkpoint import corpus_manifest, save

    root = tmp_path_factory.mktemp("recall-cli")
    cfg = load_config("default", overrides={"recall.chunk_columns": 16, "recall.batch_units": 4,
                                            "recall.fragment_lengths": "4,6",
                                            "recall.fragments_per_length": 2,
                                            "recall.paper_runs": 2, "recall.paper_pieces": 2})
    melodies = {"tune_a": [60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69],
                "tune_b": [55, 57, 59, 60, 59, 57, 55, 54, 55, 50, 52, 55],
                "tune_c": [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64]}
    files = {t: make_midi(root / "corpus" / f"{t}.mid", [scale(m), scale([m[0] - 12] * 4, step=1.5)])
             for t, m in melodies.items()}
    pieces = [read_piece(path, cfg.encoding, title=t) for t, path in files.items()]
    network = grow(Network.empty(), pieces, cfg)
    save(root / "ckpt", network, cfg, corpus_manifest(pieces))
    unseen = make_midi(root / "held" / "other.mid", [scale([61, 66, 63, 68, 70, 58, 61, 66])])
    fragment = make_midi(root / "fragment.mid", [scale([65, 67, 69, 71, 72])])
    return {"root": root, "ckpt": root / "ckpt", "unseen": unseen, "fragment": fragment}


def test_recall_writes_midi_at_the_pacemaker_rate(checkpoint, tmp_path):
    code, out, err = run("recall", "--checkpoint", checkpoint["ckpt"], "--title", "tune_a",
                         "--out", tmp_path / "a.mid", *SETTINGS)
    assert code == 0, err
    assert "recalled tune_a: 16 events in 2 track(s)" in out
    assert "track 0: 12 events, pitch 100.0%, duration 100.0%, onset 100.0%" in out
    code, out, err = run("recall", "--checkpoint", checkpoint["ckpt"], "--title", "tune_a",
                         "--pacemaker-hz", 32, "--out", tmp_path / "fast.mid", *SETTINGS)
    assert code == 0, err
    slow = pretty_midi.PrettyMIDI(str(tmp_path / "a.mid"))
    fast = pretty_midi.PrettyMIDI(str(tmp_path / "fast.mid"))
    assert fast.get_end_time() == pytest.approx(slow.get_end_time() / 2, rel=0.01)
    assert [n.pitch for n in fast.instruments[0].notes] == [n.pitch for n in slow.instruments[0].notes]


@pytest.mark.parametrize("args,message", [
    (["recall", "--title", "nope", "--out", "x.mid"], "error: unknown title 'nope'"),
    (["identify", "--notes", "r r"], "error: the fragment has no notes"),
    (["identify", "--notes", "60 x"], "error: --notes: 'x' is not a MIDI note number"),
])
def test_user_errors_are_one_line(checkpoint, args, message):
    code, out, err = run(args[0], "--checkpoint", checkpoint["ckpt"], *args[1:])
    assert code == 2 and err.startswith(message) and err.count("\n") == 1


def test_identify_json(checkpoint):
    code, out, err = run("identify", "--checkpoint", checkpoint["ckpt"], "--fragment",
                         checkpoint["fragment"], "--json", *SETTINGS)
    assert code == 0, err
    data = json.loads(out)
    assert data["title"] == "tune_a" and data["unknown"] is False and data["score"] == 1.0
    assert data["position"] == {"track": 0, "column": 3} and data["ties"] == []
    assert [e["pitches"] for e in data["continuation"]] == [[74], [72], [71], [69]]
    code, out, _ = run("identify", "--checkpoint", checkpoint["ckpt"], "--fragment",
                       checkpoint["unseen"], "--json", *SETTINGS)
    data = json.loads(out)
    assert code == 0 and data["unknown"] is True and data["title"] is None
    code, out, _ = run("identify", "--checkpoint", checkpoint["ckpt"], "--notes",
                       "64 64 65 67", *SETTINGS)
    assert code == 0 and out.startswith("tune_c: score 1.00, track 0, event 0")


def test_evaluate_full_and_paper(checkpoint, tmp_path):
    out = tmp_path / "full"
    code, stdout, err = run("evaluate", "--checkpoint", checkpoint["ckpt"], "--out", out,
                            "--held-out", checkpoint["root"] / "held", "--quiet")
    assert code == 0, err
    assert "full protocol: 6 tracks" in stdout and "pitch 100.00%" in stdout
    data = json.loads((out / "full.json").read_text())
    assert data["tracks"]["pitch_weighted"] == 1.0
    assert data["episodic"]["summary"]["false_known_rate"] == 0.0
    assert all(r["notes_identical"] for r in data["tempo"]["rates"])
    for name in ("full_tracks.csv", "episodic.csv", "episodic_by_length.csv", "tempo.csv",
                 "full_tracks.png", "episodic.png", "tempo.png"):
        assert (out / name).stat().st_size > 0, name
    out = tmp_path / "paper"
    code, stdout, err = run("evaluate", "--checkpoint", checkpoint["ckpt"], "--out", out,
                            "--protocol", "paper", "--quiet")
    assert code == 0, err
    assert "paper protocol: 2 recalls, mean pitch accuracy 100.00%" in stdout
    assert (out / "paper.png").stat().st_size > 0 and (out / "paper_runs.csv").exists()
    out = tmp_path / "capacity"
    code, stdout, err = run("evaluate", "--checkpoint", checkpoint["ckpt"], "--out", out,
                            "--protocol", "capacity", "--quiet", "--set", "recall.capacity_sizes=1,3")
    assert code == 0, err
    assert stdout.splitlines()[0].startswith("    1 pieces: pitch 100.00%")
    assert json.loads((out / "capacity.json").read_text())["sizes"][1]["pieces"] == 3


@pytest.mark.parametrize("value,message", [
    ("nan", "must be a finite number > 0.01 and <= 10000, got nan"),
    ("inf", "must be a finite number > 0.01 and <= 10000, got inf"),
    ("1e-6", "must be > 0.01, got 1e-06"),
    ("1e300", "must be <= 10000, got 1e+300"),
    ("-5", "must be > 0.01, got -5"),
])
def test_pacemaker_rates_are_checked_like_config_values(checkpoint, tmp_path, value, message):
    code, _, err = run("recall", "--checkpoint", checkpoint["ckpt"], "--title", "tune_a",
                       "--out", tmp_path / "a.mid", "--pacemaker-hz", value)
    assert code == 2 and err.startswith(f"error: --pacemaker-hz {message}") and err.count("\n") == 1
    assert not (tmp_path / "a.mid").exists()


@pytest.mark.parametrize("args", [
    ["recall", "--title", "tune_a", "--out", "x.mid"], ["identify", "--notes", "60 62"],
    ["evaluate", "--out", "results"]])
@pytest.mark.parametrize("key,value", [("network.n_delays", "5"),
                                       ("encoding.n_duration_classes", "32"),
                                       ("memorize.chunk_pieces", "2")])
def test_learned_keys_cannot_change_at_recall(checkpoint, tmp_path, args, key, value):
    code, _, err = run(args[0], "--checkpoint", checkpoint["ckpt"], *args[1:], "--set",
                       f"{key}={value}")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {key} is fixed when a network is memorized"), err
    assert not (tmp_path / "x.mid").exists()


def test_outputs_that_cannot_be_written_are_one_line(checkpoint, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("in the way")
    for args, message in [
        (["recall", "--title", "tune_a", "--out", a_file / "x.mid"],
         f"cannot make its folder ({a_file} is not a folder)"),
        (["recall", "--title", "tune_a", "--out", tmp_path], "is a directory"),
        (["evaluate", "--out", a_file / "results"], f"cannot make its folder ({a_file} is not a folder)"),
        (["evaluate", "--out", a_file], "is a file"),
        (["tune", "--out", a_file / "tuned"], f"cannot make its folder ({a_file} is not a folder)"),
    ]:
        code, _, err = run(args[0], "--checkpoint", checkpoint["ckpt"], *args[1:])
        assert code == 2 and err.count("\n") == 1 and message in err, (args, err)
        assert "Traceback" not in err


def test_an_unreadable_checkpoint_file_is_one_line(checkpoint, tmp_path, monkeypatch):
    from jaxsnn_music import checkpoint as checkpoint_module

    real = checkpoint_module._sha256

    def unreadable(path):
        if path.name == "manifest.json":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(checkpoint_module, "_sha256", unreadable)
    code, _, err = run("recall", "--checkpoint", checkpoint["ckpt"], "--title", "tune_a",
                       "--out", tmp_path / "a.mid")
    assert code == 2 and err == (f"error: {checkpoint['ckpt']}: cannot read manifest.json "
                                 "(Permission denied)\n")


@pytest.fixture(scope="module")
def chorale_checkpoint(tmp_path_factory):
    """Two Bach chorales memorized by the command line: their sources are music21's
    chorales, not MIDI files."""
    root = tmp_path_factory.mktemp("chorale-cli")
    code, _, err = run("memorize", "--selection", "bach-chorales", "--limit", 2, "--out",
                       root / "ckpt", "--quiet")
    assert code == 0, err
    make_midi(root / "held" / "other.mid", [scale([61, 66, 63, 68, 70, 58, 61, 66])])
    return root


def test_a_chorale_checkpoint_is_scored(chorale_checkpoint, tmp_path):
    """recall read every source as a MIDI file, so a chorale was never scored; evaluate
    skipped every chorale and stopped with 'nothing usable'."""
    ckpt = chorale_checkpoint / "ckpt"
    code, out, err = run("recall", "--checkpoint", ckpt, "--title", "r001-bwv269",
                         "--out", tmp_path / "r001.mid", *SETTINGS)
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].startswith("recalled bach-chorales/r001-bwv269: ")
    assert [line.split(":")[0] for line in lines[1:]] == [f"track {k}" for k in range(4)]
    assert all("pitch 100.0%, duration 100.0%, onset 100.0%" in line for line in lines[1:])
    # The command is the API's recall: the same file from a notebook.
    import jaxsnn_music as jm

    recalled = jm.recall(jm.load(ckpt), "r001-bwv269", SETTINGS[1::2])
    assert recalled.write_midi(tmp_path / "api.mid").read_bytes() == (tmp_path / "r001.mid").read_bytes()
    code, out, err = run("evaluate", "--checkpoint", ckpt, "--out", tmp_path / "full", "--quiet",
                         "--held-out", chorale_checkpoint / "held", *SETTINGS,
                         "--set", "recall.fragment_lengths=4", "--set", "recall.fragments_per_length=1")
    assert code == 0, err
    assert out.startswith("full protocol: 8 tracks") and "pitch 100.00%" in out


@pytest.fixture()
def own_checkpoint(tmp_path):
    """Two tunes memorized (through the API) from MIDI files this test may delete or change."""
    import jaxsnn_music as jm

    for title, pitches in [("tune_a", [60, 62, 64, 65, 67, 69]), ("tune_b", [55, 57, 59, 60, 59, 57])]:
        make_midi(tmp_path / "corpus" / f"{title}.mid", [scale(pitches)])
    jm.save(tmp_path / "ckpt", jm.memorize(tmp_path / "corpus", overrides=SETTINGS[1::2]))
    return tmp_path


def test_a_source_gone_or_changed_is_one_line_and_not_scored(own_checkpoint, tmp_path):
    ckpt, source = own_checkpoint / "ckpt", own_checkpoint / "corpus" / "tune_a.mid"
    source.unlink()
    code, out, err = run("recall", "--checkpoint", ckpt, "--title", "tune_a", "--out", tmp_path / "a.mid")
    assert code == 0 and out.startswith("recalled tune_a: 6 events in 1 track(s)")
    assert "track 0" not in out
    assert err.splitlines() == [
        "warning: skipped tune_a: cannot read file (no such file)",
        "(the memorized piece cannot be read again: written at 120 qpm, 480 ticks per beat, "
        "no scores)"]
    # Another file in its place: the recall is not scored against it.
    make_midi(source, [scale([60, 62, 64, 65, 67, 70])])
    code, out, err = run("recall", "--checkpoint", ckpt, "--title", "tune_a", "--out", tmp_path / "a.mid")
    assert code == 0 and "track 0" not in out
    assert err.splitlines()[0] == f"warning: skipped tune_a: {source} changed since it was memorized"
    # evaluate goes on with the others, names the one left out and exits with 1.
    code, out, err = run("evaluate", "--checkpoint", ckpt, "--out", tmp_path / "full", "--quiet",
                         "--held-out", own_checkpoint / "corpus", "--set", "recall.fragment_lengths=4",
                         "--set", "recall.fragments_per_length=1")
    assert code == 1 and out.startswith("full protocol: 1 tracks"), err
    assert err.splitlines() == [f"skipped tune_a: {source} changed since it was memorized"]
