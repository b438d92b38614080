"""How a config section checks itself: a declaration per field, one routine for all.

A number field of a section is declared with :func:`spec`: its default and the interval
it must lie in (``"(0.01, 10000]"``), plus, where it differs from its section's, whether
learning reads it (other fields need ``spec`` only for that). A section
inherits :class:`Section`, whose one ``__post_init__`` checks every field against its
declaration when the section is built (directly, by ``dataclasses.replace``, or by
:mod:`jaxsnn_music.config.loading`), so a value cannot get in by one route and be
refused by another:

- ``float``: a finite number in the interval (NaN and infinities refused, unless the
  declaration names the one infinity the field accepts, as ``network.w_max = inf``);
- ``int``: an integer in the interval (an integral float such as ``7e3`` is taken);
- ``str`` with an interval: integers in the interval separated by commas;
- ``bool`` and ``Literal[...]``: exactly one of the allowed values.

Checks that relate two fields live in :class:`~jaxsnn_music.config.schema.Config`.
Every refusal is one :class:`~jaxsnn_music.errors.ConfigError` line that names the key,
e.g. ``recall.pacemaker_hz must be a finite number > 0.01 and <= 10000, got nan`` or
``network.n_delays must be > 0, got 0 (an integer in 1..64)``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import typing
from typing import Any, ClassVar, Literal

from jaxsnn_music.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Interval:
    """Where a number may lie: ``[low, high]``, either end open; ``also`` names an infinity
    that is valid besides (``inf`` for an upper bound that means "unbounded")."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    also: float | None = None

    @staticmethod
    def parse(text: str, also: float | None = None) -> Interval:
        match = re.fullmatch(r"\s*([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])\s*", text)
        if match is None:
            raise ValueError(f"not an interval: {text!r}")
        opening, low, high, closing = match.groups()
        interval = Interval(float(low), float(high), opening == "(", closing == ")", also)
        if not (math.isfinite(interval.low) and math.isfinite(interval.high)
                and interval.low < interval.high):
            raise ValueError(f"not a finite interval: {text!r}")
        return interval

    def __contains__(self, x: float) -> bool:
        if self.also is not None and x == self.also:
            return True
        if not _finite(x):
            return False
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __str__(self) -> str:
        return (f"{'(' if self.low_open else '['}{_number(self.low)}, "
                f"{_number(self.high)}{')' if self.high_open else ']'}")

    def words(self, integer: bool = False) -> str:
        """The interval as an error message says it: ``in 0..1``, ``strictly between 0 and 1``,
        ``> 0.01 and <= 10000`` (for integers, ``(0, 64]`` is ``in 1..64``)."""
        low, high, low_open, high_open = self.low, self.high, self.low_open, self.high_open
        if integer:
            low = math.floor(low) + 1 if low_open else math.ceil(low)
            high = math.ceil(high) - 1 if high_open else math.floor(high)
            low_open = high_open = False
        if not low_open and not high_open:
            return f"in {_number(low)}..{_number(high)}"
        if low_open and high_open:
            return f"strictly between {_number(low)} and {_number(high)}"
        return (f"{'>' if low_open else '>='} {_number(low)} and "
                f"{'<' if high_open else '<='} {_number(high)}")

    def broken_bound(self, x: float) -> str | None:
        """For a finite ``x`` outside the interval, the bound it breaks (``"> 0"``); else None."""
        if x < self.low or (self.low_open and x == self.low):
            return f"{'>' if self.low_open else '>='} {_number(self.low)}"
        if x > self.high or (self.high_open and x == self.high):
            return f"{'<' if self.high_open else '<='} {_number(self.high)}"
        return None


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else repr(float(x))


