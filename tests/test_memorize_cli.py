"""``jaxsnn-music memorize`` as a user runs it: the summary, resuming after ``kill -9``
(to the identical network), and one-line errors.

The corpus is the ten smallest files of piano-midi.de, learned with the paper
preset one piece per chunk, so that a run has many progress steps to be killed
between; the last test checks which steps a run keeps, on hand-made pieces.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from click.testing import CliRunner
from test_network_fixtures import make_piece, make_track

from jaxsnn_music import checkpoint
from jaxsnn_music.cli import main
from jaxsnn_music.config import load_config
from jaxsnn_music.errors import CheckpointError
from jaxsnn_music.resumable import PROGRESS, memorize_corpus, network_counts

ARGS = ["--preset", "paper", "--set", "memorize.chunk_pieces=1", "--quiet"]


def run(*args):
    result = CliRunner().invoke(main, ["memorize", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def short_corpus(tmp_path_factory, corpus_root) -> Path:
    """The ten smallest MIDI files of the corpus (a few dozen to 200 events each)."""
    files = sorted((p for p in corpus_root.rglob("*.mid") if "Christmas" not in p.parts),
                   key=lambda p: (p.stat().st_size, p.as_posix()))[:10]
    root = tmp_path_factory.mktemp("short-corpus")
    for f in files:
        target = root / f.relative_to(corpus_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, target)
    return root


def arrays(path):
    network, _, manifest = checkpoint.restore(path)
    return network, manifest, [np.asarray(x) for x in jax.tree_util.tree_leaves(network)]


def test_help():
    result = CliRunner().invoke(main, ["memorize", "--help"])
    assert result.exit_code == 0 and "--restart" in result.stdout


def test_kill_9_then_resume_gives_the_identical_network(short_corpus, tmp_path):
    killed = tmp_path / "killed"
    command = [sys.executable, "-c", "from jaxsnn_music.cli import main; main()", "memorize",
               "--corpus", str(short_corpus), "--out", str(killed), *ARGS]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first_step = killed / PROGRESS / "step_000001" / checkpoint.MARKER
    deadline = time.monotonic() + 120
    while not first_step.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert first_step.exists(), process.stderr.read().decode()[-2000:]
    assert not (killed / checkpoint.MARKER).exists(), "the run finished before it was killed"
    with pytest.raises(CheckpointError, match="a memorize run that has not finished"):
        checkpoint.restore(killed)
    # As if it had also been killed while writing a step: a newer step without its marker.
    newest = max((killed / PROGRESS).glob("step_*"))
    half_written = killed / PROGRESS / "step_000099"
    shutil.copytree(newest, half_written)
    (half_written / checkpoint.MARKER).unlink(missing_ok=True)
    # ... or while writing the result itself.
    (killed / checkpoint.MANIFEST).write_text("{")

    code, out, err = run("--corpus", short_corpus, "--out", killed, *ARGS)
    assert code == 0, err
    assert "(resumed after" in out and "memorized 10 pieces in 10 chunks" in out
    assert not (killed / PROGRESS).exists()

    fresh = tmp_path / "fresh"
    code, out, err = run("--corpus", short_corpus, "--out", fresh, *ARGS)
    assert code == 0 and "(fresh run)" in out, err
    net_a, manifest_a, a = arrays(killed)
    net_b, manifest_b, b = arrays(fresh)
    assert net_a.titles == net_b.titles and len(net_a.titles) == 10
    assert [x.dtype for x in a] == [y.dtype for y in b]
    assert all(x.shape == y.shape and x.tobytes() == y.tobytes() for x, y in zip(a, b))
    assert manifest_a["corpus"] == manifest_b["corpus"] and manifest_a["config"] == manifest_b["config"]

    # The summary's numbers are the network's.
    counts = network_counts(net_b, checkpoint.config_from_manifest(manifest_b))
    assert (f"neurons           {counts['neurons']:,} (columns per layer {counts['columns']} "
            f"x (129 + 64)") in out
    assert f"synapses          {counts['synapses']:,}\n" in out
    assert f"paper's measure   {2 * counts['columns'][0] + 10:,}" in out

    # A rerun of a finished run has nothing to do.
    code, out, _ = run("--corpus", short_corpus, "--out", fresh, *ARGS)
    assert code == 0 and "already memorized, nothing to do" in out


def test_another_corpus_or_config_is_refused_unless_restarted(short_corpus, tmp_path):
    out = tmp_path / "run"
    code, _, err = run("--corpus", short_corpus, "--limit", 2, "--out", out, *ARGS)
    assert code == 0, err
    code, _, err = run("--corpus", short_corpus, "--limit", 3, "--out", out, *ARGS)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {out} holds a run of another corpus (2 pieces, this one 3")
    assert "pick another output folder (--out) or start over (--restart)" in err
    code, _, err = run("--corpus", short_corpus, "--limit", 2, "--out", out, *ARGS,
                       "--set", "network.w_max=9")
    assert code == 2 and "another config (network.w_max: 9.0 here, 'inf' there)" in err
    code, stdout, err = run("--corpus", short_corpus, "--limit", 3, "--out", out, *ARGS, "--restart")
    assert code == 0 and "memorized 3 pieces in 3 chunks (fresh run)" in stdout, err


@pytest.mark.parametrize("args,message", [
    (["--set", "memorize.chunk_pieces=0"], "error: memorize.chunk_pieces must be >= 1, got 0"),
    (["--set", "network.tau=3"], "error: unknown config key 'network.tau'"),
    (["--corpus", "/no/such/folder"], "error: /no/such/folder: no such folder"),
])
def test_bad_input_is_one_line(args, message, tmp_path):
    code, out, err = run("--out", tmp_path / "out", "--quiet", *args)
    assert code == 2 and err.startswith(message) and err.count("\n") == 1, err


def test_out_with_other_files_is_never_touched(short_corpus, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = run("--corpus", short_corpus, "--limit", 1, "--out", tmp_path, *ARGS, "--restart")
    assert code == 2 and "holds files that are not a memorize run (notes.txt)" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_damaged_result_is_a_one_line_error(short_corpus, tmp_path):
    out = tmp_path / "run"
    assert run("--corpus", short_corpus, "--limit", 1, "--out", out, *ARGS)[0] == 0
    (out / checkpoint.MANIFEST).write_text("{}")
    code, _, err = run("--corpus", short_corpus, "--limit", 1, "--out", out, *ARGS)
    assert code == 2 and "damaged checkpoint (manifest.json" in err and err.count("\n") == 1


def test_progress_keeps_the_newest_steps(tmp_path):
    cfg = load_config(overrides={"network.segment_columns": 7, "network.batch_segments": 8,
                                 "memorize.chunk_pieces": 1, "memorize.keep_checkpoints": 2})
    pieces = [make_piece(f"p{i}", make_track([(60 + i,), (62,), (64 + i,)], [3, 3, 7])) for i in range(5)]
    seen = []
    memorize_corpus(pieces, cfg, tmp_path / "run", on_progress=lambda done, k, n: seen.append(
        (done, k, n, sorted(p.name for p in (tmp_path / "run" / PROGRESS).glob("step_*")))))
    assert seen == [(0, 0, 5, []), (1, 1, 5, ["step_000001"]),
                    (2, 2, 5, ["step_000001", "step_000002"]), (3, 3, 5, ["step_000002", "step_000003"]),
                    (4, 4, 5, ["step_000003", "step_000004"]), (5, 5, 5, ["step_000003", "step_000004"])]
    assert not (tmp_path / "run" / PROGRESS).exists()
    network, _, manifest = checkpoint.restore(tmp_path / "run")
    assert network.titles == tuple(f"p{i}" for i in range(5))
    assert manifest["run"] == {"pieces_done": 5, "chunks_done": 5, "chunks": 5}


def test_outputs_that_cannot_be_written_are_one_line(tmp_path):
    from conftest import make_midi

    make_midi(tmp_path / "c" / "a.mid", [[(0, 1, 60), (1, 2, 62)]])
    a_file = tmp_path / "a_file"
    a_file.write_text("in the way")
    for out, message in [(a_file / "run", "cannot create this folder (Not a directory)"),
                         (a_file, "exists and is not a folder")]:
        code, _, err = run("--corpus", tmp_path / "c", "--out", out, "--quiet")
        assert code == 2 and err.count("\n") == 1 and message in err, err
    assert a_file.read_text() == "in the way"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in every folder")
def test_a_read_only_out_is_one_line(tmp_path):
    from conftest import make_midi

    make_midi(tmp_path / "c" / "a.mid", [[(0, 1, 60), (1, 2, 62)]])
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o555)
    try:
        code, _, err = run("--corpus", tmp_path / "c", "--out", tmp_path / "ro", "--quiet")
    finally:
        os.chmod(tmp_path / "ro", 0o755)
    assert code == 2 and err.count("\n") == 1 and "Permission denied" in err, err
