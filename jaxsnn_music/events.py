"""Note events: what every later stage of the pipeline consumes.

A :class:`Piece` holds one :class:`TrackEvents` per learned track plus the tempo
map needed to render it back to MIDI. An event is one note position of the
model: an onset, a duration and a *set* of pitch classes (one for a melody note,
several for a chord, ``REST`` for a rest). Everything is stored in flat NumPy
arrays so that the network can turn a corpus into padded JAX arrays cheaply.

Pitch classes: ``0`` is the rest, ``1 + m`` is MIDI note ``m`` (129 in all).
Duration classes: index ``i`` means ``(i + 1) * duration_step_beats`` beats.
"""

from __future__ import annotations

import dataclasses

import numpy as np

N_PITCH_CLASSES = 129
REST = 0


def pitch_class(midi_pitch: int | np.ndarray) -> int | np.ndarray:
    """MIDI note number (0..127) -> pitch class (1..128)."""
    return midi_pitch + 1


@dataclasses.dataclass(frozen=True, eq=False)
class RawTrack:
    """One instrument's notes as read from a file, before any encoding rule.

    Times are integer ticks; ``pitch`` is the MIDI note number.
    """

    name: str
    program: int
    is_drum: bool
    start: np.ndarray  # int64 [notes]
    end: np.ndarray  # int64 [notes]
    pitch: np.ndarray  # int16 [notes]


@dataclasses.dataclass(frozen=True, eq=False)
class TempoMap:
    """Tempo changes (``tick``, microseconds per beat) and time signatures."""

    tick: np.ndarray  # int64 [changes]
    us_per_beat: np.ndarray  # int64 [changes]
    ts_tick: np.ndarray  # int64 [signatures]
    ts_numerator: np.ndarray  # int16 [signatures]
    ts_denominator: np.ndarray  # int16 [signatures]

    @staticmethod
    def constant(qpm: float = 120.0) -> "TempoMap":
        empty = np.zeros(0, np.int64)
        return TempoMap(np.zeros(1, np.int64), np.array([round(6e7 / qpm)], np.int64),
                        empty, empty.astype(np.int16), empty.astype(np.int16))

    def qpm(self) -> np.ndarray:
        return 6e7 / self.us_per_beat


@dataclasses.dataclass(frozen=True, eq=False)
class RawPiece:
    """A file's tracks and tempo map, before encoding."""

    resolution: int
    tempo: TempoMap
    tracks: tuple[RawTrack, ...]
    warnings: tuple[str, ...] = ()
    n_source_notes: int | None = None
    """Notes in the source as pretty_midi counts them; None means: count ``tracks``."""

    @property
    def source_notes(self) -> int:
        if self.n_source_notes is not None:
            return self.n_source_notes
        return sum(len(t.start) for t in self.tracks)


@dataclasses.dataclass(frozen=True, eq=False)
class TrackEvents:
    """The note events of one track.

    Event ``k`` starts at ``onset[k]`` ticks, lasts ``duration[k]`` ticks and
    sounds the pitch classes ``pitch[chord_ptr[k]:chord_ptr[k + 1]]`` (sorted
    from highest to lowest; ``[REST]`` for a rest).
    """

    name: str
    program: int
    onset: np.ndarray  # int64 [events]
    duration: np.ndarray  # int64 [events]
    chord_ptr: np.ndarray  # int64 [events + 1]
    pitch: np.ndarray  # int16 [chord tones]
    duration_class: np.ndarray  # int16 [events]
    approximated: np.ndarray  # bool [events]: duration further than the tolerance from its class

    @property
    def n_events(self) -> int:
        return int(self.onset.shape[0])

    @property
    def chord_size(self) -> np.ndarray:
        return np.diff(self.chord_ptr)

    @property
    def is_rest(self) -> np.ndarray:
        return self.pitch[self.chord_ptr[:-1]] == REST

    @property
    def n_rests(self) -> int:
        return int(self.is_rest.sum())

    @property
    def n_notes(self) -> int:
        """Sounding pitches over all events (a chord of 3 counts 3)."""
        return int((self.pitch != REST).sum())

    def chord(self, k: int) -> tuple[int, ...]:
        return tuple(int(p) for p in self.pitch[self.chord_ptr[k]:self.chord_ptr[k + 1]])

    def chords(self) -> list[tuple[int, ...]]:
        return [self.chord(k) for k in range(self.n_events)]

    def head(self, n: int) -> "TrackEvents":
        """The first ``n`` events (all of them if the track is shorter)."""
        n = min(n, self.n_events)
        ptr = self.chord_ptr[: n + 1]
        return dataclasses.replace(self, onset=self.onset[:n], duration=self.duration[:n],
                                   chord_ptr=ptr, pitch=self.pitch[: ptr[-1]],
                                   duration_class=self.duration_class[:n],
                                   approximated=self.approximated[:n])

    def top_pitch(self) -> np.ndarray:
        """The highest pitch class of every event (``REST`` for rests)."""
        return self.pitch[self.chord_ptr[:-1]]


@dataclasses.dataclass(frozen=True, eq=False)
class Piece:
    """One memorizable piece: its title, where it came from, and its tracks."""

    title: str
    source: str
    sha256: str
    resolution: int
    tempo: TempoMap
    tracks: tuple[TrackEvents, ...]
    n_source_notes: int
    """Notes in the source over all instruments, before any encoding rule (pretty_midi's count)."""
    warnings: tuple[str, ...] = ()

    @property
    def n_events(self) -> int:
        return sum(t.n_events for t in self.tracks)


def _fields_equal(a, b) -> bool:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            if x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif dataclasses.is_dataclass(x):
            if not _fields_equal(x, y):
                return False
        elif isinstance(x, tuple) and x and dataclasses.is_dataclass(x[0]):
            if len(x) != len(y) or not all(_fields_equal(u, v) for u, v in zip(x, y)):
                return False
        elif x != y:
            return False
    return True


def events_equal(a: TrackEvents | Piece | TempoMap, b: TrackEvents | Piece | TempoMap,
                 ignore: tuple[str, ...] = ()) -> bool:
    """Field-by-field equality of event containers (arrays compared exactly)."""
    if type(a) is not type(b):
        return False
    if ignore:
        a = dataclasses.replace(a, **{k: getattr(b, k) for k in ignore})
    return _fields_equal(a, b)
