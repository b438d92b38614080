"""Differentiable mode: surrogate gradients that tune thresholds and delays (MODEL.md 5.4).

The differentiable mode is the one recall simulator (:mod:`jaxsnn_music.recall.simulator`)
with a surrogate spike function and real-valued delays plugged in, ``eqx.partition``-ed
into its trainable leaves (thresholds, delay offsets) and the rest:

- :mod:`.params`: the differentiable simulator, what is trained, and the plain simulator
  with tuned parameters;
- :mod:`.objective`: a batch of cued recalls and the soft first-spike objective;
- :mod:`.cues`: cue positions and their perturbations (jitter, dropped and extra spikes);
- :mod:`.robustness`: the same cued recall scored in the plain simulator;
- :mod:`.train`: the resumable optax run (``jaxsnn-music tune``).
"""

from jaxsnn_music.tune.params import differentiable_recaller, plain_recaller, trainable
from jaxsnn_music.tune.train import evaluate_cues, initial_params, load_tuned, tune

__all__ = ["differentiable_recaller", "evaluate_cues", "initial_params", "load_tuned",
           "plain_recaller", "trainable", "tune"]
