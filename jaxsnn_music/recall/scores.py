"""Scores of a recall against the stored events.

Per track (MODEL.md section 5.3):

- **pitch**: the share of positions whose recalled pitch equals the stored one
  (the paper's accuracy). With chords it is the recalled *set* that must equal
  the stored chord; ``pitch_first`` is the looser share of positions whose
  read-out neuron (the first to spike) is one of the stored tones.
- **duration**: the share of positions whose recalled duration class is the stored one.
- **onset**: the share of events whose recalled onset (a striatal neuron's spike,
  :mod:`.timing`, or the counter's time, :mod:`.pacemaker`), counted in duration
  steps of the pacemaker's mean period (``seconds * pacemaker_hz / spikes_per_step``),
  lies within ``recall.onset_tolerance_beats`` of the stored onset on the network's
  own time line (the running sum of the stored duration classes; the network stores no
  other timing). With a regular pacemaker and no striatal leak this is whether the
  recalled durations before the event add up right; with a ``poisson`` pacemaker or a
  leak the onsets drift from it, and the score measures by how much.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.events import Piece, TrackEvents
from jaxsnn_music.recall.cued import RecalledPiece, RecalledTrack
from jaxsnn_music.recall.pacemaker import TimedPiece


@dataclasses.dataclass(frozen=True)
class TrackScore:
    """The scores of one recalled track."""

    title: str
    track: int
    events: int
    pitch: float
    pitch_first: float
    duration: float
    onset: float | None

    def row(self) -> dict:
        return dataclasses.asdict(self)


def stored_onsets_steps(track: TrackEvents) -> np.ndarray:
    """Onsets ``[events]`` on the network's time line, in duration steps."""
    steps = track.duration_class.astype(np.int64) + 1
    return np.concatenate([[0], np.cumsum(steps)[:-1]])


def score_track(title: str, stored: TrackEvents, recalled: RecalledTrack, cfg: Config,
                seconds: np.ndarray | None = None, pacemaker_hz: float | None = None) -> TrackScore:
    """Score one track.

    **Arguments:**

    - `title`: for the report.
    - `stored`: the events the network learned.
    - `recalled`: the title-cued recall of that track.
    - `cfg`: the config.
    - `seconds`, `pacemaker_hz`: the simulated release times of the track and the rate
      they were simulated at (the onset score is left out without them).
    """
    n = min(stored.n_events, recalled.n_events)
    stored_chords, got = stored.chords()[:n], recalled.chords()[:n]
    pitch = np.mean([a == b for a, b in zip(stored_chords, got)]) if n else 1.0
    first = np.mean([int(recalled.pitch[k]) in stored_chords[k] for k in range(n)]) if n else 1.0
    duration = float(np.mean(recalled.duration_class[:n] == stored.duration_class[:n])) if n else 1.0
    onset = None
    if seconds is not None and pacemaker_hz is not None:
        steps = np.asarray(seconds[:n]) * pacemaker_hz / cfg.recall.spikes_per_step
        tolerance = cfg.recall.onset_tolerance_beats / cfg.encoding.duration_step_beats
        onset = float(np.mean(np.abs(steps - stored_onsets_steps(stored)[:n]) <= tolerance + 1e-9)) \
            if n else 1.0
    # A recall that stopped early (or ran on) loses the missing positions.
    scale = n / max(stored.n_events, 1)
    return TrackScore(title, recalled.layer, stored.n_events, float(pitch) * scale,
                      float(first) * scale, duration * scale,
                      None if onset is None else onset * scale)


def score_piece(stored: Piece, recalled: RecalledPiece, cfg: Config,
                timed: TimedPiece | None = None) -> list[TrackScore]:
    """Score every recalled track of a piece against the stored piece's tracks."""
    out = []
    for i, track in enumerate(recalled.tracks):
        if track.layer >= len(stored.tracks):
            continue
        seconds = timed.seconds[i] if timed is not None else None
        out.append(score_track(stored.title, stored.tracks[track.layer], track, cfg, seconds,
                               timed.pacemaker_hz if timed is not None else None))
    return out


def summarize(scores: list[TrackScore]) -> dict:
    """Means over tracks, and over events (each position counted once)."""
    if not scores:
        return {"tracks": 0, "events": 0}
    events = np.array([s.events for s in scores], np.float64)
    out = {"tracks": len(scores), "events": int(events.sum())}
    for name in ("pitch", "pitch_first", "duration", "onset"):
        values = [getattr(s, name) for s in scores]
        if any(v is None for v in values):
            continue
        v = np.array(values, np.float64)
        out[f"{name}_mean"] = float(v.mean())
        out[f"{name}_weighted"] = float((v * events).sum() / max(events.sum(), 1))
        out[f"{name}_perfect"] = int((v >= 1.0 - 1e-12).sum())
    return out
