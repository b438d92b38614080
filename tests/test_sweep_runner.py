"""The local runner: the engine's parameter sets, the ledger, crashes, resume, early stopping.

The trials here are small fake functions of the config: the point is the runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jaxsnn_music.sweep import (
    SweepError,
    check_sweep,
    read_ledger,
    report,
    run_local,
    trial_states,
)

GRID = {"method": "grid", "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"network.n_delays": {"values": [1, 2, 3]},
                       "network.lateral_inhibition": {"values": [True, False]},
                       "network.v_th": {"value": 5.0}}}


def score(cfg, params):
    return {"score": cfg.network.n_delays + (0.5 if cfg.network.lateral_inhibition else 0.0)}


def spec(tree=GRID):
    return check_sweep(tree, "test.yaml")


def trial_lines(ledger: Path) -> list[dict]:
    return [e for e in read_ledger(ledger) if e["event"] == "trial"]


def test_grid_runs_every_point_once(tmp_path):
    ledger = tmp_path / "l.jsonl"
    seen = []

    def trial(cfg, params):
        seen.append((cfg.network.n_delays, cfg.network.lateral_inhibition))
        assert params["network.v_th"] == 5.0 and cfg.network.v_th == 5.0
        return score(cfg, params)

    result = run_local(spec(), trial, ledger)
    assert sorted(seen) == sorted((d, i) for d in (1, 2, 3) for i in (True, False))
    assert result.exhausted and result.ran == 6 and result.count("finished") == 6
    lines = trial_lines(ledger)
    assert [e["status"] for e in lines] == ["running", "finished"] * 6
    done = lines[-1]
    assert set(done) >= {"params", "config", "metrics", "status", "wall_s", "time", "attempt"}
    assert done["config"]["network"]["n_delays"] == done["params"]["network.n_delays"]
    assert done["metrics"]["score"] == done["params"]["network.n_delays"] + (
        0.5 if done["params"]["network.lateral_inhibition"] else 0.0)
    # Running again: nothing left to do, nothing repeated.
    again = run_local(spec(), trial, ledger)
    assert again.ran == 0 and again.exhausted and len(seen) == 6


def test_random_is_seeded_in_range_and_capped_by_count(tmp_path):
    tree = {"method": "random", "parameters": {
        "network.a_plus": {"min": 0.5, "max": 2.0},
        "network.n_delays": {"min": 1, "max": 6},
        "network.stdp_timing": {"values": ["emission", "arrival"]}}}
    runs = []
    for name in ("a", "b"):
        run_local(spec(tree), lambda cfg, p: {"x": cfg.network.a_plus}, tmp_path / f"{name}.jsonl",
                  count=8)
        runs.append([s.params for s in trial_states(read_ledger(tmp_path / f"{name}.jsonl")).values()])
    assert runs[0] == runs[1] and len(runs[0]) == 8  # same seed, same suggestions
    for p in runs[0]:
        assert 0.5 <= p["network.a_plus"] <= 2.0 and isinstance(p["network.a_plus"], float)
        assert p["network.n_delays"] in range(1, 7) and isinstance(p["network.n_delays"], int)
        assert p["network.stdp_timing"] in ("emission", "arrival")
    assert len({p["network.a_plus"] for p in runs[0]}) == 8
    other = run_local(spec(tree), lambda cfg, p: {"x": 1.0}, tmp_path / "c.jsonl", count=3, seed=7)
    assert [s.params for s in other.states.values()] != runs[0][:3]
    with pytest.raises(SweepError, match="never ends by itself"):
        run_local(spec(tree), lambda cfg, p: {}, tmp_path / "d.jsonl")


def test_bayes_searches_towards_the_better_values(tmp_path):
    tree = {"method": "bayes", "metric": {"name": "score", "goal": "maximize"},
            "parameters": {"network.a_plus": {"min": 0.0, "max": 4.0}}}

    def peak(cfg, params):  # best at a_plus = 3
        return {"score": -(cfg.network.a_plus - 3.0) ** 2}

    result = run_local(spec(tree), peak, tmp_path / "b.jsonl", count=12)
    xs = [s.params["network.a_plus"] for s in result.states.values()]
    assert len(xs) == 12 and all(0.0 <= x <= 4.0 for x in xs)
    best = max(result.states.values(), key=lambda s: s.metrics["score"])
    assert abs(best.params["network.a_plus"] - 3.0) < 0.5
    # Later suggestions concentrate near the optimum (bayes uses the results).
    assert sum(abs(x - 3.0) < 1.0 for x in xs[6:]) >= 3


def test_a_crashing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    ledger = tmp_path / "l.jsonl"

    def flaky(cfg, params):
        if cfg.network.n_delays == 2:
            raise ValueError("no good\nsecond line")
        return score(cfg, params)

    result = run_local(spec(), flaky, ledger)
    assert result.count("finished") == 4 and result.count("crashed") == 2
    crashed = [s for s in result.states.values() if s.status == "crashed"]
    assert {s.error for s in crashed} == {"ValueError: no good"}
    assert all(s.params["network.n_delays"] == 2 for s in crashed)
    line = [e for e in trial_lines(ledger) if e["status"] == "crashed"][0]
    assert "Traceback" in line["traceback"] and line["wall_s"] >= 0
    # Crashed trials are done: a resume does not run them again.
    assert run_local(spec(), flaky, ledger).ran == 0


def test_keyboard_interrupt_then_resume_finishes_without_repeats(tmp_path):
    ledger = tmp_path / "l.jsonl"
    calls = []

    def interrupted_at_third(cfg, params):
        calls.append(dict(params))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return score(cfg, params)

    with pytest.raises(KeyboardInterrupt):
        run_local(spec(), interrupted_at_third, ledger)
    states = trial_states(read_ledger(ledger))
    assert [s.status for s in states.values()] == ["finished", "finished", "interrupted"]
    result = run_local(spec(), score_recorder := _Recorder(), ledger)
    # The interrupted trial is rerun first (same id and parameters, attempt 2), then the rest.
    assert score_recorder.calls[0] == calls[2]
    assert len(score_recorder.calls) == 4 and result.count("finished") == 6 and result.exhausted
    all_params = [json.dumps(s.params, sort_keys=True) for s in result.states.values()]
    assert len(set(all_params)) == 6
    assert result.states[2].attempt == 2
    finished_lines = [e for e in trial_lines(ledger) if e["status"] == "finished"]
    assert len(finished_lines) == 6  # no finished trial ever ran twice


class _Recorder:
    def __init__(self):
        self.calls = []

    def __call__(self, cfg, params):
        self.calls.append(dict(params))
        return score(cfg, params)


KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from jaxsnn_music.sweep import check_sweep, run_local
    tree = {tree!r}
    marker = Path({marker!r})

    def trial(cfg, params):
        if cfg.network.n_delays == 2 and not cfg.network.lateral_inhibition:
            marker.write_text("in the trial")
            time.sleep(120)
        return {{"score": float(cfg.network.n_delays)}}

    run_local(check_sweep(tree, "test.yaml"), trial, {ledger!r})
""")


