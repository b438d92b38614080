"""Grow a network by pieces: events -> padded segments -> compiled learning -> merged network.

:func:`grow` is the entry point; :func:`learn` is the step below it
that returns the raw weight changes, goal links and (optionally) every spike,
which tests compare with an independent simulation. :func:`grow_one_by_one`
learns the same pieces one after another (one piece per call).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxsnn_music.config import Config, NetworkConfig, same_learning
from jaxsnn_music.events import Piece
from jaxsnn_music.network import keys
from jaxsnn_music.network.buckets import bucket
from jaxsnn_music.network.cells import TrackNeurons, allocate, merge_cells, used_cells
from jaxsnn_music.network.goal import merge_links
from jaxsnn_music.network.layout import Segments, batch_size, batches, segment_pieces
from jaxsnn_music.network.learn import (Learner, batch_sharding, learn_batch, subnet_of_slots,
                                        title_raster)
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.synapses import merge

SYNAPSE_FIELDS = keys.names(keys.SYNAPSE)
LINK_FIELDS = keys.names(keys.LINK)


@dataclasses.dataclass(frozen=True, eq=False)
class Learned:
    """The raw outcome of learning some pieces (NumPy, one row per entry).

    ``changes``: weight changes keyed as the synapse store (:data:`~.keys.SYNAPSE`:
    ``layer, post_col, delay, pre_subnet, pre, post_subnet, post``; unsorted, a key may
    repeat across segments of different pieces).
    ``links``: goal links ``title, layer, subnet, column, neuron``.
    ``spikes`` (if asked for): ``title, layer, subnet, column, neuron, step`` with
    ``step`` counted from the start of the column's window.
    """

    changes: dict[str, np.ndarray]
    links: dict[str, np.ndarray]
    spikes: dict[str, np.ndarray] | None


def _network_config(cfg: Config | NetworkConfig) -> NetworkConfig:
    return cfg.network if isinstance(cfg, Config) else cfg


def _title_inputs(raster: np.ndarray, seg: Segments) -> tuple[np.ndarray, np.ndarray]:
    """The title's spikes in each window of each segment, and in the window before."""
    def at(column):
        inside = (column >= 0) & (column < seg.piece_columns[:, None])
        return raster[np.clip(column, 0, raster.shape[0] - 1)] & inside[..., None]
    return at(seg.column), at(seg.column - 1)


def _extract(seg: Segments, ids: np.ndarray, rec, record_spikes: bool, n_delays: int,
             cross: bool, context_weight: float, out: dict) -> None:
    """Pull the weight changes, goal links (and spikes) of a batch out of its records.
    ``ids``: ``[segments, windows, slots]`` neurons of every slot (chord slots, then duration).
    With ``context_weight`` the potentiation a neuron gets while one event is learned is
    scaled to sum to it (see :func:`normalize_context`)."""
    dw, goal = np.asarray(rec.dw), np.asarray(rec.goal)
    windows, slots = ids.shape[1:]
    subnet = np.asarray(subnet_of_slots(slots - 1))
    back = np.arange(windows)[:, None] - np.arange(1, n_delays + 1)[None, :]
    pre_ids = np.where((back >= 0)[None, :, :, None], ids[:, np.clip(back, 0, None), :], -1)
    pair = np.ones((slots, slots), bool) if cross else subnet[:, None] == subnet[None, :]
    valid = (seg.record[:, :, None, None, None] & (pre_ids[..., :, None] >= 0)
             & (ids[:, :, None, None, :] >= 0) & pair)
    b, w, d, i, j = np.nonzero(valid)
    weight = dw[b, w, d, i, j]
    if context_weight:
        weight = normalize_context(weight, (b * windows + w) * slots + j, context_weight)
    out["changes"].append(dict(layer=seg.layer[b], post_col=seg.column[b, w], delay=d + 1,
                               pre_subnet=subnet[i], pre=pre_ids[b, w, d, i],
                               post_subnet=subnet[j], post=ids[b, w, j], weight=weight))
    b, w, m = np.nonzero(seg.record[:, :, None] & goal & (ids >= 0))
    out["links"].append(dict(title=seg.title[b], layer=seg.layer[b], subnet=subnet[m],
                             column=seg.column[b, w], neuron=ids[b, w, m]))
    if record_spikes:
        raster = np.asarray(rec.raster)
        b, w, t, m = np.nonzero(seg.record[:, :, None, None] & raster & (ids >= 0)[:, :, None, :])
        out["spikes"].append(dict(title=seg.title[b], layer=seg.layer[b], subnet=subnet[m],
                                  column=seg.column[b, w], neuron=ids[b, w, m], step=t))


def normalize_context(weight: np.ndarray, post: np.ndarray, total: float) -> np.ndarray:
    """Heterosynaptic normalization of one event's changes: the changes into each postsynaptic
    neuron (``post`` names it) are scaled so that their sum is ``total`` (where it is
    positive), keeping their proportions. So a stored context drives its cell with the same
    total weight however many neurons it has (a chord, a melody note, the start of a track),
    and a neuron reached by only part of a context gets that part: the share of the context
    it stood for is what a weight encodes (and, with emission timing, how long ago its
    presynaptic spikes were)."""
    _, group = np.unique(post, return_inverse=True)
    sums = np.bincount(group, weights=weight.astype(np.float64))
    scale = np.where(sums > 0, total / np.where(sums > 0, sums, 1.0), 1.0)
    return (weight * scale[group]).astype(np.float32)


