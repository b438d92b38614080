"""Shared helpers of the network tests: short real pieces and hand-made tracks.

(Named ``test_network_*`` so it lives with the tests it serves; it holds no test.)
"""

import dataclasses
from functools import cache

import numpy as np

from conftest import require_corpus
from jaxsnn_music.config import load_config
from jaxsnn_music.events import Piece, TempoMap, TrackEvents

@cache
def _read(relative: str) -> Piece:
    from jaxsnn_music.midi_io import read_piece
    return read_piece(require_corpus() / relative, load_config("default").encoding)


def head(track: TrackEvents, n: int) -> TrackEvents:
    """The first ``n`` events of a track."""
    return track.head(n)


def real_piece(relative: str, events: int | tuple[int, ...], tracks: int | None = None) -> Piece:
    """A real corpus piece cut to its first ``events`` events per track."""
    piece = _read(relative)
    chosen = piece.tracks[:tracks] if tracks else piece.tracks
    counts = events if isinstance(events, tuple) else (events,) * len(chosen)
    return dataclasses.replace(piece, tracks=tuple(head(t, n) for t, n in zip(chosen, counts)))


def short_real_pieces() -> list[Piece]:
    """Three short real pieces with chords, of different lengths and track counts."""
    return [real_piece("Chopin/chpn-p7.mid", (24, 30)),
            real_piece("Mozart/mz_311_2.mid", (24, 30, 12)),
            real_piece("Haydn/haydn_35_2.mid", (30,), tracks=1)]


def make_track(chords: list[tuple[int, ...]], durations: list[int], name: str = "t") -> TrackEvents:
    sizes = [len(c) for c in chords]
    n = len(chords)
    return TrackEvents(name=name, program=0, onset=np.arange(n, dtype=np.int64) * 480,
                       duration=np.full(n, 480, np.int64),
                       chord_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                       pitch=np.array([p for c in chords for p in c], np.int16),
                       duration_class=np.array(durations, np.int16),
                       approximated=np.zeros(n, bool))


def make_piece(title: str, *tracks: TrackEvents) -> Piece:
    return Piece(title=title, source=title, sha256="0" * 64, resolution=480,
                 tempo=TempoMap.constant(), tracks=tuple(tracks),
                 n_source_notes=sum(t.n_notes for t in tracks))
