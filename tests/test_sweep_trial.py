"""The default trial (memorize, shared networks, piece selection), the CLI's local
backend end to end, and the ablation report made from its ledger."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import make_midi

from jaxsnn_music.cli import main
from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.sources import directory_items
from jaxsnn_music.sweep import (
    DefaultTrial,
    NetworkCache,
    SweepError,
    check_sweep,
    learning_fingerprint,
    read_ledger,
    run_local,
)
from jaxsnn_music.sweep import trial as trial_module

REPO = Path(__file__).resolve().parents[1]
# Small segments and batches: the compiled learning scan is shared with nothing else, so
# keep it cheap; every trial below has the same learning shapes (one compilation).
SMALL = {"network.segment_columns": 8, "network.batch_segments": 4}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("midi")
    rng = np.random.default_rng(3)
    for i in range(5):
        pitches = rng.integers(55, 80, 10)
        make_midi(root / f"piece{i}.mid", [[(k * 0.5, k * 0.5 + 0.5, int(p)) for k, p in enumerate(pitches)]])
    return root


@pytest.fixture()
def no_recall(monkeypatch):
    monkeypatch.setattr(trial_module, "recall_evaluator", lambda: None)


def sweep(params: dict, method="grid", metric="synapses"):
    tree = {"method": method, "metric": {"name": metric, "goal": "maximize"},
            "parameters": {**{k: {"value": v} for k, v in SMALL.items()}, **params}}
    return check_sweep(tree, "t.yaml")


def test_learning_fingerprint_ignores_recall_settings():
    base = load_config()
    same = load_config(overrides={"network.facilitation_sequential": 0.0, "recall.readout": "rate",
                                  "network.title_current_recall": 12.0})
    assert learning_fingerprint(base) == learning_fingerprint(same)
    assert learning_fingerprint(base) != learning_fingerprint(load_config(overrides={"network.n_delays": 3}))
    assert learning_fingerprint(base) != learning_fingerprint(load_config("paper"))


def test_recall_only_changes_reuse_the_network(tmp_path, corpus, no_recall):
    trial = DefaultTrial(directory_items(corpus), parse_cache=None)
    spec = sweep({"trial.pieces": {"value": 3},
                  "network.facilitation_sequential": {"values": [0.2, 0.0]},
                  "recall.readout": {"values": ["first", "rate"]}})
    result = run_local(spec, trial, tmp_path / "l.jsonl")
    states = list(result.states.values())
    assert [s.status for s in states] == ["finished"] * 4
    assert [s.metrics["network_reused"] for s in states] == [False, True, True, True]
    assert len({s.metrics["synapses"] for s in states}) == 1
    first = states[0].metrics
    assert first["pieces"] == first["titles"] == 3 and first["events"] == 30
    assert first["synapses"] > 0 and first["goal_links"] > 0 and first["memorize_s"] > 0
    assert set(trial_module.MEMORIZE_METRICS) <= set(first)


def test_networks_are_restored_from_disk(tmp_path, corpus, no_recall):
    cfg = load_config(overrides=SMALL)
    params = {"trial.pieces": 2}
    first = DefaultTrial(directory_items(corpus), parse_cache=None,
                         network_cache=NetworkCache(tmp_path / "nets"))
    a = first(cfg, params)
    second = DefaultTrial(directory_items(corpus), parse_cache=None,
                          network_cache=NetworkCache(tmp_path / "nets"))
    b = second(cfg, params)
    assert not a["network_reused"] and b["network_reused"]
    assert a["synapses"] == b["synapses"] and a["goal_links"] == b["goal_links"]
    assert len(list((tmp_path / "nets").iterdir())) == 1


def test_piece_selection(corpus):
    trial = DefaultTrial(directory_items(corpus), parse_cache=None)
    cfg = load_config()
    titles = lambda params: [p.title for p in trial.pieces(cfg, params)]  # noqa: E731
    assert titles({}) == [f"piece{i}" for i in range(5)]
    assert titles({"trial.pieces": 2}) == ["piece0", "piece1"]
    seeded = titles({"trial.pieces": 4, "trial.seed": 1})
    assert titles({"trial.pieces": 2, "trial.seed": 1}) == seeded[:2]  # nested subsets
    assert titles({"trial.pieces": 4, "trial.seed": 2}) != seeded
    with pytest.raises(SweepError, match="trial.pieces=9, but the corpus has only 5 usable pieces"):
        trial.pieces(cfg, {"trial.pieces": 9})


def test_unreadable_files_are_skipped_and_replaced(tmp_path, corpus):
    import shutil

    root = tmp_path / "c"
    shutil.copytree(corpus, root)
    (root / "piece0.mid").write_bytes(b"MThd\x00")
    lines = []
    trial = DefaultTrial(directory_items(root), parse_cache=None, echo=lines.append)
    assert [p.title for p in trial.pieces(load_config(), {"trial.pieces": 2})] == ["piece1", "piece2"]
    assert lines and "piece0" in lines[0]


def test_recall_metric_without_recall_is_refused_up_front(corpus, no_recall):
    spec = sweep({"trial.pieces": {"value": 2}}, metric="episodic_accuracy")
    trial = DefaultTrial(directory_items(corpus), metric=spec.metric, parse_cache=None)
    with pytest.raises(SweepError, match="metric 'episodic_accuracy' comes from recall evaluation"):
        trial.check(spec)
    with pytest.raises(SweepError, match="needs jaxsnn_music.recall"):
        trial(load_config(overrides=SMALL), {"trial.pieces": 2})
    DefaultTrial(directory_items(corpus), metric="synapses").check(spec)  # memorize metrics are fine


def test_recall_scores_are_merged_when_recall_exists(corpus, monkeypatch):
    seen = {}

    def evaluate(network, pieces, cfg):
        seen["titles"] = network.n_titles
        return {"pitch_accuracy": 1.0}

    monkeypatch.setattr(trial_module, "recall_evaluator", lambda: evaluate)
    trial = DefaultTrial(directory_items(corpus), metric="pitch_accuracy", parse_cache=None)
    metrics = trial(load_config(overrides=SMALL), {"trial.pieces": 2})
    assert metrics["pitch_accuracy"] == 1.0 and seen["titles"] == 2


def test_cli_local_sweep_and_ablation_report(tmp_path, corpus, monkeypatch, no_recall):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "method": "grid", "metric": {"name": "synapses", "goal": "maximize"},
        "parameters": {**{k: {"value": v} for k, v in SMALL.items()},
                       "trial.pieces": {"values": [2, 3, 99]},
                       "network.facilitation_goal": {"values": [0.5, 0.25]}}}))
    ledger = tmp_path / "out" / "l.jsonl"
    args = ["sweep", str(path), "--backend", "local", "--corpus", str(corpus), "--ledger", str(ledger)]
    result = CliRunner().invoke(main, args + ["--count", "2"])
    assert result.exit_code == 0, result.output
    assert "2 trial(s) run; ledger has 2: 2 finished (more to run)" in result.stdout
    result = CliRunner().invoke(main, args)
    # The two trials of 99 pieces crash (one line each), the others finish; exit code 1.
    assert result.exit_code == 1, result.output
    assert "ledger has 6: 4 finished, 2 crashed (grid complete)" in result.stdout
    assert "trial.pieces=99, but the corpus has only 5 usable pieces" in result.stderr
    assert "Traceback" not in result.output
    trials = [e for e in read_ledger(ledger) if e["event"] == "trial"]
    assert len([e for e in trials if e["status"] == "finished"]) == 4

    report = tmp_path / "report"
    done = subprocess.run([sys.executable, str(REPO / "experiments" / "ablations.py"), str(ledger),
                           "--out", str(report), "--group", "network.facilitation_goal"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = (report / "ablation.md").read_text()
    assert "`trial.pieces`" in table and "mean synapses" in table and "## Crashed trials" in table
    rows = list(csv.DictReader((report / "ablation.csv").open()))
    assert {r["parameter"] for r in rows} == {"trial.pieces", "network.facilitation_goal"}
    pieces = {r["value"]: float(r["mean"]) for r in rows if r["parameter"] == "trial.pieces"}
    assert pieces["3"] > pieces["2"]  # more pieces, more synapses
    assert len(list(csv.DictReader((report / "trials.csv").open()))) == 4
    assert (report / "trial.pieces.png").stat().st_size > 1000


def test_cli_refuses_bad_sweep_in_one_line(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"method": "grid", "parameters": {"network.n_dleays": {"values": [1]}}}))
    result = CliRunner().invoke(main, ["sweep", str(path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "unknown config key 'network.n_dleays'" in result.stderr
    path.write_text(yaml.safe_dump({"method": "random",
                                    "parameters": {"network.a_plus": {"min": 0.5, "max": 1.0}}}))
    result = CliRunner().invoke(main, ["sweep", str(path)])
    assert result.exit_code == 2 and "never ends by itself: give --count N" in result.stderr
