"""The embedded default corpus: Bach's 371 four-part chorales from music21.

music21 ships the chorales as MusicXML (a few also as Humdrum) with its own
corpus, so this corpus needs no download. This module turns one chorale into
the same :class:`~jaxsnn_music.events.Piece` that :func:`jaxsnn_music.midi_io.read_piece`
makes of a MIDI file: music21 score -> :class:`~jaxsnn_music.events.RawPiece`
(one track per sung voice, ticks at 480 per beat; :mod:`jaxsnn_music.corpus.notation`,
shared with the folk tunes) -> the encoding rules of :mod:`jaxsnn_music.encoding`
-> note events that the network memorizes.

**Numbering and titles.** Chorales are identified by their number in
Riemenschneider's edition, as listed by music21's
``corpus.chorales.ChoraleListRKBWV``: the id of number 5 is ``"r005"``. A
piece's title adds the BWV number music21 lists for it, ``"bach-chorales/r005-bwv267"``;
both are stable as long as music21's table is, and unique because the
Riemenschneider numbers are.

**Duplicates.** music21's table gives 20 BWV numbers to more than one
Riemenschneider number (e.g. r005 and r309 are both BWV 267: the corpus lacks
the variant the second one names), so the 371 ids read 350 distinct files.
``chorale_ids(distinct_files=True)`` keeps the first id of each file.

**Which file.** music21's ``corpus.parse("bach/bwv69.6")`` takes the first of
all files whose name *starts* with the work name, which picks ``bwv69.6-a``
for ``69.6`` and the Humdrum ``.krn`` for the three chorales that also exist
as MusicXML. Here the file whose name is exactly the work name wins
(MusicXML before Humdrum); a prefix match is taken only when it is the only
candidate (``18.5-l`` is stored as ``bwv18.5-lz.mxl``).

**Which parts.** 18 files are full scores with instruments beside the choir
(horns, trumpets, timpani, continuo...). Only the sung voices are learned:
parts whose name starts with Soprano, Alto, Tenor or Bass (one chorale,
r150, has two soprano parts, so five tracks). Dropped parts are listed in the
piece's warnings. Repeats are not expanded: the notes are read as written.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from music21 import common, converter, corpus, stream
from music21.corpus.chorales import ChoraleListRKBWV
from music21.exceptions21 import Music21Exception

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.corpus.notation import DEFAULT_QPM, RESOLUTION  # noqa: F401 (their home until now)
from jaxsnn_music.corpus.notation import encoded_piece, parts_raw_piece
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import Piece, RawPiece

VOICE_PROGRAM = 52
"""General MIDI "Choir Aahs", for voices whose score names no MIDI program."""
TITLE_PREFIX = "bach-chorales/"

_VOICE_NAME = re.compile(r"^\s*(soprano|alto|tenor|bass)\b", re.IGNORECASE)
# Exact-name candidates in this order: MusicXML is what most chorales exist as,
# so preferring it keeps the corpus in one format where a Humdrum copy also exists.
# The format is passed to music21 explicitly: left to guess, it reads bwv69.6.xml as MuseData.
_FORMATS = {".mxl": "musicxml", ".xml": "musicxml", ".musicxml": "musicxml", ".krn": "humdrum"}


@functools.lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[str, tuple[str, Path]], dict[str, str]]:
    """Resolve music21's Riemenschneider table to files, once per process.

    **Returns:** ``({id: (bwv, path)}, {id: why it could not be resolved})``,
    both in Riemenschneider order.
    """
    resolved: dict[str, tuple[str, Path]] = {}
    missing: dict[str, str] = {}
    table = ChoraleListRKBWV().byRiemenschneider
    for number in sorted(table):
        chorale_id = f"r{number:03d}"
        bwv = str(table[number]["bwv"])
        path = _resolve(bwv)
        if isinstance(path, str):
            missing[chorale_id] = path
        else:
            resolved[chorale_id] = (bwv, path)
    return resolved, missing


def _resolve(bwv: str) -> Path | str:
    """The corpus file of a BWV number, or a few words on why there is none."""
    stem = f"bwv{bwv}"
    try:
        found = corpus.getWork(f"bach/{stem}")
    except Music21Exception:
        return f"music21's corpus has no file bach/{stem}"
    candidates = found if isinstance(found, list) else [found]
    exact = sorted((p for p in candidates if p.stem == stem and p.suffix in _FORMATS),
                   key=lambda p: list(_FORMATS).index(p.suffix))
    if exact:
        return exact[0]
    if len(candidates) == 1:
        return candidates[0]
    return f"bach/{stem} is ambiguous ({', '.join(sorted(p.name for p in candidates))})"


def _entry(chorale_id: str) -> tuple[str, Path]:
    resolved, missing = _catalogue()
    if chorale_id in resolved:
        return resolved[chorale_id]
    if chorale_id in missing:
        raise CorpusError(f"chorale {chorale_id}: {missing[chorale_id]}")
    raise CorpusError(f"unknown chorale id {chorale_id!r} (ids are r001..r371, "
                      "Riemenschneider numbers)")


def chorale_ids(distinct_files: bool = False) -> list[str]:
    """The ids of the chorales whose file music21 has, in Riemenschneider order.

    **Arguments:**

    - `distinct_files`: keep only the first id of each file (350 instead of 371;
      see the module docstring on duplicates).

    **Returns:** ids such as ``"r001"``; :func:`missing_chorales` lists the others.
    """
    resolved, _ = _catalogue()
    if not distinct_files:
        return list(resolved)
    first: dict[Path, str] = {}
    for chorale_id, (_, path) in resolved.items():
        first.setdefault(path, chorale_id)
    return list(first.values())


def missing_chorales() -> dict[str, str]:
    """Chorales of music21's table whose file cannot be found: ``{id: reason}`` (none in 10.5.1)."""
    return dict(_catalogue()[1])


