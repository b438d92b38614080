"""Hostile input (issue 16): one bad file never costs the good ones, and no run is silently
overwritten.

More than a hundred generated hostile MIDI files (:mod:`hostile_midi`) and the odd
entries a folder can hold (a folder named ``*.mid``, links that lead nowhere, a FIFO,
names that are not one printable line) go through the real ``jaxsnn-music memorize``
next to three good files: no traceback, every bad file named on stderr with its
reason in one line, every good (or repaired) file memorized, exit status 1. Then the
ends of a run: nothing usable (exit 2, no checkpoint), a second writer on the same
folder (refused; a killed one's lock taken over), and parser processes that must end
with their parent after ``kill -9``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from hostile_midi import ANY, CONFIG, good_files, hostile_cases
from jaxsnn_music import checkpoint
from jaxsnn_music.cli import main
from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.load import network_limits
from jaxsnn_music.errors import BadMidiError
from jaxsnn_music.midi_io import read_piece
from jaxsnn_music.run_lock import LOCK_FILE

SETS = [arg for value in CONFIG for arg in ("--set", value)]
CASES = hostile_cases()


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def outcome(case, cfg):
    """("refused", reason) or ("loaded", piece) of one case read as the loader reads it."""
    try:
        piece = read_piece(f"{case.name}.mid", cfg.encoding, title=case.name, data=case.data)
    except BadMidiError as exc:
        return "refused", exc.reason
    problem = network_limits(cfg).problem(piece)
    return ("refused", problem) if problem else ("loaded", piece)


def test_the_generator_covers_every_kind():
    assert len(CASES) >= 100 and len({c.name for c in CASES}) == len(CASES)
    kinds = {c.kind for c in CASES}
    for kind in ("truncated", "garbage", "header-format", "zero-tracks", "huge-chord",
                 "too-many-tracks", "too-many-notes", "absurd-tempo", "unknown-chunk",
                 "absurd-time-signature", "length-too-small", "length-too-large", "running-status",
                 "empty-tracks", "only-drums", "zero-length", "fuzz"):
        assert kind in kinds, kind
    assert hostile_cases() == CASES  # seeded: the same files every time


def test_every_case_is_refused_with_its_reason_or_loaded():
    cfg = load_config(overrides=CONFIG)
    for case in CASES:
        what, value = outcome(case, cfg)
        if case.refused == ANY:
            continue
        if case.refused is not None:
            assert what == "refused" and re.search(case.refused, value), (case.name, value)
            assert "\n" not in value and "unexpected" not in value, (case.name, value)
            continue
        assert what == "loaded", (case.name, value)
        warnings = value.warnings
        if case.warning is None:
            assert warnings == (), (case.name, warnings)
        else:
            assert any(re.search(case.warning, w) for w in warnings), (case.name, warnings)
        if case.notes is not None:
            assert sum(t.n_notes for t in value.tracks) == case.notes, case.name


def odd_entries(root: Path, good: bytes) -> dict[str, str]:
    """Entries a folder can hold besides MIDI files (and a title clash), each with the reason
    it must be skipped for; ``dup.mid`` (a good file) is memorized."""
    (root / "folder.mid").mkdir()
    (root / "dangling.mid").symlink_to(root / "nowhere.mid")
    (root / "loop.mid").symlink_to(root / "loop.mid")
    os.mkfifo(root / "pipe.mid")  # must not block the reader
    (root / "line\nbreak.mid").write_bytes(good)
    (root / "dup.mid").write_bytes(good)
    (root / "dup.midi").write_bytes(good)
    return {"folder.mid": "a folder, not a MIDI file", "dangling.mid": "a dangling symbolic link",
            "loop.mid": "a symbolic link loop", "pipe": r"a FIFO \(named pipe\), not a regular file",
            r"line\nbreak.mid": "a control character", "dup.midi": "the same title as dup.mid"}


def test_memorize_a_hostile_folder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in good_files().items():
        (corpus / f"{name}.mid").write_bytes(data)
    for case in CASES:
        (corpus / f"{case.name}.mid").write_bytes(case.data)
    odd = odd_entries(corpus, next(iter(good_files().values())))
    out = tmp_path / "run"

    code, stdout, stderr = run("memorize", "--corpus", corpus, "--out", out, "--quiet", *SETS)
    assert "Traceback" not in stdout + stderr
    assert code == 1, stderr[-3000:]
    lines = stderr.splitlines()
    skipped = {}
    for line in lines:
        assert line.startswith(("skipped ", "warning: ")), line
        if line.startswith("skipped "):
            title, reason = line[len("skipped "):].split(": ", 1)
            assert title not in skipped
            skipped[title] = reason
    network, _, manifest = checkpoint.restore(out)
    memorized = set(network.titles)
    expected = {*good_files(), "dup"}
    for case in CASES:
        if case.refused == ANY:
            assert (case.name in skipped) != (case.name in memorized), case.name
        elif case.refused is None:
            expected.add(case.name)
        else:
            assert re.search(case.refused, skipped.pop(case.name)), case.name
    for name, reason in odd.items():
        assert re.search(reason, skipped.pop(name)), name
    assert set(skipped) <= {c.name for c in CASES if c.refused == ANY}
    assert expected <= memorized and memorized - expected <= {c.name for c in CASES if c.refused == ANY}
    events = {p["title"]: sum(p["events"]) for p in manifest["corpus"]}
    assert all(events[name] > 0 for name in memorized)
    n_skipped = sum(line.startswith("skipped ") for line in lines)
    assert f"pieces            {len(memorized)} (skipped files: {n_skipped})" in stdout

    # The warnings of the repaired files: all of them, in the JSON of corpus stats.
    code, stdout, stderr = run("corpus", "stats", corpus, "--json", "--quiet", *SETS)
    assert code == 1 and "Traceback" not in stderr
    warnings: dict[str, list[str]] = {}
    for entry in json.loads(stdout)["warnings"]:
        warnings.setdefault(entry["title"], []).append(entry["warning"])
    for case in CASES:
        if case.refused is None and case.warning is not None:
            assert any(re.search(case.warning, w) for w in warnings.get(case.name, [])), case.name


def test_nothing_usable_exits_2_and_writes_no_checkpoint(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for case in [c for c in CASES if c.kind == "truncated"] * 3:
        (corpus / f"{case.name}-{len(list(corpus.iterdir()))}.mid").write_bytes(case.data)
    code, _, err = run("memorize", "--corpus", corpus, "--out", tmp_path / "run", "--quiet")
    assert code == 2 and not (tmp_path / "run").exists()
    assert err.splitlines()[-1] == "error: nothing usable: all 24 inputs were skipped (see above)"
    assert err.count("\n") == 25


HOLD_LOCK = """
import sys, time
from jaxsnn_music.run_lock import RunLock
lock = RunLock(sys.argv[1])
print("locked", flush=True)
time.sleep(600)
"""


def test_a_second_writer_is_refused_and_a_killed_ones_lock_is_taken_over(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in good_files().items():
        (corpus / f"{name}.mid").write_bytes(data)
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run("memorize", "--corpus", corpus, "--out", out, "--quiet")
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"error: {out} is in use by another memorize run (pid {holder.pid} on ")
        assert not (out / checkpoint.MARKER).exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    code, stdout, err = run("memorize", "--corpus", corpus, "--out", out, "--quiet")
    assert code == 0, err
    assert f"was locked by a run that did not finish (pid {holder.pid} on " in err
    assert "memorized 3 pieces" in stdout and (out / checkpoint.MARKER).exists()
    assert (out / LOCK_FILE).read_text() == ""  # released: the next run starts without a note
    code, stdout, err = run("memorize", "--corpus", corpus, "--out", out, "--quiet")
    assert code == 0 and err == "" and "already memorized" in stdout


PARSE_FOREVER = """
import sys
from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.load import load_corpus
from jaxsnn_music.corpus.sources import directory_items
load_corpus(directory_items(sys.argv[1]), load_config().encoding, cache=None, workers=2,
            progress=False)
