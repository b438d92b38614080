"""Where pieces come from: a folder of MIDI files, or a named selection.

A corpus is a list of :class:`CorpusItem` (a title and how to read it); the
loader (:mod:`jaxsnn_music.corpus.load`) turns items into pieces. Selections:

- ``paper``: the 331 piano-midi.de files of Liang, Zeng & Xu (2020): the 332
  classical files minus ``Debussy/debussy_cc_5.mid``; ``Christmas/`` excluded.
- ``piano-midi``: all 337 files of the piano-midi.de copy.
- ``bach-chorales``: the 371 four-voice Bach chorales that install with music21
  (the embedded default corpus; nothing to download).
- ``essen``, ``oneills``, ``airds``, ``ryans``, ``misc-folk``: the one-voice ABC
  folk tunes that install with music21 (8,514, 2,009, 1,180, 1,059 and 185), one
  piece per tune; ``folk`` is all five (12,947). See :mod:`jaxsnn_music.corpus.folk`.

The piano-midi.de folder is found through one setting,
:func:`piano_midi_root`: ``$JAXSNN_MUSIC_PIANO_MIDI``, else
``../shared/corpus/piano-midi`` when it exists, else where ``corpus fetch``
puts it.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path

from jaxsnn_music.errors import CorpusError

PIANO_MIDI_ENV = "JAXSNN_MUSIC_PIANO_MIDI"
DATA_ENV = "JAXSNN_MUSIC_DATA"
MIDI_SUFFIXES = (".mid", ".midi", ".kar")
PAPER_EXCLUDED = ("Debussy/debussy_cc_5",)
NON_CLASSICAL = ("Christmas/",)
FOLK_COLLECTIONS = {
    "essen": "essenFolksong",
    "oneills": "oneills1850",
    "airds": "airdsAirs",
    "ryans": "ryansMammoth",
    "misc-folk": "miscFolk",
}
"""Folk selection -> its folder in music21's corpus (:mod:`jaxsnn_music.corpus.folk`);
``folk`` is all of them."""
ALL_FOLK = "folk"
FOLK_SELECTIONS = (*FOLK_COLLECTIONS, ALL_FOLK)
SELECTIONS = ("paper", "piano-midi", "bach-chorales", *FOLK_SELECTIONS)
DEFAULT_SELECTION = "bach-chorales"
UNUSABLE = "unusable"
"""The kind of a :class:`CorpusItem` that cannot be read at all; its reference says why."""


@dataclasses.dataclass(frozen=True)
class CorpusItem:
    """One piece to load: its title, its kind (``midi``, ``chorale`` or ``abc``) and reference.

    For ``midi`` the reference is the file path; for ``chorale`` a music21 corpus id;
    for ``abc`` one tune of an ABC file, ``path#n`` (see :mod:`jaxsnn_music.corpus.folk`);
    for :data:`UNUSABLE` (an entry of a folder that is not a readable file) the reason.
    """

    title: str
    kind: str
    ref: str


def data_dir() -> Path:
    """Where downloads and caches go: ``$JAXSNN_MUSIC_DATA`` or ``~/.cache/jaxsnn-music``."""
    return Path(os.environ.get(DATA_ENV, "~/.cache/jaxsnn-music")).expanduser()


def piano_midi_root(explicit: str | Path | None = None) -> Path | None:
    """The piano-midi.de folder, or None when there is none on this machine."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(PIANO_MIDI_ENV):
        return Path(os.environ[PIANO_MIDI_ENV])
    repo_root = Path(__file__).resolve().parents[2]
    for candidate in (Path("../shared/corpus/piano-midi"),
                      repo_root / "../shared/corpus/piano-midi",
                      data_dir() / "piano-midi"):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def directory_items(root: str | Path) -> list[CorpusItem]:
    """Every MIDI file under ``root`` (recursive), titled by its path without extension.

    Nothing named like a MIDI file is left out without a word: a folder or a link to a
    folder named ``*.mid``, a dangling link, a link loop, a file whose name would make
    a title that cannot be shown on one line, a second file with the same title, and
    a folder that cannot be listed come back as :data:`UNUSABLE` items whose reference
    is the reason, for the loader to report like any bad file. (Links to folders are
    not followed. FIFOs and devices are MIDI items here; the loader refuses them
    without ever blocking on one.)
    """
    root = Path(root)
    if not root.exists():
        if root.is_symlink():
            raise CorpusError(f"{root}: a dangling symbolic link")
        raise CorpusError(f"{root}: no such folder")
    if not root.is_dir():
        return [CorpusItem(root.stem, "midi", str(root))]
    found: list[tuple[Path, str, str]] = []  # (path, kind, reference)

    def unlistable(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else root
        if folder == root:
            raise CorpusError(f"{root}: cannot list this folder ({exc.strerror or exc})")
        found.append((folder, UNUSABLE, f"cannot list this folder ({exc.strerror or exc})"))

    for folder, dirs, files in os.walk(root, onerror=unlistable):
        here = Path(folder)
        for name in dirs:
            path = here / name
            if path.is_symlink():
                found.append((path, UNUSABLE, "a link to a folder (links to folders are not followed)"))
            elif path.suffix.lower() in MIDI_SUFFIXES:
                found.append((path, UNUSABLE, "a folder, not a MIDI file (the files in it are read)"))
        for name in files:
            path = here / name
            if path.suffix.lower() in MIDI_SUFFIXES:
                found.append((path, *_file_entry(path)))
    if not found:
        raise CorpusError(f"{root}: no MIDI files (*.mid, *.midi) in this folder or below")
    items, owner = [], {}
    for path, kind, ref in sorted(found, key=lambda entry: entry[0]):
        relative = path.relative_to(root)
        title = (relative if kind == UNUSABLE else relative.with_suffix("")).as_posix()
        problem = _title_problem(title)
        if problem:
            items.append(CorpusItem(printable(relative.as_posix()), UNUSABLE, problem))
        elif kind == UNUSABLE:
            items.append(CorpusItem(title, kind, ref))
        elif title in owner:
            items.append(CorpusItem(relative.as_posix(), UNUSABLE,
                                    f"the same title as {owner[title]} (rename one of them)"))
        else:
            owner[title] = relative.as_posix()
            items.append(CorpusItem(title, kind, ref))
    return items


def _file_entry(path: Path) -> tuple[str, str]:
    """(kind, reference) of a directory entry named like a MIDI file that is not a folder."""
    if path.is_symlink():
        try:
            path.stat()
        except FileNotFoundError:
            return UNUSABLE, f"a dangling symbolic link (to {printable(os.readlink(path))})"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return UNUSABLE, "a symbolic link loop"
            return UNUSABLE, f"cannot follow this link ({exc.strerror or exc})"
        if path.is_dir():
            return UNUSABLE, "a link to a folder, not a MIDI file"
    return "midi", str(path)


def _title_problem(title: str) -> str | None:
    """Why a title cannot be used (it is shown on one line and stored as UTF-8), or None."""
    try:
        title.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid UTF-8 (rename it)"
    if any(not ch.isprintable() for ch in title):
        return "its name holds a control character such as a line break (rename it)"
    return None


def printable(text: str) -> str:
    """``text`` safe to show on one line: control characters and undecodable bytes escaped."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte the file system name did not decode (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def abc_file_items(path: str | Path, prefix: str) -> list[CorpusItem]:
    """Every tune of one ABC file, titled ``prefix/file/NNNN-title`` (see :mod:`jaxsnn_music.corpus.folk`)."""
    from jaxsnn_music.corpus.folk import file_tunes

    return [CorpusItem(title, "abc", ref) for title, ref in file_tunes(path, prefix)]


def selection_items(name: str, piano_midi: str | Path | None = None) -> list[CorpusItem]:
    """The items of a named selection (see the module docstring)."""
    if name == "bach-chorales":
        from jaxsnn_music.corpus.chorales import chorale_ids, chorale_title

        return [CorpusItem(chorale_title(cid), "chorale", cid) for cid in chorale_ids()]
    if name in FOLK_SELECTIONS:
        from jaxsnn_music.corpus.folk import collection_tunes

        names = list(FOLK_COLLECTIONS) if name == ALL_FOLK else [name]
        return [CorpusItem(title, "abc", ref) for n in names
                for title, ref in collection_tunes(n, FOLK_COLLECTIONS[n])]
    if name not in SELECTIONS:
        raise CorpusError(f"unknown selection {name!r} (choose from {', '.join(SELECTIONS)})")
    root = piano_midi_root(piano_midi)
    if root is None or not root.is_dir():
        raise CorpusError(f"selection {name!r} needs the piano-midi.de files: set "
                          f"{PIANO_MIDI_ENV} to their folder or run `jaxsnn-music corpus fetch`")
    items = directory_items(root)
    if name == "paper":
        excluded = {t.lower() for t in PAPER_EXCLUDED}
        items = [i for i in items if not i.title.startswith(NON_CLASSICAL)
                 and i.title.lower() not in excluded]
    return items


def resolve_items(path: str | Path | None = None, selection: str | None = None,
                  piano_midi: str | Path | None = None) -> list[CorpusItem]:
    """A corpus given as a path or a selection name (the embedded default if neither)."""
    if path is not None and selection is not None:
        raise CorpusError("give either a corpus path or --selection, not both")
    if path is not None:
        return directory_items(path)
    return selection_items(selection or DEFAULT_SELECTION, piano_midi)
