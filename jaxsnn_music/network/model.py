"""The memorized network: everything learning leaves behind, as plain arrays.

:class:`Network` holds the sequential synapse store, the goal links, and per
title its tracks' lengths (the end-of-piece markers recall stops at). Column
counts are derived: layer ``l`` has as many columns as its longest track. The
titles' names are the only non-array part (a static field), so
``eqx.partition(network, eqx.is_array)`` separates what a checkpoint saves as
arrays from its metadata.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int

from jaxsnn_music.config import Config
from jaxsnn_music.network.cells import CellTable
from jaxsnn_music.network.goal import GoalLinks, empty_links
from jaxsnn_music.network.synapses import SynapseStore


class Network(eqx.Module):
    """A memory of pieces (MODEL.md section 3).

    **Fields:**

    - `synapses`: sequential STDP synapses (:class:`SynapseStore`).
    - `goal`: title <-> note links (:class:`GoalLinks`).
    - `cells`: the neurons learning used, column by column, and how often
      (:class:`~jaxsnn_music.network.cells.CellTable`): the neurons recall simulates.
    - `track_lengths`: ``[titles, layers]`` events of each title's track per layer
      (0 where the piece has no such track); the last column of title ``t`` in
      layer ``l`` is ``track_lengths[t, l] - 1``.
    - `titles`: each title neuron's piece title (static metadata).
    - `config`: the config it was memorized with (static; None for an empty network): what
      recall, identification and a checkpoint take by default.
    """

    synapses: SynapseStore
    goal: GoalLinks
    cells: CellTable
    track_lengths: Int[Array, "titles layers"]
    titles: tuple[str, ...] = eqx.field(static=True)
    config: Config | None = eqx.field(static=True, default=None)

    @staticmethod
    def empty(config: Config | None = None) -> Network:
        return Network(SynapseStore.empty(), empty_links(), CellTable.empty(),
                       jnp.zeros((0, 0), jnp.int32), (), config)

    @property
    def n_titles(self) -> int:
        return len(self.titles)

    @property
    def n_layers(self) -> int:
        return int(self.track_lengths.shape[1])

    def columns(self) -> np.ndarray:
        """Columns recruited per layer (the longest track stored in it)."""
        lengths = np.asarray(self.track_lengths)
        return lengths.max(axis=0) if lengths.size else np.zeros(self.n_layers, np.int64)

    def end_columns(self) -> np.ndarray:
        """``[titles, layers]``: each title's last column per layer (-1: no such track)."""
        return np.asarray(self.track_lengths) - 1
