"""The folk corpora of music21: 12,947 tunes in ABC notation, almost all for one voice.

music21 installs five collections of ABC files with its corpus, so, like the
Bach chorales, they need no download. Each is a named selection
(``FOLK_COLLECTIONS`` of :mod:`jaxsnn_music.corpus.sources`, which makes the
corpus items), and ``folk`` is all five, in this order:

============  ==================  =====  ======  ==============================================
selection     music21 folder      files  tunes   what
============  ==================  =====  ======  ==============================================
``essen``     ``essenFolksong``   31     8,514   the Essen folk song collection (mostly German;
                                                 ``han1``, ``han2`` Chinese)
``oneills``   ``oneills1850``     39     2,009   O'Neill's *Music of Ireland* (1850 numbers; files
                                                 overlap, so 171 numbers come twice, mostly in
                                                 another transcription)
``airds``     ``airdsAirs``       6      1,180   Aird's *Selection of Scotch, English, Irish and
                                                 Foreign Airs* (1778-1803)
``ryans``     ``ryansMammoth``    1,059  1,059   Ryan's *Mammoth Collection* (1883), a file a tune
``misc-folk`` ``miscFolk``        2      185     American fife tunes and Northumbrian minstrelsy
============  ==================  =====  ======  ==============================================

**A tune is a piece.** An ABC file holds one tune or many (an *opus*), each
starting at an ``X:`` (reference number) line. :func:`split_tunes` cuts the
text at those lines, cheaply and without music21; the lines before the first
``X:`` (the file header) are put in front of every tune, as music21's own
``splitByReferenceNumber`` does. Each tune's text is what is parsed, hashed and
cached (:mod:`jaxsnn_music.corpus.cache`), so one tune's parse is the unit of
work of the parallel loader and one broken tune costs only itself. music21's
own opus reader would silently keep only the last of two tunes with the same
``X:`` number in a file; cutting the text keeps both.

**Titles** are ``selection/file/NNNN-slug``: the collection's selection name,
the file name without ``.abc``, the tune's ``X:`` number with at least four
digits, and the tune's first ``T:`` title made safe for file names and the
command line (accents dropped, lower case, apostrophes removed, every other run
of characters that is not a letter or digit becomes ``-``, cut at a word
boundary after 40 characters), for example ``essen/erk5/0003-ic-sie-die-morgensterre``
or ``oneills/0001-0050/0002-fare-you-well``. A tune without a title is
``selection/file/NNNN``; one without an ``X:`` number takes its position in the
file; a number used twice in one file gets ``.2``, ``.3``... on its later tunes.
So titles are unique (a file name is unique in its folder) and depend only on
the file's name and text: stable as long as music21's corpus is.

**Reading a tune.** music21's ABC reader (``abcFormat``) builds a score of one
part, which is one track (:mod:`jaxsnn_music.corpus.notation`, shared with the
chorales). The 15 tunes written for several ``V:`` voices (in ``airds`` and
``misc-folk``) are first cut into one text per voice (:func:`split_voices`),
because music21 misreads them, and give one track per voice. Ties
are merged, tuplets keep their exact lengths (to the nearest of 480 ticks per
beat), grace notes are dropped and counted in the piece's warnings, chord
symbols in quotes are ignored, and ``Q:`` sets the tempo (100 quarter notes per
minute when there is none). **Repeats are not expanded**: music21 reads
``|:``, ``:|`` and ``[1``/``[2`` endings as barline and bracket objects and
lists the notes once, as written (first ending, then second ending); that is
what is learned, as for the chorales. music21's reader also computes beams,
which are notation only and cost more than half of the parse; they are left
out (:func:`parse_tune`).

A tune music21 cannot read, or one without notes, is refused with a one-line
reason and the corpus loads without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import re
import unicodedata
from pathlib import Path

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.corpus.notation import encoded_piece, parts_raw_piece
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import Piece, RawPiece

READER_VERSION = 1
"""Bump when a rule of this module changes what a tune becomes: it is part of its parse-cache key."""
PROGRAM = 73
"""General MIDI "Flute" (0-based), for tunes whose ABC names no instrument music21 reads."""

_TITLE_CHARS = 40
_REFERENCE = re.compile(r"^\s*X:\s*(\S*)")
_TITLE = re.compile(r"^\s*T:(.*)$")
_KEY = re.compile(r"^\s*K:")
_FIELD = re.compile(r"^\s*[A-Za-z]:")
_VOICE = re.compile(r"^\s*V:\s*([^\s\]]+)")
_INLINE_VOICE = re.compile(r"\[V:\s*([^\s\]]+)[^\]]*\]")
# An ``x`` outside quotes, decorations and inline fields: an invisible rest.
_SPACER = re.compile(r'("[^"]*"|![^!]*!|\[[A-Za-z]:[^\]]*\])|x')


@dataclasses.dataclass(frozen=True)
class Tune:
    """One tune of an ABC file: its ``X:`` number (None if it has none or not a
    number), its first ``T:`` title (None if none) and its text, file header included."""

    number: int | None
    title: str | None
    text: str


def split_tunes(text: str) -> list[Tune]:
    """Cut the text of an ABC file into its tunes (see the module docstring).

    **Returns:** the tunes in file order; a file without ``X:`` lines is one tune.
    """
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _REFERENCE.match(line)]
    if not starts:
        starts = [0]
    header = lines[:starts[0]]
    tunes = []
    for a, b in zip(starts, [*starts[1:], len(lines)]):
        body = lines[a:b]
        reference = _REFERENCE.match(body[0])
        number = reference.group(1) if reference else ""
        title = next((m.group(1).strip().strip('"').strip() for m in map(_TITLE.match, body) if m),
                     None)
        tunes.append(Tune(int(number) if number.isdigit() else None, title or None,
                          "\n".join(header + body)))
    return tunes


def slug(text: str, limit: int = _TITLE_CHARS) -> str:
    """A title made safe for file names and the command line: ``"O'Neill's Fancy"`` -> ``"oneills-fancy"``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", re.sub(r"['`]", "", plain))
    out = ""
    for word in words:
        if out and len(out) + 1 + len(word) > limit:
            break
        out = f"{out}-{word}" if out else word
    return out[:limit]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # ABC from before UTF-8 is mostly Latin-1
        return data.decode("latin-1")


def _file_tunes(path: Path) -> tuple[Tune, ...]:
    """A file's tunes; the file is read once per process while it stays unchanged."""
    info = path.stat()
    return _split_file(path, info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _split_file(path: Path, mtime_ns: int, size: int) -> tuple[Tune, ...]:
    return tuple(split_tunes(_read_text(path)))


def corpus_root() -> Path:
    """music21's corpus folder (found without importing music21)."""
    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise CorpusError("the folk selections need music21 (pip install music21)")
    return Path(spec.origin).parent / "corpus"


def _resolve(ref_path: str) -> Path:
    path = Path(ref_path)
    return path if path.is_absolute() else corpus_root() / path


def file_tunes(path: str | Path, prefix: str, ref_path: str | None = None) -> list[tuple[str, str]]:
    """Every tune of one ABC file as ``(title, ref)``: ``prefix/file/NNNN-slug`` and ``path#n``.

    **Arguments:**

    - `path`: the ABC file.
    - `prefix`: the first part of the titles (a selection name).
    - `ref_path`: how the refs name the file (default: its absolute path);
      a relative one is read from music21's corpus folder.

    **Returns:** one pair per tune in file order (``n`` counts tunes from 1);
    :func:`jaxsnn_music.corpus.sources.abc_file_items` makes corpus items of them.
    """
    path = Path(path)
    ref_path = ref_path or str(path.resolve())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem)
    try:
        tunes = _file_tunes(path)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    out = []
    seen: dict[int, int] = {}
    for position, tune in enumerate(tunes, start=1):
        number = tune.number if tune.number is not None else position
        seen[number] = seen.get(number, 0) + 1
        key = f"{number:04d}" + (f".{seen[number]}" if seen[number] > 1 else "")
        name = slug(tune.title) if tune.title else ""
        out.append((f"{prefix}/{stem}/{key}" + (f"-{name}" if name else ""), f"{ref_path}#{position}"))
    return out


def collection_tunes(prefix: str, folder: str) -> list[tuple[str, str]]:
    """Every tune of a folder of music21's corpus as ``(title, ref)``, file by file (sorted by name)."""
    root = corpus_root()
    files = sorted((p for p in (root / folder).glob("*.abc") if p.is_file()), key=lambda p: p.name)
    if not files:
        raise CorpusError(f"{root / folder}: no ABC files (is music21's corpus installed?)")
    return [pair for p in files for pair in file_tunes(p, prefix, p.relative_to(root).as_posix())]


def tune_text(ref: str) -> str:
    """The text of the tune an item refers to (``path#n``), file header included.

    Raises :class:`BadMidiError` when the file cannot be read or has no n-th tune.
    """
    ref_path, _, position = ref.rpartition("#")
    path = _resolve(ref_path)
    try:
        tunes = _file_tunes(path)
    except OSError as exc:
        raise BadMidiError(ref_path, f"cannot read file ({exc.strerror or exc})") from None
    if not position.isdigit() or not 1 <= int(position) <= len(tunes):
        raise BadMidiError(ref, f"no tune #{position} (the file has {len(tunes)})")
    return tunes[int(position) - 1].text


def split_voices(text: str) -> list[tuple[str, str]]:
    """A tune of several ``V:`` voices as one text per voice; ``[]`` for a one-voice tune.

    music21 starts a new part at every ``V:`` line (so a voice written in
    alternating blocks becomes many parts, each from the start) and reads
    inline ``[V:2]`` as nothing (so the voices follow each other in one part).
    Here each voice gets the tune's header (up to ``K:``, without its ``V:``
    definitions) and, in order, every line or part of a line written for it.
    Invisible rests (``x``), which music21 skips, become rests (``z``): in a
    voice they hold the place of bars written in another.

    **Returns:** ``[(voice id, text)]`` in the order the voices first appear;
    a voice without notes is left out.
    """
    lines = text.split("\n")
    key = next((i for i, line in enumerate(lines) if _KEY.match(line)), None)
    if key is None:
        return []
    ids = [m.group(1) for line in lines if (m := _VOICE.match(line))]
    ids += [v for line in lines[key + 1:] for v in _INLINE_VOICE.findall(line)]
    if len(set(ids)) < 2:
        return []
    common = [line for line in lines[:key + 1] if not _VOICE.match(line)]
    bodies: dict[str, list[str]] = {v: [] for v in dict.fromkeys(ids)}
    current = ids[0]
    for line in lines[key + 1:]:
        if m := _VOICE.match(line):
            current = m.group(1)
            continue
        pieces = _INLINE_VOICE.split(line)  # [before, id, text, id, text, ...]
        segments = [(current, pieces[0]), *zip(pieces[1::2], pieces[2::2])]
        for voice, segment in segments:
            current = voice
            if not segment.strip():  # a blank line would end the tune
                continue
            if not _FIELD.match(segment):
                segment = _SPACER.sub(lambda m: m.group(1) or "z", segment)
            bodies[voice].append(segment)
    return [(v, "\n".join(common + body)) for v, body in bodies.items()
            if any(not line.lstrip().startswith("%") for line in body)]


@contextlib.contextmanager
def _without_beams():
    """Skip music21's beaming while an ABC part is built (notation only, most of the cost)."""
    from music21 import stream

    stream.Part.makeBeams = lambda self, *args, **kwargs: None  # shadows Stream.makeBeams
    try:
        yield
    finally:
        del stream.Part.makeBeams


def parse_tune(text: str):
    """One tune's ABC text -> a music21 ``Score`` (without beams); exceptions are music21's."""
    from music21 import abcFormat
    from music21.abcFormat import translate

    handler = abcFormat.ABCFile().readstr(text)
    with _without_beams():
        return translate.abcToStreamScore(handler)


def _one_line(exc: Exception) -> str:
    message = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def read_tune_raw(text: str, source: str, enc: EncodingConfig) -> RawPiece:
    """Parse one tune with music21 into raw tracks (one per voice) and its tempo map.

    **Arguments:**

    - `text`: the tune's ABC text (from :func:`tune_text`).
    - `source`: what to call it in errors.
    - `enc`: encoding config (tempo limits).

    **Returns:** a :class:`RawPiece` at 480 ticks per beat. Raises
    :class:`BadMidiError` when music21 cannot read the tune or it has no notes.
    """
    from music21 import stream

    voices = split_voices(text)
    parts, names = [], []
    for voice, voice_text in voices or [("", text)]:
        try:
            score = parse_tune(voice_text)
        except Exception as exc:  # noqa: BLE001 (music21 raises many unrelated types on broken ABC)
            raise BadMidiError(source, f"music21 could not read it ({_one_line(exc)})") from None
        for part in score.getElementsByClass(stream.Part):
            parts.append(part)
            names.append(f"voice {voice}" if voice else part.partName or f"voice {len(parts)}")
    if not parts:
        raise BadMidiError(source, "no notes")
    try:
        return parts_raw_piece(parts, names, PROGRAM, source, enc)
    except BadMidiError:
        raise
    except Exception as exc:  # noqa: BLE001 (same, for what music21 computes lazily)
        raise BadMidiError(source, f"music21 could not read it ({_one_line(exc)})") from None


def read_tune(text: str, title: str, source: str, enc: EncodingConfig) -> Piece:
    """Read and encode one tune.

    **Arguments:**

    - `text`: the tune's ABC text (from :func:`tune_text`).
    - `title`, `source`: the piece's title and reference (a corpus item's).
    - `enc`: encoding config.

    **Returns:** the tune's :class:`Piece`; ``sha256`` is the hash of `text` (UTF-8).
    """
    return encoded_piece(read_tune_raw(text, source, enc), title, source, text.encode("utf-8"), enc)
