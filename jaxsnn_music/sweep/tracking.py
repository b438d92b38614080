"""Weights & Biases logging of local trials: offline files, never a network wait.

Each trial of the local runner becomes one W&B run in *offline* mode
(``wandb.init(mode="offline", dir=...)``): W&B writes its files under
``DIR/wandb/offline-run-*`` and contacts no server, so a sweep never waits on
the network. Upload them later, from any machine with access, with
``wandb sync DIR/wandb/offline-run-*``.

``WANDB_MODE=disabled`` (the tests set it) turns W&B off entirely: wandb is not
even imported. A W&B failure (a broken install, a full disk) is reported once
as a warning and logging stops; it never fails a trial or the sweep.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any


def wandb_mode(requested: str = "offline") -> str:
    """The mode to use: ``disabled`` when ``$WANDB_MODE`` says so, else ``requested``."""
    if os.environ.get("WANDB_MODE", "").lower() == "disabled":
        return "disabled"
    return requested


class Tracker:
    """Starts, logs to and finishes one offline W&B run per trial.

    **Arguments:**

    - `directory`: where W&B writes (its files go to ``directory/wandb``).
    - `project`: the W&B project name the runs will have when synced.
    - `group`: the sweep's name (groups its runs in the W&B UI).
    - `mode`: ``offline`` or ``disabled``.
    """

    def __init__(self, directory: str | Path, project: str, group: str, mode: str = "offline"):
        if mode not in ("offline", "disabled"):
            raise ValueError(f"local trials log offline or not at all, not {mode!r}")
        self.directory = Path(directory)
        self.project = project
        self.group = group
        self.mode = wandb_mode(mode)
        self._run = None

    @property
    def enabled(self) -> bool:
        return self.mode != "disabled"

    def _fail(self, what: str, exc: Exception) -> None:
        warnings.warn(f"W&B logging turned off ({what}: {type(exc).__name__}: {exc})", stacklevel=3)
        self.mode = "disabled"
        self._run = None

    def start(self, name: str, params: dict[str, Any], config: dict[str, Any] | None,
              job_type: str = "sweep-trial") -> None:
        if not self.enabled:
            return
        try:
            import wandb

            self.directory.mkdir(parents=True, exist_ok=True)
            self._run = wandb.init(
                mode="offline", dir=str(self.directory), project=self.project, group=self.group,
                name=name, job_type=job_type, reinit="create_new",
                config={"params": params, **(config or {})},
                settings=wandb.Settings(console="off", silent=True, x_disable_stats=True,
                                        x_disable_machine_info=True))
        except Exception as exc:  # logging must never end a sweep
            self._fail("init", exc)

    def log(self, metrics: dict[str, Any]) -> None:
        if self._run is None:
            return
        try:
            self._run.log(_numbers(metrics))
        except Exception as exc:
            self._fail("log", exc)

    def finish(self, status: str, metrics: dict[str, Any] | None = None,
               error: str | None = None) -> None:
        if self._run is None:
            return
        try:
            for key, value in _numbers(metrics or {}).items():
                self._run.summary[key] = value
            self._run.summary["status"] = status
            if error:
                self._run.summary["error"] = error
            self._run.finish(exit_code=0 if status in ("finished", "stopped") else 1)
        except Exception as exc:
            self._fail("finish", exc)
        self._run = None


def _numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float, bool, str))}
