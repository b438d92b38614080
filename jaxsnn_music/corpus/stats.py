"""Corpus statistics: the numbers a researcher checks before trusting the events."""

from __future__ import annotations

import numpy as np

from jaxsnn_music.corpus.load import LoadReport
from jaxsnn_music.events import REST, Piece


def piece_stats(piece: Piece) -> dict:
    """Counts for one piece (JSON-ready)."""
    return {
        "title": piece.title,
        "tracks": len(piece.tracks),
        "events": piece.n_events,
        "notes": sum(t.n_notes for t in piece.tracks),
        "rests": sum(t.n_rests for t in piece.tracks),
        "approximated": int(sum(t.approximated.sum() for t in piece.tracks)),
        "source_notes": piece.n_source_notes,
    }


def corpus_stats(report: LoadReport) -> dict:
    """Summary counts of a loaded corpus (JSON-ready).

    ``notes`` counts sounding pitches after encoding (a chord of three counts
    three; with ``chords=first`` one per event); ``source_notes`` counts every
    note of every instrument in the files, before any rule.
    """
    pieces = report.pieces
    tracks = [t for p in pieces for t in p.tracks]
    pitches = np.concatenate([t.pitch[t.pitch != REST] for t in tracks]) if tracks else np.zeros(0)
    events = sum(t.n_events for t in tracks)
    approximated = int(sum(t.approximated.sum() for t in tracks))
    composers = {p.title.split("/")[0] for p in pieces if "/" in p.title}
    return {
        "pieces": len(pieces),
        "skipped": len(report.skipped),
        "composers": len(composers),
        "tracks": len(tracks),
        "events": events,
        "note_events": events - sum(t.n_rests for t in tracks),
        "rests": sum(t.n_rests for t in tracks),
        "chords": int(sum((t.chord_size > 1).sum() for t in tracks)),
        "notes": int(pitches.size),
        "source_notes": sum(p.n_source_notes for p in pieces),
        "pitch_min": int(pitches.min()) - 1 if pitches.size else None,
        "pitch_max": int(pitches.max()) - 1 if pitches.size else None,
        "approximated_durations": approximated,
        "approximated_share": approximated / events if events else 0.0,
        "longest_track_events": max((t.n_events for t in tracks), default=0),
        "ticks_per_beat": sorted({p.resolution for p in pieces}),
        "warnings": len(report.warnings),
        "parse_seconds": round(report.seconds, 3),
        "parsed": report.parsed,
        "cached": report.cached,
    }


_ROWS = [
    ("pieces", "pieces"), ("skipped files", "skipped"), ("composers", "composers"),
    ("tracks", "tracks"), ("events", "events"), ("  note/chord events", "note_events"),
    ("  rests", "rests"), ("  chords (2+ pitches)", "chords"), ("notes (after encoding)", "notes"),
    ("notes in the files", "source_notes"), ("longest track (events)", "longest_track_events"),
    ("ticks per beat", "ticks_per_beat"), ("warnings", "warnings"),
]


def format_table(stats: dict) -> str:
    """A plain two-column table of :func:`corpus_stats`."""
    rows = [(label, stats[key]) for label, key in _ROWS]
    rows.insert(10, ("pitch range (MIDI)", f"{stats['pitch_min']}..{stats['pitch_max']}"))
    rows.insert(11, ("approximated durations",
                     f"{stats['approximated_durations']} ({100 * stats['approximated_share']:.2f}%)"))
    rows.append(("parse time", f"{stats['parse_seconds']:.2f} s "
                               f"({stats['parsed']} parsed, {stats['cached']} from cache)"))
    width = max(len(label) for label, _ in rows)
    out = []
    for label, value in rows:
        if isinstance(value, int):
            value = f"{value:,}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        out.append(f"{label:<{width}}  {value}")
    return "\n".join(out)