def spec(default: Any, within: str | None = None, *, also: float | None = None,
         learned: bool | None = None, pattern: tuple[str, str] | None = None) -> Any:
    """Declare a config field.

    **Arguments:**

    - `default`: its default value.
    - `within`: for a number, the interval it must lie in (``"[1, 64]"``, ``"(0, 1]"``);
      for a ``str`` field, the interval of each of its comma-separated integers. Every
      ``int`` and ``float`` field must have one.
    - `also`: an infinity that is valid as well (``math.inf`` for ``network.w_max``).
    - `learned`: whether learning reads it, so that it is fixed once a network is
      memorized; None: as its section says (:class:`Section`'s ``learned``).
    - `pattern`: for a ``str`` field, ``(regular expression, what it means in words)``: the
      whole value must match it.
    """
    metadata: dict[str, Any] = {}
    if pattern is not None:
        metadata["pattern"] = pattern
    if within is not None:
        metadata["within"] = Interval.parse(within, also)
    if learned is not None:
        metadata["learned"] = learned
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class FieldRule:
    """What :func:`check_section` knows about one field (built once per section class)."""

    name: str
    key: str
    kind: Any  # int, float, bool, str, or the tuple of a Literal's choices
    within: Interval | None
    learned: bool
    pattern: tuple[str, str] | None = None

    def check(self, value: Any) -> Any:
        """``value`` as the field stores it (``7e3`` -> ``7000`` for an int), or a one-line
        :class:`ConfigError`."""
        kind, within = self.kind, self.within
        if isinstance(kind, tuple):
            if isinstance(value, bool):
                # YAML reads on/off and yes/no as booleans: give a choice of that name back.
                words = ("on", "yes", "true") if value else ("off", "no", "false")
                value = next((w for w in words if w in kind), value)
            if isinstance(value, str) and value in kind:
                return value
            raise ConfigError(f"{self.key} must be one of {', '.join(kind)}, got {show(value)}")
        if kind is bool:
            if isinstance(value, bool):
                return value
            raise ConfigError(f"{self.key} must be true or false, got {show(value)}")
        if kind is str:
            if not isinstance(value, str):
                raise ConfigError(f"{self.key} must be a string, got {show(value)}")
            if self.pattern is not None and not re.fullmatch(self.pattern[0], value):
                raise ConfigError(f"{self.key} must be {self.pattern[1]}, got {show(value)}")
            if within is not None:
                try:
                    items = [int(x) for x in value.split(",") if x.strip()]
                except ValueError:
                    items = []
                if not items or any(n not in within for n in items):
                    raise ConfigError(f"{self.key} must be integers {within.words(integer=True)} "
                                      f"separated by commas, got {show(value)}")
            return value
        assert within is not None, self.key
        if kind is int:
            whole = isinstance(value, numbers.Integral) or (
                isinstance(value, numbers.Real) and _finite(value) and float(value).is_integer())
            if isinstance(value, bool) or not whole:
                raise ConfigError(f"{self.key} must be an integer {within.words(integer=True)}, "
                                  f"got {show(value)}")
            self._bounds(value, "an integer", within.words(integer=True))
            return int(value)
        what = "a finite number" if within.also is None else f"{_number(within.also)} or a finite number"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{self.key} must be {what} {within.words()}, got {show(value)}")
        self._bounds(value, what, within.words())
        return float(value)

    def _bounds(self, value: numbers.Real, what: str, words: str) -> None:
        assert self.within is not None
        if value in self.within:
            return
        bound = self.within.broken_bound(value) if _finite(value) else None
        if bound is None:  # NaN or an infinity
            raise ConfigError(f"{self.key} must be {what} {words}, got {show(value)}")
        raise ConfigError(f"{self.key} must be {bound}, got {show(value)} ({what} {words})")


def _finite(x: numbers.Real) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an int beyond any float is still a finite number
        return True


class Section:
    """Base of every config section: a frozen dataclass that checks itself when built.

    A subclass names its key prefix and whether learning reads its fields::

        @dataclasses.dataclass(frozen=True)
        class RecallConfig(Section, key="recall", learned=False): ...

    A field's own ``learned`` (:func:`spec`) overrides the section's.
    """

    section_key: ClassVar[str]
    learned: ClassVar[bool]

    def __init_subclass__(cls, key: str, learned: bool, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.section_key = key
        cls.learned = learned

    def __post_init__(self):
        check_section(self)


def check_section(section: Section) -> None:
    """Check every field of ``section`` against its declaration; store the normalised value
    (ints as ``int``, floats as ``float``) so equal configs hash alike."""
    for rule in field_rules(type(section)):
        value = getattr(section, rule.name)
        checked = rule.check(value)
        if checked is not value:
            object.__setattr__(section, rule.name, checked)


@functools.cache
def field_rules(cls: type[Section]) -> tuple[FieldRule, ...]:
    """The rules of a section's fields, in declaration order. A number without an interval
    is a programming error, raised here (once, the first time such a section is built)."""
    hints = typing.get_type_hints(cls)
    rules = []
    for field in dataclasses.fields(cls):
        annotation = hints[field.name]
        if typing.get_origin(annotation) is Literal:
            kind: Any = tuple(str(choice) for choice in typing.get_args(annotation))
        elif annotation in (int, float, bool, str):
            kind = annotation
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: unsupported config type {annotation!r}")
        within = field.metadata.get("within")
        if kind in (int, float) and within is None:
            raise TypeError(f"{cls.__name__}.{field.name}: a number needs spec(..., within=...)")
        rules.append(FieldRule(field.name, f"{cls.section_key}.{field.name}", kind, within,
                               field.metadata.get("learned", cls.learned),
                               field.metadata.get("pattern")))
    return tuple(rules)


def show(value: Any) -> str:
    """A value for an error message: short, one line, and never expensive (a YAML file can
    hand us a huge integer or a list that nests aliases a billion times over)."""
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value)) if abs(value) < 10**30 else "an integer of more than 30 digits"
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return f"a {type(value).__name__}"
