"""The local sweep runner: W&B's own sweep engine, a JSONL ledger, no server.

:func:`run_local` asks the open-source ``sweeps`` engine (the one behind W&B's
sweep controller) for the next parameters -- grid, random or bayes, with
hyperband early termination -- runs the trial function, and records every
trial state change in a :mod:`ledger <jaxsnn_music.sweep.ledger>` and as an
offline W&B run (:mod:`.tracking`). Trials run one at a time in this process,
so compiled functions and memorized networks are shared between them.

**Resume.** The ledger is the sweep's state. Run the same command again after
an interruption and it continues: the engine is told about every trial in the
ledger, so finished, crashed and stopped trials are never run again (a grid
point is never repeated; bayes fits on all results so far). A trial that was
*running* when the runner stopped -- Ctrl-C and SIGTERM are recorded as
``interrupted``, a kill leaves its ``running`` line -- is **rerun** first, with
the same parameters and the same trial id (``attempt`` 2): an interruption
says nothing about the parameters, and trials are deterministic, so a rerun
gives the result the trial would have had. A trial interrupted
``max_attempts`` times (a trial that keeps killing the machine, say) is
recorded as ``crashed`` instead, so a resume cannot loop forever.

**Count.** ``count`` caps the number of trials in the ledger, over all
sessions: re-running the same command finishes the same sweep, and a larger
count extends it. Random and bayes never end by themselves, so they need one;
a grid ends when every point has run.

**Randomness.** Random and bayes suggestions are seeded per trial from
``seed`` and the trial id, so a sweep run twice suggests the same parameters
(bayes as long as the metrics are the same).

**Early termination.** A trial may call :func:`report` after each step of
its work (``report({"accuracy": 0.7})``); with ``early_terminate: {type:
hyperband, ...}`` in the sweep file the engine compares it with the other
trials at the same step and may stop it: :func:`report` then raises
:class:`TrialStopped` inside the trial, which is recorded as ``stopped`` with
the metrics it had reached.
"""

from __future__ import annotations

import contextvars
import dataclasses
import random
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.errors import ConfigError, UserError
from jaxsnn_music.sweep.ledger import (
    CRASHED,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    Ledger,
    TrialState,
)
from jaxsnn_music.sweep.spec import SweepError, SweepSpec, plain
from jaxsnn_music.sweep.tracking import Tracker

TrialFn = Callable[[Config, dict[str, Any]], dict[str, Any]]
"""``trial_fn(cfg, params) -> metrics``: ``params`` are the trial's sweep parameters
(dotted names, trial keys included), ``cfg`` the config built from them."""


class TrialStopped(Exception):
    """Raised inside a trial by :func:`report` when early termination stops it."""


def _engine():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the engine's pydantic-v1 style config warns on import
        import sweeps
    return sweeps


@dataclasses.dataclass
class _Running:
    """The trial in progress, as :func:`report` sees it."""

    runner: _LocalRunner
    trial: int
    name: str
    params: dict[str, Any]
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def report(self, metrics: dict[str, Any]) -> None:
        metrics = plain(dict(metrics))
        self.history.append(metrics)
        self.runner.tracker.log(metrics)
        if self.runner.should_stop(self):
            raise TrialStopped(f"{self.name} stopped by hyperband at step {len(self.history)}")


_CURRENT: contextvars.ContextVar[_Running | None] = contextvars.ContextVar("sweep_trial", default=None)


def report(metrics: dict[str, Any]) -> None:
    """Record one step of the running trial's metrics (for hyperband and W&B history).

    Outside a sweep trial it does nothing, so trial code can call it unconditionally.
    Raises :class:`TrialStopped` when early termination stops the trial here.
    """
    running = _CURRENT.get()
    if running is not None:
        running.report(metrics)


@dataclasses.dataclass
class SweepResult:
    """What one :func:`run_local` session did and where the sweep stands."""

    ran: int
    """Trials started in this session (reruns included)."""
    states: dict[int, TrialState]
    """Every trial of the ledger, latest state."""
    exhausted: bool
    """The engine has nothing left to suggest (a finished grid)."""
    ledger: Path

    def count(self, status: str) -> int:
        return sum(1 for s in self.states.values() if s.status == status)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in (FINISHED, CRASHED, STOPPED) if self.count(s)]
        left = "grid complete" if self.exhausted else "more to run"
        return (f"{self.ran} trial(s) run; ledger has {len(self.states)}: "
                f"{', '.join(parts) or 'none done'} ({left}) -> {self.ledger}")


