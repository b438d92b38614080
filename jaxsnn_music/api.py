"""The Python API: memorize a corpus, recall a piece, identify a fragment, save, load, evaluate.

The whole data path behind six calls, for a notebook or a script::

    import jaxsnn_music as jm

    network = jm.memorize("bach-chorales", limit=10)          # a Network
    recalled = jm.recall(network, "r001")                      # notes, scores, MIDI
    found = jm.identify(network, [67, 67, 69, 71, 69, 67])     # which piece, where
    jm.save("checkpoints/ten", network)
    network = jm.load("checkpoints/ten")
    result = jm.evaluate(network, "full", {"recall.sequential": "off"})

Each call is a thin layer over the module that does the work (:mod:`jaxsnn_music.corpus`,
:func:`jaxsnn_music.network.grow`, :mod:`jaxsnn_music.recall`,
:mod:`jaxsnn_music.checkpoint`, :mod:`jaxsnn_music.evaluate`); this module only turns what a
researcher has at hand (a path, a selection name, a preset, a note list, ``"key=value"``
strings) into what those modules take.

**Configs.** Memorizing takes a :class:`~jaxsnn_music.config.Config`, a preset name, a YAML
file, or None (the ``default`` preset), with overrides on top (``{"network.n_delays": 2}`` or
``["network.n_delays=2"]``). A :class:`~jaxsnn_music.network.Network` records the config it was
memorized with (``network.config``); recall, identification and evaluation use it, with
recall-time overrides on top (:func:`~jaxsnn_music.config.recall_config`: a key that learning
read cannot be changed there, it is refused in one line).

**What a network memorized.** A network made by :func:`memorize` or :func:`load` remembers,
for as long as that object lives, which pieces it memorized and where they came from (a table
of this module keyed by the object, not a field: the Network stays the plain pytree of
:mod:`jaxsnn_music.network.model`). :func:`recall` scores against those pieces, :func:`save`
writes them into the checkpoint's manifest, :func:`evaluate` uses them, and
:func:`memorized_pieces` returns them (read again from their sources after :func:`load`). A
network built another way (:func:`jaxsnn_music.network.grow`, ``eqx.tree_at``) is a new
object: give the pieces explicitly (``pieces=``, ``stored=``).

Heavy modules (JAX, orbax, the network) are imported inside the functions, so that
``import jaxsnn_music`` stays light.
"""

from __future__ import annotations

import dataclasses
import numbers
import re
import warnings
import weakref
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jaxsnn_music.config import (PRESETS, Config, extend_config, load_config, recall_config,
                                 same_learning)
from jaxsnn_music.errors import ConfigError, CorpusError, UserError
from jaxsnn_music.events import Piece

if TYPE_CHECKING:
    from jaxsnn_music.corpus.load import LoadReport
    from jaxsnn_music.corpus.sources import CorpusItem
    from jaxsnn_music.network.model import Network
    from jaxsnn_music.recall.cued import RecalledTrack
    from jaxsnn_music.recall.episodic import Fragment, Identification
    from jaxsnn_music.recall.pacemaker import TimedPiece
    from jaxsnn_music.recall.raster import RecallRaster
    from jaxsnn_music.recall.scores import TrackScore
    from jaxsnn_music.recall.simulator import Recaller

Overrides = dict[str, Any] | Sequence[str] | str | None
"""Config values on top: ``{"section.key": value}``, ``["section.key=value", ...]`` or one
``"section.key=value"``."""
ConfigLike = Config | str | Path | None
"""A :class:`Config`, a preset name (``default``, ``paper``), a YAML file, or None (``default``)."""
Source = str | Path | Piece | Sequence[Piece]
"""Pieces, or where to read them: a selection name (``bach-chorales``, ``paper``, ``essen``, ...;
:data:`jaxsnn_music.corpus.sources.SELECTIONS`), a MIDI file, or a folder of them."""
Notes = Sequence[int | Sequence[int] | None]
"""A note list: MIDI note numbers, a sequence of them for a chord, None for a rest."""


# -- configs -------------------------------------------------------------------------------


def _overrides(overrides: Overrides) -> dict[str, Any] | list[str]:
    if overrides is None:
        return {}
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, dict):
        return overrides
    return list(overrides)


