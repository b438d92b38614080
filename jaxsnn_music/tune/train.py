"""Tuning thresholds and delays by gradient descent: a resumable optax run.

Each optimiser step draws ``tune.batch`` cue positions from the tuning titles
(seeded by the step, so a resumed run draws what the interrupted one would
have), spoils the cues (:mod:`.cues`), runs the differentiable recall
(:mod:`.dynamics`) and takes one Adam step per parameter group
(``optax.multi_transform``: thresholds at ``lr_threshold``, delays at the larger
``lr_delay``), then projects the parameters back into their ranges. The
Gaussian delay read-out's width anneals with the step.

The run folder ``OUT``::

    tune.json     what the run is (config, source checkpoint, title split); a
                  resumed run must match it
    state/        orbax checkpoints of (parameters, optimiser state) every
                  ``tune.checkpoint_every`` steps (the latest two are kept)
    result.json   written at the end: the tuned parameters' summary and the
                  held-out scores before and after, in the plain simulator
    wandb/        the offline W&B run (``wandb sync OUT/wandb/offline-run-*``)
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp

from jaxsnn_music.config import Config
from jaxsnn_music.errors import CheckpointError
from jaxsnn_music.events import Piece
from jaxsnn_music.resumable import _first_difference
from jaxsnn_music.network.model import Network
from jaxsnn_music.recall.index import NetworkIndex
from jaxsnn_music.records import jsonable
from jaxsnn_music.sweep.tracking import Tracker
from jaxsnn_music.tune.cues import CueSource
from jaxsnn_music.tune.objective import loss_and_metrics
from jaxsnn_music.tune.params import (clamp, differentiable_recaller, initial_sigma, labels,
                                      parameters, plain_recaller, sigma_at, summary, trainable)
from jaxsnn_music.tune.robustness import score_cued

MANIFEST = "tune.json"
RESULT = "result.json"
STATE = "state"
_AGAIN = "use --restart to start over"
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def initial_params(cfg: Config):
    """The paper's parameters: the trainable leaves of the differentiable recall simulator."""
    return parameters(differentiable_recaller(cfg))


def optimizer(cfg: Config) -> optax.GradientTransformation:
    """Adam per parameter group: thresholds and delays, each with its own learning rate."""
    t = cfg.tune
    return optax.multi_transform({"threshold": optax.adam(t.lr_threshold),
                                  "delay": optax.adam(t.lr_delay)},
                                 labels(initial_params(cfg)))


