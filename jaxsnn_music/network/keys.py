"""Every table key of the network, packed into one int64, in one place.

The network's tables (sequential synapses, goal links, context cells) are
sorted by a key made of several small integer fields. Packing the fields into
one int64, most significant first, makes that order the order of plain
integers, so a table is found, merged and searched with NumPy's ``argsort`` and
``searchsorted``. The widths below are the network's size limits: a file that
needs more (a track of more than ``MAX_COLUMNS`` events, more than
``MAX_LAYERS`` tracks) is refused when it is loaded, never truncated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

LAYER_BITS, COLUMN_BITS, DELAY_BITS, SUBNET_BITS, NEURON_BITS, TITLE_BITS = 8, 18, 4, 2, 13, 22
MAX_LAYERS = 1 << LAYER_BITS
"""Tracks of a piece (one sequence layer each)."""
MAX_COLUMNS = 1 << COLUMN_BITS
"""Events of one track."""
MAX_DELAYS = (1 << DELAY_BITS) - 1
"""``network.n_delays`` (delay 0 is never stored)."""
MAX_SUBNETS = 1 << SUBNET_BITS
MAX_NEURONS = 1 << NEURON_BITS
"""Neurons of one subnetwork's column: values x context cells."""
MAX_TITLES = 1 << TITLE_BITS

SYNAPSE = (("layer", LAYER_BITS), ("post_col", COLUMN_BITS), ("delay", DELAY_BITS),
           ("pre_subnet", SUBNET_BITS), ("pre", NEURON_BITS), ("post_subnet", SUBNET_BITS),
           ("post", NEURON_BITS))
"""A sequential synapse: from neuron ``pre`` of subnetwork ``pre_subnet`` in column
``post_col - delay`` to neuron ``post`` of ``post_subnet`` in column ``post_col``, in one layer.
Every synapse into one column is one contiguous range (the first two fields)."""
LINK = (("title", TITLE_BITS), ("layer", LAYER_BITS), ("subnet", SUBNET_BITS),
        ("column", COLUMN_BITS), ("neuron", NEURON_BITS))
"""A goal link between a title and one note neuron."""
CELL = (("layer", LAYER_BITS), ("column", COLUMN_BITS), ("subnet", SUBNET_BITS),
        ("neuron", NEURON_BITS))
"""A neuron that learning used (a context cell, or a value's only neuron)."""

for _layout in (SYNAPSE, LINK, CELL):
    assert sum(bits for _, bits in _layout) <= 63


def names(layout: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(name for name, _ in layout)


def pack(layout: Sequence[tuple[str, int]], fields: Mapping[str, np.ndarray] | Sequence[np.ndarray],
         check: bool = True) -> np.ndarray:
    """One int64 per row whose order is the lexicographic order of the fields.

    **Arguments:**

    - `layout`: the key's fields and widths (:data:`SYNAPSE`, :data:`LINK`, :data:`CELL`), or
      any ``(name, bits)`` list.
    - `fields`: the columns by name (or in the layout's order); they broadcast.
    - `check`: refuse values outside ``[0, 2**bits)`` (skip only for a table that was checked
      when it was built).

    **Returns:** the packed keys.
    """
    columns = [fields[name] for name in names(layout)] if isinstance(fields, Mapping) else fields
    columns = np.broadcast_arrays(*[np.asarray(c) for c in columns])
    key = np.zeros(columns[0].shape, np.int64)
    for (name, width), column in zip(layout, columns):
        if check and column.size and (int(column.min()) < 0 or int(column.max()) >= 1 << width):
            raise ValueError(f"key field {name} must lie in [0, 2**{width}), got "
                             f"{int(column.min())}..{int(column.max())}")
        # In place: no int64 copy of each column. Adding (not or-ing) lets a prefix bound of
        # 2**bits carry into the field before it.
        np.left_shift(key, width, out=key)
        np.add(key, column.astype(np.int64, copy=False), out=key)
    return key


def prefix(layout: Sequence[tuple[str, int]], **fields) -> np.ndarray:
    """The smallest key whose leading fields are ``fields`` (the layout's first fields, in
    order; the rest 0): ``searchsorted`` of ``prefix(a)`` and of ``prefix(a + 1)`` bound the
    rows that start with ``a``."""
    given = names(layout)[:len(fields)]
    if set(given) != set(fields):
        raise ValueError(f"a prefix of {names(layout)} takes its first fields in order, got {fields}")
    rest = [(name, bits) for name, bits in layout[len(fields):]]
    columns = [fields[name] for name in given] + [0] * len(rest)
    return pack(layout, columns, check=False)


def unpack(layout: Sequence[tuple[str, int]], key: np.ndarray) -> dict[str, np.ndarray]:
    """The fields of packed keys (the inverse of :func:`pack`)."""
    out = {}
    key = np.asarray(key, np.int64)
    for name, width in reversed(layout):
        out[name] = key & ((1 << width) - 1)
        key = key >> width
    return {name: out[name] for name in names(layout)}
