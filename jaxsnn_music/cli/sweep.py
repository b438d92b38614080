"""``jaxsnn-music sweep``: run a sweep file locally (resumable) or as a W&B agent.

A thin shell around :func:`jaxsnn_music.sweep.run_local` and
:func:`jaxsnn_music.sweep.run_wandb` with the default trial (memorize, then
recall scores).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jaxsnn_music.cli.options import (corpus_path_option, piano_midi_option, quiet_option,
                                      selection_option, user_errors)
from jaxsnn_music.config import PRESETS

RECALL_METRICS = ("pitch_accuracy", "duration_accuracy", "onset_accuracy", "perfect_tracks",
                  "episodic_accuracy", "episodic_unknown_rate")
"""The metrics :func:`jaxsnn_music.evaluate.sweep_metrics` reports for the default trial
(the tests check this list against it); with
:data:`~jaxsnn_music.sweep.trial.MEMORIZE_METRICS`, the names a sweep may optimise."""


@click.command("sweep")
@click.argument("sweep_file", type=click.Path(dir_okay=False))
@click.option("--backend", type=click.Choice(["local", "wandb"]), default="local", show_default=True,
              help="local: this process runs the search (no server; JSONL ledger, offline W&B "
                   "runs). wandb: the W&B server runs it and this process is one agent.")
@click.option("--count", type=int, default=None,
              help="local: at most N trials in the ledger (required for random/bayes); "
                   "wandb: trials this agent runs.")
@click.option("--ledger", type=click.Path(dir_okay=False), default=None,
              help="local: the JSONL ledger to write and resume from "
                   "(default: results/sweeps/NAME.jsonl).")
@click.option("--project", default=None,
              help="W&B project (default: the sweep file's, else jaxsnn-music).")
@click.option("--entity", default=None, help="wandb: W&B entity (user or team).")
@click.option("--sweep-id", default=None,
              help="wandb: join this existing sweep (created on another machine).")
@corpus_path_option()
@selection_option(help="A named corpus (default: bach-chorales).")
@piano_midi_option(help="The piano-midi.de folder (default: $JAXSNN_MUSIC_PIANO_MIDI or "
                        "../shared/corpus/piano-midi).")
@click.option("--preset", type=click.Choice(PRESETS), default=None,
              help="Base preset of every trial (the parameter trial.preset overrides it).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Base config YAML of every trial.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="local: seeds random and bayes suggestions.")
@click.option("--network-cache", type=click.Path(file_okay=False), default=None,
              help="Keep memorized networks here as checkpoints, shared by trials and resumed "
                   "sweeps (default: in memory only).")
@click.option("--wandb-dir", type=click.Path(file_okay=False), default=None,
              help="local: where offline W&B runs go (default: the ledger's folder).")
@click.option("--no-wandb", is_flag=True, help="local: no W&B files at all (the ledger only).")
@quiet_option(help="No line per trial.")
@user_errors
def sweep(sweep_file, backend, count, ledger, project, entity, sweep_id, corpus_dir, selection,
          piano_midi, preset, config_path, seed, network_cache, wandb_dir, no_wandb, quiet):
    """Run SWEEP_FILE, a W&B sweep YAML whose parameters are config keys (network.n_delays)
    and trial keys (trial.pieces, trial.preset, trial.seed); see sweeps/*.yaml.

    local: re-running the same command resumes from the ledger: finished trials are
    not run again, an interrupted one is rerun. Exit code 1 when any trial crashed or
    none reported the metric; 2 for a bad sweep file (a misspelled metric included).
    """
    from jaxsnn_music.corpus.sources import resolve_items
    from jaxsnn_music.sweep import DefaultTrial, NetworkCache, load_sweep, run_local, run_wandb
    from jaxsnn_music.sweep.spec import SweepError, check_metric
    from jaxsnn_music.sweep.trial import MEMORIZE_METRICS

    spec = load_sweep(sweep_file, preset=preset, config_path=config_path)
    echo = (lambda line: None) if quiet else (lambda line: click.echo(line, err=True))
    if count is not None and count < 1:
        raise SweepError(f"--count must be >= 1, got {count}")
    if backend == "local" and sweep_id is not None:
        raise SweepError("--sweep-id joins a W&B sweep: it needs --backend wandb")
    if backend == "local" and count is None and spec.method != "grid":
        raise SweepError(f"{spec.source}: a {spec.method} sweep never ends by itself: give --count N")
    if backend == "wandb":
        from jaxsnn_music.sweep.wandb_backend import preflight

        preflight()  # before the corpus is read: refuse at once without login or network
    check_metric(spec, (*MEMORIZE_METRICS, *RECALL_METRICS))
    items = resolve_items(corpus_dir, selection, piano_midi)
    trial = DefaultTrial(items, metric=spec.metric,
                         network_cache=NetworkCache(network_cache) if network_cache else None,
                         echo=echo)
    trial.check(spec)
    if backend == "wandb":
        joined = run_wandb(spec, trial, project=project, entity=entity, count=count,
                           sweep_id=sweep_id, echo=lambda line: click.echo(line))
        click.echo(f"agent done: sweep {joined}")
        return
    ledger = Path(ledger) if ledger else Path("results") / "sweeps" / f"{spec.name}.jsonl"
    try:
        result = run_local(spec, trial, ledger, count=count, wandb_dir=wandb_dir,
                           project=project or spec.sweep.get("project") or "jaxsnn-music",
                           wandb_mode="disabled" if no_wandb else "offline", seed=seed, echo=echo)
    except KeyboardInterrupt:
        click.echo(f"interrupted: run the same command to resume from {ledger}", err=True)
        sys.exit(130)
    click.echo(result.summary())
    finished = [s for s in result.states.values() if s.status == "finished"]
    if spec.metric and finished and not any(spec.metric in (s.metrics or {}) for s in finished):
        click.echo(f"error: no trial reported the metric {spec.metric!r}: nothing was optimised",
                   err=True)
        sys.exit(1)
    if result.count("crashed"):
        sys.exit(1)
