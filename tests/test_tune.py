"""Differentiable mode: the surrogate, the smooth parts, the gradients, the plain simulator
with tuned parameters, and a real (short) tuning run through the CLI."""

from __future__ import annotations

import dataclasses
import json
import shutil

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner

from jaxsnn_music.cli import main
from jaxsnn_music.config import load_config
from jaxsnn_music.errors import ConfigError
from jaxsnn_music.network import Network, grow
from jaxsnn_music.network.delays import GaussianDelays, LinearDelays, WholeSteps
from jaxsnn_music.network.facilitation import Facilitation
from jaxsnn_music.network.spikes import SuperSpike, superspike, superspike_grad
from jaxsnn_music.recall.cued import recall_titles
from jaxsnn_music.tune.cues import CueSource, perturb
from jaxsnn_music.tune.objective import loss_and_metrics
from jaxsnn_music.tune.params import clamp, differentiable_recaller, plain_recaller, sigma_at, trainable
from jaxsnn_music.tune.train import initial_params, make_step, optimizer
from test_network_fixtures import short_real_pieces

CFG = load_config("paper", overrides={"recall.chunk_columns": 8, "tune.eval_columns": 4,
                                      "tune.delay_readout": "linear"})


# -- the surrogate -------------------------------------------------------------------


@pytest.mark.parametrize("slope", [1.0, 2.0, 10.0])
def test_surrogate_derivative_is_the_superspike_closed_form(slope):
    x = jnp.linspace(-3.0, 3.0, 61)
    np.testing.assert_array_equal(superspike(x, slope), (x >= 0).astype(jnp.float32))
    grad = jax.vmap(jax.grad(lambda v: superspike(v, slope)))(x)
    np.testing.assert_allclose(grad, 1.0 / (1.0 + slope * jnp.abs(x)) ** 2, rtol=1e-6)
    np.testing.assert_allclose(grad, superspike_grad(x, slope), rtol=1e-6)
    # Forward mode agrees (custom_jvp serves both).
    _, tangent = jax.jvp(lambda v: superspike(v, slope), (x,), (jnp.ones_like(x),))
    np.testing.assert_allclose(tangent, grad, rtol=1e-6)


# -- smooth parts: finite differences in float64 -------------------------------------


def _central_difference(f, x, eps=1e-6):
    x = np.asarray(x, np.float64)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        out[i] = (f(jnp.asarray(up)) - f(jnp.asarray(down))) / (2 * eps)
    return out


def _delays(kind, offset, delay_range, sigma=None):
    if kind == "gaussian":
        return GaussianDelays(offset, delay_range, jnp.asarray(sigma, offset.dtype))
    return LinearDelays(offset, delay_range)


@pytest.mark.parametrize("kind,delta", [("gaussian", [-3.7, 0.0, 2.2, 10.4]),
                                        ("linear", [-3.7, 0.3, 2.2, 10.4])])
def test_delay_readout_gradient_matches_finite_differences(kind, delta):
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        spikes = jnp.asarray(rng.random((2, 30, 2)) < 0.3, jnp.float64)  # [delays, steps, slots]
        neurons = jnp.asarray([[0, 1], [0, 1]])
        probe = jnp.asarray(rng.normal(size=(2, 30, 2)))

        def f(d):
            return jnp.sum(_delays(kind, d.reshape(2, 2), 12, 1.7)(spikes, neurons) * probe)

        d0 = jnp.asarray(delta, jnp.float64)
        np.testing.assert_allclose(jax.grad(f)(d0), _central_difference(f, d0), rtol=1e-5, atol=1e-8)


def test_facilitation_gradient_matches_finite_differences():
    """The rule's ``u`` (below its cap) is smooth in real-valued arrivals, and equals the rule
    of MODEL.md exactly for 0/1 arrivals."""
    rule = Facilitation(0.2, 5, 1e6)
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        a0 = jnp.asarray(rng.uniform(0.05, 0.4, (12, 3)))
        probe = jnp.asarray(rng.normal(size=(12, 3)))

        def f(a):
            return jnp.sum(rule.run(rule.init((3,), jnp.float64), a)[1] * probe)

        np.testing.assert_allclose(jax.grad(f)(a0), _central_difference(f, a0), rtol=1e-5, atol=1e-8)
    # 0/1 arrivals: u grows in every step within 5 steps of an arrival, and only then.
    arrivals = np.zeros((20, 1), np.float32)
    arrivals[[2, 13]] = 1
    u = np.asarray(rule.run(rule.init((1,)), jnp.asarray(arrivals))[1])[:, 0]
    grows = np.diff(np.concatenate([[0.0], u])) > 0
    assert np.nonzero(grows)[0].tolist() == [2, 3, 4, 5, 6, 7, 13, 14, 15, 16, 17, 18]


