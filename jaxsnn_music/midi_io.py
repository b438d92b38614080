"""MIDI files in and out (pretty_midi), with the checks that keep bad files out.

:func:`read_piece` turns a file into a :class:`~jaxsnn_music.events.Piece`:
:func:`read_file` takes only a regular file of at most ``encoding.max_file_bytes``
(never blocking on a FIFO), :func:`~jaxsnn_music.midi_scan.scan_midi` checks its
bytes and counts its notes before mido and pretty_midi parse it, and the rest
refuses, with a one-line :class:`~jaxsnn_music.errors.BadMidiError`, a file with
no notes or only drums; zero-length notes are dropped with a warning on the piece
(as are what the scan repaired: unknown chunks, wrong length fields, absurd time
signatures). :func:`render_midi` is the way back: events -> MIDI with the piece's
tempo map, so that ``encode(read(render(events))) == events``.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import warnings
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.encoding import encode_tracks
from jaxsnn_music.errors import BadMidiError, OutputError
from jaxsnn_music.events import REST, Piece, RawPiece, RawTrack, TempoMap
from jaxsnn_music.midi_scan import SmfError, scan_midi


def _load_mido(path: Path, data: bytes, enc: EncodingConfig) -> tuple[mido.MidiFile, int, list[str]]:
    """Check the raw file (:func:`~jaxsnn_music.midi_scan.scan_midi`) and parse it with mido.

    **Returns:** the mido file, its number of note-ons, and warnings.
    """
    if len(data) == 0:
        raise BadMidiError(path, "empty file")
    if len(data) > enc.max_file_bytes:
        raise BadMidiError(path, f"file too large ({len(data)} bytes > encoding.max_file_bytes="
                                 f"{enc.max_file_bytes})")
    try:
        scan = scan_midi(data, enc)
    except SmfError as exc:
        raise BadMidiError(path, str(exc)) from None
    try:
        mid = mido.MidiFile(file=io.BytesIO(scan.data), clip=True)
    except EOFError:
        raise BadMidiError(path, "truncated MIDI file") from None
    except Exception as exc:  # the scan lets nothing through that mido refuses; a last guard
        raise BadMidiError(path, f"corrupt MIDI file ({type(exc).__name__}: {exc})") from None
    return mid, scan.notes, list(scan.warnings)

READER_VERSION = 2
"""Bump when reading a MIDI file can give another result (version 2: the byte scan of
:mod:`~jaxsnn_music.midi_scan`, which loads files version 1 refused and refuses others);
it is part of every MIDI file's parse-cache key."""

_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))


