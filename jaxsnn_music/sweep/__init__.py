"""Sweeps: many trials of memorize -> recall -> scores, on one machine or many.

The data path of a trial is the project's straight line (config -> corpus ->
:func:`~jaxsnn_music.network.growth` -> recall -> scores); a sweep runs it for
many configs. A sweep is a standard W&B sweep YAML file (``sweeps/*.yaml``)
whose parameter names are our dotted config keys (``network.n_delays``) plus a
few trial keys (``trial.pieces``, ``trial.preset``, ``trial.seed``); see
:mod:`.spec`. Two backends run the same file:

**local** (:func:`run_local`, ``jaxsnn-music sweep FILE --backend local``):
W&B's open-source sweep engine (``sweeps``: grid, random, bayes, hyperband)
driven in this process, with no server. Every trial state change goes to a
JSONL ledger (:mod:`.ledger`), which is also what an interrupted sweep resumes
from (:mod:`.local` explains the rules), and every trial is an offline W&B run
(:mod:`.tracking`; ``wandb sync`` uploads them later). ``WANDB_MODE=disabled``
switches W&B off.

**wandb** (:func:`run_wandb`, ``--backend wandb``): the W&B service runs the
search; this process is one *agent*. Across machines::

    # machine A: create the sweep and work on it
    jaxsnn-music sweep sweeps/bayes_episodic.yaml --backend wandb --project music --count 20
    #   -> prints "sweep ENTITY/music/SWEEP_ID"
    # machines B, C, ...: join it (the same YAML, the printed id)
    jaxsnn-music sweep sweeps/bayes_episodic.yaml --backend wandb --project music \\
        --sweep-id SWEEP_ID --count 20

Every agent pulls the next parameters from the W&B server, runs the trial
here and reports to the server, so machines share one search (bayes sees
every machine's results). Each machine needs ``wandb login`` (or
``WANDB_API_KEY``), network access to the W&B server, the corpus, and this
package. The classic ``wandb sweep FILE`` + ``wandb agent ID`` CLI works too
when the file has a ``program``/``command`` that runs ``python -m
jaxsnn_music.sweep.wandb_backend`` (see that module). Without login or network,
or with ``WANDB_MODE=offline``/``disabled``, the wandb backend refuses with one
line and never waits; use the local backend then.

**Trials** (:mod:`.trial`): ``trial_fn(cfg, params) -> metrics`` is pluggable;
:class:`DefaultTrial` memorizes (reusing a network memorized by an earlier
trial when only recall settings differ) and evaluates recall.
"""

from jaxsnn_music.sweep.ledger import Ledger, TrialState, read_ledger, trial_states
from jaxsnn_music.sweep.local import SweepResult, TrialFn, TrialStopped, report, run_local
from jaxsnn_music.sweep.spec import TRIAL_KEYS, SweepError, SweepSpec, check_sweep, load_sweep
from jaxsnn_music.sweep.trial import DefaultTrial, NetworkCache, learning_fingerprint
from jaxsnn_music.sweep.wandb_backend import run_wandb

__all__ = [
    "TRIAL_KEYS",
    "DefaultTrial",
    "Ledger",
    "NetworkCache",
    "SweepError",
    "SweepResult",
    "SweepSpec",
    "TrialFn",
    "TrialState",
    "TrialStopped",
    "check_sweep",
    "learning_fingerprint",
    "load_sweep",
    "read_ledger",
    "report",
    "run_local",
    "run_wandb",
    "trial_states",
]
