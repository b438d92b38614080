"""Title-cued recall: the window dynamics, the read-outs, and small corpora with known answers."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.errors import UserError
from jaxsnn_music.network import Network, grow
from jaxsnn_music.network.facilitation import Facilitation
from jaxsnn_music.recall import cued
from jaxsnn_music.recall.cued import recall_title, recall_titles
from jaxsnn_music.recall.errors import UnknownTitleError
from jaxsnn_music.recall.readout import SILENT, ColumnReadOut, FirstSpike, Rate
from jaxsnn_music.recall.simulator import ColumnInputs, CueInputs, Recaller
from test_network_fixtures import make_piece, make_track

CFG = load_config("default", overrides={"recall.chunk_columns": 16, "recall.batch_units": 4})


def melody(title, pitches, durations=None):
    durations = durations or [1] * len(pitches)
    return make_piece(title, make_track([(p,) for p in pitches], durations))


# -- dynamics ------------------------------------------------------------------------


def column_inputs(slots, rows=(), n_delays=4, size=8):
    """One column's :class:`ColumnInputs` by hand: ``slots`` as (subnet, neuron) pairs (global
    neuron = the pitch neuron for subnet 0), ``rows`` as (delay, pre slot, post slot, weight)."""
    sub = np.full(size, -1)
    neuron = np.full(size, -1)
    for i, (s, n) in enumerate(slots):
        sub[i], neuron[i] = s, n
    rd, rp, rq, rw = (*(np.zeros(size, np.int32) for _ in range(3)), np.zeros(size, np.float32))
    for i, (d, pre, post, w) in enumerate(rows):
        rd[i], rp[i], rq[i], rw[i] = d, pre, post, w
    return ColumnInputs(*(jnp.asarray(x) for x in (sub, neuron, np.where(sub >= 0, neuron, -1),
                                                   rd, rp, rq, rw)))


def test_goal_ramp_crosses_in_step_two_and_lookup_policy_in_step_zero():
    """With u reset per window the goal link (w=3) drives its neuron across threshold in
    step 2 of every window; with u kept for the whole recall it saturates and the neuron
    crosses in step 0 from the second window on (the authors' lookup regime)."""
    column = column_inputs([(0, 40), (0, 41)])
    goal = CueInputs(jnp.zeros(8).at[0].set(CFG.network.goal_forward_weight), jnp.array(True))
    for policy, expected_step in (("window", 2), ("recall", 0)):
        cfg = load_config(overrides={"network.facilitation_reset": policy})
        rec = Recaller.from_config(cfg)
        state = rec.init(8)
        window = eqx.filter_jit(lambda s, c, g, rec=rec: rec.window(s, c, g))
        firsts = []
        for _ in range(3):
            state, (out, _) = window(state, column, goal)
            firsts.append(float(out.times()[40]))
            assert np.isinf(np.delete(np.asarray(out.times()), 40)).all()  # nothing else fires
        assert int(firsts[0]) == 2 and all(int(f) == expected_step for f in firsts[1:])
        # The goal ramp of the paper's rule: 0.5, 1.25, 2.375, ... capped.
        u = np.asarray(rec.title_window(rec.init(8).title, rec.init(8).goal)[2])
        np.testing.assert_allclose(u[:3], [0.5, 1.25, 2.375], rtol=1e-6)
        assert u.max() == CFG.network.facilitation_cap


def test_delayed_sequential_input_arrives_d_windows_later():
    """A column that fired in window k - d drives column k through a delay-d synapse, step for
    step: the post neuron crosses in the step its input arrives (a strong synapse)."""
    rec = Recaller.from_config(CFG)
    d_max = CFG.network.n_delays
    window = eqx.filter_jit(lambda s, c, g: rec.window(s, c, g))
    for d in range(1, d_max + 1):
        context = np.zeros((d_max, rec.steps, 8), bool)
        context[d - 1, 7, 0] = True  # slot 0 (neuron 10) of the column d back fired once, in step 7
        neurons = np.full((d_max, 8), -1)
        neurons[:, 0] = 10
        state = rec.init(8, jnp.asarray(context), jnp.asarray(neurons))
        column = column_inputs([(0, 20), (0, 21)], [(d, 0, 0, 500.0)])
        _, (out, _) = window(state, column, CueInputs(jnp.zeros(8), jnp.array(True)))
        assert int(out.times()[20]) == 7 and np.isinf(np.delete(np.asarray(out.times()), 20)).all()


def test_teacher_raster_fires_every_six_steps():
    rec = Recaller.from_config(CFG)
    raster = np.asarray(rec.teacher_raster(jnp.array([True, False])))
    assert list(np.nonzero(raster[:, 0])[0]) == list(range(0, 50, 6))
    assert raster.sum() == 9


def test_sparse_inputs_give_the_dense_result():
    pieces = [melody("A", [60, 62, 64, 65, 67, 65, 64, 62]), melody("B", [60, 62, 64, 62, 60, 59])]
    net = grow(Network.empty(), pieces, CFG)
    dense = recall_titles(net, None, load_config(overrides={"recall.sparse_inputs": 0}))
    sparse = recall_titles(net, None, CFG)
    for a, b in zip(dense, sparse):
        np.testing.assert_array_equal(a.tracks[0].pitch, b.tracks[0].pitch)
        np.testing.assert_array_equal(a.tracks[0].first_time, b.tracks[0].first_time)


# -- read-outs -------------------------------------------------------------------------


@pytest.mark.parametrize("xp", [np, jnp])
def test_readouts(xp):
    inf = np.inf
    first = xp.asarray([[inf, 2.3, 2.3, 2.1], [inf, inf, inf, inf], [3.0, 2.5, 2.5, inf]])
    count = xp.asarray([[0, 5, 9, 2], [0, 0, 0, 0], [9, 8, 8, 0]])
    np.testing.assert_array_equal(np.asarray(FirstSpike()(first, count)), [3, SILENT, 1])
    np.testing.assert_array_equal(np.asarray(Rate()(first, count)), [2, SILENT, 0])
    chord = ColumnReadOut(FirstSpike(), True, False, 0.3)(first, count)
    np.testing.assert_array_equal(np.asarray(chord), [[0, 1, 1, 1], [0, 0, 0, 0], [0, 1, 1, 0]])
    window = ColumnReadOut(FirstSpike(), True, True, 0.0)(first, count)
    np.testing.assert_array_equal(np.asarray(window), np.asarray(count) > 0)
    single = ColumnReadOut(Rate(), False, False, 0.0)(first, count)
    np.testing.assert_array_equal(np.asarray(single), [[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]])


# -- small corpora with known answers -----------------------------------------------------


def assert_exact(network, pieces, cfg=CFG):
    for piece, recalled in zip(pieces, recall_titles(network, [p.title for p in pieces], cfg)):
        assert recalled.title == piece.title
        assert len(recalled.tracks) == len(piece.tracks)
        for stored, got in zip(piece.tracks, recalled.tracks):
            assert got.chords() == stored.chords(), piece.title
            np.testing.assert_array_equal(got.duration_class, stored.duration_class)


def test_shared_prefix_motifs_and_chords_are_recalled_exactly():
    pieces = [
        melody("prefix-a", [60, 62, 64, 65, 67, 69, 71, 72], [1, 1, 1, 1, 3, 1, 1, 7]),
        melody("prefix-b", [60, 62, 64, 65, 64, 62, 60, 59, 60], [1, 1, 1, 1, 1, 1, 1, 1, 7]),
        # A motif repeated inside the piece, with a rest between its statements.
        melody("motif", [67, 64, 64, 65, 62, 62, 0, 67, 64, 64, 65, 62, 62, 60], [1] * 14),
        make_piece("chords", make_track([(67, 64, 60), (69, 65, 62), (0,), (72, 67, 64), (60,)],
                                        [3, 3, 1, 3, 7]),
                   make_track([(48,), (50,), (52,), (48,)], [7, 7, 7, 7])),
    ]
    net = grow(Network.empty(), pieces, CFG)
    assert_exact(net, pieces)


def test_batched_recall_equals_one_by_one():
    pieces = [melody(f"p{i}", list(60 + (np.arange(5 + 3 * i) * (i + 1)) % 12)) for i in range(5)]
    net = grow(Network.empty(), pieces, CFG)
    together = recall_titles(net, None, CFG)
    for piece, joint in zip(pieces, together):
        alone = recall_title(net, piece.title, CFG)
        np.testing.assert_array_equal(alone.tracks[0].pitch, joint.tracks[0].pitch)
        np.testing.assert_array_equal(alone.tracks[0].first_time, joint.tracks[0].first_time)


def test_recall_stops_at_the_end_marker(monkeypatch):
    """A short piece is recalled over its own columns only, never up to the longest piece."""
    pieces = [melody("short", [60, 62, 64]), melody("long", list(range(50, 90)))]
    net = grow(Network.empty(), pieces, CFG)
    walked = []
    real = cued.recall_chunk

    def spy(recaller, state, columns, cues, *args):
        walked.append(cues.active.shape[0])
        return real(recaller, state, columns, cues, *args)

    monkeypatch.setattr(cued, "recall_chunk", spy)
    short = recall_title(net, "short", CFG)
    assert short.tracks[0].n_events == 3 and sum(walked) == CFG.recall.chunk_columns
    walked.clear()
    both = recall_titles(net, None, CFG)
    assert [p.tracks[0].n_events for p in both] == [3, 40]
    assert sum(walked) == math.ceil(40 / CFG.recall.chunk_columns) * CFG.recall.chunk_columns


def test_unknown_title_is_a_one_line_user_error():
    net = grow(Network.empty(), [melody("Bach/bach_846", [60, 62])], CFG)
    assert recall_title(net, "bach_846", CFG).title == "Bach/bach_846"  # short names work
    with pytest.raises(UnknownTitleError) as err:
        recall_title(net, "Mozart/nope", CFG)
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)
    assert "unknown title 'Mozart/nope'" in str(err.value)
    with pytest.raises(UnknownTitleError):
        recall_title(net, 7, CFG)


