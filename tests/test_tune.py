"""Differentiable mode: the surrogate, the smooth parts, the gradients, the plain simulator
with tuned parameters, and a real (short) tuning run through the CLI."""

from __future__ import annotations

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
from jaxsnn_music.recall.simulate import N_PITCH, shift_rasters
from jaxsnn_music.tune import delay_readout as dr
from jaxsnn_music.tune.cues import CueSource, perturb
from jaxsnn_music.tune.dynamics import facilitate, loss_and_metrics, recall, recent
from jaxsnn_music.tune.params import TunedParams, TuneModel, trainable
from jaxsnn_music.tune.surrogate import spike, superspike_grad
from jaxsnn_music.tune.train import make_step, optimizer
from test_network_fixtures import short_real_pieces

CFG = load_config("paper", overrides={"recall.chunk_columns": 8, "tune.eval_columns": 4,
                                      "tune.delay_readout": "linear"})


# -- the surrogate -------------------------------------------------------------------


@pytest.mark.parametrize("slope", [1.0, 2.0, 10.0])
def test_surrogate_derivative_is_the_superspike_closed_form(slope):
    x = jnp.linspace(-3.0, 3.0, 61)
    np.testing.assert_array_equal(spike(x, slope), (x >= 0).astype(jnp.float32))
    grad = jax.vmap(jax.grad(lambda v: spike(v, slope)))(x)
    np.testing.assert_allclose(grad, 1.0 / (1.0 + slope * jnp.abs(x)) ** 2, rtol=1e-6)
    np.testing.assert_allclose(grad, superspike_grad(x, slope), rtol=1e-6)
    # Forward mode agrees (custom_jvp serves both).
    _, tangent = jax.jvp(lambda v: spike(v, slope), (x,), (jnp.ones_like(x),))
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


@pytest.mark.parametrize("kind,delta", [("gaussian", [-3.7, 0.0, 2.2, 10.4]),
                                        ("linear", [-3.7, 0.3, 2.2, 10.4])])
def test_delay_readout_gradient_matches_finite_differences(kind, delta):
    with jax.enable_x64(True):
        rng = np.random.default_rng(0)
        spikes = jnp.asarray(rng.random((2, 30, 4)) < 0.3, jnp.float64)
        probe = jnp.asarray(rng.normal(size=(2, 30, 4)))

        def f(d):
            return jnp.sum(dr.read_delayed(spikes, d, 12, kind, jnp.float64(1.7)) * probe)

        d0 = jnp.asarray(delta, jnp.float64)
        np.testing.assert_allclose(jax.grad(f)(d0), _central_difference(f, d0), rtol=1e-5, atol=1e-8)