def make_step(cfg: Config, opt: optax.GradientTransformation):
    """The compiled optimiser step ``(params, opt_state, batch, sigma) -> (params, opt_state,
    metrics)``: the recall simulator, ``eqx.partition``-ed into its trainable leaves
    (thresholds, delay offsets) and the rest, which no gradient reaches."""
    model = differentiable_recaller(cfg)
    _, static = eqx.partition(model, trainable(model))
    gaussian = cfg.tune.delay_readout == "gaussian"
    tau = cfg.tune.readout_tau_steps

    @eqx.filter_jit
    def step(params, opt_state, batch, sigma):
        def loss(params):
            recaller = eqx.combine(params, static)
            if gaussian:
                recaller = eqx.tree_at(lambda r: r.delays.sigma, recaller,
                                       jnp.asarray(sigma, recaller.dtype))
            return loss_and_metrics(recaller, batch, tau)

        grads, metrics = eqx.filter_grad(loss, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = clamp(optax.apply_updates(params, updates), cfg)
        return params, opt_state, metrics

    return step


_BOOKKEEPING = ("eval_cues", "eval_columns", "checkpoint_every", "log_every", "wandb")
"""``tune`` keys that do not change the trained parameters: a resumed run may change them."""


def _identity(cfg: Config, source: str, train: list[str], held: list[str]) -> dict[str, Any]:
    """What decides a run's parameters: the dynamics, the training settings, the title split."""
    config = jsonable(cfg.to_dict())
    tune = {k: v for k, v in config["tune"].items() if k not in _BOOKKEEPING}
    return {"config": {"network": config["network"], "recall": config["recall"], "tune": tune},
            "source": source, "train_titles": train, "held_out_titles": held}


def _state_manager(out: Path) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(out / STATE, options=ocp.CheckpointManagerOptions(
        max_to_keep=2, create=True))


def _restore_state(manager: ocp.CheckpointManager, params, opt_state):
    """The latest saved (step, params, opt_state), or ``(0, params, opt_state)``."""
    step = manager.latest_step()
    if step is None:
        return 0, params, opt_state
    template = {"params": [np.asarray(x) for x in jax.tree.leaves(params)],
                "opt_state": [np.asarray(x) for x in jax.tree.leaves(opt_state)]}
    try:
        saved = manager.restore(step, args=ocp.args.StandardRestore(template))
    except Exception as exc:  # a damaged or foreign state folder
        raise CheckpointError(f"{manager.directory}: cannot restore step {step} ({type(exc).__name__}: "
                              f"{exc}); {_AGAIN}") from None
    unflatten = lambda like, leaves: jax.tree.unflatten(  # noqa: E731
        jax.tree.structure(like), [jnp.asarray(x) for x in leaves])
    return step, unflatten(params, saved["params"]), unflatten(opt_state, saved["opt_state"])


def _save_state(manager: ocp.CheckpointManager, step: int, params, opt_state) -> None:
    state = {"params": [np.asarray(x) for x in jax.tree.leaves(params)],
             "opt_state": [np.asarray(x) for x in jax.tree.leaves(opt_state)]}
    manager.save(step, args=ocp.args.StandardSave(state))


def load_tuned(out: str | Path, cfg: Config):
    """The tuned parameters of a finished (or interrupted) run folder (the trainable leaves of
    the differentiable recall simulator; :func:`~.params.plain_recaller` runs them)."""
    out = Path(out).absolute()
    if not (out / STATE).is_dir():
        raise CheckpointError(f"{out}: not a tuning run folder (no {STATE}/ in it)")
    manager = _state_manager(out)
    if manager.latest_step() is None:
        raise CheckpointError(f"{out}: no tuned parameters saved there")
    params = initial_params(cfg)
    return _restore_state(manager, params, optimizer(cfg).init(params))[1]


def evaluate_cues(source: CueSource, titles: Sequence[int], cfg: Config,
                  params: dict[str, Any]) -> dict[str, dict]:
    """Held-out scores in the plain simulator: the same positions and spoiled cues (seeded by
    ``tune.seed``, apart from the training draws) for each named parameter set, clean and spoiled."""
    t = cfg.tune
    positions = source.positions(titles, t.eval_cues, np.random.default_rng([t.seed, 1, 0]))
    clean = source.clean_cues(positions)
    spoiled = source.perturbed_cues(positions, jax.random.fold_in(jax.random.key(t.seed), 1 << 30),
                                    clean)
    return {name: {"perturbed": score_cued(source, positions, spoiled, plain_recaller(p, cfg), cfg),
                   "clean": score_cued(source, positions, clean, plain_recaller(p, cfg), cfg)}
            for name, p in params.items()}


def tune(network: Network, pieces: Sequence[Piece], cfg: Config, out: str | Path,
         source_checkpoint: str = "", restart: bool = False, progress: Progress = _quiet,
         index: NetworkIndex | None = None) -> dict[str, Any]:
    """Tune thresholds and delays of a memorized network for robust cued recall.

    **Arguments:**

    - `network`: the memorized network (its weights stay as they are).
    - `pieces`: its stored pieces (the cues and the targets).
    - `cfg`: the config (``tune`` section; ``network`` and ``recall`` as the network's).
    - `out`: the run folder (see the module's text); resumed unless `restart`.
    - `source_checkpoint`: recorded in the run's manifest.
    - `progress`: called with one line per log step.
    - `index`: the network's look-ups, when the caller has them (they cost a pass over the store).

    **Returns:** the result (also written to ``OUT/result.json``).
    """
    t = cfg.tune
    out = Path(out).absolute()  # orbax wants absolute paths
    source = CueSource(network, pieces, cfg, index)
    train, held = source.split(t.train_share, t.seed)
    titles = network.titles
    wanted = _identity(cfg, str(source_checkpoint), [titles[i] for i in train], [titles[i] for i in held])
    if restart and out.exists():
        for name in (MANIFEST, RESULT, STATE):
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        found = json.loads(manifest_path.read_text())
        if found != wanted:
            raise CheckpointError(f"{out} holds a tuning run of something else "
                                  f"({_first_difference(wanted, found)}); {_AGAIN}")
    out.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(wanted, indent=1))

    opt = optimizer(cfg)
    params = initial_params(cfg)
    manager = _state_manager(out)
    done, params, opt_state = _restore_state(manager, params, opt.init(params))
    if done:
        progress(f"resuming at step {done} of {t.steps}")
    step_fn = make_step(cfg, opt)
    sigma0 = initial_sigma(cfg)
    tracker = Tracker(out, "jaxsnn-music", "tune", t.wandb)
    tracker.start(out.name, {}, jsonable(cfg.to_dict()), job_type="tune")
    key = jax.random.key(t.seed)
    started, history = time.perf_counter(), []
    for step in range(done, t.steps):
        positions = source.positions(train, t.batch, np.random.default_rng([t.seed, 0, step]))
        cues = source.perturbed_cues(positions, jax.random.fold_in(key, step))
        batch = source.batch(positions, cues, t.horizon, t.title_cue)
        sigma = sigma_at(step, t.steps, sigma0, t.sigma_end, t.sigma_anneal)
        params, opt_state, metrics = step_fn(params, opt_state, batch, sigma)
        if (step + 1) % t.log_every == 0 or step + 1 == t.steps:
            row = {"step": step + 1, "sigma": float(sigma), **{k: float(v) for k, v in metrics.items()}}
            history.append(row)
            tracker.log(row)
            progress(f"step {step + 1}/{t.steps}: loss {row['loss']:.4f}, pitch hit "
                     f"{row['pitch_hit']:.1%}, duration hit {row['duration_hit']:.1%}, sigma "
                     f"{row['sigma']:.2f}")
        if (step + 1) % t.checkpoint_every == 0 or step + 1 == t.steps:
            _save_state(manager, step + 1, params, opt_state)
    manager.wait_until_finished()
    seconds = time.perf_counter() - started

    progress(f"scoring {t.eval_cues} held-out cues in the plain simulator")
    scores = evaluate_cues(source, held, cfg, {"paper": initial_params(cfg),
                                               "tuned": params})
    result = {"steps": t.steps, "resumed_at": done, "train_seconds": seconds,
              "train_titles": len(train), "held_out_titles": len(held), "history": history,
              "params": summary(params, cfg), "held_out": scores}
    tracker.finish("finished", {f"{name}/{cond}/{k}": v for name, s in scores.items()
                                for cond, d in s.items() for k, v in d.items()})
    (out / RESULT).write_text(json.dumps(jsonable(result), indent=1))
    return result


__all__ = ["evaluate_cues", "load_tuned", "make_step", "optimizer", "tune"]