def read_file(path: str | Path, max_bytes: int) -> bytes:
    """A file's bytes, refused in one line (:class:`BadMidiError`) unless it is a regular
    file of at most ``max_bytes``.

    Opened without blocking and checked on the open file, so a FIFO (which would wait for a
    writer forever), a device or a folder is refused at once, and a file larger than the
    limit is refused before it is read.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise BadMidiError(path, "a dangling symbolic link" if path.is_symlink()
                           else "cannot read file (no such file)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BadMidiError(path, "a symbolic link loop") from None
        raise BadMidiError(path, f"cannot read file ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        for test, kind in _FILE_KINDS:
            if test(info.st_mode):
                raise BadMidiError(path, f"{kind}, not a regular file")
        if info.st_size > max_bytes:
            raise BadMidiError(path, f"file too large ({info.st_size} bytes > "
                                     f"encoding.max_file_bytes={max_bytes})")
        chunks, size = [], 0
        while size <= max_bytes and (block := os.read(fd, max_bytes + 1 - size)):
            chunks.append(block)
            size += len(block)
    except OSError as exc:
        raise BadMidiError(path, f"cannot read file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:  # it grew while we read it
        raise BadMidiError(path, f"file too large (over encoding.max_file_bytes={max_bytes})")
    return data


def read_raw(path: str | Path, enc: EncodingConfig, data: bytes) -> RawPiece:
    """Read a MIDI file into raw tracks (ticks) and its tempo map.

    **Arguments:**

    - `path`: the MIDI file.
    - `enc`: encoding config (limits and drum handling).
    - `data`: the file's bytes.

    **Returns:** a :class:`RawPiece`. Raises :class:`BadMidiError` for unusable files.
    """
    path = Path(path)
    mid, note_ons, found = _load_mido(path, data, enc)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pm = pretty_midi.PrettyMIDI(mido_object=mid)
    except Exception as exc:  # pretty_midi raises bare Exceptions/ValueErrors on odd files
        raise BadMidiError(path, f"pretty_midi could not read it ({exc})") from None
    found += [str(w.message).split("\n")[0] for w in caught]

    times, qpm = pm.get_tempo_changes()
    ts = [t for t in pm.time_signature_changes]
    tempo = TempoMap(
        tick=np.array([pm.time_to_tick(t) for t in times], np.int64),
        us_per_beat=np.rint(6e7 / np.asarray(qpm, np.float64)).astype(np.int64),
        ts_tick=np.array([pm.time_to_tick(t.time) for t in ts], np.int64),
        ts_numerator=np.array([t.numerator for t in ts], np.int16),
        ts_denominator=np.array([t.denominator for t in ts], np.int16),
    )

    tracks = []
    for inst in pm.instruments:
        start = np.array([pm.time_to_tick(n.start) for n in inst.notes], np.int64)
        end = np.array([pm.time_to_tick(n.end) for n in inst.notes], np.int64)
        pitch = np.array([n.pitch for n in inst.notes], np.int16)
        keep = end > start  # what pretty_midi let through (it drops most itself)
        tracks.append(RawTrack(inst.name, inst.program, inst.is_drum,
                               start[keep], end[keep], pitch[keep]))
    # pretty_midi itself drops a note released at the tick it was struck, or never released.
    zero_length = note_ons - sum(len(t.start) for t in tracks)
    if not any(len(t.start) for t in tracks):
        raise BadMidiError(path, "no notes" if not zero_length else
                           f"no notes of non-zero length ({zero_length} zero-length or unreleased)")
    if zero_length:
        found.append(f"dropped {zero_length} zero-length or unreleased note(s)")
    if enc.skip_drums and all(t.is_drum for t in tracks if len(t.start)):
        raise BadMidiError(path, "only drum tracks, no pitched notes")
    n_pretty_midi = sum(len(inst.notes) for inst in pm.instruments)
    return RawPiece(pm.resolution, tempo, tuple(tracks), tuple(found), n_pretty_midi)


def read_piece(path: str | Path, enc: EncodingConfig, title: str | None = None,
               data: bytes | None = None) -> Piece:
    """Read and encode a MIDI file (see :mod:`jaxsnn_music.encoding`).

    **Arguments:**

    - `path`: the MIDI file.
    - `enc`: encoding config.
    - `title`: the piece's title; the file name without extension if None.
    - `data`: the file's bytes, if the caller has read them already.
    """
    path = Path(path)
    if data is None:
        data = read_file(path, enc.max_file_bytes)
    raw = read_raw(path, enc, data)
    return Piece(
        title=title if title is not None else path.stem,
        source=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        resolution=raw.resolution,
        tempo=raw.tempo,
        tracks=encode_tracks(raw, enc),
        n_source_notes=raw.source_notes,
        warnings=raw.warnings,
    )


def render_midi(piece: Piece, enc: EncodingConfig) -> pretty_midi.PrettyMIDI:
    """Note events -> a pretty_midi object, at the piece's resolution and tempo map.

    Rests are silence, not notes; every tone of a chord lasts the event's duration.
    """
    res = piece.resolution
    pm = pretty_midi.PrettyMIDI(resolution=res)
    last_tick = max([int((t.onset + t.duration).max()) for t in piece.tracks if t.n_events] +
                    [int(piece.tempo.tick.max()) if piece.tempo.tick.size else 0] +
                    [int(piece.tempo.ts_tick.max()) if piece.tempo.ts_tick.size else 0])
    # pretty_midi has no public setter for a tempo map; _tick_scales is what it
    # reads and writes (seconds per tick from each change on). The half
    # microsecond survives the int() truncation in PrettyMIDI.write, so the
    # written tempo is exactly the stored one.
    pm._tick_scales = [(int(t), (us + 0.5) / 1e6 / res)
                       for t, us in zip(piece.tempo.tick, piece.tempo.us_per_beat)]
    if not pm._tick_scales or pm._tick_scales[0][0] != 0:
        pm._tick_scales.insert(0, (0, 0.5 / res))
    pm._update_tick_to_time(last_tick + 1)
    pm.time_signature_changes = [
        pretty_midi.TimeSignature(int(n), int(d), pm.tick_to_time(int(t)))
        for t, n, d in zip(piece.tempo.ts_tick, piece.tempo.ts_numerator, piece.tempo.ts_denominator)]
    for track in piece.tracks:
        inst = pretty_midi.Instrument(program=track.program, name=track.name)
        inst.notes = [pretty_midi.Note(enc.render_velocity, p - 1, pm.tick_to_time(s),
                                       pm.tick_to_time(e))
                      for s, e, p in _tone_spans(track)]
        pm.instruments.append(inst)
    return pm


def _tone_spans(track) -> list[tuple[int, int, int]]:
    """(start, end, pitch class) in ticks of every sounding tone of a track.

    Every tone of a chord starts at the event's onset and lasts the event's
    duration, with one exception, because one MIDI channel cannot hold two notes
    of one pitch: where a tone's pitch is still sounding, an earlier lower chord
    tone is cut at the new onset, and an earlier *first* tone (which sets its
    event's duration) is left alone while the new lower tone starts when it
    ends. The grouping rule of :mod:`~jaxsnn_music.encoding` puts such a
    delayed tone back into its chord, so reading the file back gives the same
    events.
    """
    spans: list[list[int]] = []
    last: dict[int, tuple[int, bool]] = {}  # pitch -> (index in spans, is a first tone)
    for k in range(track.n_events):
        chord = track.chord(k)
        if chord[0] == REST:
            continue
        onset = int(track.onset[k])
        end = onset + int(track.duration[k])
        for i, p in enumerate(chord):
            start = onset
            if p in last:
                j, was_first = last[p]
                if spans[j][1] > onset:
                    if was_first:
                        start = spans[j][1]
                    else:
                        spans[j][1] = max(onset, spans[j][0] + 1)
            if start < end:
                last[p] = (len(spans), i == 0)
                spans.append([start, end, p])
    return [(s, e, p) for s, e, p in spans]


def write_midi(piece: Piece, path: str | Path, enc: EncodingConfig) -> Path:
    """Render a piece and write it as a standard MIDI file."""
    path = Path(path)
    midi = render_midi(piece, enc)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        midi.write(str(path))
    except OSError as exc:
        raise OutputError(f"{path}: cannot write this file ({exc.strerror or exc})") from None
    return path
