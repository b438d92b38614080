"""Parse time of a whole corpus, cold (empty cache) and cached, printed as a table.

    python benchmarks/bench_parse.py [--selection paper] [--preset default] [--workers N]

Not a test: it prints numbers to quote, with the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

from jaxsnn_music.config import load_config
from jaxsnn_music.corpus.cache import ParseCache
from jaxsnn_music.corpus.load import load_corpus
from jaxsnn_music.corpus.sources import selection_items
from jaxsnn_music.corpus.stats import corpus_stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selection", default="paper")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    cfg = load_config(args.preset)
    items = selection_items(args.selection)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"corpus: {args.selection} ({len(items)} files), preset {args.preset}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = ParseCache(tmp)
        for label in ("cold", "cached"):
            t0 = time.perf_counter()
            report = load_corpus(items, cfg.encoding, cache=cache, workers=args.workers, progress=False)
            seconds = time.perf_counter() - t0
            stats = corpus_stats(report)
            print(f"{label:>6}: {seconds:7.2f} s  {stats['events'] / seconds:>12,.0f} events/s  "
                  f"({report.parsed} parsed, {report.cached} cached, {len(report.skipped)} skipped, "
                  f"{stats['events']:,} events)")


if __name__ == "__main__":
    main()