def _config(cfg: ConfigLike, overrides: Overrides = None) -> Config:
    """The config to memorize with: ``cfg`` (see :data:`ConfigLike`) with ``overrides`` on top."""
    values = _overrides(overrides)
    if isinstance(cfg, Config):
        return extend_config(cfg, overrides=values) if values else cfg
    if cfg is None or (isinstance(cfg, str) and cfg in PRESETS):
        return load_config(cfg, overrides=values)
    if isinstance(cfg, (str, Path)):
        if isinstance(cfg, str) and not cfg.lower().endswith((".yaml", ".yml")) and not Path(cfg).exists():
            raise ConfigError(f"unknown preset {cfg!r} (choose from {', '.join(PRESETS)}, "
                              "or give a YAML file)")
        return load_config(yaml_path=cfg, overrides=values)
    raise TypeError(f"cfg must be a Config, a preset name or a YAML file, not {type(cfg).__name__}")


def _recall_cfg(network: Network, overrides: Overrides = None) -> Config:
    """The network's own config with recall-time ``overrides`` on top (learned keys fixed)."""
    if network.config is None:
        raise UserError("this network records no config (an empty network?): memorize it with "
                        "jaxsnn_music.memorize, or load it with jaxsnn_music.load")
    values = _overrides(overrides)
    return recall_config(network.config, overrides=values) if values else network.config


# -- what a network memorized ------------------------------------------------------------


@dataclasses.dataclass
class _Provenance:
    corpus: list[dict[str, Any]]
    """Per title, in title order: ``title, source, sha256, events`` (a checkpoint's corpus)."""
    pieces: dict[str, Piece]
    """The pieces at hand (memorized from memory, or read back once), by title."""


_PROVENANCE: dict[int, tuple[weakref.ref, _Provenance]] = {}


def _remember(network: Network, provenance: _Provenance) -> None:
    key = id(network)
    _PROVENANCE[key] = (weakref.ref(network, lambda _, key=key: _PROVENANCE.pop(key, None)),
                        provenance)


def _provenance(network: Network) -> _Provenance | None:
    entry = _PROVENANCE.get(id(network))
    return entry[1] if entry is not None and entry[0]() is network else None


def _corpus_entries(pieces: Sequence[Piece]) -> list[dict[str, Any]]:
    """What a checkpoint's manifest records per piece."""
    from jaxsnn_music.checkpoint import corpus_manifest

    return corpus_manifest(pieces)


def _item(title: str, source: str) -> CorpusItem | None:
    """How to read a memorized piece again from its recorded source (None: it has none)."""
    from jaxsnn_music.corpus.sources import CorpusItem

    if not source:
        return None
    if re.fullmatch(r"r\d{3}", source):  # a chorale of music21's corpus
        return CorpusItem(title, "chorale", source)
    if "#" in source:  # one tune of an ABC file
        return CorpusItem(title, "abc", source)
    # A MIDI file, also when it is gone: the loader says why it cannot be read.
    return CorpusItem(title, "midi", source)


def _skip(on_skip: Callable[[str, str], None] | None, title: str, reason: str) -> None:
    if on_skip is None:
        warnings.warn(f"skipped {title}: {reason}", stacklevel=4)
    else:
        on_skip(title, reason)


def _read_items(items: list[CorpusItem], cfg: Config, cache: bool | str | Path = True,
                workers: int | None = None, progress: bool = False,
                on_skip: Callable[[str, str], None] | None = None) -> LoadReport:
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus, network_limits

    parse_cache = None if cache is False else ParseCache(None if cache is True else cache)
    # A piece the network cannot hold (too many tracks, events or chord tones) is skipped
    # like a bad file.
    report = load_corpus(items, cfg.encoding, cache=parse_cache, workers=workers, progress=progress,
                         limits=network_limits(cfg))
    if parse_cache is not None and parse_cache.write_error:
        warnings.warn(f"{parse_cache.write_error}; parsing without it", stacklevel=3)
    for title, reason in report.skipped:
        _skip(on_skip, title, reason)
    return report


def _read_back(entries: list[dict[str, Any]], cfg: Config, cache: bool | str | Path = True,
               workers: int | None = None, progress: bool = False,
               on_skip: Callable[[str, str], None] | None = None) -> list[Piece]:
    """Memorized pieces read again from their sources (encoded with ``cfg``); a piece whose
    source is gone or changed since (another sha256) is left out, reported to ``on_skip``
    (default: a warning)."""
    items = [item for entry in entries
             if (item := _item(entry.get("title", ""), entry.get("source") or "")) is not None]
    pieces = _read_items(items, cfg, cache, workers, progress, on_skip).pieces if items else []
    sha = {e.get("title"): e.get("sha256") for e in entries}
    kept = []
    for piece in pieces:
        if sha.get(piece.title) and piece.sha256 != sha[piece.title]:
            _skip(on_skip, piece.title, f"{piece.source} changed since it was memorized")
        else:
            kept.append(piece)
    return kept


