"""The sweep ledger: one JSON line per trial state change, the record a sweep resumes from.

A ledger is a JSONL file. The first line of every runner session is a
``{"event": "session", ...}`` line with the sweep's fingerprint (a ledger
belongs to one sweep file and base config; another one is refused). Every
trial state change is one ``{"event": "trial", ...}`` line carrying everything
about the trial at that moment:

- ``trial`` (an integer id) and ``name``; ``attempt`` (1, 2, ... when rerun);
- ``status``: ``running``, then ``finished``, ``crashed`` (its ``error`` in one
  line), ``stopped`` (early-terminated by hyperband, with the metrics it
  reached) or ``interrupted`` (the runner was stopped while it ran);
- ``params`` (the sweep's parameter values), ``config`` (the whole config the
  trial ran with), ``metrics`` (final values), ``history`` (every reported
  step), ``wall_s`` (seconds the trial ran), ``time`` (UTC, ISO 8601).

Lines are appended, flushed and fsynced one at a time, so a killed runner
leaves at most one torn last line, which :func:`read_ledger` skips. Floats that
are not finite (``w_max = inf``) are written as JSON's ``Infinity`` (Python's
``json`` reads them back). Readers: :func:`read_ledger` (all lines),
:func:`trial_states` (the latest line of each trial).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import socket
from pathlib import Path
from typing import Any

from jaxsnn_music.sweep.spec import SweepError, plain

RUNNING, FINISHED, CRASHED, STOPPED, INTERRUPTED = (
    "running", "finished", "crashed", "stopped", "interrupted")
TERMINAL = (FINISHED, CRASHED, STOPPED)
"""A trial whose latest status is one of these is done: it is never run again."""


@dataclasses.dataclass
class TrialState:
    """A trial as its latest ledger line describes it."""

    trial: int
    name: str
    status: str
    attempt: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    error: str | None
    wall_s: float | None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def read_ledger(path: str | Path) -> list[dict[str, Any]]:
    """Every complete line of a ledger (an absent file has none; a torn last line is skipped)."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    entries = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break  # cut short by a killed runner: that state change never happened
            raise SweepError(f"{path}: line {i + 1} is not JSON; not a sweep ledger?") from None
        if not isinstance(entry, dict) or "event" not in entry:
            raise SweepError(f"{path}: line {i + 1} is not a ledger entry; not a sweep ledger?")
        entries.append(entry)
    return entries


def trial_states(entries: list[dict[str, Any]]) -> dict[int, TrialState]:
    """The latest state of every trial, by id (in id order)."""
    states: dict[int, TrialState] = {}
    for e in entries:
        if e["event"] != "trial":
            continue
        states[e["trial"]] = TrialState(
            trial=e["trial"], name=e.get("name", f"trial-{e['trial']:04d}"), status=e["status"],
            attempt=e.get("attempt", 1), params=e.get("params", {}), metrics=e.get("metrics") or {},
            history=e.get("history") or [], error=e.get("error"), wall_s=e.get("wall_s"))
    return dict(sorted(states.items()))


class Ledger:
    """An open ledger, locked against a second runner, for appending.

    **Arguments:**

    - `path`: the JSONL file (created with its folder if absent).
    - `fingerprint`: the sweep's; a ledger written for another sweep is refused.
    """

    def __init__(self, path: str | Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.entries = read_ledger(self.path)
        for e in self.entries:
            if e["event"] == "session" and e.get("sweep") != fingerprint:
                raise SweepError(f"{self.path}: this ledger belongs to another sweep "
                                 f"(fingerprint {e.get('sweep')}, this sweep {fingerprint}: the sweep "
                                 f"file or base config changed); give another --ledger")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock()
        # A torn last line (killed mid-write) must not glue onto the next one.
        if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
            self._file.write("\n")
            self._file.flush()

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: nothing to guard with
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise SweepError(f"{self.path}: another sweep runner is using this ledger") from None

    def states(self) -> dict[int, TrialState]:
        return trial_states(self.entries)

    def append(self, entry: dict[str, Any]) -> None:
        """Write one line and make it durable before returning."""
        entry = plain({"time": now(), **entry})
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.entries.append(entry)

    def session(self, **info: Any) -> None:
        """Record that a runner (re)started on this ledger."""
        self.append({"event": "session", "sweep": self.fingerprint, "host": socket.gethostname(),
                     "pid": os.getpid(), **info})

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