@pytest.mark.parametrize("how", ["kill", "term"])
def test_killed_process_resumes(tmp_path, how):
    """SIGKILL leaves a 'running' line, SIGTERM an 'interrupted' one: both trials are rerun."""
    ledger, marker = tmp_path / "l.jsonl", tmp_path / "marker"
    script = KILLED.format(tree=GRID, marker=str(marker), ledger=str(ledger))
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "WANDB_MODE": "disabled"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the sweep never reached the slow trial"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode != 0
    before = trial_states(read_ledger(ledger))
    *done, last = before.values()
    assert done and all(s.status == "finished" for s in done)
    assert last.status == ("running" if how == "kill" else "interrupted")
    assert last.params["network.n_delays"] == 2 and not last.params["network.lateral_inhibition"]
    rerun = _Recorder()
    result = run_local(spec(), rerun, ledger)
    assert result.count("finished") == 6 and result.exhausted
    assert rerun.calls[0] == last.params and len(rerun.calls) == 6 - len(done)
    assert result.states[last.trial].attempt == 2
    sessions = [e for e in read_ledger(ledger) if e["event"] == "session"]
    assert len(sessions) == 2


def test_a_trial_interrupted_too_often_is_marked_crashed(tmp_path):
    ledger = tmp_path / "l.jsonl"

    def always_interrupted(cfg, params):
        raise KeyboardInterrupt

    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            run_local(spec(), always_interrupted, ledger)
    result = run_local(spec(), score, ledger, max_attempts=2)
    first = result.states[0]
    assert first.status == "crashed" and "interrupted 2 time(s)" in first.error
    assert result.count("finished") == 5