def _memorized_pieces(network: Network, cfg: Config, titles: Sequence[str] | None = None,
                      **read: Any) -> list[Piece]:
    """The pieces ``network`` memorized (those of ``titles``, default all), encoded with ``cfg``;
    empty when they are not known. ``read``: how to read them again (see :func:`_read_back`)."""
    provenance = _provenance(network)
    if provenance is None:
        return []
    wanted = list(network.titles if titles is None else titles)
    same_encoding = network.config is not None and network.config.encoding == cfg.encoding
    have = {t: provenance.pieces[t] for t in wanted if same_encoding and t in provenance.pieces}
    missing = [e for e in provenance.corpus if e.get("title") in set(wanted) - set(have)]
    if missing:
        read_again = _read_back(missing, cfg, **read)
        if same_encoding:
            provenance.pieces.update((p.title, p) for p in read_again)
        have.update((p.title, p) for p in read_again)
    return [have[t] for t in wanted if t in have]


def memorized_pieces(network: Network, cfg: Config | None = None, *,
                     titles: Sequence[str] | None = None, cache: bool | str | Path = True,
                     workers: int | None = None, progress: bool = False,
                     on_skip: Callable[[str, str], None] | None = None) -> list[Piece]:
    """The pieces a network memorized, as :func:`memorize` or :func:`load` recorded them.

    Pieces memorized in this session are at hand; the others are read again from the sources
    the checkpoint lists (a MIDI file, a chorale of music21's corpus, a tune of an ABC file).
    A source that is gone, cannot be read or changed since it was memorized (another sha256)
    is left out and reported.

    **Arguments:**

    - `network`: a network made by :func:`memorize` or :func:`load`.
    - `cfg`: the config whose ``encoding`` section encodes them (default: the network's; e.g.
      the ``paper`` preset reads a chorale again as its melody).
    - `titles`: only these (default: every title, in the network's order).
    - `cache`, `workers`, `progress`, `on_skip`: how sources are read (see :func:`read_pieces`;
      `on_skip` also hears of a source that changed since).

    **Returns:** the pieces, in title order. Raises a one-line :class:`UserError` when none can
    be had.
    """
    cfg = network.config if cfg is None else cfg
    if cfg is None:
        raise UserError("this network records no config (an empty network?): it memorized nothing")
    pieces = _memorized_pieces(network, cfg, titles, cache=cache, workers=workers,
                               progress=progress, on_skip=on_skip)
    if pieces or (titles is not None and not titles):
        return pieces
    provenance = _provenance(network)
    if provenance is None:
        raise UserError("the pieces this network memorized are not known here (it was not made "
                        "by jaxsnn_music.memorize or load): pass them explicitly")
    if not any(e.get("source") for e in provenance.corpus):
        raise UserError("this network records no sources of its pieces (saved without them): "
                        "there is nothing to read again")
    raise UserError("nothing usable: none of the pieces this network memorized could be read "
                    "again (each was reported as skipped)")


# -- corpus --------------------------------------------------------------------------------


