"""The yardstick: teacher-forced learning written as a plain per-time-step NumPy loop.

This is the model of MODEL.md section 3 the way one first writes it, without
the network package and without its shortcut: every time step advances *every*
LIF neuron of *every* column of both subnetworks of every track (129 pitch and
64 duration neurons per column), plus the title neuron, with lateral inhibition
inside each minicolumn when it is switched on. It records every spike; then each
sequential synapse's weight is the explicit all-to-all STDP pair sum over those
spikes (no traces), and goal links follow from the coincidence rule over all
neurons. Both spike-timing variants (arrival, emission) are supported, and the
weight bounds (``w_min``, ``w_max``) clip each summed weight, as one
:func:`~jaxsnn_music.network.growth` call of all the pieces does.

The compiled learning (:mod:`jaxsnn_music.network.learn`) simulates only the
column whose window it is (exact, see its docstring), so it does linear work in a
track's length where this loop does quadratic work: ``columns x steps``. The
benchmark suite runs both on the same pieces and checks that they agree.
(``tests/test_network_reference.py`` holds the same reference as a test.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.events import N_PITCH_CLASSES, Piece

SynapseKey = tuple[int, int, int, int, int, int]
"""``(layer, subnet, post_col, delay, pre, post)``, as in the synapse store."""
LinkKey = tuple[int, int, int, int, int]
"""``(title, layer, subnet, column, neuron)``, as in the goal links."""


@dataclasses.dataclass
class Reference:
    """What learning some pieces leaves behind, by the brute-force loop."""

    weights: dict[SynapseKey, float]
    links: set[LinkKey]
    spikes: int
    """Spikes of note neurons, all pieces."""
    steps: int
    """Time steps simulated, all pieces and tracks (each advances every neuron)."""


def _lif(v, refractory, current, c: NetworkConfig):
    """One forward-Euler step of LIF neurons; returns the new state and the spikes."""
    v = v + c.dt_ms / c.tau_m_ms * (-v + c.resistance * current)
    fired = (v >= c.v_th) & (refractory == 0)
    v = np.where((refractory > 0) | fired, c.v_reset, v)
    refractory = np.where(fired, c.refractory_steps, np.maximum(refractory - 1, 0))
    return v, refractory, fired


def title_spikes(n_steps: int, c: NetworkConfig) -> np.ndarray:
    """Steps at which a title neuron driven by ``title_current_learn`` from step 0 fires."""
    v, refractory, steps = np.array(c.v_0), np.array(0), []
    for t in range(n_steps):
        v, refractory, fired = _lif(v, refractory, c.title_current_learn, c)
        if fired:
            steps.append(t)
    return np.asarray(steps, np.int64)


def simulate_subnetwork(drive: np.ndarray, n_steps: int, c: NetworkConfig
                        ) -> dict[tuple[int, int], np.ndarray]:
    """Every neuron of every column of one subnetwork of one track, step by step.

    **Arguments:**

    - `drive`: ``[columns, neurons]`` input current of each column during its window.
    - `n_steps`: steps to simulate (the piece's length in windows x steps per window).

    **Returns:** ``{(column, neuron): spike steps}`` (global steps from the piece's start).
    """
    S = c.steps_per_window
    K, n = drive.shape
    v = np.full((K, n), c.v_0)
    refractory = np.zeros((K, n), np.int64)
    fired = np.zeros((K, n), bool)
    current = np.zeros((K, n))
    spikes: dict[tuple[int, int], list[int]] = {}
    for t in range(n_steps):
        w = t // S
        current[:] = 0.0
        if w < K:
            current[w] = drive[w]
        if c.lateral_inhibition:
            # The previous step's spikes of the other neurons of the same minicolumn.
            others = fired.sum(axis=1, keepdims=True) - fired
            current = np.maximum(current - c.inhibition_weight * others, c.inhibition_floor)
        v, refractory, fired = _lif(v, refractory, current, c)
        for k, q in zip(*np.nonzero(fired)):
            spikes.setdefault((int(k), int(q)), []).append(t)
    return {key: np.asarray(times, np.int64) for key, times in spikes.items()}


def pair_sum(pre: np.ndarray, post: np.ndarray, c: NetworkConfig) -> float:
    """All-to-all pair STDP between two spike trains (presynaptic times as seen by the rule)."""
    lag = (post[None, :] - pre[:, None]) * c.dt_ms
    ltp = c.a_plus * np.exp(-lag / c.tau_plus_ms)
    ltd = -c.a_minus * np.exp(lag / c.tau_minus_ms)
    coincident = ltp if c.stdp_coincident == "potentiate" else 0.0
    return float(np.sum(np.where(lag > 0, ltp, np.where(lag < 0, ltd, coincident))))


def learn_reference(pieces: Sequence[Piece], c: NetworkConfig, n_duration: int = 64) -> Reference:
    """Learn ``pieces`` (title ids ``0..``) by brute force; see the module docstring.

    ``n_duration``: duration neurons per column (``encoding.n_duration_classes``).
    """
    S = c.steps_per_window
    window = c.coincidence_steps
    weights: dict[SynapseKey, float] = {}
    links: set[LinkKey] = set()
    n_spikes = n_steps = 0
    for title_id, piece in enumerate(pieces):
        piece_steps = max((t.n_events for t in piece.tracks), default=0) * S
        title = title_spikes(piece_steps, c)
        for layer, track in enumerate(piece.tracks):
            if track.n_events == 0:
                continue
            chords = track.chords()
            for subnet, n in ((0, N_PITCH_CLASSES), (1, n_duration)):
                drive = np.zeros((track.n_events, n))
                for k in range(track.n_events):
                    values = chords[k] if subnet == 0 else (int(track.duration_class[k]),)
                    drive[k, list(values)] = c.input_current
                spikes = simulate_subnetwork(drive, piece_steps, c)
                n_steps += piece_steps
                n_spikes += sum(len(times) for times in spikes.values())
                by_column: dict[int, list[tuple[int, np.ndarray]]] = {}
                for (k, q), times in spikes.items():
                    by_column.setdefault(k, []).append((q, times))
                    # The goal rule after each window, over that window's spikes and the
                    # title's spikes up to the window's end.
                    for w in np.unique(times // S):
                        seen = title[title < (w + 1) * S]
                        mine = times[times // S == w]
                        near = sum(bool(np.any(np.abs(seen - t) <= window)) for t in mine)
                        if near >= c.coincidence_count:
                            links.add((title_id, layer, subnet, int(k), int(q)))
                for k, posts in by_column.items():
                    for d in range(1, c.n_delays + 1):
                        shift = S * d if c.stdp_timing == "arrival" else 0
                        for p, pre_times in by_column.get(k - d, []):
                            for q, post_times in posts:
                                key = (layer, subnet, k, d, p, q)
                                weights[key] = weights.get(key, 0.0) + pair_sum(
                                    pre_times + shift, post_times, c)
    # Bounds clip the summed change of everything learned together (one memorize call).
    weights = {key: min(max(w, c.w_min), c.w_max) for key, w in weights.items()}
    return Reference(weights, links, n_spikes, n_steps)


def compare(reference: Reference, network, rel: float = 1e-5) -> dict:
    """How a memorized network agrees with the reference.

    **Returns:** ``{"same_keys", "same_links", "max_abs_diff", "max_rel_diff", "agree"}``
    where a weight agrees when ``|a - b| <= rel * max(1, |b|)``.
    """
    rows = network.synapses.to_numpy()
    assert (rows["pre_subnet"] == rows["post_subnet"]).all(), "the reference has no cross_subnet"
    names = ("layer", "post_subnet", "post_col", "delay", "pre", "post")
    got = {tuple(int(rows[k][i]) for k in names): float(rows["weight"][i])
           for i in range(network.synapses.n)}
    goal = network.goal
    n = int(goal.count)
    got_links = set(zip(*(np.asarray(getattr(goal, k))[:n].tolist()
                          for k in ("title", "layer", "subnet", "column", "neuron"))))
    same_keys = got.keys() == reference.weights.keys()
    diffs = [(abs(got[k] - w), abs(got[k] - w) / max(1.0, abs(w)))
             for k, w in reference.weights.items() if k in got]
    max_abs = max((a for a, _ in diffs), default=0.0)
    max_rel = max((r for _, r in diffs), default=0.0)
    return {"same_keys": same_keys, "synapses": len(reference.weights),
            "same_links": got_links == reference.links, "links": len(reference.links),
            "max_abs_diff": max_abs, "max_rel_diff": max_rel,
            "agree": bool(same_keys and got_links == reference.links and max_rel <= rel)}
