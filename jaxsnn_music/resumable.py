"""Memorize a corpus as a resumable run: fixed chunks, a checkpoint after each.

The step between the corpus and a finished checkpoint, for runs long enough to
be interrupted. Pieces are cut into chunks of ``memorize.chunk_pieces`` in
corpus order and merged into the network one chunk after another
(:func:`~jaxsnn_music.network.growth`). After every chunk but the last the
network is saved to ``OUT/progress/step_NNNNNN`` (a full checkpoint, see
:mod:`jaxsnn_music.checkpoint`); the last chunk is saved as the run's result in
``OUT`` itself, and ``OUT/progress`` is then removed.

**Resuming gives the identical network.** A run computes
``net_k = grow(net_{k-1}, chunk_k)`` with chunk boundaries fixed by the
corpus and ``chunk_pieces``, whether or not it was interrupted. A step stores
``net_k`` bit for bit (every array, its padding and dtype; the titles), and
:func:`memorize` is a deterministic function of its inputs, so continuing from
the newest complete step replays exactly the merges an uninterrupted run does,
in the same order. That is why the chunk size is part of the config (a merge
sums float32 weights and applies the weight bounds, so another grouping would
give another result), and why a rerun is refused unless the config and the
corpus match the step (only the sections learning reads count, and neither
``keep_checkpoints`` nor the files' locations: they do not change the result).
A step killed while it was being written has no completion marker; it is
deleted and the step before it is used. (Identity holds on the same kind of
machine: :func:`memorize` spreads batches over every device JAX sees, so resume
with the device count the run started with.)

**One writer.** A run holds a :class:`~jaxsnn_music.run_lock.RunLock` on ``OUT``
from before it looks inside until its result is written: a second run on the same
folder is refused in one line, and the lock of a killed run is released by the
kernel, so the next run takes over (and says so).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

from jaxsnn_music import checkpoint
from jaxsnn_music.config import Config
from jaxsnn_music.errors import CheckpointError, CorpusError
from jaxsnn_music.events import Piece
from jaxsnn_music.network import Network, Subnets, grow
from jaxsnn_music.records import jsonable
from jaxsnn_music.run_lock import LOCK_FILE, RunLock

PROGRESS = checkpoint.PROGRESS
_STEP_PREFIX = "step_"
_LEARNING_SECTIONS = ("encoding", "network", "memorize")
_AGAIN = "pick another output folder (--out) or start over (--restart)"


@dataclasses.dataclass
class RunReport:
    """What :func:`memorize_corpus` did."""

    network: Network
    manifest: dict[str, Any]
    out: Path
    chunks: int
    """Chunks of the whole run."""
    resumed_pieces: int
    """Pieces taken from an earlier run's checkpoint (0 for a fresh run)."""
    already_complete: bool
    """The output folder already held this run's finished result; nothing was learned."""
    learn_seconds: float
    save_seconds: float
    taken_over: str | None = None
    """The run that held the folder's lock last and ended without releasing it (killed):
    who it was, or None."""


