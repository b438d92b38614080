"""Corpus items -> pieces: cached, parallel, and tolerant of bad files.

:func:`load_corpus` reads every item of a corpus, taking what it can from the
parse cache and parsing the rest on all available cores (a process pool, since
MIDI and music21 parsing are pure Python). An item is one file (MIDI, a chorale)
or one tune of an ABC file, so the unit of work and of caching is one piece.
An item that cannot be encoded is reported, with the reason, in
:attr:`LoadReport.skipped`, and the run goes on with the others; so is a piece
the network cannot hold (:class:`PieceLimits`: more tracks than it has layers, a
track longer than its columns, a chord larger than ``network.max_chord_size``),
checked after the cache because those limits come from the network config.
Parser processes end with the process that started them, even after ``kill -9``.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from jaxsnn_music.config import Config, EncodingConfig
from jaxsnn_music.corpus.cache import ParseCache, Refused
from jaxsnn_music.corpus.sources import UNUSABLE, CorpusItem, printable
from jaxsnn_music.errors import BadMidiError, CorpusError
from jaxsnn_music.events import Piece
from jaxsnn_music.midi_io import READER_VERSION as MIDI_READER_VERSION
from jaxsnn_music.midi_io import read_file

# Below this many items to parse, starting worker processes costs more than it saves.
_MIN_PARALLEL = 16
# At most this many items per task: the bar moves and the cache fills while a
# corpus of thousands of tunes is parsed, at a negligible cost per task.
_MAX_CHUNK = 64
_PARENT_POLL_S = 0.5
"""How often a parser process checks that the process that started it is still there."""


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


def _source_bytes(item: CorpusItem, enc: EncodingConfig) -> bytes:
    """What is parsed for an item: a file's bytes, or one ABC tune's text (UTF-8)."""
    if item.kind == UNUSABLE:
        raise BadMidiError(item.title, item.ref)
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
    return read_file(path, enc.max_file_bytes)


def _cache_kind(item: CorpusItem) -> str:
    """The kind as the cache knows it: ABC tunes and MIDI files add their reader's version
    (chorale reading changes bump the encoder version instead)."""
    if item.kind == "abc":
        from jaxsnn_music.corpus.folk import READER_VERSION

        return f"abc-v{READER_VERSION}"
    if item.kind == "midi":
        return f"midi-v{MIDI_READER_VERSION}"
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


def _worker_start(parent: int) -> None:
    """In each parser process: end with the parent, and leave Ctrl-C to it.

    A process pool's workers outlive a parent killed with ``kill -9`` (nothing tells them;
    one in the middle of a large file runs on). A daemon thread polls the parent's pid
    and ends the worker when it changes (the worker was re-parented: its parent is gone).
    Polling works on every POSIX system and whichever thread started the pool, which
    ``prctl(PR_SET_PDEATHSIG)`` does not (it fires when the starting *thread* ends).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL_S)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


@dataclasses.dataclass(frozen=True)
class PieceLimits:
    """What one piece may hold to be learned; a piece beyond a limit is skipped with the reason.

    Checked on every loaded piece, parsed or taken from the cache, so the parse cache's key
    needs only the encoding settings (the limits come from the network config). None: no limit.
    """

    max_tracks: int | None = None
    """Tracks of one piece (the network has one sequence layer per track index)."""
    max_events: int | None = None
    """Events of one track (the network's columns)."""
    max_chord: int | None = None
    """Tones of one chord (``network.max_chord_size``)."""

    def problem(self, piece: Piece) -> str | None:
        """Why ``piece`` cannot be learned, in a few words; None when it can."""
        if self.max_tracks is not None and len(piece.tracks) > self.max_tracks:
            return (f"{len(piece.tracks):,} tracks (the network holds at most {self.max_tracks}: "
                    "one layer per track)")
        for k, track in enumerate(piece.tracks):
            name = f"track {k} ({printable(track.name)!r})" if track.name else f"track {k}"
            if self.max_events is not None and track.n_events > self.max_events:
                return (f"{name} has {track.n_events:,} events (the network holds at most "
                        f"{self.max_events:,} per track)")
            if self.max_chord is not None and track.n_events:
                sizes = track.chord_size
                at = int(np.argmax(sizes))
                if sizes[at] > self.max_chord:
                    beat = track.onset[at] / piece.resolution
                    return (f"{name} has a chord of {int(sizes[at])} tones at beat {beat:g} "
                            f"(network.max_chord_size={self.max_chord})")
        return None


