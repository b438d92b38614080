"""The network seen from the host: the look-ups recall and identification need.

:class:`NetworkIndex` keeps NumPy copies of the network's sorted tables (synapses, goal
links, cells) with their packed keys (:mod:`jaxsnn_music.network.keys`), so that "the
neurons of column ``k``", "the synapses into column ``k``", "the goal links of a title in
some columns" or "the weight of a synapse" are binary searches. It builds the padded
per-chunk inputs of the compiled recall scan (:class:`~.simulator.ColumnInputs`): slots
padded to a size the caller fixes for a whole recall, synapse rows padded to a
power-of-four bucket, so the scan compiles for a handful of shapes whatever the corpus.
"""

from __future__ import annotations

import numpy as np

from jaxsnn_music.config import Config
from jaxsnn_music.network import keys
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.subnets import Subnets


def row_bucket(n: int) -> int:
    """Padded row (or slot) count: a power of four, at least 64 (few compiled shapes)."""
    size = 64
    while size < n:
        size *= 4
    return size


class NetworkIndex:
    """NumPy look-ups into a :class:`~jaxsnn_music.network.Network`.

    **Arguments:**

    - `network`: the memorized network.
    - `cfg`: its config (the subnetworks' sizes, the delays).
    """

    def __init__(self, network: Network, cfg: Config):
        self.network = network
        self.subnets = subnets = Subnets.from_config(cfg)
        self.n_delays = cfg.network.n_delays
        self.offsets = np.array([subnets.offset(s) for s in range(subnets.count)], np.int64)
        self.syn = {k: v.astype(np.float32 if k == "weight" else np.int64)
                    for k, v in network.synapses.to_numpy().items()}
        self.syn_key = keys.pack(keys.SYNAPSE, self.syn, check=False)
        n = int(network.goal.count)
        self.links = {k: np.asarray(getattr(network.goal, k))[:n].astype(
            np.float32 if k in ("forward", "feedback") else np.int64)
            for k in (*keys.names(keys.LINK), "forward", "feedback")}
        self.link_key = keys.pack(keys.LINK, self.links, check=False)
        self.cells = {k: v.astype(np.int64) for k, v in network.cells.to_numpy().items()}
        self.cell_key = keys.pack(keys.CELL, self.cells, check=False)
        self.lengths = np.asarray(network.track_lengths)
        self.columns = network.columns()
        self._by_value: dict | None = None
        self._by_note: dict | None = None

    @property
    def titles(self) -> tuple[str, ...]:
        return self.network.titles

    # -- columns: slots and synapse rows ---------------------------------------------

    def _cell_range(self, layer, column) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``lo:hi`` of the cell table that are column ``column`` of ``layer``."""
        column = np.asarray(column)
        lo = np.searchsorted(self.cell_key, keys.prefix(keys.CELL, layer=layer, column=column))
        hi = np.searchsorted(self.cell_key, keys.prefix(keys.CELL, layer=layer, column=column + 1))
        return lo, hi

    def slot_counts(self, layer: int, c0: int, n: int) -> np.ndarray:
        """Slots (neurons used by learning) of columns ``c0 .. c0 + n - 1``."""
        lo, hi = self._cell_range(layer, np.arange(c0, c0 + n))
        return hi - lo

    def slot_of(self, layer, column, subnet, neuron) -> np.ndarray:
        """The slot of each given neuron in its column (``-1``: not a neuron of that column)."""
        key = keys.pack(keys.CELL, [np.asarray(layer), np.asarray(column), np.asarray(subnet),
                                    np.asarray(neuron)], check=False)
        at = np.searchsorted(self.cell_key, key)
        found = at < len(self.cell_key)
        found[found] = self.cell_key[at[found]] == key[found]
        lo, _ = self._cell_range(layer, column)
        return np.where(found, at - lo, -1)

    def column_inputs(self, layer: int, c0: int, n: int, slots: int, rows: int | None = None
                      ) -> dict[str, np.ndarray]:
        """The :class:`~.simulator.ColumnInputs` of columns ``c0 .. c0 + n - 1`` (NumPy, stacked
        on a leading axis) with ``slots`` slots each; ``rows`` defaults to the bucket of the
        fullest column."""
        column = np.arange(c0, c0 + n)
        lo, hi = self._cell_range(layer, column)
        counts = hi - lo
        if counts.max(initial=0) > slots:
            raise ValueError(f"a column has {counts.max()} slots, more than {slots}")
        out = {name: np.full((n, slots), -1, np.int64)
               for name in ("slot_subnet", "slot_neuron", "slot_value")}
        col = np.repeat(np.arange(n), counts)
        slot = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cell = np.arange(lo[0], hi[-1]) if n else np.zeros(0, np.int64)
        subnet, neuron = self.cells["subnet"][cell], self.cells["neuron"][cell]
        out["slot_subnet"][col, slot] = subnet
        out["slot_neuron"][col, slot] = self.offsets[subnet] + neuron
        out["slot_value"][col, slot] = neuron // self.subnets.cells
        # Synapse rows: every synapse into these columns (one contiguous range of the store).
        s_lo, s_hi = np.searchsorted(self.syn_key, [
            keys.prefix(keys.SYNAPSE, layer=layer, post_col=c0),
            keys.prefix(keys.SYNAPSE, layer=layer, post_col=c0 + n)])
        syn = {k: v[s_lo:s_hi] for k, v in self.syn.items()}
        row_col = syn["post_col"] - c0
        row_counts = np.bincount(row_col, minlength=n)
        size = rows or row_bucket(int(row_counts.max(initial=0)))
        row = np.arange(len(row_col)) - np.repeat(np.cumsum(row_counts) - row_counts, row_counts)
        pre_slot = self.slot_of(layer, syn["post_col"] - syn["delay"], syn["pre_subnet"], syn["pre"])
        post_slot = self.slot_of(layer, syn["post_col"], syn["post_subnet"], syn["post"])
        assert (pre_slot >= 0).all() and (post_slot >= 0).all(), "a synapse of a neuron never used"
        for name, values, fill in (("row_delay", syn["delay"], 0), ("row_pre", pre_slot, 0),
                                   ("row_post", post_slot, 0), ("row_weight", syn["weight"], 0.0)):
            table = np.full((n, size), fill, np.float32 if name == "row_weight" else np.int64)
            table[row_col, row] = values
            out[name] = table
        return out

    def goal_weights(self, titles: np.ndarray, layer: int, c0: int, n: int, slots: int,
                     which: str = "forward") -> np.ndarray:
        """``[n, len(titles), slots]``: the title -> note weights (or the note -> title
        ``feedback`` weights) of each title into the slots of columns ``c0 .. c0 + n - 1``
        (a title id ``-1``: none)."""
        out = np.zeros((n, len(titles), slots), np.float32)
        for b, title in enumerate(titles):
            if title < 0:
                continue
            lo, hi = np.searchsorted(self.link_key, [
                keys.prefix(keys.LINK, title=title, layer=layer),
                keys.prefix(keys.LINK, title=title, layer=layer + 1)])
            link = {k: v[lo:hi] for k, v in self.links.items()}
            inside = (link["column"] >= c0) & (link["column"] < c0 + n)
            link = {k: v[inside] for k, v in link.items()}
            slot = self.slot_of(layer, link["column"], link["subnet"], link["neuron"])
            out[link["column"] - c0, b, slot] = link[which]
        return out

    # -- look-ups for identification --------------------------------------------------

    def track(self, title: int, layer: int, subnet: int) -> tuple[np.ndarray, np.ndarray]:
        """The goal links of one title's track: ``(column, neuron)`` arrays, in order."""
        lo, hi = np.searchsorted(self.link_key, [
            keys.prefix(keys.LINK, title=title, layer=layer, subnet=subnet),
            keys.prefix(keys.LINK, title=title, layer=layer, subnet=subnet + 1)])
        return self.links["column"][lo:hi], self.links["neuron"][lo:hi]

    def used_columns(self, subnet: int, value: int) -> np.ndarray:
        """``[m, 2]`` (layer, column) pairs where a neuron of ``value`` in ``subnet`` was used,
        sorted and distinct."""
        if self._by_value is None:
            c = self.cells
            value_of = c["neuron"] // self.subnets.cells
            order = np.lexsort((c["column"], c["layer"], value_of, c["subnet"]))
            self._by_value = {"order": order,
                              "key": c["subnet"][order] * keys.MAX_NEURONS + value_of[order]}
        by = self._by_value
        key = subnet * keys.MAX_NEURONS + value
        lo, hi = np.searchsorted(by["key"], [key, key + 1])
        rows = by["order"][lo:hi]
        pairs = np.stack([self.cells["layer"][rows], self.cells["column"][rows]], axis=1)
        return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)

    def weight(self, layer, column, delay, pre_subnet, pre, post_subnet, post) -> np.ndarray:
        """Learned weight of each given synapse (0 where it does not exist); arrays broadcast."""
        key = keys.pack(keys.SYNAPSE, [np.asarray(x) for x in
                                       (layer, column, delay, pre_subnet, pre, post_subnet, post)],
                        check=False)
        if not len(self.syn_key):
            return np.zeros(np.shape(key), np.float32)
        where = np.minimum(np.searchsorted(self.syn_key, key), len(self.syn_key) - 1)
        return np.where(self.syn_key[where] == key, self.syn["weight"][where], 0.0).astype(np.float32)

    def links_at(self, layer: np.ndarray, subnet: int, column: np.ndarray, neuron: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every title linked to the given (layer, column, neuron) notes.

        **Returns:** ``(query index, title, feedback weight)`` of each matching link.
        """
        lk = self.links
        if self._by_note is None:
            order = np.lexsort((lk["title"], lk["neuron"], lk["subnet"], lk["column"], lk["layer"]))
            note = keys.pack(keys.CELL, [lk["layer"][order], lk["column"][order],
                                         lk["subnet"][order], lk["neuron"][order]], check=False)
            self._by_note = {"order": order, "key": note}
        by = self._by_note
        key = keys.pack(keys.CELL, [np.asarray(layer), np.asarray(column),
                                    np.full(np.shape(column), subnet), np.asarray(neuron)], check=False)
        lo = np.searchsorted(by["key"], key, side="left")
        hi = np.searchsorted(by["key"], key, side="right")
        counts = hi - lo
        query = np.repeat(np.arange(len(key)), counts)
        rows = by["order"][np.repeat(lo, counts) + np.arange(counts.sum())
                           - np.repeat(np.cumsum(counts) - counts, counts)]
        return query, lk["title"][rows], lk["feedback"][rows]