def test_facilitation_rule_matches_the_network_module():
    """The recall uses the network's own facilitation rule (finite, integer windows)."""
    rec = Recaller.from_config(CFG)
    assert rec.goal == Facilitation.goal(CFG.network)
    assert rec.sequential == Facilitation.sequential(CFG.network)


@pytest.mark.corpus
def test_title_recall_of_real_pieces_paper_preset(corpus_root):
    """The paper's setting (first track, melody, five whole pieces in one network): every
    title-cued recall is exact (the authors report 99.9 % on average)."""
    from jaxsnn_music.midi_io import read_piece
    from jaxsnn_music.recall.scores import score_piece

    cfg = load_config("paper")
    names = ("Chopin/chpn-p7", "Mozart/mz_311_2", "Haydn/haydn_35_2", "Bach/bach_846",
             "Albeniz/alb_esp1")
    pieces = [read_piece(corpus_root / f"{n}.mid", cfg.encoding, title=n) for n in names]
    assert all(len(p.tracks) == 1 for p in pieces)
    net = grow(Network.empty(), pieces, cfg)
    scores = [s for p, r in zip(pieces, recall_titles(net, None, cfg))
              for s in score_piece(p, r, cfg)]
    assert sum(s.events for s in scores) > 2500
    assert [s.pitch for s in scores] == [1.0] * 5
    assert [s.duration for s in scores] == [1.0] * 5