def test_count_caps_the_ledger_across_sessions(tmp_path):
    ledger = tmp_path / "l.jsonl"
    assert run_local(spec(), score, ledger, count=2).ran == 2
    assert run_local(spec(), score, ledger, count=2).ran == 0
    result = run_local(spec(), score, ledger, count=5)
    assert result.ran == 3 and len(result.states) == 5 and not result.exhausted


def test_ledger_of_another_sweep_is_refused_and_in_use_is_locked(tmp_path):
    ledger = tmp_path / "l.jsonl"
    run_local(spec(), score, ledger, count=1)
    other = {**GRID, "parameters": {**GRID["parameters"], "network.v_th": {"value": 4.0}}}
    with pytest.raises(SweepError, match="belongs to another sweep"):
        run_local(spec(other), score, ledger)

    def nested(cfg, params):  # a second runner on the same ledger while the first one holds it
        with pytest.raises(SweepError, match="another sweep runner is using this ledger"):
            run_local(spec(), score, ledger)
        return score(cfg, params)

    run_local(spec(), nested, ledger, count=2)


def test_torn_last_line_is_ignored(tmp_path):
    ledger = tmp_path / "l.jsonl"
    run_local(spec(), score, ledger, count=2)
    with ledger.open("a") as f:
        f.write('{"event": "trial", "trial": 2, "sta')  # a runner killed mid-write
    result = run_local(spec(), score, ledger, count=3)
    assert result.count("finished") == 3
    assert all(json.loads(line) for line in ledger.read_text().splitlines()[:-1] if '"sta' not in line)


def test_invalid_suggested_combination_is_a_crashed_trial(tmp_path):
    tree = {"method": "random", "parameters": {"network.capacitance": {"values": [0.2, 0.04]},
                                               "network.dt_ms": {"values": [0.1, 0.05]}}}
    result = run_local(spec(tree), lambda cfg, p: {"x": 1}, tmp_path / "l.jsonl", count=12)
    bad = [s for s in result.states.values()
           if s.params["network.capacitance"] == 0.04 and s.params["network.dt_ms"] == 0.1]
    assert bad and all(s.status == "crashed" and "tau_m" in s.error for s in bad)
    assert result.count("finished") == 12 - len(bad)


def test_hyperband_stops_a_trial_that_falls_behind(tmp_path):
    tree = {"method": "grid", "metric": {"name": "acc", "goal": "maximize"},
            "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2},
            "parameters": {"network.a_plus": {"values": [1.0, 2.0, 0.5]}}}
    steps_run = {}

    def stepwise(cfg, params):
        a = cfg.network.a_plus
        for step in range(6):
            steps_run[a] = step + 1
            report({"acc": a * (step + 1)})
        return {"acc": a * 6}

    result = run_local(spec(tree), stepwise, tmp_path / "l.jsonl")
    by_a = {s.params["network.a_plus"]: s for s in result.states.values()}
    assert by_a[1.0].status == "finished" and by_a[2.0].status == "finished"
    assert by_a[0.5].status == "stopped" and steps_run[0.5] < 6
    assert by_a[0.5].metrics["acc"] == 0.5 * steps_run[0.5]
    assert len(by_a[1.0].history) == 6
    report({"acc": 1.0})  # outside a trial: nothing happens


def test_non_dict_result_is_a_crash(tmp_path):
    result = run_local(spec(), lambda cfg, p: 0.5, tmp_path / "l.jsonl", count=1)
    assert "returned float, not a dict" in result.states[0].error
