"""Goal links: the structural, Hebbian wiring of a title neuron to its notes.

MODEL.md section 3: after each event window, a title -> note link (weight 3) and a
note -> title feedback link (weight 1) are created for every note neuron that
fired at least ``coincidence_count`` times within ``coincidence_window_ms`` of a
title-neuron spike. "Within" is inclusive and counted in whole steps; the title
spikes looked at are those up to the end of the window (the rule runs *after*
the window), which includes the previous window's last steps.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.network.buckets import bucket
from jaxsnn_music.network import keys
from jaxsnn_music.network.sorted_merge import place, union


class CoincidenceRule(eqx.Module):
    """Which note neurons of a window earn goal links."""

    window_steps: int = eqx.field(static=True)
    min_count: int = eqx.field(static=True)

    @staticmethod
    def from_config(cfg: NetworkConfig) -> CoincidenceRule:
        return CoincidenceRule(cfg.coincidence_steps, cfg.coincidence_count)

    def counts(self, notes: Bool[Array, "steps neurons"], title: Bool[Array, " steps"],
               title_before: Bool[Array, " steps"]) -> Int[Array, " neurons"]:
        """Spikes of each note neuron that lie within the window of a title spike.

        **Arguments:**

        - `notes`: the note neurons' spikes in this window.
        - `title`: the title neuron's spikes in this window.
        - `title_before`: its spikes in the previous window (zeros for the first).

        **Returns:** the number of coincident spikes per note neuron.
        """
        steps = notes.shape[0]
        both = jnp.concatenate([title_before, title])
        padded = jnp.pad(both, (0, self.window_steps))
        near = jnp.zeros(steps, bool)
        for offset in range(-self.window_steps, self.window_steps + 1):
            near = near | padded[steps + offset: 2 * steps + offset]
        return jnp.sum(notes & near[:, None], axis=0)

    def __call__(self, notes, title, title_before) -> Bool[Array, " neurons"]:
        """Whether each note neuron gets its title links after this window."""
        return self.counts(notes, title, title_before) >= self.min_count


class GoalLinks(eqx.Module):
    """All title <-> note links, sorted by (title, layer, subnet, column, neuron).

    Padded to a capacity bucket (see :mod:`.buckets`); the first ``count`` rows
    are links. A link's two weights are stored per row so that ablations can
    weaken or restrict them after learning.
    """

    title: Int[Array, " capacity"]
    layer: Int[Array, " capacity"]
    subnet: Int[Array, " capacity"]
    column: Int[Array, " capacity"]
    neuron: Int[Array, " capacity"]
    forward: Float[Array, " capacity"]
    """title -> note weight."""
    feedback: Float[Array, " capacity"]
    """note -> title weight."""
    count: Int[Array, ""]

    @property
    def capacity(self) -> int:
        return self.title.shape[0]


def empty_links(capacity: int | None = None) -> GoalLinks:
    capacity = bucket(0) if capacity is None else capacity
    ints = jnp.full(capacity, jnp.iinfo(jnp.int32).max, jnp.int32)
    zeros = jnp.zeros(capacity, jnp.float32)
    return GoalLinks(ints, ints, ints, ints, ints, zeros, zeros, jnp.zeros((), jnp.int32))


_KEYS = keys.names(keys.LINK)


def merge_links(links: GoalLinks, new: dict[str, np.ndarray], forward: float, feedback: float
                ) -> GoalLinks:
    """Add new links (NumPy arrays of their key fields, :data:`~.keys.LINK`) with the given
    weights.

    A link is created, not accumulated: a key that is already there, or that comes
    twice, keeps its first row. Runs on the host at the cost of the new links plus
    one copy of the table (see :mod:`.sorted_merge`).

    **Returns:** the sorted link table in the capacity bucket of its size.
    """
    n = int(links.count)
    old = {k: np.asarray(getattr(links, k))[:n] for k in (*_KEYS, "forward", "feedback")}
    new = {k: np.asarray(new[k], np.int32) for k in _KEYS}
    u = union(keys.pack(keys.LINK, old, check=False), keys.pack(keys.LINK, new))
    capacity = bucket(u.size)
    big = np.iinfo(np.int32).max
    fresh = np.count_nonzero(~u.known)
    columns = [jnp.asarray(place(u, capacity, big, old[k], new[k][u.new_rows])) for k in _KEYS]
    weights = [jnp.asarray(place(u, capacity, 0.0, old[k], np.full(fresh, w, np.float32)))
               for k, w in (("forward", forward), ("feedback", feedback))]
    return GoalLinks(*columns, *weights, jnp.asarray(u.size, jnp.int32))