def run_local(spec: SweepSpec, trial_fn: TrialFn, ledger: str | Path, count: int | None = None,
              wandb_dir: str | Path | None = None, project: str = "jaxsnn-music",
              wandb_mode: str = "offline", seed: int = 0, max_attempts: int = 2,
              echo: Callable[[str], None] | None = None) -> SweepResult:
    """Run (or resume) a sweep in this process.

    **Arguments:**

    - `spec`: the checked sweep (:func:`~jaxsnn_music.sweep.load_sweep`).
    - `trial_fn`: ``trial_fn(cfg, params) -> dict of metrics`` (see :data:`TrialFn`).
    - `ledger`: the JSONL ledger; resumed if it exists.
    - `count`: at most this many trials in the ledger (required for random and bayes).
    - `wandb_dir`: where offline W&B runs go (default: the ledger's folder).
    - `project`: W&B project name of the offline runs.
    - `wandb_mode`: ``offline`` or ``disabled`` (``$WANDB_MODE=disabled`` always wins).
    - `seed`: seeds random and bayes suggestions.
    - `max_attempts`: a trial interrupted this many times is recorded as crashed.
    - `echo`: called with one line per trial state change (progress), if given.

    **Returns:** a :class:`SweepResult`. Ctrl-C / SIGTERM record the running trial
    as interrupted and re-raise :class:`KeyboardInterrupt`.
    """
    if count is not None and count < 1:
        raise SweepError(f"--count must be >= 1, got {count}")
    if count is None and spec.method != "grid":
        raise SweepError(f"{spec.source}: a {spec.method} sweep never ends by itself: give --count N")
    ledger = Path(ledger)
    tracker = Tracker(Path(wandb_dir) if wandb_dir else ledger.parent, project, spec.name,
                      wandb_mode)
    runner = _LocalRunner(spec, trial_fn, tracker, seed, max_attempts, echo or (lambda line: None))
    with Ledger(ledger, spec.fingerprint()) as book, _sigterm_as_interrupt():
        runner.ledger = book
        book.session(source=spec.source, name=spec.name, method=spec.method, metric=spec.metric,
                     goal=spec.goal, preset=spec.preset, config_path=spec.config_path, count=count,
                     seed=seed)
        ran, exhausted = runner.run(count)
        return SweepResult(ran, book.states(), exhausted, ledger)


