"""The one config object: presets, YAML, --set overrides, their checks and errors."""

from __future__ import annotations

import dataclasses
import math

import pytest
import yaml

from jaxsnn_music.config import (
    PRESETS,
    SECTIONS,
    Config,
    NetworkConfig,
    Section,
    extend_config,
    learned_keys,
    load_config,
    parse_assignment,
    recall_config,
    spec,
)
from jaxsnn_music.config.checks import field_rules
from jaxsnn_music.errors import ConfigError


def one_line_error(make, *key_parts: str) -> str:
    """The ConfigError that ``make()`` raises: one line naming every part of the key."""
    with pytest.raises(ConfigError) as err:
        make()
    message = str(err.value)
    assert "\n" not in message and all(part in message for part in key_parts), message
    return message


def test_presets():
    paper, default = load_config("paper"), load_config("default")
    assert (paper.encoding.tracks, paper.encoding.chords) == ("first", "first")
    assert (default.encoding.tracks, default.encoding.chords) == ("all", "all")
    assert paper.encoding.rest_gap_beats == pytest.approx(50 / 480)
    assert load_config().preset == "default"
    assert (paper.network.w_max, default.network.w_max) == (math.inf, 9.0)
    assert set(PRESETS) == {"paper", "default"}


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: paper\nencoding:\n  tracks: all\n  max_notes: 5000\n")
    cfg = load_config(yaml_path=path, overrides=["encoding.max_notes=7e3", "encoding.skip_drums=false"])
    assert cfg.preset == "paper" and cfg.encoding.chords == "first"  # from the preset
    assert cfg.encoding.tracks == "all"  # YAML beats the preset
    assert cfg.encoding.max_notes == 7000 and cfg.encoding.skip_drums is False  # --set beats YAML
    assert type(cfg.encoding.max_notes) is int
    assert load_config("default", yaml_path=path).preset == "default"  # an explicit preset wins


def test_keys_apply_at_once_in_any_order():
    # dt_ms = 0.5 alone breaks dt <= tau_m; with a larger capacitance it does not, in either order.
    for overrides in (["network.dt_ms=0.5", "network.capacitance=0.5"],
                      ["network.capacitance=0.5", "network.dt_ms=0.5"]):
        cfg = load_config(overrides=overrides + ["tune.delay_range_steps=5"])
        assert (cfg.network.dt_ms, cfg.network.steps_per_window) == (0.5, 10)


@pytest.mark.parametrize("overrides,message", [
    (["encoding.tracks=some"], "encoding.tracks must be one of first, all"),
    (["encoding.max_notes=many"], "encoding.max_notes must be an integer"),
    (["encoding.max_notes=1.5"], "encoding.max_notes must be an integer"),
    (["encoding.rest_gap_beats=-1"], "encoding.rest_gap_beats must be >= 0"),
    (["encoding.nope=1"], "unknown config key 'encoding.nope'"),
    (["decoding.tracks=all"], "unknown config section 'decoding'"),
    (["tracks=all"], "must look like section.field"),
    (["encoding.tracks"], "--set expects key=value"),
    (["encoding.skip_drums=maybe"], "must be true or false"),
    (["encoding.render_velocity=300"], "encoding.render_velocity must be <= 127, got 300"),
    (["network.n_delays=0"], "network.n_delays must be > 0, got 0 (an integer in 1..15)"),
    (["recall.fragment_lengths=4,x"], "recall.fragment_lengths must be integers in 2.."),
    (["recall.capacity_sizes=[1, 2]"], "recall.capacity_sizes must be a string, got a list"),
])
def test_bad_values_are_one_line_errors(overrides, message):
    assert message in one_line_error(lambda: load_config(overrides=overrides))


