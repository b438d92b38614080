"""Evaluation protocols: data in, numbers out.

Each protocol is a pure function of pieces, a config and (where it scores a network
already memorized) a network; it returns plain dicts and lists. Memorizing a fresh
network for a protocol happens here, not in :mod:`jaxsnn_music.recall`. Writing the
results (:mod:`~jaxsnn_music.evaluate.writing`) and drawing them
(:mod:`~jaxsnn_music.evaluate.plots`) are the next modules.

Protocols (constants in the ``recall`` config section):

- ``paper``: the authors' test. ``paper_runs`` times: memorize ``paper_pieces``
  random pieces in a fresh network (paper preset: first track, melody), cue one of
  them by title and score the pitch accuracy of its recall. Reported next to the
  authors' 99.9 % mean (48 of 50 recalls at 100 %).
- ``full``: every memorized piece, every track, from one network: pitch, duration
  and onset accuracy per piece and track; then episodic identification
  (top-1 against fragment length, for fragments at random positions of memorized
  and of held-out pieces, with the unknown decision's error rates) and tempo
  fidelity (recalled length against pacemaker rate).
- ``capacity``: title-cued accuracy against the number of stored pieces (nested
  random subsets of the corpus, ``recall.capacity_sizes``, each memorized afresh).

:func:`sweep_metrics` condenses the ``full`` protocol's numbers into the scalars a
sweep trial logs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.events import REST, Piece
from jaxsnn_music.network.growth import grow
from jaxsnn_music.network.model import Network
from jaxsnn_music.recall.cued import recall_titles
from jaxsnn_music.recall.episodic import Fragment, identify
from jaxsnn_music.recall.pacemaker import time_piece
from jaxsnn_music.recall.scores import TrackScore, score_piece, summarize
from jaxsnn_music.recall.index import NetworkIndex

AUTHORS = {"mean_pitch_accuracy": 0.999, "runs": 50, "perfect_runs": 48,
           "imperfect": {"rav_gib": 0.97, "haydn_7_3": 0.98}}
"""The authors' title-cued result (MODEL.md section 4)."""

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _memorize_fresh(pieces: Sequence[Piece], cfg: Config) -> Network:
    """A new, empty network that has memorized ``pieces`` (and nothing else)."""
    return grow(Network.empty(), pieces, cfg)


# -- protocol: paper --------------------------------------------------------------------


def paper_protocol(pieces: Sequence[Piece], cfg: Config, progress: Progress = _quiet) -> dict:
    """The authors' title-cued recall test (see the module docstring).

    **Arguments:**

    - `pieces`: the corpus, encoded with ``cfg`` (the paper preset: first track, melody).
    - `cfg`: the config; ``recall.paper_runs``, ``recall.paper_pieces``, ``recall.seed``.

    **Returns:** ``{"runs": [...], "summary": {...}, "authors": {...}}``.
    """
    rc = cfg.recall
    if len(pieces) < rc.paper_pieces:
        raise ValueError(f"the paper protocol needs at least {rc.paper_pieces} pieces")
    rng = np.random.default_rng(rc.seed)
    runs = []
    for run in range(rc.paper_runs):
        chosen = rng.choice(len(pieces), rc.paper_pieces, replace=False)
        learned = [dataclasses.replace(pieces[i], tracks=pieces[i].tracks[:1]) for i in chosen]
        network = _memorize_fresh(learned, cfg)
        cue = int(rng.integers(rc.paper_pieces))
        recalled = recall_titles(network, [cue], cfg)[0]
        score = score_piece(learned[cue], recalled, cfg)[0]
        runs.append({"run": run, "title": learned[cue].title, "events": score.events,
                     "pitch": score.pitch, "duration": score.duration,
                     "memorized": [p.title for p in learned]})
        progress(f"paper run {run + 1}/{rc.paper_runs}: {learned[cue].title} {score.pitch:.3f}")
    pitch = np.array([r["pitch"] for r in runs])
    summary = {"runs": len(runs), "mean_pitch_accuracy": float(pitch.mean()),
               "perfect_runs": int((pitch >= 1.0).sum()),
               "min_pitch_accuracy": float(pitch.min()),
               "distinct_titles": len({r["title"] for r in runs}),
               "mean_duration_accuracy": float(np.mean([r["duration"] for r in runs]))}
    return {"runs": runs, "summary": summary, "authors": AUTHORS}