class _LocalRunner:
    def __init__(self, spec: SweepSpec, trial_fn: TrialFn, tracker: Tracker, seed: int,
                 max_attempts: int, echo: Callable[[str], None]):
        self.spec = spec
        self.trial_fn = trial_fn
        self.tracker = tracker
        self.seed = seed
        self.max_attempts = max_attempts
        self.echo = echo
        self.ledger: Ledger | None = None
        sweeps = _engine()
        try:
            self.engine_config = sweeps.SweepConfig(spec.sweep)  # fills the engine's defaults
        except Exception as exc:
            raise SweepError(f"{spec.source}: {str(exc).splitlines()[0]}") from None

    def run(self, count: int | None) -> tuple[int, bool]:
        states = self.ledger.states()
        reruns = []
        for state in states.values():
            if state.status not in (RUNNING, INTERRUPTED):
                continue
            if state.attempt >= self.max_attempts:
                self._record(state.trial, state.name, state.attempt, state.params, None, CRASHED,
                             error=f"interrupted {state.attempt} time(s); not rerun "
                                   f"(max_attempts={self.max_attempts})")
            else:
                reruns.append(state)
        ran = 0
        for state in reruns:
            self._run_trial(state.trial, state.params, state.attempt + 1)
            ran += 1
        while True:
            states = self.ledger.states()
            if count is not None and len(states) >= count:
                return ran, False
            trial = max(states, default=-1) + 1
            params = self._suggest(states, trial)
            if params is None:
                return ran, True
            self._run_trial(trial, params, 1)
            ran += 1

    # -- the engine ---------------------------------------------------------------

    def _sweep_runs(self, states: dict[int, TrialState], exclude: int | None = None) -> list:
        sweeps = _engine()
        engine_state = {FINISHED: "finished", STOPPED: "finished", CRASHED: "crashed",
                        RUNNING: "pending", INTERRUPTED: "pending"}
        return [sweeps.SweepRun(name=s.name, state=engine_state[s.status],
                                config={k: {"value": v} for k, v in s.params.items()},
                                summaryMetrics=s.metrics, sampledHistory=s.history,
                                stopped=s.status == STOPPED)
                for s in states.values() if s.trial != exclude]

    def _suggest(self, states: dict[int, TrialState], trial: int) -> dict[str, Any] | None:
        sweeps = _engine()
        runs = self._sweep_runs(states)
        py_state, np_state = random.getstate(), np.random.get_state()
        try:
            # random uses Python's random, bayes NumPy's global generator: seed both per trial.
            random.seed(f"{self.seed}:{trial}")
            np.random.seed((self.seed * 1_000_003 + trial) % 2**32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the GP fit warns about kernel bounds
                suggestion = sweeps.next_run(self.engine_config, runs)
        except Exception as exc:
            raise SweepError(f"{self.spec.source}: the sweep engine failed to suggest a trial "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
        if suggestion is None:
            return None
        return {k: plain(v["value"]) for k, v in sorted(suggestion.config.items())}

    def should_stop(self, running: _Running) -> bool:
        if not self.spec.early_terminate:
            return False
        sweeps = _engine()
        runs = self._sweep_runs(self.ledger.states(), exclude=running.trial)
        runs.append(sweeps.SweepRun(name=running.name, state="running",
                                    config={k: {"value": v} for k, v in running.params.items()},
                                    sampledHistory=running.history))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stop = sweeps.stop_runs(self.engine_config, runs)
        return any(r.name == running.name for r in stop)

    # -- one trial ----------------------------------------------------------------

    def _record(self, trial: int, name: str, attempt: int, params: dict, config: dict | None,
                status: str, **extra: Any) -> None:
        self.ledger.append({"event": "trial", "trial": trial, "name": name, "attempt": attempt,
                            "status": status, "params": params, "config": config, **extra})
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        detail = f": {extra['error']}" if extra.get("error") else ""
        metric = self.spec.metric
        if metric and metric in (extra.get("metrics") or {}):
            detail += f" {metric}={extra['metrics'][metric]:.6g}" if isinstance(
                extra["metrics"][metric], (int, float)) else f" {metric}={extra['metrics'][metric]}"
        if extra.get("wall_s"):
            detail += f" in {extra['wall_s']:.1f} s"
        self.echo(f"[{name}] {status}{detail} ({shown})")

    def _run_trial(self, trial: int, params: dict[str, Any], attempt: int) -> None:
        name = f"trial-{trial:04d}"
        params = plain(params)
        try:
            cfg = self.spec.build(params)
        except ConfigError as exc:  # an invalid random/bayes combination: a failed trial
            self._record(trial, name, attempt, params, None, CRASHED, error=str(exc), wall_s=0.0)
            return
        config = cfg.to_dict()
        self._record(trial, name, attempt, params, config, RUNNING)
        self.tracker.start(name, params, config)
        running = _Running(self, trial, name, params)
        token = _CURRENT.set(running)
        t0 = time.perf_counter()
        status, metrics, extra = FINISHED, {}, {}
        try:
            result = self.trial_fn(cfg, dict(params))
            if not isinstance(result, dict):
                raise TypeError(f"the trial function returned {type(result).__name__}, not a dict")
            metrics = plain(result)
        except TrialStopped:
            status = STOPPED
            metrics = {k: v for step in running.history for k, v in step.items()}
        except KeyboardInterrupt:
            wall = time.perf_counter() - t0
            self._record(trial, name, attempt, params, config, INTERRUPTED, wall_s=wall,
                         history=running.history, error="interrupted (Ctrl-C or SIGTERM)")
            self.tracker.finish(INTERRUPTED, error="interrupted")
            raise
        except Exception as exc:  # a crashing trial is recorded and the sweep goes on
            status = CRASHED
            extra["error"] = _one_line(exc)
            if not isinstance(exc, UserError):
                extra["traceback"] = "".join(traceback.format_exception(exc)[-12:])
        finally:
            _CURRENT.reset(token)
        wall = time.perf_counter() - t0
        history = running.history or ([metrics] if metrics else [])
        if not running.history and metrics:
            self.tracker.log(metrics)
        self.tracker.finish(status, metrics, extra.get("error"))
        self._record(trial, name, attempt, params, config, status, metrics=metrics,
                     history=history, wall_s=round(wall, 6), **extra)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, UserError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class _sigterm_as_interrupt:
    """While a sweep runs, SIGTERM (a scheduler's polite kill) acts like Ctrl-C."""

    def __enter__(self):
        self._old = None
        if threading.current_thread() is threading.main_thread():
            def handler(signum, frame):
                raise KeyboardInterrupt(f"signal {signum}")
            self._old = signal.signal(signal.SIGTERM, handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGTERM, self._old)
