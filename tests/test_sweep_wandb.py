"""W&B around sweeps: offline files per trial, nothing when disabled, and the wandb
backend refusing at once (one line, no waiting) without login or network."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner

from jaxsnn_music.cli import main
from jaxsnn_music.sweep import SweepError, check_sweep, run_local
from jaxsnn_music.sweep.wandb_backend import preflight

TREE = {"method": "grid", "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"network.n_delays": {"values": [1, 2]}}}


def score(cfg, params):
    return {"score": float(cfg.network.n_delays)}


def test_offline_runs_are_written_per_trial(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    t0 = time.monotonic()
    result = run_local(check_sweep(TREE, "t.yaml"), score, tmp_path / "l.jsonl",
                       wandb_dir=tmp_path / "wb", project="test-project")
    assert result.count("finished") == 2
    runs = sorted((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
    assert all(list(run.glob("run-*.wandb")) for run in runs)
    assert time.monotonic() - t0 < 60  # offline: never waits on a server


@pytest.mark.parametrize("how", ["env", "argument"])
def test_disabled_writes_no_wandb_files(tmp_path, monkeypatch, how):
    monkeypatch.setenv("WANDB_MODE", "disabled" if how == "env" else "offline")
    run_local(check_sweep(TREE, "t.yaml"), score, tmp_path / "l.jsonl", wandb_dir=tmp_path / "wb",
              wandb_mode="disabled" if how == "argument" else "offline")
    assert not (tmp_path / "wb").exists()
    assert (tmp_path / "l.jsonl").exists()


def test_wandb_backend_refuses_offline_mode(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    with pytest.raises(SweepError, match="needs the W&B server, but WANDB_MODE=offline"):
        preflight()


def test_wandb_backend_refuses_without_login(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.raises(SweepError, match="not logged in to W&B"):
        preflight()


def test_wandb_backend_refuses_unreachable_server_quickly(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    t0 = time.monotonic()
    with pytest.raises(SweepError, match="cannot reach the W&B server 127.0.0.1:9"):
        preflight(timeout=2.0)
    assert time.monotonic() - t0 < 5


def test_cli_wandb_backend_one_line_error(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(TREE))
    result = CliRunner().invoke(main, ["sweep", str(path), "--backend", "wandb", "--count", "1"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: not logged in")
    assert "Traceback" not in result.output


class FakeRun:
    def __init__(self, config):
        self.config, self.logged, self.summary, self.exit_code = config, [], {}, None

    def log(self, metrics):
        self.logged.append(metrics)

    def finish(self, exit_code=0):
        self.exit_code = exit_code


class FakeWandb:
    """Stands in for the W&B server: one sweep, an agent that calls the function per run."""

    def __init__(self, configs):
        self.configs, self.runs, self.created = list(configs), [], None

    def sweep(self, sweep, project=None, entity=None):
        self.created = (sweep, project, entity)
        return "abc123"

    def agent(self, sweep_id, function, project=None, entity=None, count=None):
        for config in self.configs[:count]:
            self._next = config
            function()

    def init(self):
        self.runs.append(FakeRun(self._next))
        return self.runs[-1]


def test_wandb_backend_agent_runs_trials_with_a_fake_server(monkeypatch):
    import sys

    from jaxsnn_music.sweep import report, run_wandb
    from jaxsnn_music.sweep import wandb_backend

    fake = FakeWandb([{"network.n_delays": 2}, {"network": {"n_delays": 3}}, {"network.n_delays": 0}])
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setattr(wandb_backend, "preflight", lambda: None)

    def trial(cfg, params):
        report({"step": 1.0})
        if cfg.network.n_delays == 3:
            raise RuntimeError("boom")
        return score(cfg, params)

    lines = []
    spec = check_sweep(TREE, "t.yaml")
    assert run_wandb(spec, trial, project="p", count=3, echo=lines.append) == "abc123"
    assert fake.created == (spec.wandb_config(), "p", None) and lines == ["sweep p/abc123"]
    ok, crashed, invalid = fake.runs
    assert ok.logged == [{"step": 1.0}, {"score": 2.0}] and ok.exit_code == 0
    assert crashed.exit_code == 1 and crashed.summary["error"] == "boom"  # nested keys flattened
    assert invalid.exit_code == 1 and "n_delays must be > 0" in invalid.summary["error"]