# -- protocol: full -----------------------------------------------------------------------


def recall_scores(network: Network, pieces: Sequence[Piece], cfg: Config,
                  index: NetworkIndex | None = None, timing: bool = True) -> list[TrackScore]:
    """Title-cued recall of every given (memorized) piece, scored per track."""
    by_title = {p.title: p for p in pieces}
    titles = [t for t in network.titles if t in by_title]
    scores = []
    for recalled in recall_titles(network, titles, cfg, index=index):
        piece = by_title[recalled.title]
        timed = time_piece(recalled, cfg, cfg.recall.reference_hz) if timing else None
        scores.extend(score_piece(piece, recalled, cfg, timed))
    return scores


def sample_fragments(pieces: Sequence[Piece], lengths: Sequence[int], per_length: int,
                     rng: np.random.Generator) -> list[tuple[int, Piece, int, int]]:
    """``(length, piece, track, start)`` of random fragments: a random piece, a random track
    long enough, a random start on a sounding event."""
    out = []
    for length in lengths:
        for _ in range(per_length):
            for _attempt in range(100):
                piece = pieces[int(rng.integers(len(pieces)))]
                layer = int(rng.integers(len(piece.tracks)))
                track = piece.tracks[layer]
                if track.n_events < length:
                    continue
                starts = np.nonzero(track.top_pitch()[: track.n_events - length + 1] != REST)[0]
                if len(starts):
                    out.append((length, piece, layer, int(rng.choice(starts))))
                    break
    return out


def _occurs_at(piece: Piece, layer: int, column: int, fragment: Fragment) -> bool:
    """Whether ``fragment`` is exactly the track's events from ``column`` on."""
    if layer >= len(piece.tracks):
        return False
    track = piece.tracks[layer]
    if column < 0 or column + fragment.n_events > track.n_events:
        return False
    chords = track.chords()[column: column + fragment.n_events]
    return tuple(chords) == fragment.chords


