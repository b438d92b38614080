"""The command line as a user sees it: tables, JSON, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jaxsnn_music.cli import main
from jaxsnn_music.corpus.sources import SELECTIONS


def run(*args):
    result = CliRunner().invoke(main, list(map(str, args)))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", [[], ["corpus"], ["corpus", "stats"], ["corpus", "fetch"], ["run"],
                                  ["memorize"], ["recall"], ["identify"], ["evaluate"], ["sweep"],
                                  ["tune"]])
def test_help_everywhere(args):
    code, out, _ = run(*args, "--help")
    assert code == 0 and "Usage:" in out


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "jaxsnn_music.cli", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("Usage: jaxsnn-music ")


@pytest.mark.parametrize("command", [["corpus", "stats"], ["run"], ["memorize"], ["sweep"]])
def test_selections_come_from_the_corpus_sources(command):
    """A selection added to jaxsnn_music.corpus.sources is offered by every corpus command."""
    cmd = main
    for name in command:
        cmd = cmd.commands[name]
    option = next(p for p in cmd.params if p.name == "selection")
    assert list(option.type.choices) == list(SELECTIONS)


@pytest.fixture()
def folder(tmp_path, corpus_root):
    for name in ["Albeniz/alb_esp1.mid", "Bach/bach_846.mid"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus_root / name, tmp_path / name)
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00")
    return tmp_path


def test_stats_table_reports_skips_and_exits_1(folder):
    code, out, err = run("corpus", "stats", folder, "--quiet", "--no-cache")
    assert code == 1
    assert "pieces                  2" in out and "ticks per beat          480" in out
    assert err.strip().splitlines() == ["skipped bad: truncated MIDI file (the header is cut short)"]
    assert "Traceback" not in out + err


def test_stats_json(folder):
    (folder / "bad.mid").unlink()
    code, out, _ = run("corpus", "stats", folder, "--json", "--quiet", "--preset", "paper")
    assert code == 0
    data = json.loads(out)
    assert data["preset"] == "paper" and data["summary"]["pieces"] == 2
    assert data["summary"]["tracks"] == 2 and data["summary"]["chords"] == 0
    assert {p["title"] for p in data["pieces"]} == {"Albeniz/alb_esp1", "Bach/bach_846"}
    assert data["summary"]["source_notes"] == 634 + 1284


@pytest.mark.parametrize("args,message", [
    (["--set", "encoding.tracks=none"], "error: encoding.tracks must be one of first, all, got 'none'"),
    (["--config", "/nonexistent.yaml"], "error: /nonexistent.yaml: config file not found"),
    (["/no/such/folder"], "error: /no/such/folder: no such folder"),
])
def test_user_errors_are_one_line(args, message):
    code, out, err = run("corpus", "stats", *args, "--quiet")
    assert code == 2 and err.strip() == message


def test_fetch_from_a_local_copy(tmp_path, corpus_root):
    dest = tmp_path / "piano-midi"
    code, out, err = run("corpus", "fetch", "--dest", dest, "--selection", "paper", "--quiet",
                         "--base-url", corpus_root.resolve().as_uri() + "/")
    assert code == 0, err
    assert "331 files: 331 downloaded" in out
    assert len(list(dest.rglob("*.mid"))) == 331
    code, out, _ = run("corpus", "fetch", "--dest", dest, "--selection", "paper", "--quiet",
                       "--base-url", corpus_root.resolve().as_uri() + "/")
    assert code == 0 and "331 already present" in out


def test_fetch_failure_exits_nonzero(tmp_path):
    code, out, err = run("corpus", "fetch", "--dest", tmp_path / "d", "--quiet", "--retries", "0",
                         "--base-url", (tmp_path / "empty").as_uri() + "/")
    assert code == 1 and err.count("failed ") == 337


@pytest.mark.slow
def test_main_job_on_the_embedded_corpus(tmp_path):
    """The README's main job, through the installed entry point (on 30 of the chorales)."""
    env = {**os.environ, "JAXSNN_MUSIC_CACHE": str(tmp_path / "cache")}
    exe = shutil.which("jaxsnn-music") or sys.executable
    cmd = [exe] if exe.endswith("jaxsnn-music") else [exe, "-m", "jaxsnn_music.cli"]
    out = subprocess.run(cmd + ["run", "--limit", "30", "--out", str(tmp_path / "run"), "--quiet"],
                         env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("1. memorized 30 pieces")
    assert "bach-chorales/r001-bwv269" in lines[1] and (tmp_path / "run/recalled.mid").exists()
    assert "unknown" not in lines[2]  # a fragment of a memorized piece is found
    scores = json.loads((tmp_path / "run/scores.json").read_text())
    assert scores["pitch_weighted"] == 1.0 and scores["tracks"] >= 4 * 30
    stats = subprocess.run(cmd + ["corpus", "stats", "--json", "--quiet"], env=env,
                           capture_output=True, text=True, timeout=600)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["summary"]["pieces"] == 371
