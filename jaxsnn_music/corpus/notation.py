"""Written notation -> raw notes: the music21 path shared by every non-MIDI corpus.

The embedded corpora come as notation (MusicXML and Humdrum for the Bach
chorales, ABC for the folk tunes), which music21 parses into streams. This
module turns the parts of such a stream into the same
:class:`~jaxsnn_music.events.RawPiece` that :mod:`jaxsnn_music.midi_io` makes of
a MIDI file: one :class:`~jaxsnn_music.events.RawTrack` per part, times in ticks
at :data:`RESOLUTION` per quarter note, ties merged, the metronome marks and
time signatures as a tempo map. :func:`encoded_piece` then applies the encoding
rules of :mod:`jaxsnn_music.encoding`. The corpus modules
(:mod:`~jaxsnn_music.corpus.chorales`, :mod:`~jaxsnn_music.corpus.folk`) only
decide which file, which parts and which title.

Notes are read as written: repeat signs are not expanded (music21 keeps them as
barline and bracket objects and lists the notes once, first and second endings
one after the other). Grace notes (no duration) are dropped and counted in the
piece's warnings; chord symbols (``harmony.Harmony``: accompaniment names, not
written notes) are ignored.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction

import numpy as np
from music21 import chord, harmony, meter, note, stream, tempo

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.encoding import encode_tracks
from jaxsnn_music.errors import BadMidiError
from jaxsnn_music.events import Piece, RawPiece, RawTrack, TempoMap

RESOLUTION = 480
"""Ticks per quarter note (music21 durations are exact fractions of a quarter)."""
DEFAULT_QPM = 100.0
"""Tempo of a score without a metronome mark (most chorales and folk tunes)."""


def ticks(quarter_length: float | Fraction) -> int:
    """A music21 offset or duration (quarter notes) in ticks, rounded to the nearest tick."""
    return round(float(quarter_length) * RESOLUTION)


def part_track(part: stream.Part, name: str, program: int) -> tuple[RawTrack, int]:
    """One part -> its notes in ticks, ties merged; also how many grace notes were dropped.

    **Arguments:**

    - `part`: the part; its ties are merged in place (the score is the
      caller's, and a copy would cost about as much as parsing it).
    - `name`: the track's name.
    - `program`: the General MIDI program when the part names none.

    **Returns:** ``(track, grace notes dropped)``.
    """
    starts: list[int] = []
    ends: list[int] = []
    pitches: list[int] = []
    graces = 0
    part.stripTies(inPlace=True)
    for element in part.flatten().getElementsByClass((note.Note, chord.Chord)):
        if isinstance(element, harmony.Harmony):
            continue
        if element.duration.isGrace or element.quarterLength == 0:
            graces += 1
            continue
        start = ticks(element.offset)
        end = ticks(element.offset + element.quarterLength)
        # A chord within one part (a divided voice, a double stop) is several notes at one onset.
        for p in element.pitches:
            starts.append(start)
            ends.append(end)
            pitches.append(p.midi)
    instrument = part.getInstrument(returnDefault=False)
    own = instrument.midiProgram if instrument is not None else None
    track = RawTrack(
        name=name,
        program=program if own is None else int(own),
        is_drum=False,
        start=np.asarray(starts, np.int64),
        end=np.asarray(ends, np.int64),
        pitch=np.asarray(pitches, np.int16),
    )
    return track, graces


def tempo_map(parts: list[stream.Part], source: str, enc: EncodingConfig) -> TempoMap:
    """Metronome marks (or :data:`DEFAULT_QPM`) and the first part's time signatures.

    Raises :class:`BadMidiError` for a tempo outside ``enc.min_qpm..enc.max_qpm``.
    """
    qpm_at: dict[int, float] = {}
    # Every part may repeat the score's marks; the first part to give a tick wins.
    for part in parts:
        for mark in part.recurse().getElementsByClass(tempo.MetronomeMark):
            qpm = mark.getQuarterBPM()
            if qpm is None:
                continue
            tick = ticks(mark.getOffsetInHierarchy(part))
            if not enc.min_qpm <= qpm <= enc.max_qpm:
                raise BadMidiError(source, f"absurd tempo {qpm:.4g} qpm at tick {tick} (allowed "
                                           f"{enc.min_qpm:g}..{enc.max_qpm:g})")
            qpm_at.setdefault(tick, qpm)
    if 0 not in qpm_at:
        qpm_at[0] = DEFAULT_QPM
    at = sorted(qpm_at)

    signatures: list[tuple[int, int, int]] = []
    for sig in parts[0].recurse().getElementsByClass(meter.TimeSignature):
        entry = (ticks(sig.getOffsetInHierarchy(parts[0])), sig.numerator, sig.denominator)
        if not signatures or signatures[-1][1:] != entry[1:]:
            signatures.append(entry)
    return TempoMap(
        tick=np.asarray(at, np.int64),
        us_per_beat=np.asarray([round(6e7 / qpm_at[t]) for t in at], np.int64),
        ts_tick=np.asarray([s[0] for s in signatures], np.int64),
        ts_numerator=np.asarray([s[1] for s in signatures], np.int16),
        ts_denominator=np.asarray([s[2] for s in signatures], np.int16),
    )


def parts_raw_piece(parts: list[stream.Part], names: list[str], program: int, source: str,
                    enc: EncodingConfig, warnings: tuple[str, ...] = ()) -> RawPiece:
    """The chosen parts of a score as a :class:`RawPiece`, one track per part.

    **Arguments:**

    - `parts`: the parts to learn, in track order (at least one).
    - `names`: a track name for each part.
    - `program`: General MIDI program of the parts that name none.
    - `source`: what to call the score in errors.
    - `enc`: encoding config (tempo limits).
    - `warnings`: what the caller already dropped; dropped grace notes are added.

    **Returns:** the raw piece at :data:`RESOLUTION` ticks per beat. Raises
    :class:`BadMidiError` when the parts have no notes or an absurd tempo.
    """
    found = list(warnings)
    tracks = []
    graces = 0
    for part, name in zip(parts, names, strict=True):
        track, dropped = part_track(part, name, program)
        tracks.append(track)
        graces += dropped
    if graces:
        found.append(f"dropped {graces} grace note(s)")
    if not any(len(t.start) for t in tracks):
        raise BadMidiError(source, "no notes")
    return RawPiece(RESOLUTION, tempo_map(parts, source, enc), tuple(tracks), tuple(found))


def encoded_piece(raw: RawPiece, title: str, source: str, data: bytes, enc: EncodingConfig) -> Piece:
    """Encode a raw piece (the notation counterpart of the end of ``midi_io.read_piece``).

    **Arguments:**

    - `raw`: from :func:`parts_raw_piece`.
    - `title`, `source`: the piece's title and where it came from.
    - `data`: the bytes that were parsed; ``sha256`` is their hash.
    - `enc`: encoding config.
    """
    return Piece(
        title=title,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        resolution=raw.resolution,
        tempo=raw.tempo,
        tracks=encode_tracks(raw, enc),
        n_source_notes=sum(len(t.start) for t in raw.tracks),
        warnings=raw.warnings,
    )
