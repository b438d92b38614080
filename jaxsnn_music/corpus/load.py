"""Corpus items -> pieces: cached, parallel, and tolerant of bad files.

:func:`load_corpus` reads every item of a corpus, taking what it can from the
parse cache and parsing the rest on all available cores (a process pool, since
MIDI and music21 parsing are pure Python). An item is one file (MIDI, a chorale)
or one tune of an ABC file, so the unit of work and of caching is one piece.
An item that cannot be encoded is reported, with the reason, in
:attr:`LoadReport.skipped`, and the run goes on with the others.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import multiprocessing
import os
import time
from pathlib import Path

from tqdm.auto import tqdm

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.corpus.cache import ParseCache, Refused
from jaxsnn_music.corpus.sources import CorpusItem
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import Piece

# Below this many items to parse, starting worker processes costs more than it saves.
_MIN_PARALLEL = 16
# At most this many items per task: the bar moves and the cache fills while a
# corpus of thousands of tunes is parsed, at a negligible cost per task.
_MAX_CHUNK = 64


@dataclasses.dataclass
class LoadReport:
    """What a corpus load produced."""

    pieces: list[Piece]
    skipped: list[tuple[str, str]]
    """(title, reason) of every item that could not be encoded."""
    warnings: list[tuple[str, str]]
    """(title, warning) for pieces that loaded with something dropped or odd."""
    parsed: int
    """Items parsed in this run (cache misses)."""
    cached: int
    """Items taken from the cache."""
    seconds: float


def _source_bytes(item: CorpusItem) -> bytes:
    """What is parsed for an item: a file's bytes, or one ABC tune's text (UTF-8)."""
    if item.kind == "abc":
        from jaxsnn_music.corpus.folk import tune_text

        return tune_text(item.ref).encode("utf-8")
    if item.kind == "midi":
        path = Path(item.ref)
    elif item.kind == "chorale":
        from jaxsnn_music.corpus.chorales import chorale_source_path

        path = chorale_source_path(item.ref)
    else:
        raise CorpusError(f"{item.title}: unknown corpus item kind {item.kind!r}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadMidiError(path, f"cannot read file ({exc.strerror or exc})") from None


def _cache_kind(item: CorpusItem) -> str:
    """The kind as the cache knows it: ABC tunes add their reader's version (MIDI and
    chorale reading changes bump the encoder version instead)."""
    if item.kind == "abc":
        from jaxsnn_music.corpus.folk import READER_VERSION

        return f"abc-v{READER_VERSION}"
    return item.kind


def _parse(item: CorpusItem, data: bytes, enc: EncodingConfig) -> Piece | Refused:
    """Encode one item; a refusal is a value, not an exception (it is cached too)."""
    try:
        if item.kind == "chorale":
            from jaxsnn_music.corpus.chorales import read_chorale

            return read_chorale(item.ref, enc)
        if item.kind == "abc":
            from jaxsnn_music.corpus.folk import read_tune

            # From the bytes that were hashed, so the worker never reads the file again.
            return read_tune(data.decode("utf-8"), item.title, item.ref, enc)
        from jaxsnn_music.midi_io import read_piece

        return read_piece(item.ref, enc, title=item.title, data=data)
    except BadMidiError as exc:
        return Refused(exc.reason)
    except Exception as exc:  # a parser bug on one odd file must not end a corpus run
        return Refused(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _parse_job(args: tuple[CorpusItem, bytes, EncodingConfig]) -> Piece | Refused:
    return _parse(*args)


def load_corpus(items: list[CorpusItem], enc: EncodingConfig, cache: ParseCache | None = None,
                workers: int | None = None, progress: bool = True) -> LoadReport:
    """Load a corpus.

    **Arguments:**

    - `items`: what to load (see :mod:`jaxsnn_music.corpus.sources`).
    - `enc`: encoding config.
    - `cache`: the parse cache; None parses everything.
    - `workers`: parallel parser processes; None means one per core.
    - `progress`: show a progress bar.

    **Returns:** a :class:`LoadReport`; pieces keep the order of `items`.
    """
    t0 = time.perf_counter()
    results: list[Piece | Refused | None] = [None] * len(items)
    hashes: list[str] = [""] * len(items)
    todo: list[tuple[int, bytes]] = []
    cached = 0
    for i, item in enumerate(items):
        try:
            data = _source_bytes(item)
        except BadMidiError as exc:
            results[i] = Refused(exc.reason)
            continue
        hashes[i] = hashlib.sha256(data).hexdigest()
        hit = cache.get(hashes[i], enc, _cache_kind(item)) if cache is not None else None
        if hit is None:
            todo.append((i, data))
        else:
            results[i] = hit
            cached += 1

    bar = tqdm(total=len(todo), desc="parsing", unit="piece", disable=not progress or not todo)

    def done(i: int, result: Piece | Refused) -> None:
        # Cached as it comes, so an interrupted run keeps what it parsed.
        results[i] = result
        if cache is not None:
            cache.put(hashes[i], enc, _cache_kind(items[i]), result)
        bar.update()

    workers = workers or os.cpu_count() or 1
    jobs = [(items[i], data, enc) for i, data in todo]
    if workers > 1 and len(todo) >= _MIN_PARALLEL:
        # spawn, not fork: the caller may already hold JAX's threads.
        ctx = multiprocessing.get_context("spawn")
        chunk = max(1, min(_MAX_CHUNK, len(jobs) // (8 * workers)))
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for (i, _), result in zip(todo, pool.map(_parse_job, jobs, chunksize=chunk)):
                done(i, result)
    else:
        for (i, _), job in zip(todo, jobs):
            done(i, _parse_job(job))
    bar.close()

    pieces, skipped, warnings = [], [], []
    for item, result in zip(items, results):
        if isinstance(result, Refused):
            skipped.append((item.title, result.reason))
            continue
        piece = dataclasses.replace(result, title=item.title, source=item.ref)
        pieces.append(piece)
        warnings.extend((item.title, w) for w in piece.warnings)
    return LoadReport(pieces, skipped, warnings, parsed=len(todo), cached=cached,
                      seconds=time.perf_counter() - t0)
