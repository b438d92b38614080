"""Sweep files: the shipped ones are valid, bad ones are refused with one clear line."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest
import yaml

from jaxsnn_music.config import Config, load_config
from jaxsnn_music.sweep import SweepError, check_sweep, load_sweep

SWEEPS = Path(__file__).resolve().parents[1] / "sweeps"


@functools.cache
def shipped(name: str):
    return load_sweep(SWEEPS / name)


def check(tree, **kw):
    return check_sweep(tree, "s.yaml", **kw)


def refused(tree, **kw) -> str:
    with pytest.raises(SweepError) as info:
        check(tree, **kw)
    message = str(info.value)
    assert "\n" not in message and message.startswith("s.yaml: ")
    return message


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_are_valid(path):
    spec = shipped(path.name)
    assert spec.method in ("grid", "bayes")
    assert spec.metric and spec.goal == "maximize"
    for name in spec.parameters:
        assert name.startswith(("trial.", "network.", "encoding.", "recall.", "memorize."))


def test_shipped_grids_have_the_asked_for_axes():
    abl = shipped("ablations.yaml")
    p = abl.parameters
    assert p["network.lateral_inhibition"]["values"] == [True, False]
    assert p["network.n_delays"]["values"] == [1, 2, 3, 4, 5, 6]
    assert set(p["network.stdp_timing"]["values"]) == {"emission", "arrival"}
    assert set(p["recall.readout"]["values"]) == {"first", "rate"}
    assert abl.grid_size() == 576
    cap = shipped("capacity.yaml")
    assert cap.parameters["trial.pieces"]["values"] == [5, 10, 20, 50, 100, 200, 331]
    bayes = shipped("bayes_episodic.yaml")
    assert bayes.metric == "episodic_accuracy" and bayes.early_terminate


def test_build_uses_load_config_with_trial_preset():
    spec = check({"method": "grid", "parameters": {"trial.preset": {"values": ["paper"]},
                                                   "network.n_delays": {"values": [2]}}})
    cfg = spec.build({"trial.preset": "paper", "network.n_delays": 2})
    assert cfg == load_config("paper", overrides={"network.n_delays": 2})
    assert spec.build({"network.n_delays": "3"}).network.n_delays == 3


GOOD = {"method": "grid", "parameters": {"network.n_delays": {"values": [1, 2]}}}


@pytest.mark.parametrize("tree, words", [
    ([1, 2], "must be a mapping"),
    ({"parameters": GOOD["parameters"]}, "no method"),
    ({**GOOD, "method": "hill-climb"}, "unknown method 'hill-climb' (choose from grid, random, bayes)"),
    ({**GOOD, "run_cap": 3}, "unknown top-level key 'run_cap'"),
    ({"method": "grid"}, "parameters must be a non-empty mapping"),
    ({"method": "grid", "parameters": {}}, "parameters must be a non-empty mapping"),
    ({"method": "grid", "parameters": {"network.n_delays": [1, 2]}}, "must be a mapping such as"),
    ({"method": "bayes", "parameters": {"network.a_plus": {"min": 0.5, "max": 2.0}}},
     "bayes search needs a metric"),
    ({**GOOD, "metric": {"goal": "maximize"}}, "metric must be a mapping with a name"),
    ({**GOOD, "metric": {"name": "acc", "goal": "up"}}, "goal must be maximize or minimize"),
    ({**GOOD, "early_terminate": {"type": "hyperband", "min_iter": 2}}, "early_terminate needs a metric"),
    ({**GOOD, "metric": {"name": "a"}, "early_terminate": {"type": "median"}}, "hyperband is the only"),
    ({**GOOD, "metric": {"name": "a"}, "early_terminate": {"type": "hyperband"}}, "needs min_iter"),
    ({**GOOD, "metric": {"name": "a"}, "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 1}},
     "eta must be a number > 1"),
    ({"method": "grid", "parameters": {"network.n_dleays": {"values": [1]}}},
     "unknown config key 'network.n_dleays'"),
    ({"method": "grid", "parameters": {"netwrk.n_delays": {"values": [1]}}},
     "unknown config section 'netwrk'"),
    ({"method": "grid", "parameters": {"n_delays": {"values": [1]}}}, "is not a config key"),
    ({"method": "grid", "parameters": {"network.n_delays": {"values": [2, "four"]}}},
     "parameter network.n_delays='four': network.n_delays must be an integer"),
    ({"method": "grid", "parameters": {"network.n_delays": {"values": [0, 2]}}},
     "network.n_delays must be > 0, got 0"),
    ({"method": "grid", "parameters": {"network.stdp_timing": {"values": ["arrival", "later"]}}},
     "must be one of emission, arrival"),
    ({"method": "grid", "parameters": {"network.lateral_inhibition": {"values": [True, "maybe"]}}},
     "must be true or false"),
    ({"method": "random", "parameters": {"network.refractory_ms": {"min": -1.0, "max": 1.0}}},
     "network.refractory_ms must be >= 0"),
    ({"method": "random", "parameters": {"network.a_plus": {"min": 2.0, "max": 1.0}}},
     "min 2.0 is not less than max 1.0"),
    ({"method": "grid", "parameters": {"network.a_plus": {"min": 0.5, "max": 2.0}}},
     "grid search needs listed values"),
    ({"method": "grid", "parameters": {"network.capacitance": {"values": [0.2, 0.04]},
                                       "network.dt_ms": {"values": [0.1, 0.05]}}},
     "grid point network.capacitance=0.04, network.dt_ms=0.1 is invalid"),
    ({"method": "grid", "parameters": {"trial.pieces": {"values": [5, 0]}}}, "trial.pieces=0: must be"),
    ({"method": "grid", "parameters": {"trial.preset": {"values": ["nature"]}}}, "unknown preset"),
    ({"method": "grid", "parameters": {"trial.colour": {"values": [1]}}}, "unknown trial key 'trial.colour'"),
    ({"method": "bayes", "metric": {"name": "a"}, "parameters": {"network.a_plus": {"value": 1.0}}},
     "needs at least one parameter that varies"),
    ({"method": "grid", "parameters": {"network": {"parameters": {"n_delays": {"values": [1]}}}}},
     "nested parameters are not supported"),
])
def test_bad_sweeps_are_refused_in_one_line(tree, words):
    assert words in refused(tree)


def test_missing_section_key_is_reported_not_crashed():
    """A key of a section that does not exist (yet) names the section and what exists."""
    message = refused({"method": "grid", "parameters": {"futurework.knob": {"values": [1]}}})
    assert "unknown config section 'futurework'" in message and "sections:" in message


def test_values_checked_against_each_preset():
    # Valid under the default preset, and checked again under paper (every trial.preset value).
    tree = {"method": "grid", "parameters": {"trial.preset": {"values": ["paper", "default"]},
                                             "network.n_delays": {"values": [3]}}}
    assert check(tree).grid_size() == 2


def test_file_errors(tmp_path):
    with pytest.raises(SweepError, match="sweep file not found"):
        load_sweep(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("method: [grid\n")
    with pytest.raises(SweepError, match="not valid YAML"):
        load_sweep(tmp_path / "bad.yaml")
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(GOOD))
    assert load_sweep(tmp_path / "ok.yaml").name == "ok"


def test_fingerprint_follows_file_and_base_config(tmp_path):
    a = check(GOOD)
    assert a.fingerprint() == check(GOOD).fingerprint()
    assert a.fingerprint() != check({**GOOD, "metric": {"name": "x"}}).fingerprint()
    assert a.fingerprint() != check(GOOD, preset="paper").fingerprint()


def test_every_config_section_is_reachable():
    """Sweeps reach every section of the one config object by its dotted keys."""
    for section in (f.name for f in dataclasses.fields(Config) if f.name != "preset"):
        field = dataclasses.fields(getattr(Config(), section))[0]
        value = getattr(getattr(Config(), section), field.name)
        check({"method": "grid", "parameters": {f"{section}.{field.name}": {"values": [value]}}})
