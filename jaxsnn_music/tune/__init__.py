"""Differentiable mode: surrogate gradients that tune thresholds and delays (MODEL.md 5.4).

- :mod:`.surrogate`: the SuperSpike spike function (``jax.custom_jvp``);
- :mod:`.delay_readout`: real-valued delays read through Gaussian or linear kernels;
- :mod:`.params`: what is trained (:class:`TunedParams`) and what stays frozen;
- :mod:`.dynamics`: the recall dynamics with surrogate spikes, and the objective;
- :mod:`.cues`: cue positions and their perturbations (jitter, dropped and extra spikes);
- :mod:`.robustness`: the same cued recall scored in the plain simulator;
- :mod:`.train`: the resumable optax run (``jaxsnn-music tune``).
"""

from jaxsnn_music.tune.params import TunedParams, TuneModel
from jaxsnn_music.tune.train import evaluate_cues, load_tuned, tune

__all__ = ["TuneModel", "TunedParams", "evaluate_cues", "load_tuned", "tune"]
