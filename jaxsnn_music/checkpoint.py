"""Checkpoints: a memorized network on disk, refused whole unless it is whole.

The data path's step after learning: :func:`save` writes a
:class:`~jaxsnn_music.network.Network` with everything needed to trust it later,
:func:`restore` reads it back on any machine (any number of devices).

Layout of a checkpoint folder::

    manifest.json    format version, package version, preset, the full config,
                     the corpus (per piece: title, source, sha256, events per
                     track), the encoding fingerprint, the titles, and the
                     shape and dtype of every array
    arrays/          the network's arrays (orbax-checkpoint, saved from host NumPy)
    COMPLETE.json    written last: size and sha256 of every file above

Integrity: ``COMPLETE.json`` is written (atomically, by rename) only after orbax
has finished, and :func:`save` deletes it *first* when it overwrites a folder.
So a save that was killed leaves no marker, and :func:`restore` refuses it;
a file that was cut short, changed or added afterwards fails the size/sha256
check; and the restored arrays are checked against the manifest's shapes and
dtypes. Every check runs before a single array reaches the network, so a
checkpoint is loaded entirely or not at all, with a one-line
:class:`~jaxsnn_music.errors.CheckpointError`. Other files in the folder (a
run's ``progress/``) are not part of the checkpoint and are not looked at.

Devices: arrays are gathered to host NumPy before saving, so no sharding is
recorded; :func:`restore` reads NumPy and puts each array on one device with an
explicit single-device sharding, whatever the saving machine had.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jaxsnn_music.version import __version__
from jaxsnn_music.config import Config, load_config
from jaxsnn_music.corpus.cache import encoding_key
from jaxsnn_music.encoding import ENCODER_VERSION
from jaxsnn_music.errors import CheckpointError, UserError
from jaxsnn_music.events import Piece
from jaxsnn_music.network.cells import CellTable
from jaxsnn_music.network.goal import empty_links
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.synapses import SynapseStore
from jaxsnn_music.records import jsonable

FORMAT_VERSION = 2
"""Bump when the layout or the manifest's meaning changes; older formats are refused."""
MANIFEST = "manifest.json"
ARRAYS = "arrays"
MARKER = "COMPLETE.json"
PROGRESS = "progress"
"""Where a memorize run keeps its steps, next to its result (:mod:`jaxsnn_music.resumable`)."""
_HASH_BLOCK = 1 << 20


def corpus_manifest(pieces: Sequence[Piece]) -> list[dict[str, Any]]:
    """What was learned, per piece: title, source, sha256 of the file, events per track."""
    return [{"title": p.title, "source": p.source, "sha256": p.sha256,
             "events": [t.n_events for t in p.tracks]} for p in pieces]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _checkpoint_files(root: Path) -> list[str]:
    """The files that make up the checkpoint in ``root`` (relative, sorted), marker excluded."""
    files = [MANIFEST] if (root / MANIFEST).is_file() else []
    arrays = root / ARRAYS
    if arrays.is_dir():
        files += sorted(p.relative_to(root).as_posix() for p in arrays.rglob("*") if p.is_file())
    return files


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _array_name(path) -> str:
    return "/".join(str(getattr(k, "name", getattr(k, "key", k))) for k in path)


def _named_arrays(network: Network) -> dict[str, np.ndarray]:
    """Every array of the network on the host, by its attribute path (``synapses/weight``)."""
    arrays, _ = eqx.partition(network, eqx.is_array)
    flat, _ = jax.tree_util.tree_flatten_with_path(arrays)
    # np.asarray gathers a sharded array to one host copy: no sharding is saved.
    return {_array_name(path): np.asarray(leaf) for path, leaf in flat}


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split("/")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _skeleton(titles: tuple[str, ...]):
    """The network's tree structure for these titles (no arrays are allocated)."""
    shapes = jax.eval_shape(lambda: Network(SynapseStore.empty(), empty_links(), CellTable.empty(),
                                            jnp.zeros((0, 0), jnp.int32), titles))
    flat, treedef = jax.tree_util.tree_flatten_with_path(shapes)
    return [_array_name(path) for path, _ in flat], treedef


