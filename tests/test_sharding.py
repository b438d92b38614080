"""Learning sharded across devices gives the network that one device gives.

JAX fixes its device count when it starts, so the two-device check runs in a
fresh interpreter with ``--xla_force_host_platform_device_count=2`` (two CPU
"devices"); inside it, the same pieces are memorized on one device and on both.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax

from jaxsnn_music.network.learn import batch_sharding

TESTS = Path(__file__).resolve().parent

SCRIPT = textwrap.dedent("""
    import jax
    import numpy as np
    from test_network_fixtures import make_piece, make_track

    from jaxsnn_music.config import load_config
    from jaxsnn_music.network import Network, grow
    from jaxsnn_music.network.learn import Learner, batch_sharding, learn_batch

    assert jax.device_count() == 2, jax.devices()
    rng = np.random.default_rng(0)

    def track(n, chord):
        chords = [tuple(int(p) for p in rng.choice(np.arange(1, 129), size=rng.integers(1, chord + 1),
                                                    replace=False)) for _ in range(n)]
        return make_track(chords, [int(d) for d in rng.integers(0, 64, n)])

    # Melodies and chords (two slot buckets), several segments per track, two layers.
    pieces = [make_piece(f"p{i}", track(int(rng.integers(5, 40)), 1 + 3 * (i % 2)),
                         *([track(int(rng.integers(5, 25)), 1)] if i % 3 == 0 else []))
              for i in range(7)]
    # batch_segments=3: batches of 3 segments, padded to 4 for two devices.
    cfg = load_config(overrides={"network.segment_columns": 7, "network.batch_segments": 3})
    one = grow(Network.empty(), pieces, cfg, devices=jax.devices()[:1])
    two = grow(Network.empty(), pieces, cfg)
    a, b = one.synapses.to_numpy(), two.synapses.to_numpy()
    assert one.synapses.n == two.synapses.n > 100, (one.synapses.n, two.synapses.n)
    for key in a:
        if key == "weight":
            np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for name in ("title", "layer", "subnet", "column", "neuron", "count"):
        np.testing.assert_array_equal(np.asarray(getattr(one.goal, name)),
                                      np.asarray(getattr(two.goal, name)), err_msg=name)
    np.testing.assert_array_equal(np.asarray(one.track_lengths), np.asarray(two.track_lengths))
    assert one.titles == two.titles

    # The batch really is split: each device holds half of the learned records.
    sharding = batch_sharding()
    assert sharding is not None and sharding.mesh.size == 2
    learner = Learner.from_config(cfg.network)
    n, w, steps = 4, 11, cfg.network.steps_per_window
    inputs = jax.device_put((np.full((n, w, 1), 5, np.int32), np.full((n, w, 1), 3, np.int32),
                             np.tile(np.arange(w, dtype=np.int32), (n, 1)),
                             np.ones((n, w, steps), bool), np.ones((n, w, steps), bool)), sharding)
    rec_p = learn_batch(learner, *inputs)
    assert len(rec_p.dw.sharding.device_set) == 2, rec_p.dw.sharding
    shards = rec_p.dw.addressable_shards
    assert sorted(s.data.shape[0] for s in shards) == [2, 2]
    print("SHARDED-OK", one.synapses.n)
""")


def test_one_device_is_not_sharded():
    assert batch_sharding(jax.devices()[:1]) is None


def test_sharded_learning_equals_one_device():
    env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "")
                                       + " --xla_force_host_platform_device_count=2").strip(),
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(TESTS)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SHARDED-OK" in done.stdout
