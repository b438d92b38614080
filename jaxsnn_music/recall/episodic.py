"""Episodic recall: which stored piece a fragment comes from, where, and how it goes on.

MODEL.md section 4, step by step:

1. **Candidate starts.** Every (track layer, column) in which the neuron(s) of the
   fragment's first event were ever used (a goal link from any title exists).
2. **Replay along the following columns.** Replaying the fragment into columns
   ``c, c + 1, ...`` drives its notes with the teacher current, so every note of
   event ``i`` receives sequential input ``Σ_d Σ_p w(c+i-d, p -> c+i, q) u(t)`` from
   the notes ``p`` of the events ``i - d`` before it (all replayed notes fire in
   the same steps, so they share one ``u(t)``). Note ``q`` is *reached* when that
   learned input is positive, i.e. when ``Σ_d Σ_p w > 0``; the simulation's input
   current is that sum times ``u(t)``, so this is computed in closed form from
   the synapse store. An event is reached when all its notes are (and, with
   durations, its duration neuron too). A candidate's *support* is the share of
   the fragment's events after the first that are reached; candidates with
   support ``>= recall.min_support`` are kept (1.0: every note reached, the paper).
3. **Title neurons integrate feedback.** The fragment is replayed into each
   kept candidate's columns; each replayed pitch note sends its feedback links
   (note -> title, weight 1, facilitated like goal links) to the titles linked
   to it in that column, and the title neurons (LIF) integrate them window by
   window. The title with the most spikes wins. A title neuron fires at its
   refractory-limited rate as soon as one link drives it, so the count says in
   how many *events* a title shares a note with the fragment, not how many
   *notes*: equal counts are ordered by the summed feedback input each title
   received, and a title's *score* is that input as a share of what a title
   linked to every replayed note receives (so 1.0 = every note of the fragment
   is this title's at these columns). Titles equal in both are reported as ties.
   For the same reason only pitch notes feed the titles: feedback from a common
   duration alone would drive a title as hard as a matching note.
4. **Continuation.** The winning title is driven and the columns after the
   fragment are recalled (goal-based recall whose first ``D`` context columns
   are the replayed fragment).

**Unknown.** A fragment is reported as unknown (not forced onto a title) when
no candidate keeps enough support, or when the winner's score is below
``recall.min_score``: a fragment of a stored piece is linked to its title in
every window (score 1), while the best title for a fragment of an unseen piece
collects feedback only where that piece happens to share notes at those very
columns. ``evaluate`` measures both error rates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxsnn_music.config import Config
from jaxsnn_music.events import REST, TrackEvents, pitch_class
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.network.facilitation import Facilitation
from jaxsnn_music.network.lif import LIF
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.subnets import DURATION, PITCH
from jaxsnn_music.recall.cued import CuedTrack, RecalledTrack, recall_units
from jaxsnn_music.recall.errors import EmptyFragmentError, MissingTrackError
from jaxsnn_music.recall.index import NetworkIndex
from jaxsnn_music.recall.simulator import Recaller


@dataclasses.dataclass(frozen=True, eq=False)
class Fragment:
    """A few note events to identify: pitch classes per event, and optionally durations.

    ``chords[i]`` holds the pitch classes of event ``i`` (``REST`` = 0 for a rest,
    ``1 + m`` for MIDI note ``m``); ``durations[i]`` its duration class, or the whole
    field is None (a note list without rhythm).
    """

    chords: tuple[tuple[int, ...], ...]
    durations: tuple[int, ...] | None = None

    def __post_init__(self):
        if not any(p != REST for c in self.chords for p in c):
            raise EmptyFragmentError("the fragment has no notes")
        if self.durations is not None and len(self.durations) != len(self.chords):
            raise ValueError("a fragment needs one duration per event")

    @property
    def n_events(self) -> int:
        return len(self.chords)

    @staticmethod
    def from_track(track: TrackEvents, start: int = 0, length: int | None = None,
                   durations: bool = True) -> Fragment:
        """Events ``start .. start + length - 1`` of an encoded track; leading rests are dropped
        (the silence before a fragment's first note is not part of it)."""
        stop = track.n_events if length is None else min(track.n_events, start + length)
        chords = track.chords()[start:stop]
        classes = [int(c) for c in track.duration_class[start:stop]]
        while chords and chords[0] == (REST,):
            chords, classes = chords[1:], classes[1:]
        if not chords:
            raise EmptyFragmentError("the fragment has no notes")
        return Fragment(tuple(chords), tuple(classes) if durations else None)

    @staticmethod
    def from_notes(notes: Sequence[int | Sequence[int] | None],
                   durations: Sequence[int] | None = None) -> Fragment:
        """A note list: MIDI note numbers (a sequence of them for a chord, None for a rest),
        optionally with duration classes."""
        chords = []
        for note in notes:
            if note is None:
                chords.append((REST,))
            elif isinstance(note, (int, np.integer)):
                chords.append((int(pitch_class(int(note))),))
            else:
                chords.append(tuple(sorted((int(pitch_class(int(n))) for n in note), reverse=True)))
        if not chords:
            raise EmptyFragmentError("the fragment has no notes")
        return Fragment(tuple(chords), None if durations is None else tuple(int(d) for d in durations))

    @staticmethod
    def from_midi(path: str | Path, cfg: Config, track: int = 0) -> Fragment:
        """Track ``track`` of a MIDI file, encoded with the network's encoding settings."""
        from jaxsnn_music.midi_io import read_piece

        piece = read_piece(path, cfg.encoding)
        if not 0 <= track < len(piece.tracks):
            raise MissingTrackError(f"{path}: no track {track} (it has {len(piece.tracks)} "
                                    f"track(s) with notes)")
        return Fragment.from_track(piece.tracks[track])


@dataclasses.dataclass(frozen=True)
class Match:
    """One title's best match."""

    title: str
    score: float
    """Share of the fragment's replayed notes whose feedback link to this title was active
    (the title's summed feedback input over that of a title linked to every note)."""
    spikes: int
    """Spikes of the title neuron during the replay (the paper's criterion)."""
    spike_share: float
    """``spikes`` as a share of what a title linked to every replayed note fires."""
    layer: int
    """The track (sequence layer) where the fragment was found."""
    column: int
    """The column of the fragment's first event (its position in the track)."""
    support: float
    """Share of the fragment's events (after the first) reached by learned sequential input."""


@dataclasses.dataclass(frozen=True, eq=False)
class Identification:
    """What episodic recall makes of a fragment.

    ``ranking`` holds every title that collected feedback, best first (its best
    candidate position each). ``title`` is None when the fragment is unknown.
    """

    unknown: bool
    ranking: tuple[Match, ...]
    ties: tuple[str, ...]
    """Titles with the winner's spike count (the winner included); one title: no tie."""
    continuation: RecalledTrack | None
    candidates: int
    """Candidate positions (step 1) and how many kept enough support (step 2)."""
    kept: int
    fragment_events: int

    @property
    def best(self) -> Match | None:
        return self.ranking[0] if self.ranking else None

    @property
    def title(self) -> str | None:
        return None if self.unknown or not self.ranking else self.ranking[0].title

    @property
    def runner_up(self) -> Match | None:
        return self.ranking[1] if len(self.ranking) > 1 else None

    def to_json(self) -> dict:
        """The stable JSON form (see ``jaxsnn-music identify --help``)."""
        best = self.best

        def match(m: Match | None):
            return None if m is None else {"title": m.title, "score": round(m.score, 4),
                                           "spikes": m.spikes,
                                           "position": {"track": m.layer, "column": m.column}}

        cont = self.continuation
        return {
            "unknown": self.unknown,
            "title": self.title,
            "score": round(best.score, 4) if best else 0.0,
            "spikes": best.spikes if best else 0,
            "support": round(best.support, 4) if best else 0.0,
            "position": None if best is None else {"track": best.layer, "column": best.column},
            "ties": list(self.ties) if len(self.ties) > 1 else [],
            "best_guess": match(best),
            "runner_up": match(self.runner_up),
            "candidates": self.candidates,
            "kept": self.kept,
            "fragment_events": self.fragment_events,
            "continuation": [] if cont is None else [
                {"pitches": [int(p) - 1 for p in chord if p != REST], "rest": REST in chord,
                 "duration_class": int(d)}
                for chord, d in zip(cont.chords(), cont.duration_class)],
        }


def _events(fragment: Fragment, subnet: int) -> list[np.ndarray]:
    if subnet == PITCH:
        return [np.asarray(c, np.int64) for c in fragment.chords]
    return [np.asarray([d], np.int64) for d in fragment.durations]


def _cells(index: NetworkIndex, values: np.ndarray) -> np.ndarray:
    """``[values, cells]``: the neurons (context cells) of each value."""
    m = index.subnets.cells
    return np.asarray(values, np.int64)[:, None] * m + np.arange(m)[None, :]


def _candidates(index: NetworkIndex, fragment: Fragment, subnets: list[int]) -> np.ndarray:
    """Step 1: ``[m, 2]`` (layer, column) where every value of the first event was used."""
    found = None
    for subnet in subnets:
        for value in _events(fragment, subnet)[0]:
            pairs = index.used_columns(subnet, int(value))
            keys = pairs[:, 0].astype(np.int64) * (1 << 32) + pairs[:, 1]
            found = keys if found is None else np.intersect1d(found, keys)
    found = np.zeros(0, np.int64) if found is None else found
    return np.stack([found >> 32, found & ((1 << 32) - 1)], axis=1)


def _support(index: NetworkIndex, fragment: Fragment, cand: np.ndarray, subnets: list[int],
             n_delays: int, min_support: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 2: which candidates keep enough support, and their support.

    Candidates are dropped as soon as they have missed more events than ``min_support``
    allows, so a long fragment costs little more than a short one.
    """
    n = fragment.n_events
    if n == 1:
        return np.arange(len(cand)), np.ones(len(cand))
    allowed = int(np.floor((1.0 - min_support) * (n - 1) + 1e-9))
    alive = np.arange(len(cand))
    misses = np.zeros(len(cand), np.int64)
    events = {s: _events(fragment, s) for s in subnets}
    for i in range(1, n):
        if not len(alive):
            break
        layer, column = cand[alive, 0][:, None], cand[alive, 1][:, None] + i
        reached = np.ones(len(alive), bool)
        for subnet in subnets:
            # Every cell of a value is driven when the value is replayed; a value is reached
            # when learned input arrives at any of its cells.
            post = _cells(index, events[subnet][i])[None, :, :]  # [1, values, cells]
            total = np.zeros((len(alive),) + post.shape[1:], np.float32)
            for d in range(1, min(n_delays, i) + 1):
                for pre in _cells(index, events[subnet][i - d]).reshape(-1):
                    total += index.weight(layer[..., None], column[..., None], d, subnet, pre,
                                          subnet, post)
            reached &= (total.sum(axis=2) > 0).all(axis=1)
        misses[alive] += ~reached
        alive = alive[misses[alive] <= allowed]
    return alive, 1.0 - misses[alive] / (n - 1)


class TitleCluster(eqx.Module):
    """The title neurons during a replay: LIFs integrating facilitated feedback."""

    lif: LIF
    feedback: Facilitation
    input_current: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: Config) -> TitleCluster:
        net = cfg.network
        return TitleCluster(LIF.from_config(net), Facilitation.goal(net), net.input_current,
                            net.steps_per_window)

    def feedback_trace(self) -> jnp.ndarray:
        """``u(t)`` of a feedback link in a window whose note is replayed (teacher-driven):
        its note fires from the window's start, so every link shares this trajectory."""
        drive = jnp.asarray(self.input_current, jnp.float32)

        def step(state, _):
            return self.lif.step(state, drive)

        _, spikes = lax.scan(lambda c, x: step(c, x), self.lif.init(()), None, length=self.steps)
        return self.feedback.run(self.feedback.init(()), spikes)[1]

    @eqx.filter_jit
    def spikes(self, current: jnp.ndarray) -> jnp.ndarray:
        """Spike counts ``[candidates, slots]`` of title neurons receiving, in window ``i``,
        the summed feedback weights ``current[:, i, :]`` times the facilitation trace."""
        count_trace("episodic.title_spikes")
        u = self.feedback_trace()

        def window(carry, weights):
            def step(c, u_t):
                state, count = c
                state, spiked = self.lif.step(state, weights * u_t)
                return (state, count + spiked), None

            carry, _ = lax.scan(lambda c, x: step(c, x), carry, u)
            return carry, None

        init = (self.lif.init(current.shape[::2]), jnp.zeros(current.shape[::2], jnp.int32))
        (_, count), _ = lax.scan(lambda c, x: window(c, x), init, current.transpose(1, 0, 2))
        return count


def _pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


def identify(network: Network, fragment: Fragment, cfg: Config,
             index: NetworkIndex | None = None, continuation: bool = True) -> Identification:
    """Episodic recall of a fragment (see the module docstring for the steps).

    **Arguments:**

    - `network`: the memorized network.
    - `fragment`: the fragment (:class:`Fragment`).
    - `cfg`: the config (``recall`` thresholds, network dynamics).
    - `index`: reuse the look-ups of an earlier call (optional).
    - `continuation`: recall the columns after the fragment for the winner.

    **Returns:** an :class:`Identification`.
    """
    index = index or NetworkIndex(network, cfg)
    rc = cfg.recall
    subnets = [PITCH] + ([DURATION] if rc.identify_durations and fragment.durations is not None
                         else [])
    n = fragment.n_events
    cand = _candidates(index, fragment, subnets)
    kept, support = _support(index, fragment, cand, subnets, cfg.network.n_delays, rc.min_support)
    order = np.lexsort((cand[kept, 1], cand[kept, 0], -support))[: rc.max_candidates]
    kept, support = kept[order], support[order]
    if not len(kept):
        return Identification(True, (), (), None, len(cand), 0, n)

    # Step 3: feedback of the replayed pitch notes, per candidate and window, into local
    # title slots. (Duration neurons are left out here: a title neuron fires at the same
    # refractory-limited rate whether one or two links drive it, so feedback from a common
    # duration alone would count as much as a matching note.)
    rows, windows, titles, weights = [], [], [], []
    for subnet in (PITCH,):
        events = _events(fragment, subnet)
        for i, values in enumerate(events):
            neurons = _cells(index, values).reshape(-1)
            q = np.repeat(np.arange(len(kept)), len(neurons))
            neuron = np.tile(neurons, len(kept))
            layer, column = cand[kept[q], 0], cand[kept[q], 1] + i
            hit, title, w = index.links_at(layer, subnet, column, neuron)
            rows.append(q[hit])
            windows.append(np.full(len(hit), i))
            titles.append(title)
            weights.append(w)
    rows, windows = np.concatenate(rows), np.concatenate(windows)
    titles, weights = np.concatenate(titles), np.concatenate(weights)
    key = rows.astype(np.int64) * (1 << 32) + titles
    pair = np.unique(key)
    pair_row = pair >> 32
    slots = np.arange(len(pair)) - np.searchsorted(pair_row, pair_row)  # rank within candidate
    width = _pow2(int(slots.max(initial=0)) + 2)  # + the reference slot
    current = np.zeros((_pow2(len(kept)), _pow2(n), width), np.float32)
    slot = slots[np.searchsorted(pair, key)]
    np.add.at(current, (rows, windows, slot), weights)
    # The last slot of candidate 0 holds the reference: a title linked to every replayed note.
    reference = np.zeros(_pow2(n), np.float32)
    for i, neurons in enumerate(_events(fragment, PITCH)):
        reference[i] = len(neurons) * cfg.network.goal_feedback_weight
    current[0, :, width - 1] = reference
    counts = np.asarray(TitleCluster.from_config(cfg).spikes(jnp.asarray(current)))
    full = max(int(counts[0, width - 1]), 1)

    # The evidence each title collected at each candidate: its spikes (the paper's
    # criterion) and its summed feedback input (how many replayed notes it is linked to;
    # spike counts saturate once one link drives a title, so they cannot tell a chord
    # matched in one tone from a chord matched in all).
    fed = np.zeros(len(pair), np.float64)
    np.add.at(fed, np.searchsorted(pair, key), weights)
    total = float(reference.sum())
    best: dict[int, tuple[int, float, int]] = {}  # title -> (spikes, input, candidate)
    for k, pk in enumerate(pair):
        r, t = int(pk >> 32), int(pk & ((1 << 32) - 1))
        entry = (int(counts[r, slots[k]]), float(fed[k]), r)
        if t not in best or entry[:2] > best[t][:2]:
            best[t] = entry
    ranking = sorted(best.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[1][2], kv[0]))
    matches = tuple(Match(index.titles[t], min(f / total, 1.0), c, min(c / full, 1.0),
                          int(cand[kept[r], 0]), int(cand[kept[r], 1]), float(support[r]))
                    for t, (c, f, r) in ranking)
    if not matches:
        return Identification(True, (), (), None, len(cand), len(kept), n)
    top = matches[0]
    ties = tuple(m.title for m in matches if (m.spikes, m.score) == (top.spikes, top.score))
    unknown = top.score < rc.min_score
    cont = None
    if continuation and not unknown:
        cont = _continue(index, fragment, top, cfg)
    return Identification(unknown, matches, ties, cont, len(cand), len(kept), n)


def _continue(index: NetworkIndex, fragment: Fragment, match: Match, cfg: Config
              ) -> RecalledTrack | None:
    """Step 4: drive the winner and recall the columns after the fragment."""
    title = index.titles.index(match.title)
    start = match.column + fragment.n_events
    end = int(index.lengths[title, match.layer])
    if cfg.recall.continuation_events:
        end = min(end, start + cfg.recall.continuation_events)
    if end <= start:
        return None
    recaller = Recaller.from_config(cfg)
    subnets = index.subnets
    rasters = []
    for k in range(1, cfg.network.n_delays + 1):
        driven = np.zeros(subnets.total, bool)
        if k <= fragment.n_events:
            for subnet in ([PITCH] + ([DURATION] if fragment.durations is not None else [])):
                cells = _cells(index, _events(fragment, subnet)[-k]).reshape(-1)
                driven[subnets.offset(subnet) + cells] = True
        rasters.append(np.asarray(recaller.teacher_raster(jnp.asarray(driven))))
    unit = CuedTrack(title, match.layer, start, end - start, np.stack(rasters))
    return recall_units(index, [unit], cfg)[0]
