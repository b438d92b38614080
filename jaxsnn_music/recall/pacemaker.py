"""Pacemaker and striatal timing: when each recalled event starts (MODEL.md section 5.2).

The column read-out says *what* is recalled (pitch, duration class); this
module says *when*, and renders the result. A pacemaker fires at rate ``f``; per
track, a striatal neuron counts its spikes and fires when the count reaches the
current event's duration, ``(class + 1) * spikes_per_step`` spikes; its spike
releases the next event and resets the count. Doubling ``f`` halves every
interval while the events stay the same. (The authors' code drew this figure;
it did not simulate it.)

Two implementations, chosen by ``recall.timing``:

- ``spiking`` (default): a pacemaker LIF neuron and striatal LIF integrators simulated
  step by step (:mod:`.timing`), with a regular or a Poisson pacemaker and an optional
  leak; recalled onsets are the striatal neurons' spike times.
- ``counter``: :class:`Pacemaker` and :class:`Striatum` below, the same count as integer
  arithmetic, one pacemaker spike at a time (the ``n``-th spike at ``n / f``). With a
  regular pacemaker and no leak the spiking circuit gives exactly these times.

Onsets become beats through ``reference_hz``: at ``f = reference_hz`` one duration
step (1/8 beat) lasts ``spikes_per_step / reference_hz`` s, so a recall at the
reference rate puts every event where its stored duration classes say, and the
piece is written through its own tempo map. At ``2 f`` every onset, in beats and
in ticks, is halved, and the tempo map's changes move with the music (to half
their ticks), so the written piece lasts half as many seconds too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Int

from jaxsnn_music.config import Config
from jaxsnn_music.events import REST, Piece, TempoMap, TrackEvents
from jaxsnn_music.network.buckets import count_trace
from jaxsnn_music.recall.cued import RecalledPiece, RecalledTrack
from jaxsnn_music.recall.timing import run_circuit


class Pacemaker(eqx.Module):
    """The counter's pacemaker (``recall.timing = counter``): a perfect oscillator at
    ``rate_hz`` whose ``n``-th spike after the start is at ``n / rate_hz``."""

    rate_hz: float = eqx.field(static=True)

    def spike_time(self, n: np.ndarray) -> np.ndarray:
        """Time (s) of the ``n``-th spike after reset: the oscillator needs ``1 / f`` per spike."""
        return np.asarray(n, np.float64) / self.rate_hz


class Striatum(eqx.Module):
    """The counter's striatal timing units (``recall.timing = counter``), one per track: count
    pacemaker spikes as integers, release on the duration."""

    spikes_per_step: int = eqx.field(static=True)

    def threshold(self, duration_class: Int[Array, "*tracks"]) -> Int[Array, "*tracks"]:
        """Spikes to count for an event of this class (a silent column counts as class 0)."""
        return (jnp.maximum(duration_class, 0) + 1) * self.spikes_per_step

    @eqx.filter_jit
    def releases(self, duration_class: Int[Array, "tracks events"], n_events: Int[Array, " tracks"]
                 ) -> Int[Array, "tracks events_plus_1"]:
        """Count pacemaker spikes, one at a time, for some tracks played together.

        **Returns:** for each track, the index of the pacemaker spike that released each
        event (event 0 at spike 0, the start) and, last, the one that ended the track.
        """
        count_trace("pacemaker.releases")
        tracks, events = duration_class.shape
        rows = jnp.arange(tracks)

        def running(carry):
            return jnp.any(carry[2] < n_events)

        def spike(carry):
            n, count, event, released = carry
            n = n + 1  # the pacemaker's next spike
            playing = event < n_events
            count = count + playing
            current = duration_class[rows, jnp.minimum(event, events - 1)]
            release = playing & (count >= self.threshold(current))
            released = released.at[rows, jnp.where(release, event + 1, events + 1)].set(
                n, mode="drop")
            return n, jnp.where(release, 0, count), event + release, released

        init = (jnp.zeros((), jnp.int32), jnp.zeros(tracks, jnp.int32),
                jnp.zeros(tracks, jnp.int32), jnp.zeros((tracks, events + 1), jnp.int32))
        return lax.while_loop(running, spike, init)[3]


def release_times(duration_classes: Sequence[np.ndarray], cfg: Config,
                  pacemaker_hz: float | None = None, seed: int | None = None) -> list[np.ndarray]:
    """Simulate the pacemaker and the striatal neurons for some tracks played together.

    **Arguments:**

    - `duration_classes`: per track, the recalled duration class of each event
      (``-1``, a silent column, counts as the shortest class).
    - `cfg`: the config (``recall.timing`` and the timing keys of the ``recall`` section).
    - `pacemaker_hz`: the pacemaker's rate (default ``recall.pacemaker_hz``).
    - `seed`: the ``poisson`` pacemaker's random seed (default ``recall.pacemaker_seed``).

    **Returns:** per track, ``[events + 1]`` times in seconds: event ``k`` starts at
    ``times[k]`` (``times[0] = 0``) and the track ends at ``times[-1]``.
    """
    rate = cfg.recall.pacemaker_hz if pacemaker_hz is None else pacemaker_hz
    if not rate > 0:
        raise ValueError(f"pacemaker rate must be > 0, got {rate}")
    if cfg.recall.timing == "spiking":
        return run_circuit(duration_classes, cfg, seed).seconds(float(rate))
    n = np.array([len(d) for d in duration_classes], np.int32)
    width = 1 << max(int(n.max(initial=1)) - 1, 0).bit_length()  # few compiled shapes
    classes = np.zeros((len(n), max(width, 1)), np.int32)
    for i, d in enumerate(duration_classes):
        classes[i, :len(d)] = d
    spikes = np.asarray(Striatum(cfg.recall.spikes_per_step).releases(jnp.asarray(classes),
                                                                       jnp.asarray(n)))
    pacemaker = Pacemaker(float(rate))
    return [pacemaker.spike_time(spikes[i, :k + 1]) for i, k in enumerate(n)]


def seconds_to_beats(seconds: np.ndarray, cfg: Config) -> np.ndarray:
    """Recalled time -> beats of the piece: one duration step per ``spikes_per_step`` spikes
    of a pacemaker at ``reference_hz``."""
    step = cfg.encoding.duration_step_beats
    return np.asarray(seconds) * cfg.recall.reference_hz / cfg.recall.spikes_per_step * step


@dataclasses.dataclass(frozen=True, eq=False)
class TimedPiece:
    """A recalled piece with its timing: the piece as note events, and the simulated times."""

    piece: Piece
    seconds: tuple[np.ndarray, ...]
    """Per track, the release times ``[events + 1]`` of the timing simulation (s)."""
    pacemaker_hz: float

    @property
    def length_seconds(self) -> float:
        """Simulated length: the last track's end."""
        return max((float(s[-1]) for s in self.seconds), default=0.0)


