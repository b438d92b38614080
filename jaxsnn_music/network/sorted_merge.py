"""Merging a chunk of rows into a big sorted table, at the cost of the chunk.

The synapse store and the goal links are tables sorted by a key, with distinct
keys. Every :func:`~jaxsnn_music.network.grow` call adds a chunk of new rows
to them. Sorting the table and the chunk together again costs the whole table
every time, so a corpus learned in many chunks paid for the table many times
over. Here only the chunk is sorted (on the host, with NumPy); it is then
matched against the table by binary search, and the two sorted sequences are
interleaved in one linear pass (a copy, no comparisons). Keys are packed by
:mod:`.keys`.

The result is the one a stable sort of ``[table rows, chunk rows]`` gives: for
a key present in both, the table's row comes first and then the chunk's rows in
their original order. That is what makes summing in that order (see
:func:`segment_sums`) bit-for-bit the sum the full sort produced.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class Union:
    """Where the rows of a sorted table and of a chunk go in their merged table.

    The chunk's rows, stably sorted (``order``), fall into groups of equal key
    (``group`` per sorted row; ``first`` marks each group's first row). Group ``g``
    either matches table row ``table_row[g]`` (``known[g]``) or is a new key,
    which lands at merged row ``new_at`` (one per new group, in key order).
    The table's rows keep their order and fill the merged rows marked
    ``from_table``; the new keys' rows are taken from the chunk's rows ``new_rows``
    (each new group's first row).
    """

    order: np.ndarray
    first: np.ndarray
    group: np.ndarray
    table_row: np.ndarray
    known: np.ndarray
    from_table: np.ndarray
    new_at: np.ndarray
    new_rows: np.ndarray
    size: int
    """Rows of the merged table."""


def union(table_keys: np.ndarray, chunk_keys: np.ndarray) -> Union:
    """Match a chunk against a table.

    **Arguments:**

    - `table_keys`: the table's keys, sorted, distinct.
    - `chunk_keys`: the chunk's keys, in any order, repeats allowed.

    **Returns:** the :class:`Union`. Costs ``O(c log c + c log t + t)`` for a chunk of
    ``c`` rows and a table of ``t``; the ``t`` part is a copy-like pass.
    """
    order = np.argsort(chunk_keys, kind="stable")
    keys = chunk_keys[order]
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    group = np.cumsum(first) - 1
    distinct = keys[first]
    table_row = np.searchsorted(table_keys, distinct)
    known = table_row < len(table_keys)
    known[known] = table_keys[table_row[known]] == distinct[known]
    fresh = table_row[~known]
    # A new key lands after every table row below it and every new key before it.
    new_at = fresh + np.arange(len(fresh))
    size = len(table_keys) + len(fresh)
    from_table = np.ones(size, bool)
    from_table[new_at] = False
    new_rows = order[first][~known]
    return Union(order, first, group, table_row, known, from_table, new_at, new_rows, size)


def place(u: Union, capacity: int, fill, table_values: np.ndarray, new_values: np.ndarray
          ) -> np.ndarray:
    """One column of the merged table, padded to ``capacity`` rows with ``fill``.

    **Arguments:** the :class:`Union`, the padded length, the padding value, the
    table's column (one value per table row) and the new keys' values (one per new
    group, as :attr:`Union.new_at`). The dtype is the table column's.
    """
    out = np.empty(capacity, table_values.dtype)
    out[u.size:] = fill
    out[:u.size][u.from_table] = table_values  # a streaming copy around the new rows
    out[u.new_at] = new_values
    return out


def segment_sums(u: Union, table_values: np.ndarray, chunk_values: np.ndarray) -> np.ndarray:
    """Per chunk group: 0, plus the table's value where the key is known, plus the
    group's chunk values one by one in their original order (float32, sequential).

    This is the order in which a segment sum over a stable sort of ``[table,
    chunk]`` adds them, so the result is identical to it bit for bit.
    """
    sums = np.zeros(len(u.known), np.float32)
    sums[u.known] += table_values[u.table_row[u.known]]
    np.add.at(sums, u.group, np.asarray(chunk_values, np.float32)[u.order])
    return sums
