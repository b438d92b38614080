"""Evaluation: the step above recall that turns recalls into numbers, tables and figures."""

from jaxsnn_music.evaluate.protocols import (
    AUTHORS,
    capacity_protocol,
    episodic_protocol,
    paper_protocol,
    recall_scores,
    run_capacity,
    run_full,
    run_paper,
    sample_fragments,
    sweep_metrics,
    tempo_protocol,
)

__all__ = ["AUTHORS", "capacity_protocol", "episodic_protocol", "paper_protocol", "recall_scores",
           "run_capacity", "run_full", "run_paper", "sample_fragments", "sweep_metrics",
           "tempo_protocol"]