def test_bad_files_and_presets(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(yaml_path=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("encoding: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(yaml_path=bad)
    bad.write_text("encoding: 3\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(yaml_path=bad)
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("fast")
    bad.write_text("preset: fast\n")
    with pytest.raises(ConfigError, match="unknown preset 'fast'"):
        load_config(yaml_path=bad)


def test_parse_assignment_reads_yaml_scalars():
    assert parse_assignment("a.b=3") == ("a.b", 3)
    assert parse_assignment("a.b=true") == ("a.b", True)
    assert parse_assignment("a.b=x=y") == ("a.b", "x=y")


# -- every numeric field, every route --------------------------------------------------------

NUMERIC_FIELDS = [(rule.key, rule) for cls in SECTIONS.values() for rule in field_rules(cls)
                  if rule.kind in (int, float)]
BAD_NUMBERS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "1e300": 1e300,
               "1e-300": 1e-300}


def _routes(key: str, value: float, tmp_path):
    """Every way a value reaches a config: direct construction, load_config, --set, YAML,
    extend_config and recall_config on top of an existing config."""
    section, name = key.split(".")
    yaml_file = tmp_path / "bad.yaml"
    yaml_file.write_text(yaml.safe_dump({section: {name: value}}))
    base = load_config("paper")
    return {
        "section": lambda: SECTIONS[section](**{name: value}),
        "Config": lambda: dataclasses.replace(
            base, **{section: dataclasses.replace(getattr(base, section), **{name: value})}),
        "load_config": lambda: load_config(overrides={key: value}),
        "--set": lambda: load_config(overrides=[f"{key}={value!r}"]),
        "yaml": lambda: load_config(yaml_path=yaml_file),
        "extend_config": lambda: extend_config(base, yaml_file),
        "recall_config": lambda: recall_config(base, overrides=[f"{key}={value!r}"]),
    }


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize("key,rule", NUMERIC_FIELDS, ids=[key for key, _ in NUMERIC_FIELDS])
def test_every_numeric_field_refuses_absurd_values(key, rule, bad, tmp_path):
    value = BAD_NUMBERS[bad]
    if value == rule.within.also:  # network.w_max = inf, w_min = -inf: unbounded, documented
        section, name = key.split(".")
        assert getattr(getattr(load_config(overrides={key: value}), section), name) == value
        return
    if value in rule.within and rule.kind is float:  # e.g. 1e-300 where 0 is allowed
        return
    for route, make in _routes(key, value, tmp_path).items():
        message = one_line_error(make, key)
        assert f"got {value!r}" in message, (route, message)


def test_every_numeric_field_has_a_range_and_its_default_lies_in_it():
    assert len(NUMERIC_FIELDS) > 80
    defaults = Config()
    for key, rule in NUMERIC_FIELDS:
        section, name = key.split(".")
        default = getattr(getattr(defaults, section), name)
        assert rule.within is not None and default in rule.within, key


def test_a_number_without_a_range_is_a_schema_error():
    @dataclasses.dataclass(frozen=True)
    class Loose(Section, key="loose", learned=False):
        rate: float = 1.0

    with pytest.raises(TypeError, match="needs spec"):
        Loose()

    @dataclasses.dataclass(frozen=True)
    class Tight(Section, key="tight", learned=False):
        rate: float = spec(1.0, "(0, 2)")

    assert Tight().rate == 1.0
    assert "tight.rate must be < 2, got 2.0" in one_line_error(lambda: Tight(rate=2.0))


def test_direct_construction_is_checked_and_normalised():
    assert type(NetworkConfig(n_delays=4.0).n_delays) is int
    assert type(NetworkConfig(w_max=9).w_max) is float
    assert Config(network=NetworkConfig(w_max=9)).fingerprint("network") == \
        load_config(overrides={"network.w_max": 9.0}).fingerprint("network")
    one_line_error(lambda: NetworkConfig(n_delays=True), "network.n_delays")
    one_line_error(lambda: NetworkConfig(stdp_timing="later"), "network.stdp_timing")
    one_line_error(lambda: NetworkConfig(lateral_inhibition="yes"), "network.lateral_inhibition")
    one_line_error(lambda: Config(preset="fast"), "preset")
    one_line_error(lambda: Config(network={"n_delays": 4}), "network")


@pytest.mark.parametrize("changes,keys", [
    ({"network": {"dt_ms": 0.5}}, ["network.dt_ms", "tau_m"]),
    ({"network": {"window_ms": 5.05}}, ["network.window_ms", "whole number of steps"]),
    ({"network": {"refractory_ms": 0.25}}, ["network.refractory_ms", "whole number"]),
    ({"network": {"window_ms": 1000.0, "dt_ms": 0.01}}, ["network.window_ms", "10000 steps"]),
    ({"network": {"v_reset": 6.0}}, ["network.v_th", "network.v_reset"]),
    ({"network": {"w_min": 10.0, "w_max": 9.0}}, ["network.w_min", "network.w_max"]),
    ({"encoding": {"min_qpm": 300.0, "max_qpm": 200.0}}, ["encoding.min_qpm", "encoding.max_qpm"]),
    ({"tune": {"delay_range_steps": 51}}, ["tune.delay_range_steps", "steps of one window"]),
    ({"tune": {"threshold_min": 60.0}}, ["tune.threshold_min", "tune.threshold_max"]),
])
def test_relations_between_keys_are_checked_by_the_config(changes, keys):
    sections = {name: dataclasses.replace(getattr(Config(), name), **values)
                for name, values in changes.items()}  # each section alone is fine
    one_line_error(lambda: Config(**sections), *keys)
    flat = {f"{s}.{k}": v for s, values in changes.items() for k, v in values.items()}
    one_line_error(lambda: load_config(overrides=flat), *keys)


# -- hostile files -------------------------------------------------------------------------------

HOSTILE_FILES = {
    "binary": bytes(range(256)) * 16,
    "utf-16": "preset: paper\nencoding:\n  tracks: all\n".encode("utf-16"),
    "nul bytes": b"encoding:\n  tracks: all\x00\n",
    "huge integer": b"encoding:\n  max_notes: " + b"9" * 5000 + b"\n",
    "deep nesting": b"encoding:\n  tracks: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "too large": b"# " + b"x" * (2 << 20) + b"\n",
    "alias bomb": (b"recall:\n  fragment_lengths: [&a [1, 1, 1, 1, 1, 1, 1, 1, 1], "
                   + b"".join(b"&%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c], "
                              % ((98 + i,) + (97 + i,) * 9) for i in range(8))
                   + b"*i]\n"),  # 9^9 ones, if anything ever expanded it
    "unhashable key": b"encoding:\n  ? [a, b]\n  : 1\n",
    "non-string section": b"1: {a: 2}\n",
}


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_hostile_config_files_are_one_line_errors(name, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(HOSTILE_FILES[name])
    one_line_error(lambda: load_config(yaml_path=path))
    one_line_error(lambda: extend_config(load_config(), path))
    one_line_error(lambda: recall_config(load_config(), path))


def test_a_directory_or_a_device_as_config_file(tmp_path):
    assert "is a directory" in one_line_error(lambda: load_config(yaml_path=tmp_path), str(tmp_path))
    assert "not a regular file" in one_line_error(lambda: load_config(yaml_path="/dev/null"))


def test_utf8_with_bom_is_read(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes("encoding:\n  tracks: first\n".encode("utf-8-sig"))
    assert load_config(yaml_path=path).encoding.tracks == "first"


# -- recalling a memorized network: learned keys are fixed --------------------------------------

RECALL_ONLY_NETWORK_KEYS = {"network.title_current_recall", "network.facilitation_sequential",
                            "network.facilitation_goal", "network.facilitation_window_ms",
                            "network.facilitation_cap", "network.facilitation_reset"}


def test_learned_keys_are_declared_once_in_the_schema():
    every = {rule.key for cls in SECTIONS.values() for rule in field_rules(cls)}
    expected = {key for key in every if key.split(".")[0] in ("encoding", "memorize", "network")}
    assert set(learned_keys()) == expected - RECALL_ONLY_NETWORK_KEYS
    assert learned_keys("recall") == learned_keys("tune") == ()


def _another_value(cfg: Config, key: str):
    """A value of ``key`` other than ``cfg``'s that still makes a valid config."""
    section, name = key.split(".")
    value = getattr(getattr(cfg, section), name)
    rule = {r.name: r for r in field_rules(SECTIONS[section])}[name]
    if isinstance(rule.kind, tuple):
        candidates = [c for c in rule.kind if c != value]
    elif rule.kind is bool:
        candidates = [not value]
    elif rule.kind is str:
        candidates = ["4,8", "first:4", "none"]
    elif rule.kind is int:
        candidates = [value + 1, value - 1]
    else:
        candidates = [value * 2, value / 2, value + 1, value - 1, 1.0, 9.0, -9.0]
    for candidate in candidates:
        try:
            extend_config(cfg, overrides={key: candidate})
        except ConfigError:
            continue
        if candidate != value:
            return candidate
    raise AssertionError(f"no other valid value of {key}")


ALL_KEYS = [rule.key for cls in SECTIONS.values() for rule in field_rules(cls)]


@pytest.mark.parametrize("key", ALL_KEYS)
def test_recall_config_refuses_changes_to_learned_keys_only(key):
    cfg = load_config("paper")
    section, name = key.split(".")
    same = getattr(getattr(cfg, section), name)
    assert recall_config(cfg, overrides={key: same}) == cfg  # the value it has: fine
    other = _another_value(cfg, key)
    if key in learned_keys():
        message = one_line_error(lambda: recall_config(cfg, overrides={key: other}), key)
        assert message == (f"{key} is fixed when a network is memorized (this checkpoint has "
                           f"{same if isinstance(same, (int, float)) else repr(same)}); "
                           f"it cannot be changed at recall")
    else:
        changed = recall_config(cfg, overrides={key: other})
        assert getattr(getattr(changed, section), name) == other


def test_recall_config_message_and_routes(tmp_path):
    cfg = load_config("paper")
    assert one_line_error(lambda: recall_config(cfg, overrides=["network.n_delays=6"])) == (
        "network.n_delays is fixed when a network is memorized (this checkpoint has 4); "
        "it cannot be changed at recall")
    path = tmp_path / "recall.yaml"
    path.write_text("preset: default\nrecall:\n  pacemaker_hz: 8\nnetwork:\n  n_delays: 4\n"
                    "  facilitation_cap: 3\nencoding:\n  tracks: first\n")
    out = recall_config(cfg, path, ["tune.steps=3"])
    assert (out.preset, out.recall.pacemaker_hz, out.network.facilitation_cap, out.tune.steps) == \
        ("paper", 8.0, 3.0, 3)
    path.write_text("encoding:\n  tracks: all\n")
    one_line_error(lambda: recall_config(cfg, path), "encoding.tracks", "fixed")
    one_line_error(lambda: recall_config(cfg, overrides=["memorize.keep_checkpoints=3"]),
                   "memorize.keep_checkpoints", "fixed")
    one_line_error(lambda: recall_config(cfg, overrides=["recall.pacemaker_hz=nan"]),
                   "recall.pacemaker_hz")


def test_sweep_learning_fingerprint_follows_the_declaration():
    from jaxsnn_music.sweep.trial import learning_fingerprint

    cfg = load_config("paper")
    for key in RECALL_ONLY_NETWORK_KEYS | {"recall.pacemaker_hz", "tune.steps"}:
        other = extend_config(cfg, overrides={key: _another_value(cfg, key)})
        assert learning_fingerprint(other) == learning_fingerprint(cfg), key
    for key in ("network.n_delays", "network.v_0", "encoding.tracks"):
        other = extend_config(cfg, overrides={key: _another_value(cfg, key)})
        assert learning_fingerprint(other) != learning_fingerprint(cfg), key

