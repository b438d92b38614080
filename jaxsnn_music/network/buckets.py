"""Growth without recompiling: padded tables whose capacity doubles.

The network grows as pieces arrive, but a jit-compiled function recompiles for
every new input shape. So every growing table (synapses, goal links, learning
batches) is padded to a *capacity bucket*, a power of two, and carries how many
of its rows are real. Adding a piece recompiles only when a table crosses into
the next bucket, i.e. ``O(log n)`` times over a whole corpus.

This file also counts how often each compiled function is traced
(:func:`trace_counts`), so tests can check that growth does not retrace.
"""

from __future__ import annotations

import collections

MIN_CAPACITY = 256
_TRACES: collections.Counter[str] = collections.Counter()


def count_trace(name: str) -> None:
    """Call at the top of a jitted function's Python body: it runs once per trace."""
    _TRACES[name] += 1


def trace_counts() -> dict[str, int]:
    """How many times each compiled function of the network has been traced so far
    (0 for a name never traced)."""
    return collections.Counter(_TRACES)


def bucket(n: int, minimum: int = MIN_CAPACITY) -> int:
    """The capacity for ``n`` rows: the next power of two, at least ``minimum``."""
    n = max(int(n), minimum, 1)
    return 1 << (n - 1).bit_length()
