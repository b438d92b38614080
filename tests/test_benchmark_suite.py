"""The benchmark suite's quick mode runs end to end and writes the fields it promises.

Not a timing test: it checks the shape of the JSON (and that JAX and the NumPy
reference agree on the tiny pieces), never how fast anything was.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from conftest import require_corpus

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "suite.py"


def test_quick_suite_writes_every_section(tmp_path):
    corpus = require_corpus()
    out = tmp_path / "suite.json"
    # As a user runs it, in its own process (it clears JAX's caches to time compilation).
    done = subprocess.run([sys.executable, str(SUITE), "--quick", "--json", str(out),
                           "--corpus", str(corpus)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout
    results = json.loads(out.read_text())

    machine = results["machine"]
    for key in ("cpu_count", "jax", "jaxlib", "backend", "devices", "gpu", "memory_gib"):
        assert key in machine, key
    assert machine["cpu_count"] >= 1 and machine["devices"]
    assert results["plan"] == "quick" and results["corpus"]["events"] > 0

    compile_ = results["compile"]
    assert compile_["first_call_s"] > 0 and compile_["second_call_s"] > 0
    assert compile_["learn_batch_aot"] and all(b["compile_s"] > 0 for b in compile_["learn_batch_aot"])

    pieces = results["pieces"]
    assert [row["pieces"] for row in pieces] == [1, 2, 3]
    for row in pieces:
        assert row["events"] > 0 and row["events_per_s"] > 0 and row["synapses"] > 0
        assert row["peak_rss_mib"] > 0
    assert [row["events_per_track"] for row in results["lengths"]] == [8, 16]
    assert [row["chunks"] for row in results["chunks"]] == [1, 3]

    run = results["corpus_run"]
    assert run["checkpoint_mib"] > 0 and run["synapses"] > 0 and run["learn_s"] > 0

    numpy = results["numpy"]
    assert numpy["agree"] and numpy["same_keys"] and numpy["same_links"]
    assert numpy["numpy_events_per_s"] > 0 and math.isfinite(numpy["ratio"]) and numpy["ratio"] > 0

    recall = results["recall"]
    assert "available" in recall
    if recall["available"] and "error" not in recall:
        assert recall["events_per_s"] > 0
    else:
        assert "recall:" in printed

    assert "JAX vs per-step NumPy" in printed and "GPU:" in printed