def test_kernels_are_exact_shifts_at_integer_delays():
    spikes = jnp.asarray(np.random.default_rng(2).random((1, 50, 6)) < 0.2)
    neurons = jnp.arange(6)[None, :]
    delta = jnp.asarray([[-7.0, -1.0, 0.0, 1.0, 4.0, 25.0]])
    shifted = np.asarray(WholeSteps(delta.astype(jnp.int32))(spikes, neurons), np.float32)
    for kind, sigma in (("linear", None), ("gaussian", 0.05)):
        got = _delays(kind, delta, 25, sigma)(spikes.astype(jnp.float32), neurons)
        np.testing.assert_allclose(got, shifted, atol=1e-6)
    k = _delays("gaussian", jnp.zeros((1, 2)), 25, 5.0).kernel(jnp.asarray([0.4, -3.2]))
    np.testing.assert_allclose(k.sum(axis=1), 1.0, rtol=1e-6)
    assert sigma_at(0, 100, 17.0, 0.3, 0.5) == pytest.approx(17.0, rel=1e-5)
    assert sigma_at(25, 100, 17.0, 0.3, 0.5) == pytest.approx(8.65, rel=1e-5)
    assert sigma_at(80, 100, 17.0, 0.3, 0.5) == pytest.approx(0.3, rel=1e-5)


# -- the model on real pieces ----------------------------------------------------------


@pytest.fixture(scope="module")
def memory():
    pieces = short_real_pieces()
    cfg = load_config("paper", overrides={"tune.delay_readout": "linear", "tune.eval_columns": 4,
                                          "recall.chunk_columns": 8})
    network = grow(Network.empty(), pieces, cfg)
    source = CueSource(network, pieces, cfg)
    positions = source.positions(source.titles, 6, np.random.default_rng(0))
    cues = source.perturbed_cues(positions, jax.random.key(0))
    return cfg, source, positions, cues, network, pieces


def test_every_trainable_leaf_gets_a_finite_nonzero_gradient_and_the_rest_none(memory):
    cfg, source, positions, cues, *_ = memory
    batch = source.batch(positions, cues, 3, True)
    model = differentiable_recaller(cfg)
    diff, static = eqx.partition(model, trainable(model))
    grads, _ = eqx.filter_grad(lambda d: loss_and_metrics(eqx.combine(d, static), batch, 2.0),
                               has_aux=True)(diff)
    leaves = {"title threshold": grads.lif.v_th, "thresholds": grads.v_th,
              "delays": grads.delays.offset}
    for name, g in leaves.items():
        g = np.asarray(g)
        assert np.isfinite(g).all(), name
        assert np.abs(g).max() > 0, f"{name} got no gradient"
    # Nothing else is a leaf of the gradient: constants are static, not frozen arrays.
    assert len(jax.tree.leaves(grads)) == 3


@pytest.mark.corpus
def test_differentiable_recall_of_whole_pieces_is_the_plain_recall(corpus_root):
    """The one simulator with the differentiable parts (surrogate spikes, delays read through
    the linear kernel) recalls whole real pieces exactly as the plain simulator does, also
    with thresholds and delays moved away from the paper's: so tuned parameters, rounded,
    run in the plain simulator as they were trained."""
    from jaxsnn_music.midi_io import read_piece

    cfg = CFG
    names = ("Chopin/chpn-p7", "Bach/bach_846", "Haydn/haydn_35_2")
    pieces = [read_piece(corpus_root / f"{n}.mid", cfg.encoding, title=n) for n in names]
    network = grow(Network.empty(), pieces, cfg)
    rng = np.random.default_rng(3)
    d = cfg.network.n_delays
    params = initial_params(cfg)
    neurons = params.v_th.shape[0]
    params = eqx.tree_at(lambda r: (r.lif.v_th, r.v_th, r.delays.offset), params, (
        jnp.float32(5.4), jnp.asarray(rng.uniform(4.0, 6.0, neurons), jnp.float32),
        jnp.asarray(rng.integers(-6, 7, (d, neurons)), jnp.float32)))
    plain = plain_recaller(params, cfg)
    smooth = eqx.combine(params, eqx.partition(differentiable_recaller(cfg),
                                               trainable(differentiable_recaller(cfg)))[1])
    smooth = dataclasses.replace(smooth, pass_on=plain.pass_on)
    assert isinstance(smooth.lif.spike, SuperSpike) and isinstance(smooth.delays, LinearDelays)
    a = recall_titles(network, None, cfg, recaller=plain)
    b = recall_titles(network, None, cfg, recaller=smooth)
    events = 0
    for pa, pb in zip(a, b):
        for ta, tb in zip(pa.tracks, pb.tracks):
            assert ta.chords() == tb.chords()
            np.testing.assert_array_equal(ta.duration_class, tb.duration_class)
            np.testing.assert_allclose(ta.first_time, tb.first_time, atol=1e-4)
            events += ta.n_events
    assert events == sum(p.n_events for p in pieces) > 1500


