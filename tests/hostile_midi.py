"""A seeded generator of hostile MIDI files, built byte by byte, and of good ones.

:func:`hostile_cases` returns more than a hundred small files, each with what a
reader must make of it: refused with a reason (a regular expression), or loaded
(with a warning, where something was repaired or dropped). The kinds are those
of issue 16: truncated files, garbage, wrong header fields, zero tracks, huge
chords, too many tracks, too many notes (against a lowered
``encoding.max_notes``, :data:`CONFIG`), absurd tempi, unknown chunks, absurd
time signatures, wrong length fields, running status abuse, empty tracks, only
drums, zero-length notes, and more. Files whose content is random (``fuzz``) have
no fixed outcome: they must be refused with a reason or loaded, never crash.

The same seed gives the same files, so a failure names a case that can be rebuilt.
"""

from __future__ import annotations

import dataclasses
import random

MAX_NOTES = 400
MAX_FILE_BYTES = 60_000
CONFIG = [f"encoding.max_notes={MAX_NOTES}", f"encoding.max_file_bytes={MAX_FILE_BYTES}"]
"""``--set`` values the cases are judged against (good files stay below both)."""
ANY = "any"
"""Outcome of a fuzz case: refused with some reason, or loaded."""


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    """The file's name without ``.mid`` (and the piece's title)."""
    kind: str
    data: bytes
    refused: str | None
    """A regular expression the refusal's reason must match; None: the file loads; ANY: either."""
    warning: str | None = None
    """A regular expression one of the loaded piece's warnings must match (None: it has none)."""
    notes: int | None = None
    """Notes the loaded piece must keep (when the point is that none are lost)."""


# --- bytes ------------------------------------------------------------------------------

def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(tag: bytes, body: bytes, length: int | None = None) -> bytes:
    return tag + (len(body) if length is None else length).to_bytes(4, "big") + body


def header(fmt: int = 1, tracks: int = 1, division: int = 480, length: int = 6) -> bytes:
    body = (fmt.to_bytes(2, "big") + tracks.to_bytes(2, "big")
            + division.to_bytes(2, "big", signed=division < 0))
    return chunk(b"MThd", (body + bytes(max(0, length - 6)))[:length], length)


EOT = b"\x00\xff\x2f\x00"


def note(pitch: int, length: int = 240, delta: int = 0, channel: int = 0, velocity: int = 90) -> bytes:
    return (vlq(delta) + bytes([0x90 | channel, pitch, velocity])
            + vlq(length) + bytes([0x80 | channel, pitch, 0]))


def meta(kind: int, payload: bytes, delta: int = 0) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(payload)) + payload


def tempo(us_per_beat: int) -> bytes:
    return meta(0x51, us_per_beat.to_bytes(3, "big"))


def melody(rng: random.Random, n: int = 16, channel: int = 0) -> bytes:
    return b"".join(note(rng.randrange(48, 84), rng.choice([120, 240, 480]), channel=channel)
                    for _ in range(n))


def chord(pitches: list[int], length: int = 480) -> bytes:
    ons = b"".join(b"\x00" + bytes([0x90, p, 90]) for p in pitches)
    offs = b"".join(vlq(length if i == 0 else 0) + bytes([0x80, p, 0]) for i, p in enumerate(pitches))
    return ons + offs


def track(events: bytes) -> bytes:
    return chunk(b"MTrk", events + EOT)


def midi(*tracks: bytes, fmt: int = 1, division: int = 480) -> bytes:
    return header(fmt, len(tracks), division) + b"".join(track(t) for t in tracks)


def good_piece(rng: random.Random, tracks: int = 2, notes: int = 24) -> bytes:
    """A small valid file: a tempo, a time signature and a melody per track."""
    first = tempo(rng.choice([400_000, 500_000, 600_000])) + meta(0x58, bytes([3, 2, 24, 8]))
    return midi(*[(first if k == 0 else b"") + melody(rng, notes, channel=k) for k in range(tracks)])


# --- the cases --------------------------------------------------------------------------

