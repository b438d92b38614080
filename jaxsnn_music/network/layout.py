"""Layout: which column and layer every note event occupies, and learning segments.

MODEL.md section 3: a *column* is a note position; column ``k`` of a subnetwork
stores the ``k``-th event of every piece, so columns are shared by all pieces and
a new column is recruited only when a track is longer than every one stored so
far. We learn every track and give each track index its own sequence layer
(track 0 of every piece shares layer 0, ...), as the authors' code did with one
layer per track index. One title neuron per piece.

Learning (see :mod:`.learn`) runs on *segments*: a track is cut into pieces of
``segment_columns`` columns, each preceded by the ``n_delays`` columns before it
as context, so that every batch is a rectangle ``[segments, windows, chord
slots]`` whatever the track lengths. Context windows are simulated (their spikes
feed the delayed synapses of the segment's first columns) but not recorded: the
previous segment records them. Segments are grouped by their largest chord,
rounded up to a slot bucket, so a melody never pays for a 20-note chord.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.network.cells import TrackNeurons, value_neurons
from jaxsnn_music.errors import UserError
from jaxsnn_music.events import Piece, TrackEvents


@dataclasses.dataclass(frozen=True, eq=False)
class Segments:
    """Learning segments on the host (NumPy). ``W = segment_columns + n_delays`` windows.

    Pitch ``-1`` / duration ``-1`` is an empty slot or an empty column (before a
    track's start or after its end).
    """

    pitch: np.ndarray  # int32 [segments, W, slots]: pitch neurons of the column's chord
    duration: np.ndarray  # int32 [segments, W, 1]: duration neuron
    column: np.ndarray  # int32 [segments, W]: global column index (negative in context before 0)
    record: np.ndarray  # bool [segments, W]: windows whose weight changes this segment records
    layer: np.ndarray  # int32 [segments]
    title: np.ndarray  # int32 [segments]: global title id
    piece_columns: np.ndarray  # int32 [segments]: columns of the piece (its longest track)

    @property
    def n(self) -> int:
        return self.pitch.shape[0]

    def take(self, rows: np.ndarray) -> Segments:
        return Segments(**{f.name: getattr(self, f.name)[rows] for f in dataclasses.fields(self)})


def chord_matrix(track: TrackEvents, max_chord: int, neurons: np.ndarray | None = None) -> np.ndarray:
    """``[events, slots]`` pitch neurons of each event's chord (``neurons``, aligned with the
    track's chord tones; default: the pitch classes), ``-1`` padded."""
    size = track.chord_size
    largest = int(size.max()) if size.size else 1
    if largest > max_chord:
        raise UserError(f"track {track.name!r} has a chord of {largest} tones "
                        f"(network.max_chord_size={max_chord})")
    out = np.full((track.n_events, max(largest, 1)), -1, np.int32)
    event = np.repeat(np.arange(track.n_events), size)
    slot = np.arange(len(track.pitch)) - np.repeat(track.chord_ptr[:-1], size)
    out[event, slot] = track.pitch if neurons is None else neurons
    return out


def slot_bucket(chord: int) -> int:
    """Chord slots for a segment whose largest chord has ``chord`` tones.

    Few buckets (1, 4, 8, then 32 or the next power of two), because every bucket
    is one more compilation of the learning scan and chords above 8 tones are
    rare (about 400 of the corpus's 616k events).
    """
    for slots in (1, 4, 8):
        if chord <= slots:
            return slots
    return max(32, 1 << (int(chord) - 1).bit_length())


def segment_pieces(pieces: Sequence[Piece], cfg: NetworkConfig, first_title: int = 0,
                   neurons: Sequence[Sequence[TrackNeurons]] | None = None) -> dict[int, Segments]:
    """Cut every track of every piece into segments, grouped by chord-slot bucket.

    **Arguments:**

    - `pieces`: the pieces; piece ``i`` gets title id ``first_title + i``.
    - `cfg`: the network config (segment length, delays, chord limit).
    - `neurons`: per piece and track, the neurons its events are stored in
      (:func:`~jaxsnn_music.network.cells.allocate`; default: one neuron per value).

    **Returns:** ``{slots: Segments}``.
    """
    length, context = cfg.segment_columns, cfg.n_delays
    windows = length + context
    parts: dict[int, list[dict]] = {}
    neurons = value_neurons(pieces) if neurons is None else neurons
    for i, piece in enumerate(pieces):
        piece_columns = max((t.n_events for t in piece.tracks), default=0)
        for layer, track in enumerate(piece.tracks):
            n = track.n_events
            if n == 0:
                continue
            ids = neurons[i][layer]
            chords = chord_matrix(track, cfg.max_chord_size, ids.pitch)
            n_seg = -(-n // length)
            column = (np.arange(n_seg)[:, None] * length - context
                      + np.arange(windows)[None, :]).astype(np.int32)
            inside = (column >= 0) & (column < n)
            index = np.where(inside, column, n)  # row n is the empty column
            chords = np.concatenate([chords, np.full((1, chords.shape[1]), -1, np.int32)])
            durations = np.append(ids.duration.astype(np.int32), -1)
            sizes = np.append(track.chord_size, 0)[index].max(axis=1)
            for s in range(n_seg):
                slots = slot_bucket(sizes[s])
                pitch = np.full((windows, slots), -1, np.int32)
                width = min(slots, chords.shape[1])
                pitch[:, :width] = chords[index[s], :width]
                parts.setdefault(slots, []).append(dict(
                    pitch=pitch, duration=durations[index[s]][:, None], column=column[s],
                    record=inside[s] & (np.arange(windows) >= context), layer=layer,
                    title=first_title + i, piece_columns=piece_columns))
    return {slots: Segments(**{k: np.stack([np.asarray(p[k]) for p in rows]).astype(
        bool if k == "record" else np.int32) for k in rows[0]})
        for slots, rows in sorted(parts.items())}


def empty_segments(n: int, windows: int, slots: int) -> Segments:
    """``n`` segments with nothing in them: batch padding."""
    return Segments(pitch=np.full((n, windows, slots), -1, np.int32),
                    duration=np.full((n, windows, 1), -1, np.int32),
                    column=np.full((n, windows), -1, np.int32),
                    record=np.zeros((n, windows), bool), layer=np.zeros(n, np.int32),
                    title=np.zeros(n, np.int32), piece_columns=np.zeros(n, np.int32))


def batch_size(cfg: NetworkConfig, slots: int) -> int:
    """Segments per compiled call: fewer when chords are wide, so memory stays flat."""
    return max(1, cfg.batch_segments * 64 // max(64, slots * slots))


def batches(segments: Segments, size: int) -> Iterator[Segments]:
    """Fixed-size batches (the last one padded with empty segments)."""
    windows, slots = segments.pitch.shape[1:]
    for start in range(0, segments.n, size):
        part = segments.take(np.arange(start, min(start + size, segments.n)))
        if part.n < size:
            pad = empty_segments(size - part.n, windows, slots)
            part = Segments(**{f.name: np.concatenate([getattr(part, f.name), getattr(pad, f.name)])
                               for f in dataclasses.fields(part)})
        yield part
