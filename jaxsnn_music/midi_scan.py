"""The bytes of a Standard MIDI File, checked in one pass before anything parses them.

The first step of reading MIDI (:mod:`jaxsnn_music.midi_io`). mido turns every
event into a Python object and pretty_midi then builds more objects for every
note, so a hostile file can cost minutes and gigabytes before its note count is
even known, and a malformed one ends with a cryptic message (``list index out
of range``) or loads with notes silently lost. :func:`scan_midi` walks the
chunks and events of the raw bytes once, keeping only counters, and

- **refuses**, with the reason in a few words (:class:`SmfError`), what no parser
  should be given: no ``MThd`` header, format 2, SMPTE or zero time division, a
  track cut short, a data byte without a status byte before it (running status
  at a track's start or after a system message), an undefined status byte, a
  delta time longer than 4 bytes, an event longer than mido reads, fewer tracks
  than the header lists, an absurd tempo (``encoding.min_qpm``/``max_qpm``),
  more notes than ``encoding.max_notes`` (it stops counting there), or an event
  beyond the last tick pretty_midi reads (:data:`MAX_TICK`: pretty_midi would
  allocate an array of that many floats);
- **repairs**, with a warning on the piece, what can be repaired without guessing:
  an unknown chunk (legal: skipped, as the standard says), junk between or after
  chunks, a format number that does not exist (read as format 1), more tracks
  than the header lists (all are read), a track's length field that disagrees
  with where its end-of-track event is (the track is read to its end-of-track),
  bytes after an end-of-track, and meta events mido cannot decode (an absurd
  time signature, a key signature of 9 sharps, a tempo of 2 bytes, ...), which
  are turned into sequencer-specific events (meta type 0x7F, ignored by mido
  and pretty_midi) so that every delta time stays where it was.

What it hands on is the file itself, or a repaired copy when anything was repaired.
"""

from __future__ import annotations

import dataclasses

import pretty_midi.pretty_midi
from mido.midifiles.meta import build_meta_message
from mido.midifiles.midifiles import MAX_MESSAGE_LENGTH

from jaxsnn_music.config import EncodingConfig

MAX_TICK = int(pretty_midi.pretty_midi.MAX_TICK)
"""pretty_midi refuses a file whose last event lies at this tick or later (it keeps an
array of one float per tick); we refuse it before pretty_midi allocates anything."""
MAX_EVENT_BYTES = MAX_MESSAGE_LENGTH
"""mido reads no meta or system-exclusive event longer than this."""

_SEQUENCER_SPECIFIC = 0x7F
_END_OF_TRACK = 0x2F
_TEMPO = 0x51
_TIME_SIGNATURE = 0x58
_DECODED_META = {0x00: "sequence number", 0x20: "channel prefix", 0x21: "MIDI port",
                 _TEMPO: "tempo", 0x54: "SMPTE offset", _TIME_SIGNATURE: "time signature",
                 0x59: "key signature"}
"""Meta events whose payload mido decodes (and can fail to); text events always decode."""
_SYSTEM = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}
"""System common and real-time status bytes and their data bytes (mido reads them)."""


class SmfError(ValueError):
    """A file that cannot be read, with the reason in a few words (no path)."""


@dataclasses.dataclass(frozen=True)
class Scan:
    """What one pass over a file found."""

    data: bytes
    """The bytes to parse: the file, or its repaired copy."""
    format: int
    tracks: int
    """Track chunks read."""
    notes: int
    """Note-ons of non-zero velocity."""
    warnings: tuple[str, ...]
    """What was repaired or dropped, one line each."""


class _TooManyNotes(Exception):
    """Raised inside a track's walk, where the limit's name is not at hand."""


@dataclasses.dataclass
class _Track:
    end: int  # just after the end-of-track event, or the chunk's end when there is none
    eot: bool
    notes: int
    clipped: int
    dropped: list[tuple[int, str]]  # (position of a meta event's type byte, what it is)


def _u16(data: bytes, at: int) -> int:
    return (data[at] << 8) | data[at + 1]


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 4], "big")


def _chunk_at(data: bytes, at: int) -> bool:
    """Whether a chunk header (4 printable ASCII bytes, a length) starts at ``at``."""
    tag = data[at:at + 4]
    return at + 8 <= len(data) and all(0x20 <= c < 0x7F for c in tag) and tag[:1].isalpha()


def _boundary(data: bytes, at: int) -> bool:
    """Whether a track may end at ``at``: the end of the file or the start of a chunk."""
    return at == len(data) or _chunk_at(data, at)


def _meta_ok(kind: int, payload: bytes) -> bool:
    if kind == _TIME_SIGNATURE:
        # MIDI numerators and denominators (powers of two up to 64) that music uses.
        return len(payload) >= 4 and 1 <= payload[0] <= 64 and payload[1] <= 6
    try:
        build_meta_message(kind, list(payload))
    except Exception:
        return False
    return True


