"""The compiled, active-column learning against a plain NumPy simulation of everything.

The reference below is written from MODEL.md alone, without the network package:
every step it advances *every* neuron of *every* column of both subnetworks of
every layer, plus the title neuron, with lateral inhibition among all 129 (64)
neurons of each minicolumn; it records every spike and then computes each
synapse's weight as the explicit all-to-all pair sum (no traces), for both
timing variants; goal links from the coincidence rule over all neurons.
"""

import math

import numpy as np
import pytest
from test_network_fixtures import short_real_pieces

from jaxsnn_music.config import load_config
from jaxsnn_music.events import N_PITCH_CLASSES
from jaxsnn_music.network import Network, learn, grow

N_DURATION = 64


def simulate_piece(piece, c):
    """All spikes of one piece: {(layer, subnet, column, neuron): [global steps]} and title steps."""
    S = round(c.window_ms / c.dt_ms)
    ref_steps = round(c.refractory_ms / c.dt_ms)
    a = c.dt_ms / (c.resistance * c.capacitance)
    n_windows = max(t.n_events for t in piece.tracks)
    spikes = {}

    def lif(v, ref, current):
        v = v + a * (-v + c.resistance * current)
        fired = (v >= c.v_th) & (ref == 0)
        v = np.where((ref > 0) | fired, c.v_reset, v)
        ref = np.where(fired, ref_steps, np.maximum(ref - 1, 0))
        return v, ref, fired

    # The title neuron: current for the whole piece.
    tv, tref, title = np.array(c.v_0), np.array(0), []
    for t in range(n_windows * S):
        tv, tref, fired = lif(tv, tref, c.title_current_learn)
        if fired:
            title.append(t)

    for layer, track in enumerate(piece.tracks):
        chords = track.chords()
        for subnet, n in ((0, N_PITCH_CLASSES), (1, N_DURATION)):
            K = track.n_events
            drive = np.zeros((K, n))
            for k in range(K):
                values = chords[k] if subnet == 0 else (int(track.duration_class[k]),)
                drive[k, list(values)] = c.input_current
            v = np.full((K, n), c.v_0)
            ref = np.zeros((K, n), int)
            previous = np.zeros((K, n), bool)
            for t in range(n_windows * S):
                current = np.zeros((K, n))
                w = t // S
                if w < K:
                    current[w] = drive[w]
                if c.lateral_inhibition:
                    others = previous.sum(axis=1, keepdims=True) - previous
                    current = np.maximum(current - c.inhibition_weight * others, c.inhibition_floor)
                v, ref, previous = lif(v, ref, current)
                for k, q in zip(*np.nonzero(previous)):
                    spikes.setdefault((layer, subnet, int(k), int(q)), []).append(t)
    return spikes, np.array(title)


def pair_sum(pre, post, c):
    lag = (np.asarray(post)[None, :] - np.asarray(pre)[:, None]) * c.dt_ms
    ltp = c.a_plus * np.exp(-lag / c.tau_plus_ms)
    ltd = -c.a_minus * np.exp(lag / c.tau_minus_ms)
    coincident = ltp if c.stdp_coincident == "potentiate" else 0.0
    return float(np.sum(np.where(lag > 0, ltp, np.where(lag < 0, ltd, coincident))))


def reference(pieces, c):
    S = round(c.window_ms / c.dt_ms)
    weights, links, all_spikes = {}, set(), set()
    for title_id, piece in enumerate(pieces):
        spikes, title = simulate_piece(piece, c)
        by_column = {}
        for (layer, subnet, k, q), times in spikes.items():
            by_column.setdefault((layer, subnet, k), []).append((q, times))
            for t in times:
                all_spikes.add((title_id, layer, subnet, k, q, t - k * S))
            # Goal rule after each window w, over the spikes of window w.
            window = round(c.coincidence_window_ms / c.dt_ms)
            for w in sorted({t // S for t in times}):
                seen = title[title < (w + 1) * S]
                near = sum(1 for t in times if t // S == w and np.any(np.abs(seen - t) <= window))
                if near >= c.coincidence_count:
                    links.add((title_id, layer, subnet, k, q))
        for (layer, subnet, k), posts in by_column.items():
            for d in range(1, c.n_delays + 1):
                for p, pre_times in by_column.get((layer, subnet, k - d), []):
                    shift = S * d if c.stdp_timing == "arrival" else 0
                    for q, post_times in posts:
                        key = (layer, subnet, k, d, p, q)
                        weights[key] = weights.get(key, 0.0) + pair_sum(
                            np.asarray(pre_times) + shift, post_times, c)
    return weights, links, all_spikes


@pytest.mark.parametrize("timing", ["arrival", "emission"])
def test_jax_learning_matches_numpy_reference(timing):
    cfg = load_config(overrides={"network.stdp_timing": timing, "network.segment_columns": 7,
                                 "network.batch_segments": 8, "network.w_max": float("inf")})
    pieces = short_real_pieces()
    assert any(t.chord_size.max() > 1 for p in pieces for t in p.tracks)
    weights, links, spikes = reference(pieces, cfg.network)

    learned = learn(pieces, cfg, record_spikes=True)
    got_spikes = set(zip(*(learned.spikes[k].tolist() for k in
                           ("title", "layer", "subnet", "column", "neuron", "step"))))
    assert got_spikes == spikes

    net = grow(Network.empty(), pieces, cfg)
    rows = net.synapses.to_numpy()
    np.testing.assert_array_equal(rows["pre_subnet"], rows["post_subnet"])  # no cross_subnet
    got = {tuple(int(rows[k][i]) for k in ("layer", "post_subnet", "post_col", "delay", "pre", "post")):
           float(rows["weight"][i]) for i in range(net.synapses.n)}
    assert got.keys() == weights.keys()
    for key, w in weights.items():
        assert math.isclose(got[key], w, rel_tol=1e-5, abs_tol=2e-4), (key, got[key], w)
    goal = net.goal
    n = int(goal.count)
    got_links = set(zip(*(np.asarray(getattr(goal, k))[:n].tolist() for k in
                          ("title", "layer", "subnet", "column", "neuron"))))
    assert got_links == links
