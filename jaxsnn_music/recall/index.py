"""The network seen from the host: the lookups recall and identification need.

:class:`NetworkIndex` keeps NumPy copies of the sorted synapse store and goal
links with one int64 key per row, so that "the sequential rows into column
``k`` of a layer", "the goal links of a title in a column range" or "does a
synapse ``(column, delay, pre, post)`` exist" are binary searches. It builds
the padded per-chunk inputs of the compiled recall scan (:mod:`.simulate`):
rows padded to a power-of-four bucket, so the scan compiles for a handful of
shapes whatever the corpus.
"""

from __future__ import annotations

import numpy as np

from jaxsnn_music.network.model import Network
from jaxsnn_music.network.synapses import DURATION, PITCH
from jaxsnn_music.recall.simulate import N_DURATION, N_PITCH

_COLUMNS = 1 << 20
_LAYERS = 1 << 10
NEURONS = {PITCH: N_PITCH, DURATION: N_DURATION}


def column_key(layer, subnet, column) -> np.ndarray:
    """One int64 per (layer, subnet, column), ordered like the synapse store."""
    return (np.asarray(layer, np.int64) * 2 + np.asarray(subnet, np.int64)) * _COLUMNS \
        + np.asarray(column, np.int64)


def synapse_key(layer, subnet, column, delay, pre, post) -> np.ndarray:
    """One int64 per synapse, ordered like the synapse store."""
    return ((column_key(layer, subnet, column) * 8 + np.asarray(delay, np.int64)) * 256
            + np.asarray(pre, np.int64)) * 256 + np.asarray(post, np.int64)


def link_key(title, layer, subnet, column) -> np.ndarray:
    """One int64 per (title, layer, subnet, column), ordered like the goal links."""
    return (np.asarray(title, np.int64) * _LAYERS + np.asarray(layer, np.int64)) * 2 * _COLUMNS \
        + column_key(0, subnet, column)


def row_bucket(n: int) -> int:
    """Padded row count: a power of four, at least 64 (few compiled shapes)."""
    size = 64
    while size < n:
        size *= 4
    return size


