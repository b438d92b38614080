"""The one config object: the single source of every constant.

A :class:`Config` is a tree of frozen dataclasses, one section per stage of the data
path (``encoding``, ``network``, ``memorize``, ``recall``, ``tune``). YAML files, the
CLI's ``--set section.key=value`` and sweeps all produce a ``Config`` through
:func:`load_config`, so a value cannot be set in one place and silently ignored in another.

- :mod:`~jaxsnn_music.config.schema`: the sections, their defaults and allowed ranges,
  which keys learning reads, and the checks that relate two keys;
- :mod:`~jaxsnn_music.config.checks`: how a section checks its fields when it is built;
- :mod:`~jaxsnn_music.config.loading`: presets, YAML files, ``--set``, and the configs
  of a memorized network (:func:`extend_config`, :func:`recall_config`).

Two presets exist: ``paper`` (what Liang, Zeng & Xu ran: first track, first chord tone)
and ``default`` (every track, whole chords).
"""

from jaxsnn_music.config.checks import Interval, Section, spec
from jaxsnn_music.config.loading import (
    PRESETS,
    extend_config,
    learned_difference,
    load_config,
    parse_assignment,
    recall_config,
    same_learning,
)
from jaxsnn_music.config.schema import (
    SECTIONS,
    Config,
    EncodingConfig,
    MemorizeConfig,
    NetworkConfig,
    RecallConfig,
    TuneConfig,
    learned_keys,
)

__all__ = ["PRESETS", "SECTIONS", "Config", "EncodingConfig", "Interval", "MemorizeConfig",
           "NetworkConfig", "RecallConfig", "Section", "TuneConfig", "extend_config",
           "learned_difference", "same_learning",
           "learned_keys", "load_config", "parse_assignment", "recall_config", "spec"]
