"""The one config object: presets, YAML, --set overrides and their errors."""

from __future__ import annotations

import pytest

from jaxsnn_music.config import load_config, parse_assignment
from jaxsnn_music.errors import ConfigError


def test_presets():
    paper, default = load_config("paper"), load_config("default")
    assert (paper.encoding.tracks, paper.encoding.chords) == ("first", "first")
    assert (default.encoding.tracks, default.encoding.chords) == ("all", "all")
    assert paper.encoding.rest_gap_beats == pytest.approx(50 / 480)
    assert load_config().preset == "default"


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: paper\nencoding:\n  tracks: all\n  max_notes: 5000\n")
    cfg = load_config(yaml_path=path, overrides=["encoding.max_notes=7e3", "encoding.skip_drums=false"])
    assert cfg.preset == "paper" and cfg.encoding.chords == "first"  # from the preset
    assert cfg.encoding.tracks == "all"  # YAML beats the preset
    assert cfg.encoding.max_notes == 7000 and cfg.encoding.skip_drums is False  # --set beats YAML
    assert load_config("default", yaml_path=path).preset == "default"  # an explicit preset wins


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
    (["encoding.render_velocity=300"], "render_velocity must be in 1..127"),
])
def test_bad_values_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


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


def test_parse_assignment_reads_yaml_scalars():
    assert parse_assignment("a.b=3") == ("a.b", 3)
    assert parse_assignment("a.b=true") == ("a.b", True)
    assert parse_assignment("a.b=x=y") == ("a.b", "x=y")
