"""Checkpoints: exact round trips, whole-or-nothing refusals, other device counts.

The device test needs a JAX with two CPU devices, which JAX fixes when it
starts, so it runs in a fresh interpreter (``--xla_force_host_platform_device_count=2``):
that process restores a checkpoint saved here (one device), spreads the network
over both devices, and saves it again for this process to restore.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pytest
from test_network_fixtures import make_piece, make_track

from jaxsnn_music import checkpoint
from jaxsnn_music.config import load_config
from jaxsnn_music.errors import CheckpointError
from jaxsnn_music.network import Network, grow

TESTS = Path(__file__).resolve().parent


def leaves(network):
    return jax.tree_util.tree_leaves(network)


def assert_identical(a, b):
    """Same titles, and every array equal bit for bit, with the same dtype and shape."""
    assert a.titles == b.titles
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


@pytest.fixture(scope="module")
def memorized():
    # The learning tests' sizes, so compiled functions are shared.
    cfg = load_config(overrides={"network.segment_columns": 7, "network.batch_segments": 8,
                                 "network.w_min": -40.0, "network.w_max": float("inf")})
    pieces = [make_piece("two tracks", make_track([(60,), (62, 65), (64,), (0,), (67,)], [3, 3, 7, 1, 3]),
                         make_track([(40,), (43,), (45,)], [7, 7, 15], name="bass")),
              make_piece("one track", make_track([(72,), (71,), (69,), (67,), (65,), (64,)], [1] * 6))]
    return grow(Network.empty(), pieces, cfg), cfg, checkpoint.corpus_manifest(pieces)


@pytest.fixture()
def saved(tmp_path, memorized):
    network, cfg, corpus = memorized
    path = tmp_path / "checkpoints" / "small"
    manifest = checkpoint.save(path, network, cfg, corpus, {"note": "extra entries are kept"})
    return path, manifest


def test_round_trip(saved, memorized):
    path, manifest = saved
    network, cfg, corpus = memorized
    restored, cfg2, manifest2 = checkpoint.restore(path)
    assert eqx.tree_equal(restored, network)
    assert_identical(restored, network)
    assert cfg2 == cfg and manifest2 == manifest
    assert manifest["corpus"] == corpus and manifest["note"] == "extra entries are kept"
    # infinite bounds are written as "inf" (strict JSON) and read back exactly
    assert manifest["config"]["network"]["w_max"] == "inf"
    assert manifest["titles"] == ["two tracks", "one track"]
    assert manifest["corpus"][0]["events"] == [5, 3]
    assert manifest["format"] == checkpoint.FORMAT_VERSION and manifest["package_version"]
    assert len(manifest["encoding_fingerprint"]) == 16
    for leaf in leaves(restored):
        assert isinstance(leaf.sharding, jax.sharding.SingleDeviceSharding)
    assert checkpoint.size_on_disk(path) > 0


def test_empty_network_and_overwrite(tmp_path, memorized):
    _, cfg, _ = memorized
    path = tmp_path / "ck"
    checkpoint.save(path, memorized[0], cfg, memorized[2])
    # Overwriting in place leaves only the new checkpoint (zero-size arrays live in the manifest).
    checkpoint.save(path, Network.empty(), cfg, [])
    restored, _, manifest = checkpoint.restore(path)
    assert_identical(restored, Network.empty())
    assert manifest["titles"] == [] and manifest["arrays"]["track_lengths"]["shape"] == [0, 0]


def refused(path) -> str:
    with pytest.raises(CheckpointError) as err:
        checkpoint.restore(path)
    message = str(err.value)
    assert "\n" not in message and str(Path(path).absolute()) in message
    return message


def test_missing_and_not_a_checkpoint(tmp_path):
    assert "no such checkpoint" in refused(tmp_path / "nothing-here")
    (tmp_path / "empty").mkdir()
    assert "not a checkpoint" in refused(tmp_path / "empty")


def test_incomplete_save_is_refused(saved):
    path, _ = saved
    (path / checkpoint.MARKER).unlink()
    assert "incomplete checkpoint" in refused(path)


def _largest_array_file(path: Path) -> Path:
    return max((p for p in (path / checkpoint.ARRAYS).rglob("*") if p.is_file()),
               key=lambda p: p.stat().st_size)


@pytest.mark.parametrize("damage,expected", [
    (lambda p: _largest_array_file(p).write_bytes(_largest_array_file(p).read_bytes()[:-7]),
     "bytes, expected"),
    (lambda p: _largest_array_file(p).unlink(), "is missing"),
    (lambda p: (p / checkpoint.MANIFEST).write_text(
        (p / checkpoint.MANIFEST).read_text().replace('"one track"', '"One track"')),
     "manifest.json does not match its sha256"),
    (lambda p: (p / checkpoint.ARRAYS / "stray").write_text("x"), "stray was not part of the save"),
    (lambda p: (p / checkpoint.MARKER).write_text('{"format": 1, "fil'), "COMPLETE.json is unreadable"),
])
def test_damaged_checkpoint_is_refused(saved, damage, expected):
    path, _ = saved
    damage(path)
    message = refused(path)
    assert "damaged checkpoint" in message and expected in message


def _rewrite_marker(path: Path) -> None:
    """Re-sign a hand-edited checkpoint, as a save would (to reach the later checks)."""
    files = {name: {"bytes": (path / name).stat().st_size, "sha256": checkpoint._sha256(path / name)}
             for name in checkpoint._checkpoint_files(path)}
    (path / checkpoint.MARKER).write_text(json.dumps({"format": checkpoint.FORMAT_VERSION, "files": files}))


def test_arrays_are_checked_against_the_manifest(saved):
    path, _ = saved
    manifest = json.loads((path / checkpoint.MANIFEST).read_text())
    manifest["arrays"]["synapses/weight"]["dtype"] = "float64"
    (path / checkpoint.MANIFEST).write_text(json.dumps(manifest))
    _rewrite_marker(path)
    message = refused(path)
    assert "synapses/weight is float32[256], manifest says float64[256]" in message


def test_other_formats_and_configs_are_refused(saved):
    path, _ = saved
    manifest = json.loads((path / checkpoint.MANIFEST).read_text())
    manifest["config"]["network"]["nope"] = 1
    (path / checkpoint.MANIFEST).write_text(json.dumps(manifest))
    _rewrite_marker(path)
    assert "its config does not fit this version (unknown config key 'network.nope'" in refused(path)
    marker = json.loads((path / checkpoint.MARKER).read_text())
    (path / checkpoint.MARKER).write_text(json.dumps({**marker, "format": 99}))
    assert "checkpoint format 99 is not supported" in refused(path)


TWO_DEVICES = textwrap.dedent("""
    import sys
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from jaxsnn_music import checkpoint

    assert jax.device_count() == 2, jax.devices()
    source, target, reference = sys.argv[1:4]
    network, cfg, manifest = checkpoint.restore(source)
    expected = np.load(reference)
    for i, leaf in enumerate(jax.tree_util.tree_leaves(network)):
        assert leaf.dtype == expected[str(i)].dtype and leaf.shape == expected[str(i)].shape
        assert np.asarray(leaf).tobytes() == expected[str(i)].tobytes(), i
    # Spread every table over both devices (and replicate the rest), then save that.
    mesh = Mesh(np.asarray(jax.devices()), ("x",))
    spread = jax.tree.map(lambda a: jax.device_put(a, NamedSharding(
        mesh, PartitionSpec("x") if a.ndim == 1 else PartitionSpec())), network)
    assert len(spread.synapses.weight.sharding.device_set) == 2
    assert len(spread.synapses.weight.addressable_shards) == 2
    checkpoint.save(target, spread, cfg, manifest["corpus"], {"saved_on": "two devices"})
    print("TWO-DEVICES-OK")