def network_limits(cfg: Config) -> PieceLimits:
    """The limits of the network that ``cfg`` describes: its chord size, and the layers and
    columns its table keys can address (:mod:`jaxsnn_music.network.keys`)."""
    from jaxsnn_music.network.keys import MAX_COLUMNS, MAX_LAYERS

    return PieceLimits(max_tracks=MAX_LAYERS, max_events=MAX_COLUMNS,
                       max_chord=cfg.network.max_chord_size)


def load_corpus(items: list[CorpusItem], enc: EncodingConfig, cache: ParseCache | None = None,
                workers: int | None = None, progress: bool = True,
                limits: PieceLimits | None = None) -> LoadReport:
    """Load a corpus.

    **Arguments:**

    - `items`: what to load (see :mod:`jaxsnn_music.corpus.sources`).
    - `enc`: encoding config.
    - `cache`: the parse cache; None parses everything.
    - `workers`: parallel parser processes; None means one per core.
    - `progress`: show a progress bar.
    - `limits`: skip pieces the network cannot hold (:func:`network_limits`); None: no check.

    **Returns:** a :class:`LoadReport`; pieces keep the order of `items`. A parser
    process that dies (killed, out of memory) raises a one-line :class:`CorpusError`;
    what was parsed before is in the cache.
    """
    t0 = time.perf_counter()
    results: list[Piece | Refused | None] = [None] * len(items)
    hashes: list[str] = [""] * len(items)
    todo: list[tuple[int, bytes]] = []
    cached = 0
    for i, item in enumerate(items):
        try:
            data = _source_bytes(item, enc)
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

    workers = min(workers or os.cpu_count() or 1, len(todo))
    jobs = [(items[i], data, enc) for i, data in todo]
    if workers > 1 and len(todo) >= _MIN_PARALLEL:
        # spawn, not fork: the caller may already hold JAX's threads.
        ctx = multiprocessing.get_context("spawn")
        chunk = max(1, min(_MAX_CHUNK, len(jobs) // (8 * workers)))
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                      initializer=_worker_start, initargs=(os.getpid(),))
        finished = False
        try:
            for (i, _), result in zip(todo, pool.map(_parse_job, jobs, chunksize=chunk)):
                done(i, result)
            finished = True
        except cf.process.BrokenProcessPool:
            raise CorpusError("a parser process died (killed, or out of memory?); what was parsed "
                              "is cached: run again, with --workers 1 to see which file it "
                              "was") from None
        finally:  # on Ctrl-C (or any error) return at once; the workers end by themselves
            pool.shutdown(wait=finished, cancel_futures=not finished)
    else:
        for (i, _), job in zip(todo, jobs):
            done(i, _parse_job(job))
    bar.close()

    pieces, skipped, warnings = [], [], []
    for item, result in zip(items, results):
        problem = (result.reason if isinstance(result, Refused)
                   else limits.problem(result) if limits is not None else None)
        if problem is not None:
            skipped.append((item.title, problem))
            continue
        piece = dataclasses.replace(result, title=item.title, source=item.ref)
        pieces.append(piece)
        warnings.extend((item.title, w) for w in piece.warnings)
    return LoadReport(pieces, skipped, warnings, parsed=len(todo), cached=cached,
                      seconds=time.perf_counter() - t0)