def hostile_cases(seed: int = 16) -> list[Case]:
    """The hostile files (see the module docstring), in a fixed order for ``seed``."""
    rng = random.Random(seed)
    cases: list[Case] = []

    def add(kind: str, data: bytes, refused: str | None, warning: str | None = None,
            notes: int | None = None) -> None:
        cases.append(Case(f"{kind}-{sum(c.kind == kind for c in cases):02d}", kind, data, refused,
                          warning, notes))

    good = good_piece(rng, tracks=3)
    for _ in range(8):
        add("truncated", good[:rng.randrange(1, len(good) - 1)],
            r"truncated|empty file|not a MIDI file|no tracks")
    add("empty", b"", r"^empty file$")
    for _ in range(5):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        add("garbage", b"XX" + junk, r"not a MIDI file")
    add("garbage", b"RIFF" + (100).to_bytes(4, "little") + b"RMID" + good, r"RIFF MIDI")
    for _ in range(4):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 500)))
        add("garbage-after-header", header() + junk.replace(b"MTrk", b"xxxx"), r"no tracks")
    for _ in range(6):  # random events in a well-formed track chunk
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(4, 400)))
        add("fuzz", header() + chunk(b"MTrk", body), ANY)
    for _ in range(4):  # one random byte changed in a good file
        data = bytearray(good)
        data[rng.randrange(14, len(data))] = rng.randrange(256)
        add("fuzz", bytes(data), ANY)

    # Header fields.
    for fmt in (3, 5, 255, 65535):
        add("header-format", header(fmt, 1) + track(melody(rng)), None, r"MIDI format \d+ does not exist")
    add("header-format", header(2, 2) + track(melody(rng)) + track(melody(rng)),
        r"type 2 \(independent sequences\)")
    add("header-length", chunk(b"MThd", b"\x00\x01\x00\x01", 4) + track(melody(rng)), r"a header of 4 bytes")
    add("header-length", header(length=0) + track(melody(rng)), r"a header of 0 bytes")
    add("header-length", header(length=10) + track(melody(rng)), None)  # longer headers are legal
    add("division", midi(melody(rng), division=-7720), r"SMPTE timing is not supported")
    add("division", midi(melody(rng), division=0), r"time division 0")
    add("zero-tracks", header(1, 0), r"no tracks")
    add("zero-tracks", header(1, 0) + track(melody(rng)), None,
        r"header lists 0 track\(s\), the file holds 1")
    add("zero-tracks", header(1, 5) + track(melody(rng)), r"header lists 5 tracks, the file holds 1")
    add("zero-tracks", header(1, 3) + track(melody(rng)) + track(melody(rng)) + track(melody(rng))
        + track(melody(rng)), None, r"header lists 3 track\(s\), the file holds 4")

    # What the network cannot hold (network.max_chord_size = 32, 256 layers).
    for size in (33, 64, 100, 127, 128):
        pitches = rng.sample(range(128), size)
        add("huge-chord", midi(melody(rng, 4) + chord(pitches) + melody(rng, 4)),
            rf"has a chord of {size} tones at beat [\d.]+ \(network.max_chord_size=32\)")
    for count in (257, 300, 390):  # (each track holds a note: below MAX_NOTES)
        add("too-many-tracks", midi(*[note(60 + k % 24) for k in range(count)]),
            rf"{count:,} tracks \(the network holds at most 256")
    for count in (MAX_NOTES + 1, 450, 1000, 5000):
        add("too-many-notes", midi(melody(rng, count)),
            rf"too many notes \(more than encoding.max_notes={MAX_NOTES}\)")
    add("too-large", midi(vlq(0) + b"\xf0" + vlq(MAX_FILE_BYTES) + bytes(MAX_FILE_BYTES - 1) + b"\xf7"
                          + melody(rng)), r"file too large")

    # Tempo, time signatures and other meta events.
    for us in (1, 0, 0xFFFFFF, 5):
        add("absurd-tempo", midi(tempo(us) + melody(rng)), r"absurd tempo")
    add("absurd-tempo", midi(melody(rng, 8) + tempo(2) + melody(rng, 8)), r"absurd tempo .* at tick \d+")
    add("malformed-tempo", midi(meta(0x51, b"\x07\xa1") + melody(rng)), None, r"malformed tempo")
    for payload in (bytes([4, 31, 24, 8]), bytes([4, 255, 24, 8]), bytes([0, 2, 24, 8]),
                    bytes([200, 2, 24, 8]), bytes([4, 2])):
        add("absurd-time-signature", midi(meta(0x58, payload) + melody(rng)), None,
            r"dropped 1 absurd time signature")
    add("malformed-meta", midi(meta(0x59, bytes([9, 0])) + melody(rng)), None, r"malformed key signature")
    add("malformed-meta", midi(meta(0x54, bytes([0xE0, 0, 0, 0, 0])) + melody(rng)), None,
        r"malformed SMPTE offset")
    add("malformed-meta", midi(meta(0x00, b"\x01") + melody(rng)), None, r"malformed sequence number")
    add("meta-length", header() + chunk(b"MTrk", melody(rng) + b"\x00\xff\x01\x8f\xff\xff\x7f"),
        r"meta event of [\d,]+ bytes|truncated")
    add("meta-length", header() + chunk(b"MTrk", melody(rng) + b"\x00\xff\x01\x40abc"), r"truncated")
    add("sysex-length", header() + chunk(b"MTrk", melody(rng) + b"\x00\xf0\x8f\xff\xff\x7f\x01"),
        r"system-exclusive event of [\d,]+ bytes")

    # Chunks and length fields.
    for where in range(4):
        tag = bytes(rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        unknown = chunk(tag, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))))
        tracks = [track(melody(rng)), track(melody(rng, channel=1))]
        tracks.insert(where % 3, unknown)
        add("unknown-chunk", header(1, 2) + b"".join(tracks), None, r"skipped an unknown chunk")
    events = melody(rng, 16) + EOT
    add("length-too-small", header() + chunk(b"MTrk", events, 9), None,
        r"length field says 9 bytes, its events end after", notes=16)
    add("length-too-small", header(1, 2) + chunk(b"MTrk", events, 40) + track(melody(rng, 8, 1)), None,
        r"length field says 40 bytes", notes=24)
    add("length-too-large", header() + chunk(b"MTrk", events, len(events) + 1000), None,
        r"length field says [\d,]+ bytes", notes=16)
    add("length-too-large", header(1, 2) + chunk(b"MTrk", events, len(events) + 30)
        + track(melody(rng, 8, 1)), None, r"length field says [\d,]+ bytes", notes=24)
    add("length-wrong", header() + chunk(b"MTrk", melody(rng, 16), 20), r"truncated|corrupt")
    add("after-end-of-track", header(1, 2) + chunk(b"MTrk", events + b"\x00\x90\x3c\x40" * 4)
        + track(melody(rng, 8, 1)), None, r"ignored 16 byte\(s\) after the end-of-track", notes=24)
    add("junk", midi(melody(rng)) + b"\x01\x02 trailing junk", None, r"junk after the last track")
    add("junk", header(1, 2) + track(melody(rng)) + b"\x01\x02\x03\x04" + track(melody(rng, 4, 1)),
        None, r"skipped 4 byte\(s\) of junk before track 2")

    # Events.
    add("running-status", header() + chunk(b"MTrk", b"\x00\x3c\x40" + melody(rng) + EOT),
        r"data byte 0x3c at byte \d+ has no status byte before it")
    add("running-status", header() + chunk(b"MTrk", melody(rng, 4) + b"\x00\xf0\x01\xf7\x00\x3c\x40"
                                            + EOT), r"no status byte before it")
    add("running-status", header() + chunk(b"MTrk", melody(rng, 4) + b"\x00\xf2\x00\x00\x00\x3c\x40"
                                            + EOT), r"no status byte before it")
    legal = (b"\x00\x90\x3c\x40" + b"".join(vlq(120) + bytes([p, 0]) + b"\x00" + bytes([p + 1, 64])
                                            for p in range(60, 72)) + vlq(120) + b"\x48\x00")
    add("running-status", midi(legal), None)  # running status as the standard allows it
    add("running-status", midi(b"\x00\x90\x3c\x40" + meta(0x01, b"text", 60) + b"\x00\x3c\x00"), None)
    for byte in (0xF4, 0xF5, 0xF9, 0xFD):
        add("undefined-status", midi(melody(rng, 4) + b"\x00" + bytes([byte]) + melody(rng, 4)),
            rf"undefined status byte 0x{byte:02x}")
    add("data-above-127", midi(b"\x00\x90\x3c\xc8" + vlq(240) + b"\x80\x3c\x00" + melody(rng)), None,
        r"clipped 1 data byte")
    add("long-delta", header() + chunk(b"MTrk", b"\x81\x80\x80\x80\x00\x90\x3c\x40" + EOT),
        r"delta time longer than 4 bytes")
    add("huge-tick", midi(melody(rng, 4) + vlq(0x0FFFFFFF) + b"\x90\x3c\x40\x10\x80\x3c\x00"),
        r"too long: an event at tick")
    add("huge-tick", midi(*[vlq(0x0FFFFFFF) + b"\xff\x01\x00" for _ in range(1)], melody(rng)),
        r"too long")
    add("empty-tracks", midi(b"", b"", b""), r"^no notes$")
    add("empty-tracks", midi(b"", melody(rng), b""), None)
    add("only-drums", midi(melody(rng, 12, channel=9)), r"only drum tracks")
    add("only-drums", midi(melody(rng, 12, channel=9), melody(rng, 12, channel=9)), r"only drum tracks")
    add("zero-length", midi(b"".join(note(60 + k, 0) for k in range(8))), r"no notes of non-zero length")
    add("zero-length", midi(melody(rng, 8) + note(70, 0) + melody(rng, 8)), None,
        r"dropped 1 zero-length or unreleased note")
    add("unreleased", midi(b"".join(vlq(120) + bytes([0x90, 60 + k, 90]) for k in range(8))),
        r"no notes of non-zero length")
    add("velocity-zero", midi(b"".join(vlq(120) + bytes([0x90, 60 + k, 0]) for k in range(8))),
        r"^no notes$")
    add("format-0-channels", midi(melody(rng, 8, 0) + melody(rng, 8, 3), fmt=0), None)
    add("overlaps", midi(b"".join(vlq(0) + bytes([0x90, 60, 90]) for _ in range(6))
                         + b"".join(vlq(480 if k == 0 else 0) + bytes([0x80, 60, 0]) for k in range(6))),
        None)
    return cases


def good_files(seed: int = 7) -> dict[str, bytes]:
    """Three small valid pieces (name -> bytes), well below every limit of :data:`CONFIG`."""
    rng = random.Random(seed)
    return {f"good-{k}": good_piece(rng, tracks=k + 1, notes=20 + 10 * k) for k in range(3)}
