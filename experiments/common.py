"""What every reproduction experiment shares: arguments, the corpus, networks, output.

Each experiment of ``experiments/`` (``corpus_counts``, ``network_growth``,
``goal_recall``, ``episodic_recall``, ``tempo``, ``recall_raster``) is a module
with ``NAME``, ``DESCRIPTION``, ``PRESETS`` (the presets it runs by default),
``add_arguments(parser)`` (its own options) and ``run(ctx) -> dict`` (the
headline numbers). :func:`main` turns such a module into a script::

    python experiments/NAME.py [--quick] [--out DIR] [--preset P ...] [--set KEY=VALUE ...]

and writes ``DIR/NAME/`` (JSON, CSV, PNG). ``experiments/reproduce.py`` runs them
all in one process, so compiled functions, parsed pieces and memorized networks
are shared between them (:func:`memorized` caches networks by their content).

Every constant of the model comes from the project's config
(:func:`jaxsnn_music.config.load_config`); ``--quick`` only shrinks the
*experiments* (fewer pieces, runs and fragments: :data:`QUICK_PIECES`,
:data:`QUICK_OVERRIDES`), never the model.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

# W&B must never block an experiment (nothing here logs to it, but imports may touch it).
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("WANDB_SILENT", "true")

import numpy as np  # noqa: E402

from jaxsnn_music.config import PRESETS, Config, load_config  # noqa: E402
from jaxsnn_music.errors import UserError  # noqa: E402
from jaxsnn_music.events import Piece  # noqa: E402
from jaxsnn_music.records import jsonable, machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "results" / "reproduce"
SELECTION = "paper"
"""The corpus of every experiment: the paper's 331 piano-midi.de files."""

QUICK_PIECES = 12
"""``--quick``: pieces of the corpus used (a random slice, the same for every experiment)."""
QUICK_OVERRIDES = {"recall.paper_runs": 4, "recall.fragments_per_length": 3,
                   "recall.fragment_lengths": "4,8,16"}
"""``--quick``: smaller protocols (config values, so they are recorded with the results)."""

FIGURE_DPI = 110


# -- arguments ------------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    """What an experiment's ``run`` gets: its arguments, its output folder, and helpers."""

    args: argparse.Namespace
    out: Path
    quick: bool
    presets: list[str]
    overrides: list[str]
    log: Callable[[str], None]

    def config(self, preset: str, extra: dict[str, Any] | None = None) -> Config:
        """The config of ``preset`` with ``--quick``'s and the user's overrides (the user's win)."""
        quick = QUICK_OVERRIDES if self.quick else {}
        return load_config(preset, overrides={**quick, **(extra or {}), **_user(self.overrides)})

    def pieces(self, cfg: Config) -> list[Piece]:
        """The corpus (the paper selection, or its quick slice), encoded with ``cfg``."""
        return load_pieces(cfg, self.quick, self.args.piano_midi)

    def report(self, cfg: Config):
        """The same, as the loader's report (with its skipped files and warnings)."""
        return load_report(cfg, self.quick, self.args.piano_midi)


def _user(overrides: Sequence[str]) -> dict[str, Any]:
    from jaxsnn_music.config import parse_assignment

    return dict(parse_assignment(o) for o in overrides)


