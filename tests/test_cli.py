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


@pytest.mark.parametrize("args,message", [
    (["memorize"], "error: Missing option '--out'. (see jaxsnn-music memorize --help)"),
    (["memorize", "--out", "x", "--limit", "0"], "error: Invalid value for '--limit': 0 is not in "
                                                 "the range x>=1. (see jaxsnn-music memorize --help)"),
    (["corpus", "fetch", "--timeout", "nan"], "error: Invalid value for '--timeout': 'nan' is not a "
                                              "finite number. (see jaxsnn-music corpus fetch --help)"),
    (["corpus", "fetch", "--timeout", "inf"], "error: Invalid value for '--timeout': 'inf' is not a "
                                              "finite number. (see jaxsnn-music corpus fetch --help)"),
    (["nosuch"], "error: No such command 'nosuch'. (see jaxsnn-music --help)"),
])
def test_usage_errors_are_one_line(args, message):
    result = CliRunner().invoke(main, args, prog_name="jaxsnn-music")
    assert result.exit_code == 2 and result.stderr == message + "\n" and result.stdout == ""


def test_nothing_usable_exits_2(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"MThd")
    (tmp_path / "b.mid").write_bytes(b"not midi")
    code, out, err = run("corpus", "stats", tmp_path, "--quiet", "--no-cache")
    assert code == 2 and out == ""
    assert err.splitlines() == ["skipped a: truncated MIDI file (the header is cut short)",
                                "skipped b: not a MIDI file (no MThd header)",
                                "error: nothing usable: all 2 inputs were skipped (see above)"]


def test_a_misspelled_sweep_metric_is_refused_before_any_trial(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("method: grid\nmetric: {name: pitch_acuracy, goal: maximize}\n"
                     "parameters: {network.n_delays: {values: [2, 3]}}\n")
    code, out, err = run("sweep", str(sweep), "--no-wandb", "--ledger", tmp_path / "l.jsonl")
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "l.jsonl").exists()
    assert err.startswith(f"error: {sweep}: metric 'pitch_acuracy' is not reported by the trials")
    assert err.rstrip().endswith("did you mean 'pitch_accuracy'?")
    sweep.write_bytes(b"\xff\xfe\x00binary")
    code, _, err = run("sweep", str(sweep), "--no-wandb")
    assert code == 2 and err == f"error: {sweep}: not a UTF-8 text file (a sweep file is YAML text)\n"


def test_the_sweep_metric_names_are_those_sweep_metrics_returns():
    """The CLI checks metric names against RECALL_METRICS; it must list what the evaluation
    returns (read from its source, so no network is learned here)."""
    import ast
    import inspect

    from jaxsnn_music.cli.sweep import RECALL_METRICS
    from jaxsnn_music.evaluate import protocols

    tree = ast.parse(inspect.getsource(protocols.sweep_metrics))
    returned = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Return))
    assert tuple(key.value for key in returned.keys) == RECALL_METRICS