def test_tuned_delays_shift_the_plain_simulators_arrivals(memory):
    """A delay shift of +s steps on every synapse moves a sequentially driven neuron's first
    spike s steps later (no title: the sequence alone drives the column)."""
    cfg, source, positions, *_ = memory
    clean = source.clean_cues(positions)
    batch = source.batch(positions, clean, 1, False)
    firsts = []
    for s in (0, 3):
        params = initial_params(cfg)
        params = eqx.tree_at(lambda r: r.delays.offset, params,
                             jnp.full(params.delays.offset.shape, float(s)))
        rec = plain_recaller(params, cfg)
        state = rec.init(batch.context.shape[-1], batch.context[0] > 0, batch.context_neurons[0])
        column = jax.tree.map(lambda x: x[0, 0], batch.columns)
        cue = jax.tree.map(lambda x: x[0, 0], batch.cues)
        _, (out, _) = rec.window(state, column, cue)
        firsts.append(np.asarray(out.times()))
    target = int(np.argmin(firsts[0]))
    assert np.isfinite(firsts[0][target])
    assert firsts[1][target] == pytest.approx(firsts[0][target] + 3, abs=1e-4)


def test_perturbation_moves_drops_and_adds_spikes(memory):
    _, source, positions, *_ = memory
    clean = jnp.asarray(source.clean_cues(positions)[0])
    key = jax.random.key(5)
    assert (perturb(key, clean, 0, 0.0, 0.0) == clean).all()
    jittered = perturb(key, clean, 2, 0.0, 0.0)
    assert (jittered != clean).any() and int(jittered.sum()) <= int(clean.sum())
    assert int(perturb(key, clean, 0, 1.0, 0.0).sum()) == 0
    extra = perturb(key, jnp.zeros_like(clean), 0, 0.0, 50.0)
    expected = 50 * clean.shape[0] * clean.shape[1]  # per cue column
    assert 0.5 * expected < int(extra.sum()) < 2 * expected


def test_one_step_uses_each_groups_learning_rate_and_stays_in_range(memory):
    cfg, source, positions, cues, *_ = memory
    opt = optimizer(cfg)
    params = initial_params(cfg)
    state = opt.init(params)
    step = make_step(cfg, opt)
    batch = source.batch(positions, cues, 3, True)
    new, state, metrics = step(params, state, batch, jnp.float32(1.0))
    assert np.isfinite(float(metrics["loss"]))
    # Adam's first step moves a parameter by its group's learning rate (less only where the
    # gradient is as small as Adam's epsilon).
    for moved, lr in ((new.v_th - params.v_th, cfg.tune.lr_threshold),
                      (new.delays.offset - params.delays.offset, cfg.tune.lr_delay)):
        moved = np.abs(np.asarray(moved))
        moved = moved[moved > 0]
        assert np.median(moved) == pytest.approx(lr, rel=1e-2) and moved.max() <= lr * 1.001
    far = clamp(eqx.tree_at(lambda r: (r.lif.v_th, r.v_th, r.delays.offset), params,
                            (jnp.float32(99.0), params.v_th - 50, params.delays.offset + 100)), cfg)
    assert float(far.lif.v_th) == cfg.tune.threshold_max
    assert float(far.v_th.min()) == cfg.tune.threshold_min
    assert float(far.delays.offset.max()) == cfg.tune.delay_range_steps