def chunk_bounds(n_pieces: int, chunk_pieces: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: the chunks of a run, in the order they are merged."""
    return [(lo, min(lo + chunk_pieces, n_pieces)) for lo in range(0, n_pieces, chunk_pieces)]


def _identity(config: dict[str, Any], corpus: list[dict[str, Any]]) -> dict[str, Any]:
    """The part of a run's manifest that decides its result: the sections that learning
    reads, and the pieces' content (not where their files lie)."""
    config = jsonable(config)
    learning = {section: dict(config.get(section) or {}) for section in _LEARNING_SECTIONS}
    learning["memorize"].pop("keep_checkpoints", None)
    return {"config": learning,
            "corpus": [{k: v for k, v in p.items() if k != "source"} for p in corpus]}


def _first_difference(a: Any, b: Any, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{where}.{key}" if where else key)
    return f"{where}: {a!r} here, {b!r} there"


def _check_same(manifest: dict[str, Any], wanted: dict[str, Any], where: Path) -> None:
    found = _identity(manifest.get("config") or {}, manifest.get("corpus") or [])
    if found["config"] != wanted["config"]:
        raise CheckpointError(f"{where} holds a run with another config "
                              f"({_first_difference(wanted['config'], found['config'])}); {_AGAIN}")
    if found["corpus"] != wanted["corpus"]:
        ours, theirs = wanted["corpus"], found["corpus"]
        i = next((i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y), min(len(ours), len(theirs)))

        def title(entries):
            return repr(entries[i]["title"]) if i < len(entries) else "none"

        raise CheckpointError(f"{where} holds a run of another corpus ({len(theirs)} pieces, this one "
                              f"{len(ours)}; first difference at piece {i + 1}: {title(ours)} here, "
                              f"{title(theirs)} there); {_AGAIN}")


def _ours(name: str) -> bool:
    """Whether an entry of the output folder is one this module (or a save) writes."""
    return (name in (checkpoint.MANIFEST, checkpoint.MARKER, PROGRESS, LOCK_FILE)
            or name.startswith((checkpoint.ARRAYS, f".{checkpoint.MANIFEST}.", f".{checkpoint.MARKER}.")))


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def _check_foreign(out: Path) -> None:
    try:
        foreign = sorted(p.name for p in out.iterdir() if not _ours(p.name))
    except OSError as exc:
        raise CheckpointError(f"{out}: cannot read this folder ({exc.strerror or exc})") from None
    if foreign:
        # Never delete what we did not write, not even with --restart.
        raise CheckpointError(f"{out} holds files that are not a memorize run "
                              f"({foreign[0]}); pick another output folder (--out)")


def _prepare(out: Path, restart: bool) -> RunLock:
    """Make ``out`` and lock it; with ``restart``, empty it (under the lock)."""
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"{out}: exists and is not a folder; pick another output folder (--out)")
    if out.is_dir():
        _check_foreign(out)  # before the lock file is made in a folder that is not ours
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"{out}: cannot create this folder ({exc.strerror or exc})") from None
    lock = RunLock(out)
    try:
        _check_foreign(out)
        if restart:
            for entry in out.iterdir():
                if entry.name != LOCK_FILE:
                    _remove(entry)
    except BaseException:
        lock.release()
        raise
    return lock


def _steps(out: Path) -> list[tuple[int, Path]]:
    """Progress steps, newest first."""
    found = []
    for path in (out / PROGRESS).glob(f"{_STEP_PREFIX}*"):
        suffix = path.name[len(_STEP_PREFIX):]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return sorted(found, reverse=True)


def _resume(out: Path, wanted: dict[str, Any], bounds: list[tuple[int, int]],
            titles: list[str]) -> tuple[Network, int]:
    """The newest complete progress step that belongs to this run, and its chunk count."""
    for chunks_done, path in _steps(out):
        try:
            manifest = checkpoint.verify(path)
        except CheckpointError:
            _remove(path)  # killed while it was written (or damaged): the one before will do
            continue
        _check_same(manifest, wanted, out)
        network, _, _ = checkpoint.restore(path)
        done = network.n_titles
        if not (0 < chunks_done < len(bounds) and bounds[chunks_done - 1][1] == done
                and list(network.titles) == titles[:done]):
            raise CheckpointError(f"{path}: progress step does not fit this run; {_AGAIN}")
        return network, chunks_done
    return Network.empty(), 0


