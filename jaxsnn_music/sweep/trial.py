"""One trial of a sweep: config -> corpus -> memorize (or reuse) -> recall scores.

A trial function is anything ``trial_fn(cfg, params) -> dict of metrics``;
:class:`DefaultTrial` is the project's: it loads the corpus (once per encoding
config), picks the pieces the trial keys ask for (``trial.pieces``,
``trial.seed``), memorizes them, and scores recall with
:mod:`jaxsnn_music.recall`.

**Shared networks.** Many trials differ only in recall settings (facilitation,
read-out, recall currents), which do not change what learning produces. So
memorized networks are cached under a key made of the *learning* fingerprint
(:func:`learning_fingerprint`: the encoding section and the network section
minus its recall-only keys; a preset is just values of these) and the exact
pieces (title, source, file hash, events per track). A trial with a known key restores the network
instead of learning again. The cache lives in this process (the newest
``max_items`` networks) and, given a folder, on disk as checkpoints
(:mod:`jaxsnn_music.checkpoint`), which survive a resumed sweep. Only exact
matches are reused: a network of 50 pieces is never grown into one of 100,
because merging in another order sums the weights in another float order.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jaxsnn_music.config import Config, learned_keys
from jaxsnn_music.sweep.spec import SweepError, SweepSpec

CONFIG_SECTIONS_FOR_LEARNING = ("encoding", "network")
"""Sections whose learned keys (:func:`~jaxsnn_music.config.learned_keys`, declared in the
schema) decide the network a trial memorizes. A trial learns its pieces in one call, so the
``memorize`` section (the chunks of a resumable run) does not apply; recall-only keys such
as ``network.facilitation_*`` are left out, so trials that differ only in them share one
network. A key added to the schema counts as learned unless declared otherwise, so it can
only cost a cache miss, never a wrong reuse."""

MEMORIZE_METRICS = ("pieces", "events", "synapses", "synapse_mb", "goal_links", "columns",
                    "titles", "memorize_s", "network_reused")
"""What the default trial measures without recall (``memorize_s``: seconds spent learning in
this trial, compilation included, 0 when the network was reused)."""


def learning_fingerprint(cfg: Config) -> str:
    """A short hash of every config value that can change the memorized network."""
    learned = set(learned_keys())
    tree = {s: {key: value for key, value in dataclasses.asdict(getattr(cfg, s)).items()
                if f"{s}.{key}" in learned} for s in CONFIG_SECTIONS_FOR_LEARNING}
    payload = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def corpus_key(pieces: Sequence[Any]) -> str:
    """A short hash of exactly which pieces (and which versions of their files) are learned."""
    rows = [[p.title, p.source, p.sha256, [t.n_events for t in p.tracks]] for p in pieces]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


class NetworkCache:
    """Memorized networks by (learning fingerprint, pieces).

    **Arguments:**

    - `directory`: also keep them on disk here, as checkpoints (None: memory only).
    - `max_items`: networks kept in memory (the least recently used goes first).
    """

    def __init__(self, directory: str | Path | None = None, max_items: int = 2):
        self.directory = None if directory is None else Path(directory)
        self.max_items = max_items
        self._memory: collections.OrderedDict[str, Any] = collections.OrderedDict()

    @staticmethod
    def key(cfg: Config, pieces: Sequence[Any]) -> str:
        return f"{learning_fingerprint(cfg)}-{corpus_key(pieces)}"

    def get(self, cfg: Config, pieces: Sequence[Any],
            memorize: Callable[[], Any]) -> tuple[Any, str]:
        """The network for ``cfg`` and ``pieces``: cached, or made by ``memorize()`` and kept.

        **Returns:** ``(network, how)`` with ``how`` one of ``memory``, ``disk``, ``memorized``.
        """
        key = self.key(cfg, pieces)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key], "memory"
        network, how = self._restore(key), "disk"
        if network is None:
            network, how = memorize(), "memorized"
            self._save(key, network, cfg, pieces)
        self._memory[key] = network
        while len(self._memory) > self.max_items:
            self._memory.popitem(last=False)
        return network, how

    def _restore(self, key: str):
        if self.directory is None or not (self.directory / key).is_dir():
            return None
        from jaxsnn_music.checkpoint import restore
        from jaxsnn_music.errors import UserError

        try:
            network, _, _ = restore(self.directory / key)
        except UserError:  # incomplete or damaged (e.g. a killed save): learn again
            return None
        return network

    def _save(self, key: str, network, cfg: Config, pieces: Sequence[Any]) -> None:
        if self.directory is None:
            return
        from jaxsnn_music.checkpoint import corpus_manifest, save

        save(self.directory / key, network, cfg, corpus_manifest(pieces),
             extra={"sweep_cache_key": key})


def recall_evaluator() -> Callable[..., dict[str, Any]] | None:
    """:func:`jaxsnn_music.evaluate.sweep_metrics` (``(network, pieces, cfg) -> metrics``),
    or None where the recall package is not installed."""
    try:
        from jaxsnn_music.evaluate import sweep_metrics
    except ImportError:
        return None
    return sweep_metrics


class DefaultTrial:
    """memorize -> recall evaluation, as a sweep trial function.

    **Arguments:**

    - `items`: the corpus (:func:`jaxsnn_music.corpus.sources.resolve_items`).
    - `metric`: the metric the sweep optimizes; a recall metric while
      :mod:`jaxsnn_music.recall` is missing is an error (memorize metrics are
      :data:`MEMORIZE_METRICS`).
    - `network_cache`: shared networks (default: in memory only).
    - `parse_cache`: the corpus parse cache (default: the user's; None: parse every time).
    - `echo`: called with one line about corpus loading problems, if given.
    """

    def __init__(self, items: Sequence[Any], metric: str | None = None,
                 network_cache: NetworkCache | None = None, parse_cache: Any = "default",
                 echo: Callable[[str], None] | None = None):
        self.items = list(items)
        self.metric = metric
        self.network_cache = network_cache or NetworkCache()
        self._parse_cache = parse_cache
        self._echo = echo or (lambda line: None)
        self._corpora: dict[str, dict[int, Any]] = {}

    @property
    def needs_recall(self) -> bool:
        return self.metric is not None and self.metric not in MEMORIZE_METRICS

    def check(self, spec: SweepSpec) -> None:
        """Refuse, before any trial runs, a sweep this trial cannot score."""
        if self.needs_recall and recall_evaluator() is None:
            raise SweepError(f"{spec.source}: metric {self.metric!r} comes from recall evaluation, "
                             f"but jaxsnn_music.recall is not available (memorize-only metrics: "
                             f"{', '.join(MEMORIZE_METRICS)})")

    def pieces(self, cfg: Config, params: dict[str, Any]) -> list:
        """The pieces a trial stores: ``trial.pieces`` of them (default: all), the corpus's
        first ones or, with ``trial.seed``, the first ones of a seeded permutation (so the
        n-piece set of a seed lies inside its (n+k)-piece set). Files that cannot be read
        are skipped (and the next ones taken); only the files needed are parsed, once per
        encoding config."""
        n = params.get("trial.pieces")
        seed = params.get("trial.seed")
        order = (np.arange(len(self.items)) if seed is None
                 else np.random.default_rng(seed).permutation(len(self.items)))
        want = len(self.items) if n is None else n
        chosen: list = []
        start = 0
        while len(chosen) < want and start < len(order):
            # Parse in blocks: a few more than still needed, in case some are refused.
            block = order[start:start + max(2 * (want - len(chosen)), 8)]
            start += len(block)
            chosen += [p for p in self._load(cfg, block) if p is not None][:want - len(chosen)]
        if n is not None and len(chosen) < n:
            raise SweepError(f"trial.pieces={n}, but the corpus has only {len(chosen)} usable pieces")
        return chosen

    def _load(self, cfg: Config, indices: np.ndarray) -> list:
        """Pieces of the given items (None for refused files), parsed at most once."""
        from jaxsnn_music.corpus.cache import ParseCache, encoding_key
        from jaxsnn_music.corpus.load import load_corpus

        loaded = self._corpora.setdefault(encoding_key(cfg.encoding), {})
        missing = [int(i) for i in indices if int(i) not in loaded]
        if missing:
            cache = ParseCache() if self._parse_cache == "default" else self._parse_cache
            report = load_corpus([self.items[i] for i in missing], cfg.encoding, cache=cache,
                                 progress=False)
            by_title = {p.title: p for p in report.pieces}
            for title, reason in report.skipped:
                self._echo(f"corpus: skipped {title}: {reason}")
            for i in missing:
                loaded[i] = by_title.get(self.items[i].title)
        return [loaded[int(i)] for i in indices]

    def __call__(self, cfg: Config, params: dict[str, Any]) -> dict[str, Any]:
        from jaxsnn_music.network import Network, grow

        pieces = self.pieces(cfg, params)
        seconds = 0.0

        def learn():
            nonlocal seconds
            t0 = time.perf_counter()
            network = grow(Network.empty(), pieces, cfg)
            network.synapses.count.block_until_ready()
            seconds = time.perf_counter() - t0
            return network

        network, how = self.network_cache.get(cfg, pieces, learn)
        metrics: dict[str, Any] = {
            "pieces": len(pieces),
            "events": int(sum(t.n_events for p in pieces for t in p.tracks)),
            "synapses": network.synapses.n,
            "synapse_mb": network.synapses.nbytes / 1e6,
            "goal_links": int(network.goal.count),
            "columns": int(network.columns().max(initial=0)),
            "titles": network.n_titles,
            "memorize_s": seconds,
            "network_reused": how != "memorized",
        }
        evaluate = recall_evaluator()
        if evaluate is not None:
            metrics.update(evaluate(network, pieces, cfg))
        elif self.needs_recall:
            raise SweepError(f"metric {self.metric!r} needs jaxsnn_music.recall's evaluate(), "
                             f"which does not exist yet")
        return metrics
