"""Evaluation: the step above recall that turns recalls into numbers, tables and figures.

Recall (:mod:`jaxsnn_music.recall`) answers one cue with one memory: a title with a
piece, a fragment with a title. Evaluation asks many such questions of a network and
counts the answers: it memorizes fresh networks where a protocol needs them, cues them,
scores every recall against the piece that was learned, and reports accuracies next to
the authors' numbers. It uses recall and the network; nothing below it uses evaluation.

- :mod:`~jaxsnn_music.evaluate.protocols`: the protocols (``paper``, ``full``,
  ``capacity``; episodic identification, tempo fidelity, a sweep trial's metrics) as
  pure functions, data in, numbers out;
- :mod:`~jaxsnn_music.evaluate.writing`: ``run_paper``, ``run_full``, ``run_capacity``
  run a protocol and write its JSON and CSV files and its figures;
- :mod:`~jaxsnn_music.evaluate.plots`: the figures, one function each.
"""

from jaxsnn_music.evaluate.protocols import (
    AUTHORS,
    capacity_protocol,
    episodic_protocol,
    full_protocol,
    paper_protocol,
    recall_scores,
    sample_fragments,
    sweep_metrics,
    tempo_protocol,
)
from jaxsnn_music.evaluate.writing import run_capacity, run_full, run_paper

__all__ = ["AUTHORS", "capacity_protocol", "episodic_protocol", "full_protocol", "paper_protocol",
           "recall_scores", "run_capacity", "run_full", "run_paper", "sample_fragments",
           "sweep_metrics", "tempo_protocol"]