def episodic_protocol(network: Network, memorized: Sequence[Piece], held_out: Sequence[Piece],
                      cfg: Config, index: NetworkIndex | None = None,
                      progress: Progress = _quiet) -> dict:
    """Identification of random fragments of memorized and of held-out pieces.

    Outcomes per fragment: ``correct`` (the true title wins alone), ``tie`` (it is among
    tied winners), ``wrong`` (another title wins), ``unknown``. For held-out fragments every
    outcome but ``unknown`` is a false identification.

    **Returns:** ``{"fragments": [...], "by_length": [...], "summary": {...}}``.
    """
    index = index or NetworkIndex(network, cfg)
    rc = cfg.recall
    rng = np.random.default_rng(rc.seed + 1)
    rows = []
    for kind, pieces in (("memorized", memorized), ("held_out", held_out)):
        if not pieces:
            continue
        for length, piece, layer, start in sample_fragments(pieces, rc.lengths(),
                                                            rc.fragments_per_length, rng):
            fragment = Fragment.from_track(piece.tracks[layer], start, length)
            t0 = time.perf_counter()
            found = identify(network, fragment, cfg, index, continuation=False)
            seconds = time.perf_counter() - t0
            best = found.best
            if found.unknown:
                outcome = "unknown"
            elif piece.title in found.ties:
                outcome = "correct" if len(found.ties) == 1 else "tie"
            else:
                outcome = "wrong"
            position = (best is not None and best.title == piece.title
                        and _occurs_at(piece, best.layer, best.column, fragment))
            rows.append({"kind": kind, "length": length, "title": piece.title, "track": layer,
                         "start": start, "outcome": outcome, "found": found.title,
                         "ties": len(found.ties), "score": best.score if best else 0.0,
                         "support": best.support if best else 0.0,
                         "position_ok": bool(position), "candidates": found.candidates,
                         "kept": found.kept, "seconds": seconds})
        progress(f"episodic: {kind} fragments done")
    by_length = []
    for kind in ("memorized", "held_out"):
        for length in rc.lengths():
            part = [r for r in rows if r["kind"] == kind and r["length"] == length]
            if not part:
                continue
            share = lambda what: sum(r["outcome"] == what for r in part) / len(part)  # noqa: E731
            by_length.append({"kind": kind, "length": length, "fragments": len(part),
                              "top1": share("correct") + share("tie"),
                              "top1_alone": share("correct"), "tie": share("tie"),
                              "wrong": share("wrong"), "unknown": share("unknown")})
    mem = [r for r in rows if r["kind"] == "memorized"]
    held = [r for r in rows if r["kind"] == "held_out"]
    summary = {
        "memorized_fragments": len(mem), "held_out_fragments": len(held),
        "top1": _mean([r["outcome"] in ("correct", "tie") for r in mem]),
        "false_unknown_rate": _mean([r["outcome"] == "unknown" for r in mem]),
        "false_known_rate": _mean([r["outcome"] != "unknown" for r in held]),
        "position_ok_when_correct": _mean([r["position_ok"] for r in mem
                                           if r["outcome"] == "correct"]),
        "seconds_per_fragment": _mean([r["seconds"] for r in rows]),
        "thresholds": {"min_support": rc.min_support, "min_score": rc.min_score},
        # What other score thresholds would have given (support fixed at min_support).
        "score_sweep": [{"min_score": th,
                         "false_unknown_rate": _mean([r["score"] < th for r in mem]),
                         "false_known_rate": _mean([r["score"] >= th for r in held])}
                        for th in (0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0)],
    }
    return {"fragments": rows, "by_length": by_length, "summary": summary}


def sweep_metrics(network: Network, pieces: Sequence[Piece], cfg: Config) -> dict:
    """The scalar metrics a sweep trial logs for a memorized network.

    ``pitch_accuracy``, ``duration_accuracy``, ``onset_accuracy`` (title-cued recall of every
    piece, averaged over events) and ``episodic_accuracy`` (identification of random
    fragments of the memorized pieces: the true title wins or ties), with
    ``episodic_unknown_rate``.
    """
    index = NetworkIndex(network, cfg)
    summary = summarize(recall_scores(network, pieces, cfg, index=index))
    episodic = episodic_protocol(network, pieces, [], cfg, index=index)["summary"]
    return {"pitch_accuracy": summary.get("pitch_weighted"),
            "duration_accuracy": summary.get("duration_weighted"),
            "onset_accuracy": summary.get("onset_weighted"),
            "perfect_tracks": summary.get("pitch_perfect"),
            "episodic_accuracy": episodic["top1"],
            "episodic_unknown_rate": episodic["false_unknown_rate"]}


def _mean(values) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def tempo_protocol(network: Network, piece: Piece, cfg: Config,
                   factors: Sequence[float] = (0.5, 1.0, 2.0, 4.0)) -> dict:
    """Recall one piece once and time it at several pacemaker rates.

    **Returns:** per rate the simulated length (s), its ratio to the reference length and
    the expected ratio ``reference / rate``, and whether the recalled notes are identical.
    """
    recalled = recall_titles(network, [piece.title], cfg)[0]
    base = cfg.recall.pacemaker_hz
    factors = sorted(set(factors) | {1.0})
    timed = {f: time_piece(recalled, cfg, base * f) for f in factors}
    reference = timed[1.0]
    rows = []
    for f, t in timed.items():
        same = all(a.chords() == b.chords() and np.array_equal(a.duration_class, b.duration_class)
                   for a, b in zip(t.piece.tracks, reference.piece.tracks))
        ratio = t.length_seconds / max(reference.length_seconds, 1e-12)
        rows.append({"pacemaker_hz": base * f, "length_seconds": t.length_seconds,
                     "ratio": ratio, "expected_ratio": 1.0 / f,
                     "relative_error": abs(ratio * f - 1.0), "notes_identical": same})
    return {"title": piece.title, "events": recalled.n_events, "rates": rows}


