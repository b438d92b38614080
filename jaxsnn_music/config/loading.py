"""How a :class:`~jaxsnn_music.config.schema.Config` is made: presets, YAML, ``--set``.

Values are applied in order -- the preset, then a YAML file, then overrides (later
wins) -- all at once, so the Config is built (and checked, by the schema) once, whatever
order the keys come in. The text of a YAML file or a ``--set`` is converted to the
field's type here (``"7e3"`` for an int, ``"false"`` for a bool); whether the value is
allowed is the schema's to say.

Three entry points: :func:`load_config` (a fresh config), :func:`extend_config` (values
on top of an existing config, e.g. a checkpoint's) and :func:`recall_config` (the same
for recalling a memorized network: the keys that learning read are fixed).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml

from jaxsnn_music.config.checks import field_rules, show
from jaxsnn_music.config.schema import SECTIONS, Config, Preset, learned_keys
from jaxsnn_music.errors import ConfigError

PRESETS: tuple[str, ...] = typing.get_args(Preset)
"""The presets' names: ``paper`` and ``default``."""

_PRESET_OVERRIDES: dict[str, dict[str, Any]] = {
    "paper": {"encoding.tracks": "first", "encoding.chords": "first",
              "network.stdp_timing": "emission"},
    # Bounded at one learned pairing's worth (a transition learned once under arrival timing
    # weighs 9): unbounded sums let transitions shared by many pieces outweigh the title's
    # drive, and title recall of the 371 chorales falls from 100 % to 11 % pitch accuracy.
    "default": {"network.w_max": 9.0},
}
assert set(_PRESET_OVERRIDES) == set(PRESETS)

MAX_CONFIG_BYTES = 1 << 20
"""A YAML config file larger than this is refused unread."""

Overrides = dict[str, Any] | list[str] | tuple[str, ...] | None


def _coerce(value: Any, kind: Any) -> Any:
    """A YAML/CLI value in the field's type where text says so (``"7e3"``, ``"false"``,
    ``3`` for a str); anything else is left for the schema to accept or refuse."""
    if kind is bool and isinstance(value, str) and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    if kind in (int, float) and isinstance(value, str):
        # "7e3" is 7000 for an int field too (the schema takes integral floats).
        for parse in (int, float) if kind is int else (float,):
            try:
                return parse(value)
            except ValueError:
                pass
        return value
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _apply(cfg: Config, flat: dict[str, Any]) -> Config:
    """``cfg`` with every ``{"section.field": value}`` of ``flat`` set, built once."""
    changes: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        parts = key.split(".") if isinstance(key, str) else []
        if len(parts) != 2:
            raise ConfigError(f"config key {show(key)} must look like section.field "
                              f"(sections: {', '.join(SECTIONS)})")
        section, name = parts
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section {show(section)} in {show(key)} "
                              f"(sections: {', '.join(SECTIONS)})")
        rules = {rule.name: rule for rule in field_rules(SECTIONS[section])}
        if name not in rules:
            raise ConfigError(f"unknown config key {show(key)} (fields of {section}: "
                              f"{', '.join(rules)})")
        changes.setdefault(section, {})[name] = _coerce(value, rules[name].kind)
    sections = {section: dataclasses.replace(getattr(cfg, section), **values)
                for section, values in changes.items()}
    return dataclasses.replace(cfg, **sections)


