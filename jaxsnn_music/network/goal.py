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
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from jaxsnn_music.config import NetworkConfig
from jaxsnn_music.network.buckets import bucket, count_trace, fit


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


@jax.jit
def _merge_links(links: GoalLinks, new: GoalLinks) -> GoalLinks:
    count_trace("goal.merge_links")
    cat = lambda a, b: jnp.concatenate([a, b])
    valid = cat(jnp.arange(links.capacity) < links.count, jnp.arange(new.capacity) < new.count)
    big = jnp.iinfo(jnp.int32).max
    keys = [jnp.where(valid, cat(a, b), big) for a, b in (
        (links.title, new.title), (links.layer, new.layer), (links.subnet, new.subnet),
        (links.column, new.column), (links.neuron, new.neuron))]
    *keys, forward, feedback = jax.lax.sort(
        (*keys, cat(links.forward, new.forward), cat(links.feedback, new.feedback)),
        num_keys=len(keys), is_stable=True)
    # A link is created, not accumulated: a key seen twice keeps one row.
    change = jnp.zeros(valid.shape[0] - 1, bool)
    for k in keys:
        change = change | (k[1:] != k[:-1])
    first = jnp.concatenate([jnp.ones(1, bool), change])
    slot = jnp.where(first, jnp.cumsum(first) - 1, valid.shape[0])
    count = jnp.sum(first & (keys[0] != big)).astype(jnp.int32)
    put = lambda x, fill: jnp.full_like(x, fill).at[slot].set(x, mode="drop")
    return GoalLinks(*(put(k, big) for k in keys), put(forward, 0.0), put(feedback, 0.0), count)


def merge_links(links: GoalLinks, title, layer, subnet, column, neuron,
                forward: float, feedback: float) -> GoalLinks:
    """Add new links (NumPy arrays of their keys) with the given weights.

    **Returns:** the sorted link table in the capacity bucket of its size.
    """
    n = len(title)
    capacity = bucket(n)

    def pad(values, fill):
        out = np.full(capacity, fill, np.asarray(values).dtype if n else np.int32)
        out[:n] = values
        return jnp.asarray(out)

    new = GoalLinks(*(pad(np.asarray(v, np.int32), 0) for v in (title, layer, subnet, column, neuron)),
                    pad(np.full(n, forward, np.float32), 0.0), pad(np.full(n, feedback, np.float32), 0.0),
                    jnp.asarray(n, jnp.int32))
    merged = _merge_links(links, new)
    big = int(jnp.iinfo(jnp.int32).max)
    return fit(merged, bucket(int(merged.count)),
               {k: big for k in ("title", "layer", "subnet", "column", "neuron")})