def _concat(parts: list[dict[str, np.ndarray]], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not parts:
        return {k: np.zeros(0, np.float32 if k == "weight" else np.int32) for k in names}
    return {k: np.concatenate([p[k] for p in parts]) for k in names}


def learn(pieces: Sequence[Piece], cfg: Config | NetworkConfig, first_title: int = 0,
          record_spikes: bool = False, devices: Sequence[jax.Device] | None = None,
          neurons: Sequence[Sequence[TrackNeurons]] | None = None) -> Learned:
    """Run the compiled learning scan over every track of ``pieces``.

    **Arguments:**

    - `pieces`: the pieces; piece ``i`` becomes title ``first_title + i``.
    - `cfg`: the config (or its network section).
    - `record_spikes`: also return every spike (for tests; costs host memory).
    - `devices`: split each batch of segments across these (default: every device
      JAX sees; with one device nothing is split, as before sharding existed).
    - `neurons`: the context cell of every event (:func:`~.cells.allocate`; default: the
      values themselves, one cell per value).

    **Returns:** a :class:`Learned`.
    """
    ncfg = _network_config(cfg)
    learner = Learner.from_config(ncfg)
    groups = segment_pieces(pieces, ncfg, first_title, neurons)
    longest = max((t.n_events for p in pieces for t in p.tracks), default=0)
    raster = np.asarray(title_raster(learner, bucket(longest + 1, minimum=64)))
    sharding = batch_sharding(devices)
    n_devices = 1 if sharding is None else sharding.mesh.size
    out: dict[str, list] = {"changes": [], "links": [], "spikes": []}
    for slots, segments in groups.items():
        # Empty segments pad each batch to a multiple of the device count.
        size = -(-batch_size(ncfg, slots) // n_devices) * n_devices
        for seg in batches(segments, size):
            title, title_before = _title_inputs(raster, seg)
            inputs = (seg.pitch, seg.duration, seg.column, title, title_before)
            if sharding is None:
                inputs = tuple(jnp.asarray(x) for x in inputs)
            else:
                inputs = jax.device_put(inputs, sharding)
            record = learn_batch(learner, *inputs)
            ids = np.concatenate([seg.pitch, seg.duration], axis=2)
            _extract(seg, ids, record, record_spikes, ncfg.n_delays, ncfg.cross_subnet,
                     ncfg.context_weight, out)
    return Learned(
        changes=_concat(out["changes"], (*SYNAPSE_FIELDS, "weight")),
        links=_concat(out["links"], LINK_FIELDS),
        spikes=_concat(out["spikes"], (*LINK_FIELDS, "step")) if record_spikes else None)


def grow(network: Network, pieces: Sequence[Piece], cfg: Config | NetworkConfig,
         devices: Sequence[jax.Device] | None = None) -> Network:
    """Learn ``pieces`` into ``network`` (all in parallel) and return the grown network.

    Each piece gets a new title neuron; columns and layers are recruited as the
    tracks require; every event takes a context cell (:func:`~.cells.allocate`);
    synapse changes add to existing weights (then ``w_min`` / ``w_max`` clip the sums).

    **Arguments:**

    - `network`: the network so far (:meth:`Network.empty` to start).
    - `pieces`: the pieces to learn.
    - `cfg`: the config (or its network section).
    - `devices`: learn on these (default: all; see :func:`learn`).

    **Returns:** the new :class:`Network`.
    """
    ncfg = _network_config(cfg)
    if isinstance(cfg, Config):
        same_learning(network.config, cfg)
        config = cfg
    elif network.config is not None and network.config.network != cfg:
        raise ValueError("this network was memorized with another network config")
    else:
        config = network.config
    neurons = allocate(pieces, network.cells, network.synapses, ncfg.context_cells,
                       ncfg.cross_subnet)
    learned = learn(pieces, ncfg, first_title=network.n_titles, devices=devices, neurons=neurons)
    synapses = merge(network.synapses, learned.changes, ncfg.w_min, ncfg.w_max)
    goal = merge_links(network.goal, learned.links, ncfg.goal_forward_weight,
                       ncfg.goal_feedback_weight)
    cells = merge_cells(network.cells, used_cells(pieces, neurons))
    layers = max([network.n_layers] + [len(p.tracks) for p in pieces])
    lengths = np.zeros((network.n_titles + len(pieces), layers), np.int32)
    lengths[:network.n_titles, :network.n_layers] = np.asarray(network.track_lengths)
    for i, piece in enumerate(pieces):
        lengths[network.n_titles + i, :len(piece.tracks)] = [t.n_events for t in piece.tracks]
    return Network(synapses, goal, cells, jnp.asarray(lengths),
                   network.titles + tuple(p.title for p in pieces), config)


def grow_one_by_one(network: Network, pieces: Sequence[Piece],
                    cfg: Config | NetworkConfig) -> Network:
    """The same learning, one piece per :func:`grow` call (bounds clip after each)."""
    for piece in pieces:
        network = grow(network, [piece], cfg)
    return network