def full_protocol(network: Network, memorized: Sequence[Piece], held_out: Sequence[Piece],
                  cfg: Config, progress: Progress = _quiet, episodic: bool = True) -> dict:
    """Title-cued recall of every memorized track, episodic identification and tempo
    fidelity, all from one memorized network (see the module docstring).

    **Arguments:**

    - `network`: the memorized network.
    - `memorized`: the pieces it memorized (encoded with ``cfg``).
    - `held_out`: pieces it never saw, for the false-known rate of identification.
    - `cfg`: the config the network was memorized with.
    - `episodic`: whether to run the identification part.

    **Returns:** ``{"tracks": summary, "recall_seconds", "pieces": {...}, "track_rows": [...],
    "episodic": {"summary", "by_length", "held_out_titles"}, "fragments": [...],
    "tempo": {...}}``; ``track_rows`` (one per track) and ``fragments`` (one per identified
    fragment) are the long tables, ``episodic`` and ``fragments`` only when asked for,
    ``tempo`` (the longest piece under 2000 events) only when something was memorized.
    """
    index = NetworkIndex(network, cfg)
    t0 = time.perf_counter()
    scores = recall_scores(network, memorized, cfg, index)
    rows = [s.row() for s in scores]
    recall_seconds = time.perf_counter() - t0
    progress(f"title-cued recall of {len(rows)} tracks in {recall_seconds:.0f} s")
    result: dict = {"tracks": summarize(scores), "recall_seconds": recall_seconds}
    by_piece: dict[str, list[TrackScore]] = {}
    for s in scores:
        by_piece.setdefault(s.title, []).append(s)
    result["pieces"] = {"count": len(by_piece),
                        "pitch_mean": _mean(np.mean([s.pitch for s in v]) for v in by_piece.values()),
                        "duration_mean": _mean(np.mean([s.duration for s in v])
                                               for v in by_piece.values())}
    result["track_rows"] = rows
    if episodic:
        ep = episodic_protocol(network, memorized, held_out, cfg, index, progress)
        result["episodic"] = {"summary": ep["summary"], "by_length": ep["by_length"],
                              "held_out_titles": sorted({p.title for p in held_out})}
        result["fragments"] = ep["fragments"]
    if memorized:
        piece = max(memorized, key=lambda p: p.n_events if p.n_events < 2000 else 0)
        result["tempo"] = tempo_protocol(network, piece, cfg)
    return result


# -- protocol: capacity ------------------------------------------------------------------


def capacity_protocol(pieces: Sequence[Piece], cfg: Config, progress: Progress = _quiet) -> dict:
    """Title-cued recall accuracy of every stored track against the number of stored pieces.

    The subsets are nested (the first ``n`` pieces of one random order), so each size adds
    pieces to the previous one.

    **Returns:** ``{"sizes": [{"pieces", "tracks", "events", "pitch_weighted", ...}, ...]}``.
    """
    rng = np.random.default_rng(cfg.recall.seed + 2)
    order = rng.permutation(len(pieces))
    rows = []
    for n in sorted({min(int(x), len(pieces)) for x in cfg.recall.capacity_sizes.split(",")}):
        subset = [pieces[i] for i in order[:n]]
        network = _memorize_fresh(subset, cfg)
        t0 = time.perf_counter()
        summary = summarize(recall_scores(network, subset, cfg, timing=False))
        weights = np.asarray(network.synapses.weight)[: network.synapses.n]
        rows.append({"pieces": n, **{k: v for k, v in summary.items() if not k.endswith("_mean")},
                     "max_weight": float(weights.max(initial=0.0)),
                     "mean_weight": float(weights.mean()) if weights.size else 0.0,
                     "recall_seconds": time.perf_counter() - t0})
        progress(f"capacity: {n} pieces, pitch {summary.get('pitch_weighted', 0):.3f}")
    return {"sizes": rows}
