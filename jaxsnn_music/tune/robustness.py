"""Cued recall from perturbed cues, scored in the plain simulator.

The measure the differentiable mode is tuned for, taken with the ordinary
recall code (:func:`~jaxsnn_music.recall.cued.recall_units`, hard spikes,
integer delays): for each cue position, the cue's rasters are put in the delay
buffer (as an identified fragment's are), the title is driven or not
(``tune.title_cue``), ``tune.eval_columns`` columns are recalled, and their
read-outs are compared with the stored events. The same positions and the same
spoiled cues score every set of parameters, side by side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.recall.cued import CuedTrack, recall_units
from jaxsnn_music.recall.simulator import Recaller
from jaxsnn_music.tune.cues import CueSource, Position


def score_cued(source: CueSource, positions: Sequence[Position], cues: tuple[np.ndarray, ...],
               recaller: Recaller, cfg: Config) -> dict:
    """Accuracy of the columns recalled after each cue.

    **Returns:** ``{"cues", "columns", "pitch", "pitch_first", "duration", "first_column_pitch"}``:
    shares over all recalled columns (``pitch``: the recalled chord equals the stored one;
    ``pitch_first``: the first neuron to spike is a stored tone), and the pitch accuracy of
    the first column after the cue, where the cue weighs most.
    """
    columns = cfg.tune.eval_columns
    # One compiled chunk covers the recalled columns (the cue positions all differ).
    cfg = dataclasses.replace(cfg, recall=dataclasses.replace(cfg.recall, chunk_columns=columns))
    units = []
    for i, p in enumerate(positions):
        n = min(columns, source.tracks[(p.title, p.layer)].n_events - p.start)
        units.append(CuedTrack(p.title if cfg.tune.title_cue else -1, p.layer, p.start, n,
                               source.context(cues, i)))
    tracks = recall_units(source.index, units, cfg, recaller)
    pitch, first, duration, head = [], [], [], []
    for p, unit, got in zip(positions, units, tracks):
        stored = source.tracks[(p.title, p.layer)]
        want = stored.chords()[p.start:p.start + unit.length]
        chords = got.chords()
        pitch += [a == b for a, b in zip(want, chords)]
        first += [int(got.pitch[k]) in want[k] for k in range(unit.length)]
        duration += list(got.duration_class[:unit.length]
                         == stored.duration_class[p.start:p.start + unit.length])
        head.append(chords[0] == want[0])
    return {"cues": len(positions), "columns": len(pitch), "pitch": float(np.mean(pitch)),
            "pitch_first": float(np.mean(first)), "duration": float(np.mean(duration)),
            "first_column_pitch": float(np.mean(head))}
