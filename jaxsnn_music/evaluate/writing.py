"""Running a protocol to files: ``<protocol>.json``, its CSV tables and its figures.

Each ``run_*`` entry point runs one protocol of :mod:`~jaxsnn_music.evaluate.protocols`,
then writes into the output folder:

- ``<protocol>.json``: the result (strict JSON, :func:`~jaxsnn_music.records.jsonable`)
  with its wall time (``seconds``) and the full config (``config``); the long per-track
  and per-fragment tables of ``full`` are left to the CSV files;
- the CSV tables, one row per dict, the columns of the first row;
- the figures of :mod:`~jaxsnn_music.evaluate.plots`.

Files per protocol:

- ``paper``: paper.json, paper_runs.csv, paper.png;
- ``full``: full.json, full_tracks.csv, episodic.csv, episodic_by_length.csv, tempo.csv,
  full_tracks.png, episodic.png, tempo.png (the episodic files only with identification,
  the tempo files only when something was memorized);
- ``capacity``: capacity.json, capacity.csv, capacity.png.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from jaxsnn_music.config import Config
from jaxsnn_music.evaluate import plots
from jaxsnn_music.evaluate.protocols import (
    Progress,
    _quiet,
    capacity_protocol,
    full_protocol,
    paper_protocol,
)
from jaxsnn_music.events import Piece
from jaxsnn_music.network.model import Network
from jaxsnn_music.records import jsonable


def write_csv(path: Path, rows: list[dict]) -> None:
    """``rows`` as a CSV table (the columns of the first row); nothing when there are none."""
    if not rows:
        return
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _write_protocol(name: str, protocol: Callable[[], dict], cfg: Config, out: str | Path,
                    tables: Callable[[dict], dict[str, list[dict]]],
                    plot: Callable[[dict, Path], None],
                    csv_only: Sequence[str] = ()) -> dict:
    """Run a protocol and write ``out/NAME.json`` (with its wall time and config), its CSV
    tables (``{file name: rows}``) and its plot.

    **Returns:** the result as written to the JSON file: without the keys in ``csv_only``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = protocol()
    result["seconds"] = time.perf_counter() - t0
    result["config"] = cfg.to_dict()
    record = {k: v for k, v in result.items() if k not in csv_only}
    (out / f"{name}.json").write_text(json.dumps(jsonable(record), indent=1))
    for file_name, rows in tables(result).items():
        write_csv(out / file_name, rows)
    plot(result, out)
    return record


def run_paper(pieces: Sequence[Piece], cfg: Config, out: str | Path,
              progress: Progress = _quiet) -> dict:
    """The ``paper`` protocol, written to ``out`` (paper.json, paper_runs.csv, paper.png)."""
    def tables(result: dict) -> dict[str, list[dict]]:
        return {"paper_runs.csv": [{k: v for k, v in r.items() if k != "memorized"}
                                   for r in result["runs"]]}
    return _write_protocol("paper", lambda: paper_protocol(pieces, cfg, progress), cfg, out,
                           tables, plots.plot_paper)


def run_full(network: Network, memorized: Sequence[Piece], held_out: Sequence[Piece],
             cfg: Config, out: str | Path, progress: Progress = _quiet,
             episodic: bool = True) -> dict:
    """The ``full`` protocol, written to ``out`` (full.json, full_tracks.csv, episodic.csv,
    episodic_by_length.csv, tempo.csv and the PNGs)."""
    def tables(result: dict) -> dict[str, list[dict]]:
        out = {"full_tracks.csv": result["track_rows"]}
        if "episodic" in result:
            out["episodic.csv"] = result["fragments"]
            out["episodic_by_length.csv"] = result["episodic"]["by_length"]
        if "tempo" in result:
            out["tempo.csv"] = result["tempo"]["rates"]
        return out

    def plot(result: dict, out: Path) -> None:
        plots.plot_tracks(result["track_rows"], out)
        if "episodic" in result:
            plots.plot_episodic(result["episodic"]["by_length"], out)
        if "tempo" in result:
            plots.plot_tempo(result["tempo"], out)

    return _write_protocol(
        "full", lambda: full_protocol(network, memorized, held_out, cfg, progress, episodic),
        cfg, out, tables, plot, csv_only=("track_rows", "fragments"))


def run_capacity(pieces: Sequence[Piece], cfg: Config, out: str | Path,
                 progress: Progress = _quiet) -> dict:
    """The ``capacity`` protocol, written to ``out`` (capacity.json, .csv, .png)."""
    return _write_protocol("capacity", lambda: capacity_protocol(pieces, cfg, progress), cfg, out,
                           lambda r: {"capacity.csv": r["sizes"]}, plots.plot_capacity)