def _write(root: Path, network: Network, cfg: Config, corpus: list[dict[str, Any]],
           extra: dict[str, Any] | None) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    # The marker goes first: from here on the folder is incomplete until it is rewritten.
    (root / MARKER).unlink(missing_ok=True)
    (root / MANIFEST).unlink(missing_ok=True)
    for stale in root.glob(f"{ARRAYS}*"):  # an old save, or orbax's temporary folder of a killed one
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()

    arrays = _named_arrays(network)
    manifest = {
        "format": FORMAT_VERSION,
        "package_version": __version__,
        "preset": cfg.preset,
        "config": jsonable(cfg.to_dict()),
        "encoder_version": ENCODER_VERSION,
        "encoding_fingerprint": encoding_key(cfg.encoding),
        "corpus": corpus,
        "titles": list(network.titles),
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.name} for name, a in arrays.items()},
        **(extra or {}),
    }
    # orbax cannot write zero-size arrays; the manifest alone describes them.
    stored = {name: a for name, a in arrays.items() if a.size}
    if stored:
        try:
            with ocp.PyTreeCheckpointer() as checkpointer:  # synchronous: returns when written
                checkpointer.save(root / ARRAYS, _nested(stored))
        except OSError:
            raise
        except Exception as exc:  # orbax wraps some I/O errors (tensorstore) in its own types
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise CheckpointError(f"{root}: cannot write the checkpoint's arrays "
                                  f"({type(exc).__name__}: {first})") from None
    _write_atomic(root / MANIFEST, json.dumps(manifest, indent=1, allow_nan=False))
    files = {name: {"bytes": (root / name).stat().st_size, "sha256": _sha256(root / name)}
             for name in _checkpoint_files(root)}
    _write_atomic(root / MARKER, json.dumps({"format": FORMAT_VERSION, "files": files}, indent=1))
    return manifest