@pytest.mark.parametrize("key,value,message", [
    ("tune.delay_range_steps", 80, "must be <= the steps of one window"),
    ("tune.train_share", 1.0, "strictly between 0 and 1"),
    ("tune.drop_prob", 1.5, "in 0..1"),
    ("tune.delay_readout", "cubic", "must be one of gaussian, linear"),
])
def test_bad_tune_config_is_refused(key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config("paper", overrides={key: value})


# -- the CLI on a slice of the real corpus ----------------------------------------------


def _run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def paper_checkpoint(tmp_path_factory, corpus_root):
    from jaxsnn_music.checkpoint import corpus_manifest, save
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import resolve_items

    cfg = load_config("paper")
    items = resolve_items(None, "paper", str(corpus_root))[:6]
    pieces = load_corpus(items, cfg.encoding, workers=1, progress=False).pieces
    root = tmp_path_factory.mktemp("tune")
    save(root / "ckpt", grow(Network.empty(), pieces, cfg), cfg, corpus_manifest(pieces))
    return root


TUNE_SETTINGS = ["--set", "tune.steps=4", "--set", "tune.batch=4", "--set", "tune.checkpoint_every=2",
                 "--set", "tune.log_every=2", "--set", "tune.eval_cues=8", "--set", "tune.eval_columns=4",
                 "--set", "tune.wandb=disabled", "--set", "recall.chunk_columns=8"]


def test_tune_cli_runs_resumes_and_refuses_another_config(paper_checkpoint):
    ckpt, out = paper_checkpoint / "ckpt", paper_checkpoint / "tuned"
    code, stdout, stderr = _run("tune", "--checkpoint", ckpt, "--out", out, *TUNE_SETTINGS)
    assert code == 0, stderr
    assert "held-out cues" in stdout and "perturbed: pitch" in stdout
    result = json.loads((out / "result.json").read_text())
    for name in ("paper", "tuned"):
        for cond in ("perturbed", "clean"):
            scores = result["held_out"][name][cond]
            assert scores["cues"] == 8 and 0 <= scores["pitch"] <= 1
    assert result["params"]["v_th_pitch_moved"] > 0  # the run changed something
    # Interrupted after step 2: the resumed run ends where the uninterrupted one did.
    from jaxsnn_music.tune.train import load_tuned

    cfg = load_config("paper", overrides=dict(a.split("=") for a in TUNE_SETTINGS[1::2]))
    final = load_tuned(out, cfg)
    shutil.rmtree(out / "state" / "4")
    (out / "result.json").unlink()
    code, _, stderr = _run("tune", "--checkpoint", ckpt, "--out", out, *TUNE_SETTINGS)
    assert code == 0 and "resuming at step 2" in stderr
    resumed = load_tuned(out, cfg)
    for a, b in zip(jax.tree.leaves(final), jax.tree.leaves(resumed)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    # The tuned parameters recall a piece through the ordinary command.
    title = json.loads((out / "tune.json").read_text())["held_out_titles"][0]
    code, stdout, stderr = _run("recall", "--checkpoint", ckpt, "--title", title, "--tuned", out,
                                "--out", paper_checkpoint / "tuned.mid")
    assert code == 0 and "recalled" in stdout and "pitch" in stdout, stderr
    code, _, stderr = _run("recall", "--checkpoint", ckpt, "--title", title, "--tuned",
                           paper_checkpoint / "nothing", "--out", paper_checkpoint / "x.mid")
    assert code != 0 and "not a tuning run folder" in stderr
    code, _, stderr = _run("tune", "--checkpoint", ckpt, "--out", out, *TUNE_SETTINGS,
                           "--set", "tune.drop_prob=0.5")
    assert code != 0 and "holds a tuning run of something else" in stderr
    assert "tune.drop_prob" in stderr and len(stderr.strip().splitlines()) == 1


def test_tune_cli_errors_are_one_line(paper_checkpoint, tmp_path):
    code, _, stderr = _run("tune", "--checkpoint", tmp_path / "none", "--out", tmp_path / "o")
    assert code != 0 and "no such checkpoint" in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = _run("tune", "--checkpoint", paper_checkpoint / "ckpt", "--out", tmp_path / "o",
                           "--set", "tune.batch=0")
    assert code != 0 and "tune.batch must be > 0" in stderr
