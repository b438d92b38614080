"""Merging a chunk into a sorted table: the result of one stable sort of both, bit for bit."""

import numpy as np
import pytest

from jaxsnn_music.network import keys
from jaxsnn_music.network.cells import CellTable, merge_cells
from jaxsnn_music.network.goal import empty_links, merge_links
from jaxsnn_music.network.synapses import SynapseStore, merge

FIELDS = keys.names(keys.SYNAPSE)


def random_changes(rng, n):
    """Weight changes with many repeated keys (few values per field)."""
    rows = {"layer": rng.integers(0, 3, n), "post_col": rng.integers(0, 40, n),
            "delay": rng.integers(1, 5, n), "pre_subnet": rng.integers(0, 2, n),
            "pre": rng.integers(0, 6, n), "post_subnet": rng.integers(0, 2, n),
            "post": rng.integers(0, 6, n)}
    return {**rows, "weight": rng.normal(0, 10, n).astype(np.float32)}


def reference(tables, w_min, w_max):
    """The store after merging ``tables`` one after another, written plainly: one stable
    sort of [store rows, new rows] per merge and a float32 sum from 0 in that order."""
    store = []
    for table in tables:
        rows = store + [(tuple(int(table[k][i]) for k in FIELDS), table["weight"][i])
                        for i in range(len(table["weight"]))]
        rows.sort(key=lambda r: r[0])  # stable
        sums = {}
        for key, w in rows:
            sums[key] = sums.get(key, np.float32(0)) + np.float32(w)
        store = [(k, np.clip(w, np.float32(w_min), np.float32(w_max))) for k, w in sums.items()]
    return store


@pytest.mark.parametrize("w_min,w_max", [(-np.inf, np.inf), (-5.0, 12.5)])
def test_chunked_merge_equals_one_stable_sort_per_merge(w_min, w_max):
    rng = np.random.default_rng(1)
    tables = [random_changes(rng, n) for n in (700, 0, 1500, 300)]
    store = SynapseStore.empty()
    for table in tables:
        store = merge(store, table, w_min, w_max)
    want = reference(tables, w_min, w_max)
    got = store.to_numpy()
    assert store.capacity == 1 << (len(want) - 1).bit_length() and store.n == len(want)
    assert [tuple(int(got[k][i]) for k in FIELDS) for i in range(store.n)] == [k for k, _ in want]
    assert got["weight"].tobytes() == np.array([w for _, w in want], np.float32).tobytes()
    padding = np.asarray(store.layer)[store.n:]
    assert (padding == -1).all() and not np.asarray(store.weight)[store.n:].any()


def _links(title, layer, subnet, column, neuron):
    return dict(title=title, layer=layer, subnet=subnet, column=column, neuron=neuron)


def test_links_keep_the_first_row_of_a_key():
    links = merge_links(empty_links(), _links([0, 0, 1], [0, 0, 0], [0, 1, 0], [5, 2, 2], [7, 7, 7]),
                        3.0, 1.0)
    links = merge_links(links, _links([1, 0, 2, 2], [0, 0, 0, 0], [0, 1, 0, 0], [2, 2, 0, 0],
                                      [7, 7, 9, 9]), 4.0, 2.0)
    n = int(links.count)
    keys = list(zip(*(np.asarray(getattr(links, k))[:n].tolist()
                      for k in ("title", "layer", "subnet", "column", "neuron"))))
    assert keys == [(0, 0, 0, 5, 7), (0, 0, 1, 2, 7), (1, 0, 0, 2, 7), (2, 0, 0, 0, 9)]
    assert np.asarray(links.forward)[:n].tolist() == [3.0, 3.0, 3.0, 4.0]
    assert np.asarray(links.feedback)[:n].tolist() == [1.0, 1.0, 1.0, 2.0]
    assert (np.asarray(links.title)[n:] == np.iinfo(np.int32).max).all()


def test_cell_uses_add_up():
    table = merge_cells(CellTable.empty(), dict(layer=[0, 0, 1], column=[3, 3, 0], subnet=[0, 0, 1],
                                                neuron=[5, 5, 2], uses=[1, 1, 1]))
    table = merge_cells(table, dict(layer=[0, 0], column=[3, 0], subnet=[0, 0], neuron=[5, 1],
                                    uses=[1, 1]))
    got = table.to_numpy()
    assert list(zip(*(got[k].tolist() for k in (*keys.names(keys.CELL), "uses")))) == [
        (0, 0, 0, 1, 1), (0, 3, 0, 5, 3), (1, 0, 1, 2, 1)]


def test_packed_keys_keep_the_order_and_refuse_values_out_of_range():
    layout = (("a", 1), ("b", 2))
    assert keys.pack(layout, [np.array([1, 0]), np.array([0, 3])]).tolist() == [4, 3]
    assert keys.unpack(layout, np.array([4, 3]))["b"].tolist() == [0, 3]
    with pytest.raises(ValueError):
        keys.pack(layout, [np.array([-1]), np.array([0])])
    with pytest.raises(ValueError):
        keys.pack(layout, [np.array([0]), np.array([4])])
    # A prefix bounds every row that starts with it, also at a field's largest value.
    k = keys.pack(layout, [np.array([0, 0, 1]), np.array([1, 3, 0])])
    assert np.searchsorted(k, [keys.prefix(layout, a=0), keys.prefix(layout, a=1)]).tolist() == [0, 2]