""")


def test_restores_across_device_counts(saved, memorized, tmp_path):
    path, _ = saved
    network = memorized[0]
    reference = tmp_path / "reference.npz"
    np.savez(reference, **{str(i): np.asarray(x) for i, x in enumerate(leaves(network))})
    env = {**os.environ, "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "")
                                       + " --xla_force_host_platform_device_count=2").strip(),
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    target = tmp_path / "saved-on-two"
    done = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(path), str(target), str(reference)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "TWO-DEVICES-OK" in done.stdout, done.stderr[-3000:]
    assert jax.device_count() == 1
    restored, _, manifest = checkpoint.restore(target)
    assert manifest["saved_on"] == "two devices"
    assert_identical(restored, network)
    assert all(leaf.sharding.device_set == {jax.devices()[0]} for leaf in leaves(restored))


def test_save_refuses_a_file_path(tmp_path, memorized):
    network, cfg, corpus = memorized
    (tmp_path / "file").write_text("")
    with pytest.raises(CheckpointError, match="exists and is not a folder"):
        checkpoint.save(tmp_path / "file", network, cfg, corpus)


def test_io_errors_are_one_line(saved, memorized, tmp_path, monkeypatch):
    network, cfg, corpus = memorized
    path, _ = saved
    real = checkpoint._sha256

    def unreadable(file):
        if file.name == checkpoint.MANIFEST:
            raise PermissionError(13, "Permission denied", str(file))
        return real(file)

    monkeypatch.setattr(checkpoint, "_sha256", unreadable)
    with pytest.raises(CheckpointError, match=r": cannot read manifest.json \(Permission denied\)$"):
        checkpoint.restore(path)
    monkeypatch.undo()

    def refuse(self, *args, **kwargs):  # orbax reports some I/O errors as its own exceptions
        raise ValueError("Error writing: PERMISSION_DENIED\nmore lines")

    import orbax.checkpoint as ocp

    monkeypatch.setattr(ocp.PyTreeCheckpointer, "save", refuse)
    with pytest.raises(CheckpointError, match=r"cannot write the checkpoint's arrays \(ValueError: "
                                              r"Error writing: PERMISSION_DENIED\)$"):
        checkpoint.save(tmp_path / "new", network, cfg, corpus)
