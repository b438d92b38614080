"""Merging a chunk into a sorted table: the result of one stable sort of both, bit for bit."""

import numpy as np
import pytest

from jaxsnn_music.network.goal import empty_links, merge_links
from jaxsnn_music.network.synapses import SynapseStore, merge
from jaxsnn_music.network.sorted_merge import pack_keys

FIELDS = ("layer", "subnet", "post_col", "delay", "pre", "post")


def random_changes(rng, n):
    """Weight changes with many repeated keys (few values per field)."""
    rows = {"layer": rng.integers(0, 3, n), "subnet": rng.integers(0, 2, n),
            "post_col": rng.integers(0, 40, n), "delay": rng.integers(1, 5, n),
            "pre": rng.integers(0, 6, n), "post": rng.integers(0, 6, n)}
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


def test_links_keep_the_first_row_of_a_key():
    links = merge_links(empty_links(), [0, 0, 1], [0, 0, 0], [0, 1, 0], [5, 2, 2], [7, 7, 7], 3.0, 1.0)
    links = merge_links(links, [1, 0, 2, 2], [0, 0, 0, 0], [0, 1, 0, 0], [2, 2, 0, 0], [7, 7, 9, 9],
                        4.0, 2.0)
    n = int(links.count)
    keys = list(zip(*(np.asarray(getattr(links, k))[:n].tolist()
                      for k in ("title", "layer", "subnet", "column", "neuron"))))
    assert keys == [(0, 0, 0, 5, 7), (0, 0, 1, 2, 7), (1, 0, 0, 2, 7), (2, 0, 0, 0, 9)]
    assert np.asarray(links.forward)[:n].tolist() == [3.0, 3.0, 3.0, 4.0]
    assert np.asarray(links.feedback)[:n].tolist() == [1.0, 1.0, 1.0, 2.0]
    assert (np.asarray(links.title)[n:] == np.iinfo(np.int32).max).all()


def test_packed_keys_refuse_values_out_of_range():
    assert pack_keys([np.array([1, 0]), np.array([0, 3])], [1, 2]).tolist() == [4, 3]
    with pytest.raises(ValueError):
        pack_keys([np.array([-1])], [4])
    with pytest.raises(ValueError):
        pack_keys([np.array([16])], [4])