"""


def is_worker(process: psutil.Process) -> bool:
    try:
        return "spawn_main" in " ".join(process.cmdline())
    except psutil.Error:  # it ended (or became a zombie) while we looked
        return False


def test_parser_processes_end_with_their_parent(tmp_path):
    import random

    from hostile_midi import good_piece

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(3)
    for k in range(400):  # long enough to be killed in the middle
        (corpus / f"p{k:03d}.mid").write_bytes(good_piece(rng, tracks=4, notes=150))
    parent = subprocess.Popen([sys.executable, "-c", PARSE_FOREVER, str(corpus)])
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and parent.poll() is None:
            workers = [p for p in psutil.Process(parent.pid).children() if is_worker(p)]
            if len(workers) == 2:
                break
            time.sleep(0.05)
        assert len(workers) == 2, "the parser processes did not start"
        time.sleep(1.0)
        assert parent.poll() is None, "parsing finished before the parent could be killed"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"{len(alive)} parser process(es) outlived their parent"
    finally:  # whatever happened, leave no process of this test behind
        if parent.poll() is None:
            parent.kill()
        for process in workers:
            try:
                process.kill()
            except psutil.Error:
                pass
        parent.wait()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_an_unreadable_subfolder_is_reported(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "locked").mkdir(parents=True)
    for name, data in good_files().items():
        (corpus / f"{name}.mid").write_bytes(data)
    (corpus / "locked" / "x.mid").write_bytes(next(iter(good_files().values())))
    os.chmod(corpus / "locked", 0)
    try:
        code, _, err = run("corpus", "stats", corpus, "--quiet", "--no-cache")
    finally:
        os.chmod(corpus / "locked", 0o755)
    assert code == 1 and err.strip() == "skipped locked: cannot list this folder (Permission denied)"