def read_pieces(source: Source, cfg: ConfigLike = None, overrides: Overrides = None, *,
                limit: int | None = None, exclude: Collection[str] = (),
                piano_midi: str | Path | None = None, cache: bool | str | Path = True,
                workers: int | None = None, progress: bool = False,
                on_skip: Callable[[str, str], None] | None = None) -> list[Piece]:
    """Read a corpus into note events (:mod:`jaxsnn_music.corpus`), as :func:`memorize` does.

    **Arguments:**

    - `source`: a selection name (``bach-chorales``, ``paper``, ``piano-midi``, ``essen``,
      ``folk``, ...), a MIDI file or a folder of them (searched recursively; a title is the
      path below the folder without extension; a :class:`~pathlib.Path` is always a path),
      or pieces already read (returned as they are).
    - `cfg`, `overrides`: the config whose ``encoding`` section is used (see :func:`memorize`).
    - `limit`: only the first `limit` pieces (in title order), cut before anything is parsed.
    - `exclude`: titles to leave out before anything is parsed (e.g. ``network.titles``: the
      pieces a network has not memorized).
    - `piano_midi`: the piano-midi.de folder, for the ``paper`` and ``piano-midi`` selections
      (default: ``$JAXSNN_MUSIC_PIANO_MIDI``, ``../shared/corpus/piano-midi``).
    - `cache`: use the parse cache (True: its default folder; a folder; False: none).
    - `workers`: parser processes (None: one per core, for 16 or more files to parse).
    - `progress`: show a progress bar.
    - `on_skip`: called as ``on_skip(title, reason)`` for every file that cannot be used,
      or whose piece the network cannot hold (default: a warning); the others are read.

    **Returns:** the pieces, in title order.
    """
    if not isinstance(source, (str, Path)):
        pieces = [source] if isinstance(source, Piece) else list(source)
        if not all(isinstance(p, Piece) for p in pieces):
            raise TypeError("pieces must be Piece objects, or a selection name or a path")
        excluded = set(exclude)
        pieces = [p for p in pieces if p.title not in excluded]
        return pieces[:limit] if limit is not None else pieces
    return read_corpus(source, cfg, overrides, limit=limit, exclude=exclude, piano_midi=piano_midi,
                       cache=cache, workers=workers, progress=progress, on_skip=on_skip).pieces


def read_corpus(source: str | Path, cfg: ConfigLike = None, overrides: Overrides = None, *,
                limit: int | None = None, exclude: Collection[str] = (),
                piano_midi: str | Path | None = None, cache: bool | str | Path = True,
                workers: int | None = None, progress: bool = False,
                on_skip: Callable[[str, str], None] | None = None) -> LoadReport:
    """:func:`read_pieces` with what the reading found, for a report of the corpus (as
    ``jaxsnn-music corpus stats`` prints it).

    **Arguments:** as for :func:`read_pieces`; `source` is a selection name or a path.

    **Returns:** a :class:`~jaxsnn_music.corpus.load.LoadReport`: ``pieces``; ``skipped``,
    ``(title, reason)`` of every input left out; ``warnings``, ``(title, warning)`` of pieces
    read with something dropped or odd; ``parsed`` and ``cached``, how many were parsed and
    how many came from the parse cache; ``seconds``.
    """
    from jaxsnn_music.corpus.sources import SELECTIONS, directory_items, selection_items

    if isinstance(source, str) and source in SELECTIONS:
        items = selection_items(source, piano_midi)
    elif isinstance(source, str) and not Path(source).exists():
        raise CorpusError(f"{source}: no such file or folder (a corpus is a MIDI file, a folder "
                          f"of them, or one of {', '.join(SELECTIONS)})")
    else:
        items = directory_items(source)
    excluded = set(exclude)
    items = [i for i in items if i.title not in excluded]
    if limit is not None:
        items = items[:limit]
    return _read_items(items, _config(cfg, overrides), cache, workers, progress, on_skip)


# -- memorize ------------------------------------------------------------------------------