def memorize_corpus(pieces: Sequence[Piece], cfg: Config, out: str | Path, restart: bool = False,
                    on_progress: Callable[[int, int, int], None] | None = None,
                    extra: dict[str, Any] | None = None) -> RunReport:
    """Memorize ``pieces`` into a checkpoint at ``out``, resuming an interrupted run.

    **Arguments:**

    - `pieces`: the corpus, in the order titles are assigned.
    - `cfg`: the config (``memorize.chunk_pieces`` sets the chunks).
    - `out`: the run's folder; the finished network is a checkpoint there.
    - `restart`: delete an earlier run in `out` instead of resuming or refusing it.
    - `on_progress`: called as ``on_progress(pieces_done, chunks_done, chunks)`` once
      at the start and after every chunk.
    - `extra`: more JSON-able entries for the manifest (not compared on resume).

    **Returns:** a :class:`RunReport`. Raises :class:`CheckpointError` when `out`
    holds another run (another config or corpus) or files of something else, or when
    another process is writing to it.
    """
    if not pieces:
        raise CorpusError("nothing to memorize: no piece could be loaded")
    out = Path(out).absolute()
    corpus = checkpoint.corpus_manifest(pieces)
    wanted = _identity(cfg.to_dict(), corpus)
    bounds = chunk_bounds(len(pieces), cfg.memorize.chunk_pieces)
    titles = [p.title for p in pieces]
    with _prepare(out, restart) as lock:
        report = _run(pieces, cfg, out, corpus, wanted, bounds, titles, on_progress, extra)
    report.taken_over = lock.previous
    return report


def _run(pieces: Sequence[Piece], cfg: Config, out: Path, corpus: list[dict[str, Any]],
         wanted: dict[str, Any], bounds: list[tuple[int, int]], titles: list[str],
         on_progress: Callable[[int, int, int], None] | None,
         extra: dict[str, Any] | None) -> RunReport:
    """:func:`memorize_corpus` once ``out`` is ready and locked."""
    if (out / checkpoint.MARKER).exists():
        manifest = checkpoint.verify(out)
        _check_same(manifest, wanted, out)
        network, _, manifest = checkpoint.restore(out)
        _remove(out / PROGRESS)  # left over when a run was killed just after finishing
        if on_progress:
            on_progress(len(pieces), len(bounds), len(bounds))
        return RunReport(network, manifest, out, len(bounds), len(pieces), True, 0.0, 0.0)

    network, chunks_done = _resume(out, wanted, bounds, titles)
    resumed = network.n_titles
    if on_progress:
        on_progress(resumed, chunks_done, len(bounds))
    learn_s = save_s = 0.0
    manifest: dict[str, Any] = {}
    for k in range(chunks_done, len(bounds)):
        lo, hi = bounds[k]
        t0 = time.perf_counter()
        network = jax.block_until_ready(grow(network, pieces[lo:hi], cfg))
        t1 = time.perf_counter()
        learn_s += t1 - t0
        run = {"run": {"pieces_done": hi, "chunks_done": k + 1, "chunks": len(bounds)}}
        last = k + 1 == len(bounds)
        where = out if last else out / PROGRESS / f"{_STEP_PREFIX}{k + 1:06d}"
        manifest = checkpoint.save(where, network, cfg, corpus, {**(extra or {}), **run})
        if not last:
            for _, old in _steps(out)[cfg.memorize.keep_checkpoints:]:
                _remove(old)
        save_s += time.perf_counter() - t1
        if on_progress:
            on_progress(hi, k + 1, len(bounds))
    # The result is complete (its marker is written): the steps that led to it can go.
    _remove(out / PROGRESS)
    return RunReport(network, manifest, out, len(bounds), resumed, False, learn_s, save_s)


def network_counts(network: Network, cfg: Config) -> dict[str, Any]:
    """Sizes of a memorized network for summaries.

    ``neurons``: every layer's columns x (pitch + duration neurons, context cells included),
    plus one title neuron per piece. ``paper_size``: the authors' growth measure, 2 x the longest
    track (a pitch and a duration column per position) + the pieces.
    """
    columns = [int(c) for c in network.columns()]
    per_column = Subnets.from_config(cfg).total
    return {"titles": network.n_titles, "columns": columns,
            "neurons": sum(columns) * per_column + network.n_titles,
            "paper_size": 2 * max(columns, default=0) + network.n_titles,
            "synapses": network.synapses.n, "goal_links": int(network.goal.count)}