def save(path: str | Path, network: Network, cfg: Config, corpus: list[dict[str, Any]],
         extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``network`` as a checkpoint folder (created, or overwritten in place).

    **Arguments:**

    - `path`: the folder, e.g. ``checkpoints/NAME``.
    - `network`: the memorized network.
    - `cfg`: the config it was learned with.
    - `corpus`: :func:`corpus_manifest` of the pieces it was learned from.
    - `extra`: more JSON-able manifest entries (e.g. a run's progress).

    **Returns:** the manifest that was written.
    """
    root = Path(path).absolute()  # orbax wants absolute paths
    if root.exists() and not root.is_dir():
        raise CheckpointError(f"{root}: exists and is not a folder")
    try:
        return _write(root, network, cfg, corpus, extra)
    except OSError as exc:  # a full disk, a read-only folder: the user's to fix, not a bug
        raise CheckpointError(f"{root}: cannot write the checkpoint ({exc.strerror or exc})") from None


def _read_json(path: Path, what: str, root: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise CheckpointError(f"{root}: damaged checkpoint ({what} is unreadable)") from None
    except OSError as exc:
        raise CheckpointError(f"{root}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{root}: damaged checkpoint ({what} is unreadable)") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{root}: damaged checkpoint ({what} is not a JSON object)")
    return data


def verify(path: str | Path) -> dict[str, Any]:
    """Check that ``path`` holds a complete, unchanged checkpoint; return its manifest.

    Reads no arrays; raises :class:`CheckpointError` (one line) when the folder is
    missing, not a checkpoint, incomplete (the save did not finish), damaged (a
    file is missing, cut short, changed or added) or of another format.
    """
    root = Path(path).absolute()
    if not root.exists():
        raise CheckpointError(f"{root}: no such checkpoint")
    unfinished = ("; a memorize run that has not finished: run it again to complete it"
                  if (root / PROGRESS).is_dir() else "")
    if not root.is_dir() or not ((root / MANIFEST).exists() or (root / MARKER).exists()
                                 or (root / ARRAYS).exists()):
        raise CheckpointError(f"{root}: not a checkpoint (no {MANIFEST}){unfinished}")
    if not (root / MARKER).is_file():
        raise CheckpointError(f"{root}: incomplete checkpoint (no {MARKER}: the save did not "
                              f"finish){unfinished}")
    marker = _read_json(root / MARKER, MARKER, root)
    if marker.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{root}: checkpoint format {marker.get('format')!r} is not "
                              f"supported (this version reads format {FORMAT_VERSION})")
    recorded = marker.get("files")
    if not isinstance(recorded, dict) or MANIFEST not in recorded:
        raise CheckpointError(f"{root}: damaged checkpoint ({MARKER} lists no {MANIFEST})")
    extra = sorted(set(_checkpoint_files(root)) - set(recorded))
    if extra:
        raise CheckpointError(f"{root}: damaged checkpoint ({extra[0]} was not part of the save)")
    for name, expected in recorded.items():
        file = root / name
        if not isinstance(expected, dict):
            raise CheckpointError(f"{root}: damaged checkpoint ({MARKER} is not a list of files)")
        if not file.is_file():
            raise CheckpointError(f"{root}: damaged checkpoint ({name} is missing)")
        size = file.stat().st_size
        if size != expected.get("bytes"):
            raise CheckpointError(f"{root}: damaged checkpoint ({name} has {size} "
                                  f"bytes, expected {expected.get('bytes')})")
        try:
            digest = _sha256(file)
        except OSError as exc:
            raise CheckpointError(f"{root}: cannot read {name} ({exc.strerror or exc})") from None
        if digest != expected.get("sha256"):
            raise CheckpointError(f"{root}: damaged checkpoint ({name} does not match its sha256)")
    manifest = _read_json(root / MANIFEST, MANIFEST, root)
    if manifest.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{root}: checkpoint format {manifest.get('format')!r} is not "
                              f"supported (this version reads format {FORMAT_VERSION})")
    return manifest


def size_on_disk(path: str | Path) -> int:
    """Bytes of a checkpoint's files (marker included; other files of the folder not)."""
    root = Path(path).absolute()
    return sum((root / name).stat().st_size for name in [*_checkpoint_files(root), MARKER]
               if (root / name).is_file())


def config_from_manifest(manifest: dict[str, Any], where: str | Path = "checkpoint") -> Config:
    """Rebuild the :class:`Config` a checkpoint was saved with.

    Sections and keys the checkpoint does not have (added to the package after it
    was saved) take their preset's defaults; a saved key this version does not
    know, or a value it cannot represent exactly, is refused.
    """
    saved = manifest.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{where}: damaged checkpoint (manifest has no config)")
    overrides = {f"{section}.{key}": value for section, values in saved.items()
                 if isinstance(values, dict) for key, value in values.items()}
    try:
        cfg = load_config(saved.get("preset"), overrides=overrides)
    except UserError as exc:
        raise CheckpointError(f"{where}: its config does not fit this version ({exc})") from None
    now = jsonable(cfg.to_dict())
    for section, values in saved.items():
        same = now.get(section) == values if not isinstance(values, dict) else all(
            now[section][key] == value for key, value in values.items())
        if not same:
            raise CheckpointError(f"{where}: its config does not fit this version "
                                  f"({section} reads back differently)")
    return cfg


def restore(path: str | Path, device: jax.Device | None = None
            ) -> tuple[Network, Config, dict[str, Any]]:
    """Read a checkpoint written by :func:`save`, after checking all of it.

    **Arguments:**

    - `path`: the checkpoint folder.
    - `device`: where the arrays go (default: the first device), each with a
      single-device sharding; the saving machine's devices do not matter.

    **Returns:** ``(network, cfg, manifest)``.
    """
    root = Path(path).absolute()
    manifest = verify(root)
    cfg = config_from_manifest(manifest, root)
    titles = manifest.get("titles")
    specs = manifest.get("arrays")
    if not isinstance(titles, list) or not isinstance(specs, dict):
        raise CheckpointError(f"{root}: damaged checkpoint (manifest lacks titles or arrays)")
    names, treedef = _skeleton(tuple(titles))
    if sorted(names) != sorted(specs):
        raise CheckpointError(f"{root}: checkpoint arrays {sorted(specs)} do not match this "
                              f"version's network ({sorted(names)})")
    stored = [n for n in names if math.prod(specs[n]["shape"])]
    arrays: dict[str, np.ndarray] = {}
    if stored:
        # restore_type=np.ndarray: read to host, ignoring any sharding recorded at save time.
        restore_args = _nested({n: ocp.RestoreArgs(restore_type=np.ndarray) for n in stored})
        try:
            with ocp.PyTreeCheckpointer() as checkpointer:
                tree = checkpointer.restore(root / ARRAYS,
                                            args=ocp.args.PyTreeRestore(restore_args=restore_args))
        except Exception as exc:  # hashes matched, so this is a format we cannot read
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise CheckpointError(f"{root}: cannot read its arrays ({type(exc).__name__}: "
                                  f"{first})") from None
        for name in stored:
            node = tree
            for part in name.split("/"):
                node = node.get(part) if isinstance(node, dict) else None
            arrays[name] = node
    device = device or jax.devices()[0]
    sharding = jax.sharding.SingleDeviceSharding(device)
    leaves = []
    for name in names:
        spec = specs[name]
        array = arrays.get(name, np.zeros(spec["shape"], spec["dtype"]))
        if (not isinstance(array, np.ndarray) or list(array.shape) != spec["shape"]
                or array.dtype.name != spec["dtype"]):
            got = f"{array.dtype.name}{list(array.shape)}" if isinstance(array, np.ndarray) else "nothing"
            raise CheckpointError(f"{root}: damaged checkpoint ({name} is {got}, manifest says "
                                  f"{spec['dtype']}{spec['shape']})")
        leaves.append(array)
    network = jax.tree_util.tree_unflatten(treedef, [jax.device_put(a, sharding) for a in leaves])
    return dataclasses.replace(network, config=cfg), cfg, manifest