def memorize(pieces_or_path: Source, cfg: ConfigLike = None, overrides: Overrides = None, *,
             limit: int | None = None, network: Network | None = None,
             out: str | Path | None = None, restart: bool = False,
             piano_midi: str | Path | None = None, cache: bool | str | Path = True,
             workers: int | None = None, progress: bool = False,
             on_skip: Callable[[str, str], None] | None = None) -> Network:
    """Memorize pieces into a network (MODEL.md section 3): one title neuron per piece, columns
    and synapses grown as the pieces need them.

    Pieces are learned in chunks of ``memorize.chunk_pieces``, one chunk after another, as
    ``jaxsnn-music memorize`` does, so the network is the one the command line makes.

    **Arguments:**

    - `pieces_or_path`: pieces, or where to read them (see :func:`read_pieces`).
    - `cfg`: a :class:`~jaxsnn_music.config.Config`, a preset name (``default``: every track,
      whole chords; ``paper``: the first track, melody, the authors' numbers), a YAML file, or
      None: ``default``; or, when growing `network`, None: the network's own.
    - `overrides`: values on top, e.g. ``{"network.n_delays": 2}`` or
      ``["network.context_cells=8"]``.
    - `limit`: only the first `limit` pieces (in title order).
    - `network`: a memorized network to go on growing (its learning config must stay the same).
    - `out`: also write the network as a checkpoint folder, as a resumable run: after each
      chunk progress is saved there, and the same call after an interruption resumes it
      (:func:`jaxsnn_music.resumable.memorize_corpus`; not with `network`).
    - `restart`: with `out`, delete an earlier run there instead of resuming it.
    - `piano_midi`, `cache`, `workers`, `progress`, `on_skip`: how pieces are read
      (see :func:`read_pieces`).

    **Returns:** the :class:`~jaxsnn_music.network.Network`; ``network.config`` is the config
    it was memorized with and ``network.titles`` its pieces' titles.
    """
    if network is not None and cfg is None:
        config = _config(network.config or load_config(), overrides)
    else:
        config = _config(cfg, overrides)
    if network is not None and network.config is not None:
        same_learning(network.config, config)
    pieces = read_pieces(pieces_or_path, config, limit=limit, piano_midi=piano_midi, cache=cache,
                         workers=workers, progress=progress, on_skip=on_skip)
    if not pieces:
        raise CorpusError("nothing to memorize: no piece could be read")
    if network is not None:
        clash = sorted(set(network.titles) & {p.title for p in pieces})
        if clash:
            raise CorpusError(f"{clash[0]!r} is memorized already: a title is memorized once")
    if len({p.title for p in pieces}) < len(pieces):
        raise CorpusError("two pieces have the same title: a title is memorized once")

    if out is not None:
        if network is not None:
            raise UserError("memorize(out=...) starts a new network; save a grown one with save()")
        from jaxsnn_music.resumable import memorize_corpus

        grown = memorize_corpus(pieces, config, out, restart=restart).network
        before: list[dict[str, Any]] = []
        known: dict[str, Piece] = {}
    else:
        from jaxsnn_music.network.growth import grow
        from jaxsnn_music.network.model import Network
        from jaxsnn_music.resumable import chunk_bounds

        grown = network if network is not None else Network.empty()
        for lo, hi in chunk_bounds(len(pieces), config.memorize.chunk_pieces):
            grown = grow(grown, pieces[lo:hi], config)
        earlier = _provenance(network) if network is not None else None
        before = earlier.corpus if earlier else []
        known = dict(earlier.pieces) if earlier else {}
        if network is not None and earlier is None:  # the earlier titles, without their files
            before = _anonymous(network)
    known.update((p.title, p) for p in pieces)
    _remember(grown, _Provenance(before + _corpus_entries(pieces), known))
    return grown


def _anonymous(network: Network) -> list[dict[str, Any]]:
    """Manifest entries for titles whose pieces are not known: the title and its tracks'
    lengths, no source."""
    import numpy as np

    lengths = np.asarray(network.track_lengths)
    return [{"title": t, "source": "", "sha256": "",
             "events": [int(n) for n in lengths[i] if n > 0]} for i, t in enumerate(network.titles)]


# -- recall --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Recalled:
    """A title-cued recall: what each column read out, timed by the pacemaker, and its scores.

    **Fields:**

    - `title`: the recalled title.
    - `tracks`: the column read-out of every track
      (:class:`~jaxsnn_music.recall.cued.RecalledTrack`: pitch, chord and duration class per
      event, first spike times).
    - `timed`: the recall timed by the pacemaker and the striatal neurons
      (:class:`~jaxsnn_music.recall.pacemaker.TimedPiece`); ``timed.piece`` is a
      :class:`~jaxsnn_music.events.Piece` with onsets in ticks.
    - `stored`: the piece the network memorized under this title (None when not known).
    - `scores`: per track, pitch, duration and onset accuracy against `stored`
      (:class:`~jaxsnn_music.recall.scores.TrackScore`; empty when `stored` is None).
    - `raster`: every spike of the recall, or of its first columns
      (:class:`~jaxsnn_music.recall.raster.RecallRaster`), when asked for.
    - `config`: the config it was recalled with.
    """

    title: str
    tracks: tuple[RecalledTrack, ...]
    timed: TimedPiece
    stored: Piece | None
    scores: tuple[TrackScore, ...]
    raster: RecallRaster | None
    config: Config

    @property
    def piece(self) -> Piece:
        """The recalled note events, with the pacemaker's onsets."""
        return self.timed.piece

    @property
    def n_events(self) -> int:
        return sum(t.n_events for t in self.tracks)

    @property
    def summary(self) -> dict[str, Any] | None:
        """Scores over the tracks (:func:`~jaxsnn_music.recall.scores.summarize`: ``pitch_weighted``
        is the share of all events recalled right), or None without a stored piece."""
        from jaxsnn_music.recall.scores import summarize

        return summarize(list(self.scores)) if self.scores else None

    @property
    def pitch_accuracy(self) -> float | None:
        """The share of events (all tracks) whose recalled pitch, or chord, is the stored one."""
        summary = self.summary
        return None if summary is None else summary["pitch_weighted"]

    def write_midi(self, path: str | Path) -> Path:
        """Write the recall as a MIDI file (the stored piece's tempo map when known; rests are
        silences). **Returns:** the path written."""
        from jaxsnn_music.recall.pacemaker import write_recall

        return write_recall(self.timed, path, self.config)