def _track_events(track: RecalledTrack, onset: np.ndarray, end: np.ndarray) -> TrackEvents:
    chords = [track.chord[a:b].tolist() or [REST] for a, b in zip(track.chord_ptr[:-1],
                                                                   track.chord_ptr[1:])]
    # A rest is a rest whatever else fired with it in its column.
    chords = [[REST] if REST in c else c for c in chords]
    flat = [p for c in chords for p in c]
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in chords])]).astype(np.int64)
    return TrackEvents(name=f"track {track.layer}", program=0, onset=onset.astype(np.int64),
                       duration=np.maximum(end - onset, 1).astype(np.int64), chord_ptr=ptr,
                       pitch=np.asarray(flat, np.int16),
                       duration_class=np.maximum(track.duration_class, 0).astype(np.int16),
                       approximated=np.zeros(track.n_events, bool))


def time_piece(recalled: RecalledPiece, cfg: Config, pacemaker_hz: float | None = None,
               resolution: int = 480, tempo: TempoMap | None = None,
               seed: int | None = None) -> TimedPiece:
    """Give a recalled piece its onsets from the pacemaker simulation.

    **Arguments:**

    - `recalled`: the title-cued recall.
    - `cfg`: the config.
    - `pacemaker_hz`: the pacemaker's rate (default ``recall.pacemaker_hz``).
    - `resolution`, `tempo`: ticks per beat and tempo map of the rendered piece (the
      stored piece's own, when known; else 480 and a constant 120 qpm).
    - `seed`: the ``poisson`` pacemaker's random seed (default ``recall.pacemaker_seed``).

    **Returns:** a :class:`TimedPiece` whose ``piece`` renders with
    :func:`~jaxsnn_music.midi_io.render_midi` (rests as silence).
    """
    rate = cfg.recall.pacemaker_hz if pacemaker_hz is None else pacemaker_hz
    seconds = release_times([t.duration_class for t in recalled.tracks], cfg, rate, seed)
    tracks = []
    end = 0
    for track, sec in zip(recalled.tracks, seconds):
        ticks = np.rint(seconds_to_beats(sec, cfg) * resolution).astype(np.int64)
        tracks.append(_track_events(track, ticks[:-1], ticks[1:]))
        end = max(end, int(ticks[-1]))
    piece = Piece(title=recalled.title, source="recall", sha256="", resolution=resolution,
                  tempo=_paced(tempo if tempo is not None else TempoMap.constant(),
                               cfg.recall.reference_hz / rate, end),
                  tracks=tuple(tracks), n_source_notes=sum(t.n_notes for t in tracks))
    return TimedPiece(piece, tuple(seconds), rate)


def _paced(tempo: TempoMap, factor: float, end: int) -> TempoMap:
    """The tempo map moved with the music: a change at tick ``t`` of the reference recall is at
    ``t * factor`` in a recall at another rate (so the seconds scale by ``factor`` too); changes
    after the recall's end are dropped (the first tempo is always kept)."""
    tick = np.rint(tempo.tick * factor).astype(np.int64)
    keep = (tick <= end) | (np.arange(len(tick)) == 0)
    ts_tick = np.rint(tempo.ts_tick * factor).astype(np.int64)
    ts_keep = ts_tick <= end
    return TempoMap(tick[keep], tempo.us_per_beat[keep], ts_tick[ts_keep],
                    tempo.ts_numerator[ts_keep], tempo.ts_denominator[ts_keep])


def write_recall(timed: TimedPiece, path: str | Path, cfg: Config) -> Path:
    """Write a timed recall as a MIDI file (pretty_midi, the piece's tempo map)."""
    from jaxsnn_music.midi_io import write_midi

    return write_midi(timed.piece, path, cfg.encoding)


__all__ = ["Pacemaker", "Striatum", "TimedPiece", "release_times", "seconds_to_beats",
           "time_piece", "write_recall"]