def _truncated(k: int) -> SmfError:
    return SmfError(f"truncated MIDI file (track {k} is cut short)")


def _walk_track(data: bytes, p: int, declared_end: int, k: int, notes_left: int,
                enc: EncodingConfig) -> _Track:
    """Walk track ``k``'s events from ``p`` to its end-of-track event (or to ``declared_end``
    when the track has none and a chunk or the end of the file follows)."""
    n = len(data)
    status = 0  # running status; 0: none
    tick = notes = clipped = 0
    dropped: list[tuple[int, str]] = []
    while True:
        if p == declared_end and _boundary(data, p):
            return _Track(p, False, notes, clipped, dropped)
        if p >= n:
            raise _truncated(k)
        # Delta time: at most 4 bytes.
        b = data[p]
        p += 1
        delta = b & 0x7F
        if b & 0x80:
            for _ in range(3):
                if p >= n:
                    raise _truncated(k)
                b = data[p]
                p += 1
                delta = (delta << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
            else:
                raise SmfError(f"corrupt MIDI file (track {k}: a delta time longer than 4 bytes "
                               f"at byte {p - 4})")
        tick += delta
        if tick >= MAX_TICK:
            raise SmfError(f"too long: an event at tick {tick:,} (pretty_midi reads fewer than "
                           f"{MAX_TICK:,} ticks)")
        if p >= n:
            raise _truncated(k)
        b = data[p]
        if b < 0x80:  # running status: the status byte of the event before
            if not status:
                raise SmfError(f"corrupt MIDI file (track {k}: data byte 0x{b:02x} at byte {p} has "
                               "no status byte before it)")
            st = status
        elif b < 0xF0:
            status = st = b
            p += 1
        elif b == 0xFF:  # meta event: type, length, payload
            if p + 2 > n:
                raise _truncated(k)
            kind = data[p + 1]
            length, q = _vlq(data, p + 2, k)
            if length > MAX_EVENT_BYTES:
                raise SmfError(f"corrupt MIDI file (track {k}: a meta event of {length:,} bytes at "
                               f"byte {p}; mido reads at most {MAX_EVENT_BYTES:,})")
            end = q + length
            if end > n:
                raise _truncated(k)
            if kind == _END_OF_TRACK:
                return _Track(end, True, notes, clipped, dropped)
            if kind in _DECODED_META:
                payload = data[q:end]
                if not _meta_ok(kind, payload):
                    dropped.append((p + 1, _DECODED_META[kind]))
                elif kind == _TEMPO:
                    us = (payload[0] << 16) | (payload[1] << 8) | payload[2]
                    qpm = 6e7 / us if us else float("inf")
                    if not enc.min_qpm <= qpm <= enc.max_qpm:
                        raise SmfError(f"absurd tempo {qpm:.4g} qpm at tick {tick} (allowed "
                                       f"{enc.min_qpm:g}..{enc.max_qpm:g})")
            p = end
            continue
        elif b == 0xF0 or b == 0xF7:  # system exclusive: length, payload
            length, q = _vlq(data, p + 1, k)
            if length > MAX_EVENT_BYTES:
                raise SmfError(f"corrupt MIDI file (track {k}: a system-exclusive event of "
                               f"{length:,} bytes at byte {p}; mido reads at most "
                               f"{MAX_EVENT_BYTES:,})")
            p = q + length
            if p > n:
                raise _truncated(k)
            status = 0  # mido would read a data byte after it as another sysex
            continue
        elif b in _SYSTEM:
            p += 1 + _SYSTEM[b]
            if p > n:
                raise _truncated(k)
            status = 0
            continue
        else:
            raise SmfError(f"corrupt MIDI file (track {k}: undefined status byte 0x{b:02x} at "
                           f"byte {p})")
        # A channel message: one data byte for program change and channel pressure, else two.
        if (st & 0xE0) == 0xC0:
            if p + 1 > n:
                raise _truncated(k)
            if data[p] > 0x7F:
                clipped += 1
            p += 1
            continue
        if p + 2 > n:
            raise _truncated(k)
        d1, d2 = data[p], data[p + 1]
        p += 2
        if d1 > 0x7F or d2 > 0x7F:  # mido clips them to 127 (clip=True)
            clipped += (d1 > 0x7F) + (d2 > 0x7F)
        if (st & 0xF0) == 0x90 and d2:
            notes += 1
            if notes > notes_left:
                raise _TooManyNotes()


def _vlq(data: bytes, p: int, k: int) -> tuple[int, int]:
    """A variable-length quantity at ``p`` (as mido reads it: any length): ``(value, next)``."""
    n = len(data)
    value = 0
    while True:
        if p >= n:
            raise _truncated(k)
        b = data[p]
        p += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, p


def scan_midi(data: bytes, enc: EncodingConfig) -> Scan:
    """Check a MIDI file's bytes and count its notes, before any parser sees them.

    **Arguments:**

    - `data`: the file's bytes.
    - `enc`: the encoding config (``max_notes``, ``min_qpm``, ``max_qpm``).

    **Returns:** a :class:`Scan`. Raises :class:`SmfError` (a reason, one line) for a
    file that must be refused.
    """
    n = len(data)
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        raise SmfError("a RIFF MIDI file (RMID): only standard MIDI files (MThd) are read")
    if data[:4] != b"MThd":
        raise SmfError("not a MIDI file (no MThd header)")
    if n < 14:
        raise SmfError("truncated MIDI file (the header is cut short)")
    header = _u32(data, 4)
    if header < 6:
        raise SmfError(f"corrupt MIDI file (a header of {header} bytes; it has at least 6)")
    fmt, listed = _u16(data, 8), _u16(data, 10)
    division = int.from_bytes(data[12:14], "big", signed=True)
    if fmt == 2:
        raise SmfError("MIDI type 2 (independent sequences) is not supported")
    if division <= 0:
        raise SmfError(f"unusable time division {division} (SMPTE timing is not supported)"
                       if division < 0 else "unusable time division 0 (no ticks per beat)")
    p = 8 + header
    if p > n:
        raise SmfError("truncated MIDI file (the header is cut short)")
    warnings: list[str] = []
    repaired = False
    if fmt > 2:
        warnings.append(f"MIDI format {fmt} does not exist (0, 1 or 2): read as format 1")
        fmt, repaired = 1, True

    tracks: list[tuple[int, int]] = []  # (start, end) of each track's events
    notes = clipped = 0
    dropped: list[tuple[int, str]] = []
    while p < n:
        if data[p:p + 4] == b"MTrk" and p + 8 <= n:
            k = len(tracks) + 1
            length = _u32(data, p + 4)
            start, declared_end = p + 8, p + 8 + length
            try:
                track = _walk_track(data, start, declared_end, k, enc.max_notes - notes, enc)
            except _TooManyNotes:
                raise SmfError(f"too many notes (more than encoding.max_notes={enc.max_notes})") from None
            notes += track.notes
            clipped += track.clipped
            dropped += track.dropped
            tracks.append((start, track.end))
            p = track.end
            if track.end != declared_end:
                repaired = True
                if track.end < declared_end and declared_end <= n and _boundary(data, declared_end):
                    if any(data[track.end:declared_end]):
                        warnings.append(f"ignored {declared_end - track.end} byte(s) after the "
                                        f"end-of-track event of track {k}")
                    p = declared_end
                else:
                    warnings.append(f"track {k}'s length field says {length:,} bytes, its events "
                                    f"end after {track.end - start:,}: read to its end-of-track")
        elif _chunk_at(data, p):
            tag = data[p:p + 4].decode("ascii")
            end = p + 8 + _u32(data, p + 4)
            repaired = True
            if end > n:
                warnings.append(f"ignored an unknown chunk {tag!r} cut short at the end of the file")
                break
            warnings.append(f"skipped an unknown chunk {tag!r} of {end - p - 8:,} bytes")
            p = end
        else:
            found = data.find(b"MTrk", p)
            repaired = True
            if found < 0 or found + 8 > n:
                if any(data[p:]):
                    warnings.append(f"ignored {n - p:,} byte(s) of junk after the last track")
                break
            warnings.append(f"skipped {found - p:,} byte(s) of junk before track {len(tracks) + 1}")
            p = found

    if not tracks:
        raise SmfError("no tracks (no MTrk chunk)")
    if len(tracks) < listed:
        raise SmfError(f"truncated MIDI file (the header lists {listed} tracks, the file holds "
                       f"{len(tracks)})")
    if len(tracks) > listed:
        warnings.append(f"the header lists {listed} track(s), the file holds {len(tracks)}: all "
                        "are read")
        repaired = True
    if clipped:
        warnings.append(f"clipped {clipped} data byte(s) above 127 to 127")
    kinds: dict[str, int] = {}
    for _, what in dropped:
        kinds[what] = kinds.get(what, 0) + 1
    for what, count in kinds.items():
        warnings.append(f"dropped {count} absurd time signature(s)" if what == "time signature"
                        else f"dropped {count} malformed {what} event(s)")
    if repaired or dropped:
        data = _rebuild(data, fmt, division, tracks, dropped)
    return Scan(data, fmt, len(tracks), notes, tuple(warnings))


def _rebuild(data: bytes, fmt: int, division: int, tracks: list[tuple[int, int]],
             dropped: list[tuple[int, str]]) -> bytes:
    """A clean file of the same tracks: a 6-byte header, each track chunk exactly as long as
    its events, and the dropped meta events turned into sequencer-specific ones."""
    body = bytearray(data)
    for at, _ in dropped:
        body[at] = _SEQUENCER_SPECIFIC
    out = bytearray(b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big")
                    + len(tracks).to_bytes(2, "big") + division.to_bytes(2, "big"))
    for start, end in tracks:
        out += b"MTrk" + (end - start).to_bytes(4, "big") + body[start:end]
    return bytes(out)