def _checked_rate(cfg: Config, pacemaker_hz: float) -> float:
    """``pacemaker_hz``, checked like ``recall.pacemaker_hz`` (a finite number in range)."""
    key = "recall.pacemaker_hz"
    try:
        return extend_config(cfg, overrides={key: pacemaker_hz}).recall.pacemaker_hz
    except ConfigError as exc:
        if str(exc).startswith(f"{key} "):
            raise ConfigError(f"pacemaker_hz{str(exc)[len(key):]}") from None
        raise


def recall(network: Network, title: str | int | Sequence[str | int], overrides: Overrides = None,
           *, pacemaker_hz: float | None = None, stored: Piece | Sequence[Piece] | None = None,
           spikes: bool | int = False, recaller: Recaller | None = None
           ) -> Recalled | list[Recalled]:
    """Title-cued recall (MODEL.md section 4): drive a title neuron and read every column of
    every track it has; time the events with the pacemaker; score them against the stored piece.

    **Arguments:**

    - `network`: the memorized network.
    - `title`: a title (exact, or a unique case-insensitive match of its last part, e.g.
      ``"r001-bwv269"``; or its index), or a list of them (recalled side by side, faster).
    - `overrides`: recall-time config values on top of ``network.config``, e.g.
      ``{"recall.sequential": "off"}``; keys that learning read are refused.
    - `pacemaker_hz`: the pacemaker's rate (default ``recall.pacemaker_hz``; twice
      ``recall.reference_hz`` plays the piece twice as fast, with the same notes); checked
      like ``recall.pacemaker_hz``.
    - `stored`: the piece(s) to score against (default: the ones the network memorized, when
      known).
    - `spikes`: also record every spike (:attr:`Recalled.raster`; one more simulation per
      title): True for every column, a number ``n`` for the first ``n`` columns of each track.
    - `recaller`: the dynamics, if not the config's
      (:class:`~jaxsnn_music.recall.simulator.Recaller`; e.g. a tuning run's thresholds and
      delays: ``jaxsnn_music.tune.plain_recaller(jaxsnn_music.tune.load_tuned(folder, cfg), cfg)``).

    **Returns:** a :class:`Recalled`, or a list of them for a list of titles.
    """
    from jaxsnn_music.events import TempoMap
    from jaxsnn_music.recall.cued import recall_titles, title_index
    from jaxsnn_music.recall.pacemaker import time_piece
    from jaxsnn_music.recall.raster import record_recall
    from jaxsnn_music.recall.scores import score_piece

    cfg = _recall_cfg(network, overrides)
    rate = cfg.recall.pacemaker_hz if pacemaker_hz is None else _checked_rate(cfg, pacemaker_hz)
    many = not isinstance(title, (str, numbers.Integral))
    titles = [network.titles[title_index(network, t)] for t in (title if many else [title])]
    if stored is None:
        by_title = {p.title: p for p in _memorized_pieces(network, cfg, titles)}
    else:
        given = [stored] if isinstance(stored, Piece) else list(stored)
        by_title = {p.title: p for p in given}
        if not many and len(given) == 1:
            by_title[titles[0]] = given[0]
    out = []
    for recalled in recall_titles(network, titles, cfg, recaller=recaller):
        piece = by_title.get(recalled.title)
        timed = time_piece(recalled, cfg, rate, resolution=piece.resolution if piece else 480,
                           tempo=piece.tempo if piece else TempoMap.constant())
        scores = () if piece is None else tuple(score_piece(
            piece, recalled, cfg, time_piece(recalled, cfg, cfg.recall.reference_hz)))
        raster = None if not spikes else record_recall(
            network, recalled.title, cfg, columns=None if spikes is True else int(spikes),
            recaller=recaller)
        out.append(Recalled(recalled.title, recalled.tracks, timed, piece, scores, raster, cfg))
    return out if many else out[0]