def test_facilitation_traces_gradient_matches_finite_differences():
    """The trace ``u`` (below its cap) and the "recent arrival" window are smooth in the arrivals."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(1)
        a0 = jnp.asarray(rng.uniform(0.05, 0.4, (1, 12, 3)))
        probe = jnp.asarray(rng.normal(size=(1, 12, 3)))

        def f(a):
            return jnp.sum(facilitate(recent(a, 5), 0.2, 1e6) * probe)

        np.testing.assert_allclose(jax.grad(f)(a0), _central_difference(f, a0), rtol=1e-5, atol=1e-8)


def test_kernels_are_exact_shifts_at_integer_delays():
    spikes = jnp.asarray(np.random.default_rng(2).random((1, 50, 6)) < 0.2, jnp.float32)
    delta = jnp.asarray([-7.0, -1.0, 0.0, 1.0, 4.0, 25.0])
    # The plain simulator's shift: each channel as one delay slot of one neuron, [6, 50, 1].
    shifted = shift_rasters(spikes[0].T[:, :, None] > 0, delta.astype(jnp.int32)[:, None])[..., 0].T
    for kind, sigma in (("linear", None), ("gaussian", 0.05)):
        np.testing.assert_allclose(dr.read_delayed(spikes, delta, 25, kind, sigma)[0], shifted,
                                   atol=1e-6)
    k = dr.kernel(jnp.asarray([0.4, -3.2]), 25, "gaussian", 5.0)
    np.testing.assert_allclose(k.sum(axis=1), 1.0, rtol=1e-6)
    assert dr.sigma_at(0, 100, 17.0, 0.3, 0.5) == pytest.approx(17.0, rel=1e-5)
    assert dr.sigma_at(25, 100, 17.0, 0.3, 0.5) == pytest.approx(8.65, rel=1e-5)
    assert dr.sigma_at(80, 100, 17.0, 0.3, 0.5) == pytest.approx(0.3, rel=1e-5)


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
    return cfg, source, positions, cues


def test_every_trainable_leaf_gets_a_finite_nonzero_gradient_and_frozen_ones_none(memory):
    cfg, source, positions, cues = memory
    batch = source.batch(positions, cues, 3, True)
    model = TuneModel.from_config(cfg)
    diff, static = eqx.partition(model, trainable(model))
    grads, _ = eqx.filter_grad(lambda d: loss_and_metrics(eqx.combine(d, static), batch, 1.0),
                               has_aux=True)(diff)
    for name, g in vars(grads.params).items():
        g = np.asarray(g)
        assert np.isfinite(g).all(), name
        assert np.abs(g).max() > 0, f"{name} got no gradient"
    assert jax.tree.leaves(grads.frozen) == []  # frozen leaves: None, not even zeros
    assert all(x is None for x in vars(grads.frozen).values())


def test_forward_pass_is_the_plain_simulator_with_the_same_parameters(memory):
    """At whole-step delays (linear read-out) the differentiable recall's first spikes are the
    plain simulator's, also with thresholds and delays moved away from the paper's: so the
    rounded tuned parameters run in the plain simulator as they were trained."""
    cfg, source, positions, cues = memory
    rng = np.random.default_rng(3)
    d = cfg.network.n_delays
    params = TunedParams(jnp.float32(5.4), jnp.asarray(rng.uniform(4.0, 6.0, N_PITCH), jnp.float32),
                         jnp.asarray(rng.uniform(4.0, 6.0, 64), jnp.float32),
                         jnp.asarray(rng.integers(-6, 7, (d, N_PITCH)), jnp.float32),
                         jnp.asarray(rng.integers(-6, 7, (d, 64)), jnp.float32))
    batch = source.batch(positions, cues, 1, True)
    first_p, first_d = recall(TuneModel.from_config(cfg, params), batch)
    plain = params.recaller(cfg)
    for i in range(len(positions)):
        state = plain.init(jnp.asarray(cues[0][i]), jnp.asarray(cues[1][i]))
        _, (out_p, out_d) = plain.window(state, batch.weights_pitch[0, i], batch.weights_duration[0, i],
                                         batch.goal_pitch[0, i], batch.goal_duration[0, i],
                                         jnp.array(True))
        for soft, hard in ((first_p[0, i], out_p.first), (first_d[0, i], out_d.first)):
            hard, soft = np.asarray(hard), np.asarray(soft)
            fired = np.isfinite(hard)
            assert fired.any()
            np.testing.assert_array_equal(soft < cfg.network.steps_per_window, fired)
            np.testing.assert_allclose(soft[fired], hard[fired], atol=1e-4)


def test_tuned_delays_shift_the_plain_simulators_arrivals(memory):
    """A delay shift of +s steps on every synapse moves a sequentially driven neuron's first
    spike s steps later (no title: the sequence alone drives the column)."""
    cfg, source, positions, cues = memory
    batch = source.batch(positions, source.clean_cues(positions), 1, False)
    d = cfg.network.n_delays
    firsts = []
    for s in (0, 3):
        params = TunedParams.from_config(cfg)
        params = eqx.tree_at(lambda p: (p.delay_pitch,), params, (jnp.full((d, N_PITCH), float(s)),))
        rec = params.recaller(cfg)
        state = rec.init(jnp.asarray(source.clean_cues(positions)[0][0]), None)
        _, (out, _) = rec.window(state, batch.weights_pitch[0, 0], batch.weights_duration[0, 0],
                                 batch.goal_pitch[0, 0], batch.goal_duration[0, 0], jnp.array(True))
        firsts.append(np.asarray(out.first))
    target = int(np.argmin(firsts[0]))
    assert np.isfinite(firsts[0][target])
    assert firsts[1][target] == pytest.approx(firsts[0][target] + 3, abs=1e-4)


def test_perturbation_moves_drops_and_adds_spikes(memory):
    _, source, positions, _ = memory
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
    cfg, source, positions, cues = memory
    opt = optimizer(cfg)
    params = TunedParams.from_config(cfg)
    state = opt.init(params)
    step = make_step(cfg, opt)
    batch = source.batch(positions, cues, 3, True)
    new, state, metrics = step(params, state, batch, jnp.float32(1.0))
    assert np.isfinite(float(metrics["loss"]))
    # Adam's first step moves a parameter by its group's learning rate (less only where the
    # gradient is as small as Adam's epsilon).
    for moved, lr in ((new.v_th_pitch - params.v_th_pitch, cfg.tune.lr_threshold),
                      (new.delay_pitch - params.delay_pitch, cfg.tune.lr_delay)):
        moved = np.abs(np.asarray(moved))
        moved = moved[moved > 0]
        assert np.median(moved) == pytest.approx(lr, rel=1e-2) and moved.max() <= lr * 1.001
    far = TunedParams(jnp.float32(99.0), params.v_th_pitch - 50, params.v_th_duration,
                      params.delay_pitch + 100, params.delay_duration - 100).clamp(cfg)
    assert float(far.v_th_title) == cfg.tune.threshold_max
    assert float(far.v_th_pitch.min()) == cfg.tune.threshold_min
    assert float(far.delay_pitch.max()) == cfg.tune.delay_range_steps
    assert float(far.delay_duration.min()) == -cfg.tune.delay_range_steps


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