class NetworkIndex:
    """NumPy lookups into a :class:`~jaxsnn_music.network.Network`.

    **Arguments:**

    - `network`: the memorized network.
    """

    def __init__(self, network: Network):
        self.network = network
        s = network.synapses.to_numpy()
        self.syn = {k: v.astype(np.int64) if k != "weight" else v.astype(np.float32)
                    for k, v in s.items()}
        self.syn_column = column_key(s["layer"], s["subnet"], s["post_col"])
        self.syn_key = synapse_key(s["layer"], s["subnet"], s["post_col"], s["delay"], s["pre"],
                                   s["post"])
        n = int(network.goal.count)
        g = network.goal
        self.links = {k: np.asarray(getattr(g, k))[:n] for k in
                      ("title", "layer", "subnet", "column", "neuron", "forward", "feedback")}
        self.link_key = link_key(self.links["title"], self.links["layer"], self.links["subnet"],
                                 self.links["column"])
        self.lengths = np.asarray(network.track_lengths)
        self.columns = network.columns()
        self._by_neuron: dict | None = None

    @property
    def titles(self) -> tuple[str, ...]:
        return self.network.titles

    # -- sequential synapses -------------------------------------------------------

    def rows(self, layer: int, subnet: int, c0: int, n: int, size: int | None = None
             ) -> dict[str, np.ndarray]:
        """The sequential rows into columns ``c0 .. c0 + n - 1`` of ``(layer, subnet)``,
        ``[n, size]`` per field (``delay, pre, post, weight``); padding has delay 0, weight 0.
        ``size`` defaults to the bucket of the fullest column."""
        bounds = np.searchsorted(self.syn_column, column_key(layer, subnet, np.arange(c0, c0 + n + 1)))
        counts = np.diff(bounds)
        size = size or row_bucket(int(counts.max(initial=0)))
        out = {k: np.zeros((n, size), np.int32) for k in ("delay", "pre", "post")}
        out["weight"] = np.zeros((n, size), np.float32)
        col = np.repeat(np.arange(n), counts)
        slot = np.arange(counts.sum()) - np.repeat(bounds[:-1] - bounds[0], counts)
        rows = np.arange(bounds[0], bounds[-1])
        for k in ("delay", "pre", "post", "weight"):
            out[k][col, slot] = self.syn[k][rows]
        return out

    def row_counts(self, layer: int, subnet: int, c0: int, n: int) -> np.ndarray:
        bounds = np.searchsorted(self.syn_column, column_key(layer, subnet, np.arange(c0, c0 + n + 1)))
        return np.diff(bounds)

    def weight(self, layer, subnet, column, delay, pre, post) -> np.ndarray:
        """Learned weight of each given synapse (0 where it does not exist); arrays broadcast."""
        key = synapse_key(layer, subnet, column, delay, pre, post)
        where = np.searchsorted(self.syn_key, key)
        where = np.minimum(where, len(self.syn_key) - 1) if len(self.syn_key) else where
        if not len(self.syn_key):
            return np.zeros(np.shape(key), np.float32)
        found = self.syn_key[where] == key
        return np.where(found, self.syn["weight"][where], 0.0).astype(np.float32)

    # -- goal links ------------------------------------------------------------------

    def goal_weights(self, titles: np.ndarray, layer: int, subnet: int, c0: int, n: int,
                     which: str = "forward") -> np.ndarray:
        """``[n, len(titles), neurons]``: the title -> note weights (or the note -> title
        ``feedback`` weights) of each title into columns ``c0 .. c0 + n - 1``."""
        neurons = NEURONS[subnet]
        out = np.zeros((n, len(titles), neurons), np.float32)
        for b, title in enumerate(titles):
            if title < 0:
                continue
            lo, hi = np.searchsorted(self.link_key, link_key(title, layer, subnet, [c0, c0 + n]))
            out[self.links["column"][lo:hi] - c0, b, self.links["neuron"][lo:hi]] = \
                self.links[which][lo:hi]
        return out

    def track(self, title: int, layer: int, subnet: int) -> tuple[np.ndarray, np.ndarray]:
        """The goal links of one title's track: ``(column, neuron)`` arrays, in order."""
        lo, hi = np.searchsorted(self.link_key, link_key(title, layer, subnet, [0, _COLUMNS - 1]))
        return self.links["column"][lo:hi], self.links["neuron"][lo:hi]

    def used_columns(self, subnet: int, neuron: int) -> np.ndarray:
        """``[m, 2]`` (layer, column) pairs where ``neuron`` of ``subnet`` was ever used
        (has a goal link from any title), sorted and distinct."""
        if self._by_neuron is None:
            lk = self.links
            order = np.lexsort((lk["column"], lk["layer"], lk["neuron"], lk["subnet"]))
            self._by_neuron = {"order": order,
                               "key": lk["subnet"][order].astype(np.int64) * 256 + lk["neuron"][order]}
        by = self._by_neuron
        lo, hi = np.searchsorted(by["key"], [subnet * 256 + neuron, subnet * 256 + neuron + 1])
        rows = by["order"][lo:hi]
        pairs = np.stack([self.links["layer"][rows], self.links["column"][rows]], axis=1)
        return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)

    def links_at(self, layer: np.ndarray, subnet: int, column: np.ndarray, neuron: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every title linked to the given (layer, column, neuron) notes.

        **Returns:** ``(query index, title, feedback weight)`` of each matching link.
        """
        lk = self.links
        if not hasattr(self, "_note_order"):
            order = np.lexsort((lk["title"], lk["neuron"], lk["column"], lk["subnet"], lk["layer"]))
            self._note_order = order
            self._note_key = ((column_key(lk["layer"][order], lk["subnet"][order],
                                          lk["column"][order])) * 256 + lk["neuron"][order])
        key = column_key(layer, subnet, column) * 256 + np.asarray(neuron, np.int64)
        lo = np.searchsorted(self._note_key, key, side="left")
        hi = np.searchsorted(self._note_key, key, side="right")
        counts = hi - lo
        query = np.repeat(np.arange(len(key)), counts)
        rows = self._note_order[np.repeat(lo, counts) + np.arange(counts.sum())
                                - np.repeat(np.cumsum(counts) - counts, counts)]
        return query, lk["title"][rows], lk["feedback"][rows]