# -- identify ------------------------------------------------------------------------------


def _fragment(fragment: Fragment | str | Path | Notes, cfg: Config, track: int) -> Fragment:
    from jaxsnn_music.recall.episodic import Fragment

    if isinstance(fragment, Fragment):
        return fragment
    if isinstance(fragment, (str, Path)):
        return Fragment.from_midi(fragment, cfg, track)
    notes = list(fragment)
    for note in notes:
        chord = [] if note is None else [note] if isinstance(note, numbers.Integral) else note
        try:
            chord = list(chord)
        except TypeError:
            raise UserError(f"{note!r} is not a MIDI note number, a chord (a list of them) or "
                            "None (a rest)") from None
        if not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and 0 <= n <= 127
                   for n in chord):
            raise UserError(f"{note!r} is not a MIDI note number 0..127, a chord of them or None "
                            "(a rest)")
    return Fragment.from_notes(notes)


def identify(network: Network, fragment: Fragment | str | Path | Notes,
             overrides: Overrides = None, *, track: int = 0,
             continuation: bool = True) -> Identification:
    """Episodic recall (MODEL.md section 4): which memorized piece a fragment comes from, where,
    and how it goes on; a fragment no piece holds is reported as unknown, not forced onto a title.

    **Arguments:**

    - `network`: the memorized network.
    - `fragment`: a :class:`~jaxsnn_music.recall.episodic.Fragment`, a MIDI file (one of its
      tracks, encoded as the network's pieces were), or a note list (MIDI numbers, a list of
      them for a chord, None for a rest: ``[67, 67, 69, [71, 67], None]``).
    - `overrides`: recall-time config values on top of ``network.config``, e.g.
      ``{"recall.min_score": 0.8}``.
    - `track`: which track of a MIDI file.
    - `continuation`: also recall the events after the fragment (for the winner).

    **Returns:** an :class:`~jaxsnn_music.recall.episodic.Identification`: ``.title`` (None when
    unknown), ``.best`` (title, score, spikes, track ``layer``, ``column``), ``.ranking``,
    ``.ties``, ``.continuation``, ``.to_json()``.
    """
    from jaxsnn_music.recall.episodic import identify as run_identify

    cfg = _recall_cfg(network, overrides)
    return run_identify(network, _fragment(fragment, cfg, track), cfg, continuation=continuation)


# -- checkpoints ---------------------------------------------------------------------------


def save(path: str | Path, network: Network, pieces: Sequence[Piece] | None = None, *,
         extra: dict[str, Any] | None = None) -> Path:
    """Write a network as a checkpoint folder (:mod:`jaxsnn_music.checkpoint`): its arrays, its
    config and the corpus it memorized, checked whole when it is loaded.

    **Arguments:**

    - `path`: the folder (created, or overwritten in place).
    - `network`: the memorized network.
    - `pieces`: the pieces it memorized, for the manifest (default: those :func:`memorize` or
      :func:`load` recorded; else the titles alone, without source files: recall of the loaded
      network is then not scored).
    - `extra`: more JSON-able manifest entries.

    **Returns:** the folder.
    """
    from jaxsnn_music.checkpoint import save as save_checkpoint

    if network.config is None:
        raise UserError("this network records no config (an empty network?): nothing to save")
    if pieces is not None:
        by_title = {p.title: p for p in pieces}
        missing = [t for t in network.titles if t not in by_title]
        if missing:
            raise UserError(f"pieces lack {missing[0]!r} (and {len(missing) - 1} more titles of "
                            "this network)" if len(missing) > 1 else
                            f"pieces lack {missing[0]!r}, a title of this network")
        corpus = _corpus_entries([by_title[t] for t in network.titles])
        _remember(network, _Provenance(corpus, by_title))
    else:
        provenance = _provenance(network)
        corpus = provenance.corpus if provenance is not None else _anonymous(network)
    save_checkpoint(path, network, network.config, corpus, extra)
    return Path(path)


def load(path: str | Path) -> Network:
    """Read a checkpoint written by :func:`save` or ``jaxsnn-music memorize``, after checking
    all of it (a damaged or incomplete one is refused in one line).

    **Arguments:**

    - `path`: the checkpoint folder.

    **Returns:** the :class:`~jaxsnn_music.network.Network`, with the config it was memorized
    with (``network.config``); the sources its manifest lists are read again when a recall
    is scored or a protocol needs the pieces.
    """
    from jaxsnn_music.checkpoint import restore

    network, _, manifest = restore(path)
    corpus = [e for e in manifest.get("corpus", []) if isinstance(e, dict)]
    _remember(network, _Provenance(corpus, {}))
    return network