def parser(module: ModuleType) -> argparse.ArgumentParser:
    """The command line of one experiment: the shared options, then the module's own."""
    p = argparse.ArgumentParser(prog=f"experiments/{module.NAME}.py", description=module.DESCRIPTION)
    p.add_argument("--quick", action="store_true",
                   help=f"a smoke run: {QUICK_PIECES} random pieces, smaller protocols")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"results folder (this experiment writes OUT/{module.NAME}/; default "
                        f"{DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--preset", nargs="+", choices=PRESETS, default=list(module.PRESETS),
                   help=f"config preset(s) to run (default: {' '.join(module.PRESETS)})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set recall.seed=1 (repeatable)")
    p.add_argument("--piano-midi", type=Path, default=None,
                   help="the piano-midi.de folder (default: $JAXSNN_MUSIC_PIANO_MIDI or "
                        "../shared/corpus/piano-midi)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    if hasattr(module, "add_arguments"):
        module.add_arguments(p)
    return p


def execute(module: ModuleType, argv: Sequence[str] | None = None) -> dict:
    """Parse ``argv`` for ``module``, run it, write ``OUT/NAME/NAME.json`` (its headline
    numbers, wall time, config and machine) and return that summary."""
    args = parser(module).parse_args(argv)
    out = Path(args.out) / module.NAME
    out.mkdir(parents=True, exist_ok=True)
    log = (lambda m: None) if args.quiet else (lambda m: print(f"[{module.NAME}] {m}", flush=True))
    ctx = Context(args, out, args.quick, list(args.preset), list(args.overrides), log)
    t0 = time.perf_counter()
    result = module.run(ctx)
    summary = {"experiment": module.NAME, "quick": args.quick, "presets": ctx.presets,
               "overrides": ctx.overrides, "seconds": time.perf_counter() - t0,
               "machine": machine(), "command": command(module.NAME, argv), **result}
    write_json(out / f"{module.NAME}.json", summary)
    log(f"done in {summary['seconds']:.1f} s -> {out}")
    return summary


def main(module: ModuleType) -> int:
    """The script entry point: a user's mistake is one line on stderr, not a traceback."""
    try:
        execute(module, sys.argv[1:])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def command(name: str, argv: Sequence[str] | None) -> str:
    """The shell command that reproduces a run."""
    return " ".join(["python", f"experiments/{name}.py", *(argv or [])])


# -- corpus and networks ------------------------------------------------------------------------

_REPORTS: dict[tuple, Any] = {}
_NETWORKS: dict[tuple, Any] = {}
_MAX_NETWORKS = 4


def load_report(cfg: Config, quick: bool = False, piano_midi: str | Path | None = None):
    """The paper selection encoded with ``cfg`` (parse cache, all cores), as the loader's
    :class:`~jaxsnn_music.corpus.load.LoadReport`; with ``quick``, a random slice of
    :data:`QUICK_PIECES` pieces (seeded by ``recall.seed``), in corpus order. Cached in
    this process."""
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus
    from jaxsnn_music.corpus.sources import selection_items

    key = (cfg.fingerprint("encoding"), quick, str(piano_midi), cfg.recall.seed)
    if key not in _REPORTS:
        items = selection_items(SELECTION, piano_midi)
        if quick:
            rng = np.random.default_rng(cfg.recall.seed)
            keep = sorted(rng.choice(len(items), min(QUICK_PIECES, len(items)), replace=False))
            items = [items[i] for i in keep]
        report = load_corpus(items, cfg.encoding, cache=ParseCache(), progress=False)
        for title, reason in report.skipped:
            print(f"skipped {title}: {reason}", file=sys.stderr)
        _REPORTS[key] = report
    return _REPORTS[key]


def load_pieces(cfg: Config, quick: bool = False, piano_midi: str | Path | None = None
                ) -> list[Piece]:
    """The pieces of :func:`load_report`."""
    return load_report(cfg, quick, piano_midi).pieces


def memorize_chunks(pieces: Sequence[Piece], cfg: Config, network=None,
                    after_chunk: Callable[[Any, int, float], None] | None = None):
    """Memorize ``pieces`` chunk by chunk (``memorize.chunk_pieces``), as
    :func:`jaxsnn_music.resumable.memorize_corpus` does, without the checkpoints.

    ``after_chunk(network, pieces_done, learn_seconds)`` is called after every chunk.
    **Returns:** the network.
    """
    import jax

    from jaxsnn_music.resumable import chunk_bounds
    from jaxsnn_music.network import Network, grow

    network = Network.empty() if network is None else network
    for lo, hi in chunk_bounds(len(pieces), cfg.memorize.chunk_pieces):
        t0 = time.perf_counter()
        network = jax.block_until_ready(grow(network, pieces[lo:hi], cfg))
        if after_chunk is not None:
            after_chunk(network, hi, time.perf_counter() - t0)
    return network


def memorized(pieces: Sequence[Piece], cfg: Config):
    """The network that memorizes ``pieces`` with ``cfg`` (:func:`memorize_chunks`), cached in
    this process by the pieces' titles and the config sections that learning reads."""
    key = (tuple(p.title for p in pieces), tuple(p.sha256 for p in pieces),
           cfg.fingerprint("encoding"), cfg.fingerprint("network"), cfg.memorize.chunk_pieces)
    if key not in _NETWORKS:
        if len(_NETWORKS) >= _MAX_NETWORKS:
            _NETWORKS.pop(next(iter(_NETWORKS)))
        _NETWORKS[key] = memorize_chunks(pieces, cfg)
    return _NETWORKS[key]


def split(pieces: Sequence[Piece], held_out: int, seed: int) -> tuple[list[Piece], list[Piece]]:
    """A random split into memorized and held-out pieces (each in corpus order)."""
    order = np.random.default_rng(seed).permutation(len(pieces))
    held = set(order[:held_out].tolist())
    return ([p for i, p in enumerate(pieces) if i not in held],
            [p for i, p in enumerate(pieces) if i in held])


def pick(pieces: Sequence[Piece], title: str | None) -> Piece:
    """The piece called ``title`` (its full title or the last part of it), or with None the
    shortest piece (fewest events; the corpus's is Chopin's Prelude op. 28 no. 7)."""
    if title is None:
        return min(pieces, key=lambda p: (p.n_events, p.title))
    for p in pieces:
        if title in (p.title, p.title.rsplit("/", 1)[-1]):
            return p
    raise UserError(f"{title!r} is not in the corpus")


# -- output -----------------------------------------------------------------------------------


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(jsonable(data), indent=1))
    return path


def write_csv(path: Path, rows: Sequence[dict]) -> Path:
    """One row per dict; the columns are the union of the keys, in first-seen order."""
    fields: dict[str, None] = {}
    for row in rows:
        fields.update(dict.fromkeys(row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: jsonable(v) for k, v in row.items()} for row in rows)
    return path


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> Path:
    fig.savefig(path, dpi=FIGURE_DPI)
    pyplot().close(fig)
    return path


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage for tables (``n/a`` for None)."""
    return "n/a" if x is None else f"{100 * x:.{digits}f} %"