def chorale_title(chorale_id: str) -> str:
    """The piece title of a chorale, e.g. ``"bach-chorales/r001-bwv269"``."""
    bwv, _ = _entry(chorale_id)
    return f"{TITLE_PREFIX}{chorale_id}-bwv{bwv}"


def chorale_source_path(chorale_id: str) -> Path:
    """The chorale's file on disk, inside music21's installed corpus.

    **Arguments:**

    - `chorale_id`: an id from :func:`chorale_ids`.

    **Returns:** the path; unknown or unresolvable ids raise :class:`CorpusError`.
    """
    return _entry(chorale_id)[1]


def chorale_source(chorale_id: str) -> str:
    """The music21 corpus path of a chorale's file, e.g. ``"bach/bwv269.mxl"``."""
    path = chorale_source_path(chorale_id)
    return path.relative_to(common.getCorpusFilePath()).as_posix()


def read_chorale_raw(chorale_id: str, enc: EncodingConfig) -> RawPiece:
    """Parse a chorale with music21 into raw tracks (one per sung voice) and its tempo map.

    **Arguments:**

    - `chorale_id`: an id from :func:`chorale_ids`.
    - `enc`: encoding config (tempo limits).

    **Returns:** a :class:`RawPiece` at 480 ticks per beat. Raises
    :class:`BadMidiError` if music21 cannot parse the file or it has no sung notes.
    """
    path = chorale_source_path(chorale_id)
    source = chorale_source(chorale_id)
    try:
        # forceSource: music21 would otherwise keep pickles of parsed scores in its
        # scratch directory; the project's own cache is keyed on file contents.
        score = converter.parse(path, format=_FORMATS.get(path.suffix), forceSource=True)
    except Exception as exc:  # noqa: BLE001 (music21 raises many unrelated types on broken files)
        raise BadMidiError(source, f"music21 could not parse it ({exc})") from None
    parts = list(score.parts) if isinstance(score, stream.Score) else []
    voices = [p for p in parts if _VOICE_NAME.match(p.partName or "")]
    if not voices:
        raise BadMidiError(source, "no part named Soprano, Alto, Tenor or Bass")

    others = [p.partName or str(p.id) for p in parts if not any(p is v for v in voices)]
    dropped = (f"dropped {len(others)} instrumental part(s): {', '.join(others)}",) if others else ()
    return parts_raw_piece(voices, [p.partName or str(p.id) for p in voices], VOICE_PROGRAM,
                           source, enc, dropped)


def read_chorale(chorale_id: str, enc: EncodingConfig) -> Piece:
    """Read and encode one chorale (the music21 counterpart of ``midi_io.read_piece``).

    **Arguments:**

    - `chorale_id`: an id from :func:`chorale_ids`, e.g. ``"r001"``.
    - `enc`: encoding config.

    **Returns:** the chorale's :class:`Piece`; ``source`` is its music21 corpus
    path and ``sha256`` the hash of that file's bytes.
    """
    raw = read_chorale_raw(chorale_id, enc)
    return encoded_piece(raw, chorale_title(chorale_id), chorale_source(chorale_id),
                         chorale_source_path(chorale_id).read_bytes(), enc)