# -- evaluate ------------------------------------------------------------------------------

PROTOCOLS = ("full", "paper", "capacity")


def evaluate(network: Network, protocol: str = "full", overrides: Overrides = None, *,
             pieces: Source | None = None, held_out: Source | None = None,
             episodic: bool = True, out: str | Path | None = None,
             progress: Callable[[str], None] | None = None, cache: bool | str | Path = True,
             on_skip: Callable[[str, str], None] | None = None) -> dict[str, Any]:
    """Score what a network remembers with one protocol of :mod:`jaxsnn_music.evaluate`.

    - ``full``: every memorized piece and track recalled from its title and scored (pitch,
      duration, onset); episodic identification of random fragments against their length,
      of memorized pieces and of `held_out` ones (which must come back unknown); tempo
      fidelity.
    - ``paper``: the authors' test: ``recall.paper_runs`` times, memorize
      ``recall.paper_pieces`` random pieces afresh (paper preset), cue one by its title and
      score its pitch accuracy (the authors: 99.9 %).
    - ``capacity``: accuracy against the number of stored pieces (nested random subsets,
      ``recall.capacity_sizes``, each memorized afresh with the network's config).

    **Arguments:**

    - `network`: the memorized network (its config, and for ``paper`` and ``capacity`` its
      corpus).
    - `protocol`: ``full``, ``paper`` or ``capacity``.
    - `overrides`: recall-time config values on top of ``network.config``, e.g.
      ``{"recall.fragments_per_length": 5}``.
    - `pieces`: the pieces it memorized (default: those :func:`memorize` or :func:`load`
      recorded), or where to read them (see :func:`read_pieces`).
    - `held_out`: pieces it never saw, for ``full`` (default: none).
    - `episodic`: run the identification part of ``full``.
    - `out`: also write the result there (``<protocol>.json``, CSV tables, PNG figures).
    - `progress`: called with a line of text as the protocol goes on.
    - `cache`, `on_skip`: how pieces are read, or read again from their sources (see
      :func:`read_pieces`, :func:`memorized_pieces`).

    **Returns:** the protocol's result as a dict (e.g. ``result["tracks"]["pitch_weighted"]``
    for ``full``, ``result["summary"]["mean_pitch_accuracy"]`` for ``paper``); with `out`,
    as written to ``<protocol>.json`` (the long tables go to the CSV files).
    """
    from jaxsnn_music.evaluate import (capacity_protocol, full_protocol, paper_protocol,
                                       run_capacity, run_full, run_paper)

    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r} (choose from {', '.join(PROTOCOLS)})")
    cfg = _recall_cfg(network, overrides)
    say = progress or (lambda _: None)
    if protocol == "paper":
        recall_section = {f"recall.{k}": v for k, v in cfg.to_dict()["recall"].items()}
        cfg = load_config("paper", overrides=recall_section)
    if pieces is None:
        corpus = memorized_pieces(network, cfg, cache=cache, on_skip=on_skip)
    else:
        corpus = read_pieces(pieces, cfg, cache=cache, on_skip=on_skip)

    if protocol == "paper":
        if len(corpus) < cfg.recall.paper_pieces:
            raise UserError(f"the paper protocol memorizes {cfg.recall.paper_pieces} pieces per "
                            f"run (recall.paper_pieces); this corpus has {len(corpus)}")
        if out is not None:
            return run_paper(corpus, cfg, out, say)
        return paper_protocol(corpus, cfg, say)
    if protocol == "capacity":
        if out is not None:
            return run_capacity(corpus, cfg, out, say)
        return capacity_protocol(corpus, cfg, say)
    known = set(network.titles)
    memorized = [p for p in corpus if p.title in known]
    held = [] if held_out is None else read_pieces(held_out, cfg, exclude=known, cache=cache,
                                                   on_skip=on_skip)
    if out is not None:
        return run_full(network, memorized, held, cfg, out, say, episodic)
    return full_protocol(network, memorized, held, cfg, say, episodic)


__all__ = ["PROTOCOLS", "Recalled", "evaluate", "identify", "load", "memorize",
           "memorized_pieces", "read_corpus", "read_pieces", "recall", "save"]