def _flatten(tree: dict[Any, Any], where: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in tree.items():
        if section == "preset":
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {show(section)} must be a mapping of key: value")
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    return flat


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split a CLI ``key=value`` into the key and a YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {show(text)}")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except (yaml.YAMLError, ValueError, RecursionError):
        value = raw
    return key.strip(), value


def _assignments(overrides: Overrides) -> dict[str, Any]:
    if isinstance(overrides, (list, tuple)):
        return dict(parse_assignment(item) for item in overrides)
    return dict(overrides or {})


def _read_yaml(yaml_path: str | Path) -> tuple[str | None, dict[str, Any]]:
    """A YAML config file's ``preset`` (or None) and its values as ``{"section.key": value}``.
    Anything that is not a small UTF-8 YAML mapping is refused in one line."""
    path = Path(yaml_path)
    try:
        if path.is_dir():
            raise ConfigError(f"{path}: is a directory, not a config file")
        if path.exists() and not path.is_file():
            raise ConfigError(f"{path}: not a regular file")
        if path.exists() and path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: too large for a config file "
                              f"(over {MAX_CONFIG_BYTES // 1024} KiB)")
        text = path.read_bytes().decode("utf-8-sig")
        tree = yaml.safe_load(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file (a config file is YAML text)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({_first_line(exc)})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a usable config file (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer of 5000 digits
        raise ConfigError(f"{path}: not a usable config file ({_first_line(exc)})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    tree = {} if tree is None else tree
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections")
    preset = tree.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"{path}: unknown preset {show(preset)} (choose from {', '.join(PRESETS)})")
    return preset, _flatten(tree, str(path))


def _first_line(exc: Exception, limit: int = 100) -> str:
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line if len(line) <= limit else line[:limit - 3] + "..."


def load_config(preset: str | None = None, yaml_path: str | Path | None = None,
                overrides: Overrides = None) -> Config:
    """Build the config: preset, then YAML file, then overrides (later wins).

    **Arguments:**

    - `preset`: ``paper`` or ``default``; if None, the YAML's ``preset`` key or ``default``.
    - `yaml_path`: a YAML file of ``section: {key: value}`` mappings.
    - `overrides`: ``{"section.key": value}`` or a list of ``"section.key=value"`` strings.

    **Returns:** a validated :class:`Config`. Bad keys or values raise :class:`ConfigError`.
    """
    from_yaml: dict[str, Any] = {}
    if yaml_path is not None:
        yaml_preset, from_yaml = _read_yaml(yaml_path)
        preset = preset or yaml_preset
    preset = preset or "default"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {show(preset)} (choose from {', '.join(PRESETS)})")
    values = {**_PRESET_OVERRIDES[preset], **from_yaml, **_assignments(overrides)}
    return _apply(Config(preset=preset), values)


def extend_config(cfg: Config, yaml_path: str | Path | None = None,
                  overrides: Overrides = None) -> Config:
    """``cfg`` (e.g. a checkpoint's) with a YAML file's values and then ``overrides`` on top,
    validated like :func:`load_config` (the preset stays ``cfg``'s)."""
    flat = _flatten(cfg.to_dict(), "config")
    if yaml_path is not None:
        flat.update(_read_yaml(yaml_path)[1])
    flat.update(_assignments(overrides))
    return load_config(cfg.preset, overrides=flat)


def recall_config(cfg: Config, yaml_path: str | Path | None = None,
                  overrides: Overrides = None) -> Config:
    """A memorized network's config ``cfg`` with a YAML file's values and ``overrides`` on
    top, as :func:`extend_config` makes it, for recalling that network.

    Keys that learning read (:func:`~jaxsnn_music.config.schema.learned_keys`: every
    ``encoding.*`` and ``memorize.*`` key, and the network's except its recall-only ones)
    are fixed: giving one the value it already has is fine, another value is refused.

    **Returns:** the validated :class:`Config`; a changed learned key raises a one-line
    :class:`ConfigError`.
    """
    new = extend_config(cfg, yaml_path, overrides)
    key, old, _ = learned_difference(cfg, new) or (None, None, None)
    if key is not None:
        raise ConfigError(f"{key} is fixed when a network is memorized (this checkpoint has "
                          f"{show(old)}); it cannot be changed at recall")
    return new


def learned_difference(cfg: Config, other: Config, sections: tuple[str, ...] | None = None
                       ) -> tuple[str, object, object] | None:
    """The first key learning reads (of ``sections``, default all) whose value differs between
    two configs, as ``(key, cfg's value, other's value)``; None when they learn alike."""
    for key in learned_keys():
        section, name = key.split(".")
        if sections is not None and section not in sections:
            continue
        mine, theirs = getattr(getattr(cfg, section), name), getattr(getattr(other, section), name)
        if mine != theirs:
            return key, mine, theirs
    return None


def same_learning(stored: Config | None, cfg: Config) -> None:
    """Refuse to grow a network memorized with ``stored`` using ``cfg`` when they differ in a
    key that learning reads (the memorize section aside: chunking is the run's business)."""
    if stored is None:
        return
    difference = learned_difference(stored, cfg, ("encoding", "network"))
    if difference is not None:
        key, old, new = difference
        raise ConfigError(f"{key} is {show(old)} in this network and {show(new)} here: a network "
                          "grows with the config it was memorized with")
