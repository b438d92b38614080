"""The W&B backend: ``wandb.sweep`` creates the sweep on the server, ``wandb.agent`` works on it.

The search runs on the W&B server; each process that calls :func:`run_wandb`
is one agent that pulls parameters, runs a trial here and reports back, so
agents on many machines share one sweep (see :mod:`jaxsnn_music.sweep` for the
commands). Pass ``sweep_id`` to join a sweep instead of creating one.

For the classic CLI (``wandb sweep FILE`` then ``wandb agent ID`` on every
machine), give the sweep file a command that runs this module::

    command: [${env}, ${interpreter}, -m, jaxsnn_music.sweep.wandb_backend,
              --selection, paper]

``wandb agent`` then starts ``python -m jaxsnn_music.sweep.wandb_backend`` once per
trial; it reads the trial's parameters from ``wandb.init()`` and runs the
default trial on the corpus named by ``--selection`` / ``--corpus``.

This backend needs the W&B server: :func:`preflight` refuses at once, with one
line, when ``WANDB_MODE`` is ``offline`` or ``disabled``, when there is no API
key (``wandb login`` or ``WANDB_API_KEY``), or when the server does not answer
a TCP connection within a few seconds -- it never waits on the network.
"""

from __future__ import annotations

import netrc
import os
import socket
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from jaxsnn_music.errors import ConfigError
from jaxsnn_music.sweep.spec import SweepError, SweepSpec, plain

DEFAULT_BASE_URL = "https://api.wandb.ai"
CONNECT_TIMEOUT_S = 3.0


def _api_key(host: str) -> str | None:
    if os.environ.get("WANDB_API_KEY"):
        return os.environ["WANDB_API_KEY"]
    path = os.environ.get("NETRC") or os.path.expanduser("~/.netrc")
    try:
        creds = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return creds[2] if creds else None


def preflight(timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse (:class:`SweepError`, one line) unless W&B can be reached and we are logged in."""
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "disabled", "dryrun"):
        raise SweepError(f"the wandb backend needs the W&B server, but WANDB_MODE={mode}; "
                         f"use --backend local (it logs offline runs you can `wandb sync` later)")
    base = os.environ.get("WANDB_BASE_URL", DEFAULT_BASE_URL)
    parts = urlsplit(base)
    host = parts.hostname or ""
    if not host:
        raise SweepError(f"WANDB_BASE_URL={base!r} is not a URL")
    if not _api_key(host):
        raise SweepError(f"not logged in to W&B ({host}): run `wandb login` or set WANDB_API_KEY, "
                         f"or use --backend local")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SweepError(f"cannot reach the W&B server {host}:{port} ({exc.strerror or exc}); "
                         f"use --backend local") from None


def run_wandb(spec: SweepSpec, trial_fn: Callable[[Any, dict[str, Any]], dict[str, Any]],
              project: str | None = None, entity: str | None = None, count: int | None = None,
              sweep_id: str | None = None, echo: Callable[[str], None] | None = None) -> str:
    """Create (or join) a W&B sweep and work on it as one agent.

    **Arguments:**

    - `spec`: the checked sweep file.
    - `trial_fn`: ``trial_fn(cfg, params) -> metrics``, as for the local runner.
    - `project`, `entity`: where the sweep lives (default: the file's, then W&B's).
    - `count`: trials this agent runs (None: until the sweep is done).
    - `sweep_id`: join this sweep instead of creating a new one.
    - `echo`: told the sweep id (one line), if given.

    **Returns:** the sweep id.
    """
    preflight()
    import wandb

    project = project or spec.sweep.get("project")
    entity = entity or spec.sweep.get("entity")
    if sweep_id is None:
        sweep_id = wandb.sweep(sweep=spec.wandb_config(), project=project, entity=entity)
    if echo:
        echo(f"sweep {'/'.join(x for x in (entity, project, sweep_id) if x)}")

    def agent_trial():
        run_one(spec, trial_fn)

    wandb.agent(sweep_id, function=agent_trial, project=project, entity=entity, count=count)
    return sweep_id


def run_one(spec: SweepSpec, trial_fn: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> None:
    """One trial inside a W&B agent: parameters from ``wandb.init()``, metrics to the run."""
    import wandb

    from jaxsnn_music.sweep import local

    run = wandb.init()
    try:
        params = _flat(plain(dict(run.config)))
        try:
            cfg = spec.build(params)
        except ConfigError as exc:
            run.summary["error"] = str(exc)
            run.finish(exit_code=1)
            return
        # report() inside the trial logs each step to this run (W&B's server applies hyperband).
        token = local._CURRENT.set(_WandbReporter(run))
        try:
            metrics = trial_fn(cfg, params)
        finally:
            local._CURRENT.reset(token)
        run.log(plain(metrics))
        run.finish()
    except Exception as exc:  # recorded on the run; the agent goes on with the next trial
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"trial crashed: {error}", file=sys.stderr)
        run.summary["error"] = error
        run.finish(exit_code=1)


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys, whether W&B hands the parameters over flat or nested by their dots."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class _WandbReporter:
    """Stands in for the local runner's trial context: report() -> run.log()."""

    def __init__(self, run):
        self.run = run

    def report(self, metrics: dict[str, Any]) -> None:
        self.run.log(plain(dict(metrics)))


def main(argv: list[str] | None = None) -> int:
    """``python -m jaxsnn_music.sweep.wandb_backend``: one trial, launched by ``wandb agent``.

    Options: ``--sweep-file FILE`` (to build configs the same way; default: the
    parameters alone on the default preset), ``--corpus DIR`` or ``--selection NAME``.
    """
    import argparse

    from jaxsnn_music.corpus.sources import resolve_items
    from jaxsnn_music.errors import UserError
    from jaxsnn_music.sweep.spec import load_sweep
    from jaxsnn_music.sweep.trial import DefaultTrial

    parser = argparse.ArgumentParser(prog="python -m jaxsnn_music.sweep.wandb_backend")
    parser.add_argument("--sweep-file", default=None)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--selection", default=None)
    parser.add_argument("--preset", default=None)
    args, _ = parser.parse_known_args(argv)  # wandb agent may append ${args}
    try:
        spec = (load_sweep(args.sweep_file, preset=args.preset) if args.sweep_file
                else SweepSpec({"method": "grid", "parameters": {}}, "wandb-agent", args.preset))
        trial = DefaultTrial(resolve_items(args.corpus, args.selection), metric=spec.metric)
        run_one(spec, trial)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

