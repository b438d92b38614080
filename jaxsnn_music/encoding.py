"""Notes -> note events: chord grouping, rests and duration classes (MODEL.md section 2).

The rules, in integer ticks of the file's resolution (numbers for 480 per beat):

1. Notes are sorted by onset (highest pitch first on ties). The authors' code
   used pretty_midi's list order (by note-off); sorting by onset is the fix.
   A note still held when its pitch is struck again ends there (see
   :func:`cut_at_restrike`).
2. **Chords.** Starting from an event's first note, the following notes join
   it while they start within ``chord_onset_beats`` (30 ticks) of it, or while
   the first note still overlaps them by at least ``chord_overlap_beats``
   (30 ticks). This is the authors' grouping rule.
3. **Rests.** A first note starting at least ``leading_rest_beats`` (30 ticks)
   after tick 0 is preceded by a rest; a gap of at least ``rest_gap_beats``
   (50 ticks) between the end of one event (its onset plus its duration) and the
   next onset becomes a rest as long as the gap.
4. **Duration.** An event lasts as long as its first note. Its class is the
   nearest multiple of ``duration_step_beats`` (halfway rounds up), clipped to
   the first and last class; a duration further than ``duration_tolerance_beats``
   from its class is counted as *approximated* (the authors' code dropped them).
5. ``chords="first"`` keeps only the first note's pitch (the paper's melody);
   ``"all"`` keeps the set of pitches.

``note_order="file"`` reproduces the authors' procedure instead: notes in the
file's list order, no cut at re-strikes, and rests measured from the end of the
note listed just before; it exists to reproduce their event counts.

Every event is kept, including the last one of a track (the authors' code
dropped it).
"""

from __future__ import annotations

import numpy as np

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.events import REST, RawPiece, RawTrack, TrackEvents, pitch_class

ENCODER_VERSION = 1
"""Bump when a rule changes: it is part of every parse-cache key."""

_EPS = 1e-6  # ticks; thresholds given in beats are compared with this slack


def _ticks(beats: float, resolution: int) -> float:
    return beats * resolution


def duration_classes(duration_ticks: np.ndarray, resolution: int,
                     enc: EncodingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Map durations (ticks) to class indices and flag the approximated ones.

    **Returns:** ``(class_index int16, approximated bool)``, one per duration.
    """
    step = _ticks(enc.duration_step_beats, resolution)
    d = np.asarray(duration_ticks, dtype=np.float64)
    k = np.floor(d / step + 0.5 + _EPS / step)
    k = np.clip(k, 1, enc.n_duration_classes)
    approximated = np.abs(d - k * step) > _ticks(enc.duration_tolerance_beats, resolution) + _EPS
    return (k - 1).astype(np.int16), approximated


def class_duration_ticks(class_index: np.ndarray, resolution: int, enc: EncodingConfig) -> np.ndarray:
    """The nominal duration of duration classes, in ticks (rounded)."""
    step = _ticks(enc.duration_step_beats, resolution)
    return np.rint((np.asarray(class_index, np.float64) + 1) * step).astype(np.int64)


def sort_notes(track: RawTrack, note_order: str = "onset") -> np.ndarray:
    """Indices ordering a track's notes: by onset, highest pitch first on ties;
    or, for ``note_order="file"``, as the file listed them (the authors' code)."""
    if note_order == "file":
        return np.arange(len(track.start))
    return np.lexsort((-track.pitch.astype(np.int64), track.start))


def cut_at_restrike(start: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """End every note no later than the next onset of the same pitch.

    A key struck again stops its previous sound, and one MIDI channel cannot
    hold two notes of one pitch; a few files overlap them anyway (pretty_midi
    then reports both). Cutting here makes every event renderable, which is what
    makes events -> MIDI -> events an identity.

    **Returns:** the new end ticks (same order as the input).
    """
    order = np.lexsort((start, pitch))
    s, e, p = start[order], end[order].copy(), pitch[order]
    same = p[1:] == p[:-1]
    e[:-1] = np.where(same & (s[1:] > s[:-1]), np.minimum(e[:-1], s[1:]), e[:-1])
    out = np.empty_like(end)
    out[order] = e
    return out


def encode_track(track: RawTrack, resolution: int, enc: EncodingConfig) -> TrackEvents:
    """Apply the encoding rules of this module to one track.

    **Arguments:**

    - `track`: the track's notes in ticks (zero-length notes already removed).
    - `resolution`: ticks per beat of the file.
    - `enc`: the encoding section of the config.

    **Returns:** the track's :class:`TrackEvents`.
    """
    authors = enc.note_order == "file"
    order = sort_notes(track, enc.note_order)
    start = track.start[order].astype(np.int64)
    end = track.end[order].astype(np.int64)
    if not authors:
        end = cut_at_restrike(start, end, track.pitch[order])
    pitch = pitch_class(track.pitch[order].astype(np.int64))
    onset_tol = _ticks(enc.chord_onset_beats, resolution) + _EPS
    overlap_min = _ticks(enc.chord_overlap_beats, resolution) - _EPS
    leading_min = _ticks(enc.leading_rest_beats, resolution) - _EPS
    gap_min = _ticks(enc.rest_gap_beats, resolution) - _EPS

    onsets: list[int] = []
    durations: list[int] = []
    chords: list[list[int]] = []
    n = len(start)
    i = 0
    prev_end: int | None = None
    # A plain loop: the grouping is sequential by nature, and at ~10^6 notes for
    # the whole corpus it costs about a second, far below MIDI parsing itself.
    start_l, end_l, pitch_l = start.tolist(), end.tolist(), pitch.tolist()
    while i < n:
        s0, e0 = start_l[i], end_l[i]
        j = i + 1
        while j < n and (abs(start_l[j] - s0) <= onset_tol or e0 - start_l[j] >= overlap_min):
            j += 1
        if prev_end is None:
            if s0 >= leading_min:
                onsets.append(0)
                durations.append(s0)
                chords.append([REST])
        elif s0 - prev_end >= gap_min:
            onsets.append(prev_end)
            durations.append(s0 - prev_end)
            chords.append([REST])
        if enc.chords == "first":
            chord = [pitch_l[i]]
        else:
            chord = sorted(set(pitch_l[i:j]), reverse=True)
        onsets.append(s0)
        durations.append(e0 - s0)
        chords.append(chord)
        # The authors measured a rest from the end of the note listed just before.
        prev_end = end_l[j - 1] if authors else e0
        i = j

    duration = np.asarray(durations, np.int64)
    dclass, approximated = duration_classes(duration, resolution, enc)
    sizes = np.fromiter((len(c) for c in chords), np.int64, len(chords))
    return TrackEvents(
        name=track.name,
        program=int(track.program),
        onset=np.asarray(onsets, np.int64),
        duration=duration,
        chord_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        pitch=np.asarray([p for c in chords for p in c], np.int16),
        duration_class=dclass,
        approximated=approximated,
    )


def learned_tracks(raw: RawPiece, enc: EncodingConfig) -> list[RawTrack]:
    """The tracks the encoding keeps: non-drum, non-empty; only the first if asked."""
    tracks = [t for t in raw.tracks if len(t.start) and not (enc.skip_drums and t.is_drum)]
    return tracks[:1] if enc.tracks == "first" else tracks


def encode_tracks(raw: RawPiece, enc: EncodingConfig) -> tuple[TrackEvents, ...]:
    """Encode every kept track of a piece."""
    return tuple(encode_track(t, raw.resolution, enc) for t in learned_tracks(raw, enc))

