"""Sweep files: W&B's sweep YAML, checked against the one config object.

A sweep file is a standard W&B sweep configuration (``method``, ``metric``,
``parameters``, ``early_terminate``, optionally ``name``, ``description``,
``program``, ``command``, ``project``, ``entity``), so the same file works with
``wandb sweep`` and with our local runner. Parameter names are

- dotted config keys, ``section.field`` (``network.n_delays``,
  ``encoding.tracks``, ...): the trial's config is built from them by
  :func:`~jaxsnn_music.config.load_config`, the one way a config is made;
- trial keys, which say *what* a trial memorizes rather than how:
  ``trial.preset`` (``paper`` / ``default``), ``trial.pieces`` (how many pieces
  are stored) and ``trial.seed`` (which ones: absent = the corpus's first
  pieces, an integer = a random subset; the subsets of one seed are nested).

:func:`load_sweep` refuses a bad file with one line (a :class:`SweepError`)
before any trial runs: every value a parameter can take (every listed value,
both ends of a range) is built into a config with ``load_config``, so an
unknown key, a value of the wrong type or out of range is found up front; for
grids every combination is built too.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from jaxsnn_music.config import PRESETS, Config, load_config
from jaxsnn_music.errors import ConfigError, UserError

METHODS = ("grid", "random", "bayes")
GOALS = ("maximize", "minimize")
TOP_LEVEL = ("method", "metric", "parameters", "early_terminate", "name", "description",
             "program", "command", "project", "entity", "controller", "apiVersion", "kind")
TRIAL_KEYS = ("trial.preset", "trial.pieces", "trial.seed")
_MAX_GRID_CHECK = 20_000
"""Grids up to this many points have every combination built; larger ones per value only."""


class SweepError(UserError):
    """A sweep file, ledger or backend that cannot be used, explained in one line."""


def plain(value: Any) -> Any:
    """NumPy scalars (the sweep engine's samples) -> Python values, recursively."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class SweepSpec:
    """A checked sweep: the W&B sweep config plus the base config trials start from.

    **Arguments:**

    - `sweep`: the sweep configuration (as read from the YAML).
    - `source`: where it came from (for messages).
    - `preset`, `config_path`: the base config of every trial (``trial.preset``
      overrides the preset).
    """

    def __init__(self, sweep: dict[str, Any], source: str = "sweep",
                 preset: str | None = None, config_path: str | Path | None = None):
        self.sweep = plain(sweep)
        self.source = source
        self.preset = preset
        self.config_path = None if config_path is None else str(config_path)

    @property
    def method(self) -> str:
        return self.sweep["method"]

    @property
    def name(self) -> str:
        return self.sweep.get("name") or Path(self.source).stem

    @property
    def metric(self) -> str | None:
        """The metric the search optimizes (None when the file names none)."""
        metric = self.sweep.get("metric")
        return metric["name"] if metric else None

    @property
    def goal(self) -> str:
        return (self.sweep.get("metric") or {}).get("goal", "minimize")

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return self.sweep["parameters"]

    @property
    def early_terminate(self) -> bool:
        return "early_terminate" in self.sweep

    def fingerprint(self) -> str:
        """A short hash of everything that decides the trials (file and base config)."""
        payload = json.dumps({"sweep": self.sweep, "preset": self.preset,
                              "config": (Path(self.config_path).read_text()
                                         if self.config_path else None)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def grid_size(self) -> int | None:
        """Number of grid points (None unless the method is grid)."""
        if self.method != "grid":
            return None
        return math.prod(len(_grid_values(name, p, self.source)) for name, p in
                         self.parameters.items())

    def build(self, params: Mapping[str, Any]) -> Config:
        """The config of one trial: base preset/YAML, then the sweep's config keys.

        **Arguments:**

        - `params`: ``{name: value}`` of one trial (config keys and trial keys).

        **Returns:** the validated :class:`~jaxsnn_music.config.Config`; a bad value
        raises :class:`~jaxsnn_music.errors.ConfigError`.
        """
        overrides = {k: v for k, v in params.items() if not k.startswith("trial.")}
        preset = params.get("trial.preset", self.preset)
        return load_config(preset, self.config_path, overrides)

    def wandb_config(self) -> dict[str, Any]:
        """The sweep configuration to hand to ``wandb.sweep``."""
        return copy.deepcopy(self.sweep)


def load_sweep(path: str | Path, preset: str | None = None,
               config_path: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep YAML file.

    **Arguments:**

    - `path`: the sweep file.
    - `preset`, `config_path`: the base config of every trial.

    **Returns:** a :class:`SweepSpec`; any problem raises :class:`SweepError`.
    """
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise SweepError(f"{path}: sweep file not found") from None
    except IsADirectoryError:
        raise SweepError(f"{path}: is a folder, not a sweep file") from None
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a UTF-8 text file (a sweep file is YAML text)") from None
    except OSError as exc:
        raise SweepError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise SweepError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except (ValueError, RecursionError) as exc:
        raise SweepError(f"{path}: not a usable sweep file ({type(exc).__name__})") from None
    return check_sweep(tree, str(path), preset, config_path)


def check_metric(spec: SweepSpec, known: Sequence[str]) -> None:
    """Refuse, before any trial runs, a sweep whose metric its trials never report: it would
    run every trial and optimise nothing (a misspelled name, say).

    **Arguments:**

    - `spec`: the checked sweep.
    - `known`: the metrics its trial function reports.
    """
    if spec.metric is None or spec.metric in known:
        return
    close = difflib.get_close_matches(spec.metric, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise SweepError(f"{spec.source}: metric {spec.metric!r} is not reported by the trials "
                     f"(they report {', '.join(known)}){hint}")


def check_sweep(tree: Any, source: str = "sweep", preset: str | None = None,
                config_path: str | Path | None = None) -> SweepSpec:
    """Check a sweep configuration (a parsed YAML tree); see :func:`load_sweep`."""
    where = source

    def fail(message: str):
        raise SweepError(f"{where}: {message}")

    if not isinstance(tree, dict):
        fail("a sweep file must be a mapping (method:, metric:, parameters:, ...)")
    unknown = [k for k in tree if k not in TOP_LEVEL]
    if unknown:
        fail(f"unknown top-level key {unknown[0]!r} (allowed: {', '.join(TOP_LEVEL)})")
    method = tree.get("method")
    if method is None:
        fail(f"no method (choose from {', '.join(METHODS)})")
    if method not in METHODS:
        fail(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    metric = tree.get("metric")
    if metric is not None:
        if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
            fail("metric must be a mapping with a name (metric: {name: ..., goal: maximize})")
        if metric.get("goal", "minimize") not in GOALS:
            fail(f"metric goal must be maximize or minimize, got {metric.get('goal')!r}")
    if method == "bayes" and metric is None:
        fail("bayes search needs a metric to optimize (metric: {name: ..., goal: maximize})")
    if "early_terminate" in tree:
        _check_early_terminate(tree["early_terminate"], metric, fail)
    parameters = tree.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        fail("parameters must be a non-empty mapping of name: {values: [...]} (or value, min/max)")
    for name, spec in parameters.items():
        if not isinstance(spec, dict):
            fail(f"parameter {name!r} must be a mapping such as {{values: [...]}}, got {spec!r}")
        if "parameters" in spec:
            fail(f"parameter {name!r}: nested parameters are not supported; "
                 f"name the config key with a dot (network.n_delays)")
    _check_schema(tree, fail)
    if method == "bayes" and all("value" in p for p in parameters.values()):
        fail("bayes search needs at least one parameter that varies")

    sweep_spec = SweepSpec(tree, source, preset, config_path)
    presets = [preset] if "trial.preset" not in parameters else \
        _candidates("trial.preset", parameters["trial.preset"], source)
    candidates: dict[str, list[Any]] = {}
    for name, spec in parameters.items():
        if method == "grid":
            _grid_values(name, spec, source)  # refuses continuous distributions
        candidates[name] = _candidates(name, spec, source)
    for name, values in candidates.items():
        for value in values:
            _check_value(sweep_spec, name, value, presets, candidates, fail)
    if method == "grid" and math.prod(len(v) for v in candidates.values()) <= _MAX_GRID_CHECK:
        names = list(candidates)
        for combo in itertools.product(*(candidates[n] for n in names)):
            params = dict(zip(names, combo))
            try:
                sweep_spec.build(params)
            except ConfigError as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if not k.startswith("trial."))
                fail(f"grid point {shown} is invalid: {exc}")
    return sweep_spec


def _check_early_terminate(et: Any, metric: Any, fail) -> None:
    if not isinstance(et, dict) or et.get("type") != "hyperband":
        fail("early_terminate must be {type: hyperband, min_iter: N, eta: M} "
             "(hyperband is the only type)")
    if metric is None:
        fail("early_terminate needs a metric to compare trials by")
    if "min_iter" not in et and "max_iter" not in et:
        fail("early_terminate (hyperband) needs min_iter, or max_iter and s")
    for key in ("min_iter", "max_iter", "s"):
        if key in et and (not isinstance(et[key], int) or isinstance(et[key], bool) or et[key] < 1):
            fail(f"early_terminate.{key} must be an integer >= 1, got {et[key]!r}")
    eta = et.get("eta", 3)
    if not isinstance(eta, (int, float)) or isinstance(eta, bool) or eta <= 1:
        fail(f"early_terminate.eta must be a number > 1, got {eta!r}")


def _check_schema(tree: dict, fail) -> None:
    """The sweep engine's own JSON-schema check (value types, min < max, ...)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the engine's pydantic-v1 style config warns on import
        from sweeps import schema_violations_from_proposed_config
    try:
        violations = schema_violations_from_proposed_config(tree)
    except ValueError as exc:
        fail(str(exc).splitlines()[0])
    if violations:
        fail(f"not a valid W&B sweep: {violations[0].splitlines()[0]}")


def _hyperparameter(name: str, spec: dict, source: str):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sweeps.params import HyperParameter
    try:
        return HyperParameter(name, copy.deepcopy(spec))
    except Exception as exc:  # the engine raises jsonschema/ValueError/ParamValidationError
        raise SweepError(f"{source}: parameter {name!r}: not a valid distribution "
                         f"({str(exc).splitlines()[0]})") from None


def _grid_values(name: str, spec: dict, source: str) -> list[Any]:
    """The values a grid takes for one parameter (the engine's own expansion)."""
    if "value" in spec:
        return [spec["value"]]
    if "values" in spec and "probabilities" not in spec:
        return list(spec["values"])
    hp = _hyperparameter(name, spec, source)
    if hp.type == hp.INT_UNIFORM:
        return list(range(hp.config["min"], hp.config["max"] + 1))
    if hp.type == hp.Q_UNIFORM:
        return np.arange(hp.config["min"], hp.config["max"], hp.config["q"]).tolist()
    raise SweepError(f"{source}: parameter {name!r}: grid search needs listed values "
                     f"(values: [...]), a value, or an integer range (min/max integers); "
                     f"use random or bayes for continuous distributions")


def _candidates(name: str, spec: dict, source: str) -> list[Any]:
    """Values to check for one parameter: every listed value, or a range's ends and middle."""
    if "value" in spec:
        return [plain(spec["value"])]
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise SweepError(f"{source}: parameter {name!r}: values must be a non-empty list")
        return plain(values)
    hp = _hyperparameter(name, spec, source)
    out = []
    for q in (1e-9, 0.5, 1 - 1e-9):
        value = hp.ppf(q)
        value = plain(np.asarray(value).reshape(-1)[0] if np.ndim(value) else value)
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if value not in out:
            out.append(value)
    return out


def _check_value(spec: SweepSpec, name: str, value: Any, presets: list[str | None],
                 candidates: dict[str, list[Any]], fail) -> None:
    if name.startswith("trial."):
        _check_trial_value(name, value, fail)
        return
    if "." not in name:
        fail(f"parameter {name!r} is not a config key (section.field) or a trial key "
             f"({', '.join(TRIAL_KEYS)})")
    for preset in presets:
        base = {"trial.preset": preset} if preset else {}
        try:
            spec.build({**base, name: value})
        except ConfigError as exc:
            # A value may be valid only together with another parameter's value
            # (capacitance 0.04 needs dt_ms <= 0.08): accept it if any combination works.
            if not _valid_in_some_combination(spec, name, value, base, candidates):
                fail(f"parameter {name}={value!r}: {exc}")


def _valid_in_some_combination(spec: SweepSpec, name: str, value: Any, base: dict[str, Any],
                               candidates: dict[str, list[Any]]) -> bool:
    others = [n for n in candidates if n != name and not n.startswith("trial.")]
    if not others or math.prod(len(candidates[n]) for n in others) > _MAX_GRID_CHECK:
        return False
    for combo in itertools.product(*(candidates[n] for n in others)):
        try:
            spec.build({**base, **dict(zip(others, combo)), name: value})
            return True
        except ConfigError:
            continue
    return False


def _check_trial_value(name: str, value: Any, fail) -> None:
    if name not in TRIAL_KEYS:
        fail(f"unknown trial key {name!r} (trial keys: {', '.join(TRIAL_KEYS)})")
    if name == "trial.preset" and value not in PRESETS:
        fail(f"parameter trial.preset={value!r}: unknown preset (choose from {', '.join(PRESETS)})")
    if name == "trial.pieces" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        fail(f"parameter trial.pieces={value!r}: must be an integer >= 1")
    if name == "trial.seed" and value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0):
        fail(f"parameter trial.seed={value!r}: must be an integer >= 0 (or null: the first pieces)")
