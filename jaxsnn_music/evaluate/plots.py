"""The evaluation's figures: one function per figure, each a protocol's result in, a PNG out.

Drawn with matplotlib on the Agg backend (no display needed), 120 dpi, into the
output folder of :mod:`~jaxsnn_music.evaluate.writing`:

- ``paper.png``: pitch accuracy of every run of the ``paper`` protocol, with the
  authors' mean;
- ``full_tracks.png``: histograms of per-track accuracy (``full``);
- ``episodic.png``: identification against fragment length (``full``);
- ``tempo.png``: recalled length against pacemaker rate (``full``);
- ``capacity.png``: accuracy against the number of stored pieces (``capacity``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DPI = 120


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def plot_paper(result: dict, out: Path) -> Path:
    """``out/paper.png`` from :func:`~jaxsnn_music.evaluate.protocols.paper_protocol`'s result."""
    plt = _pyplot()
    authors = result["authors"]["mean_pitch_accuracy"]
    pitch = [r["pitch"] * 100 for r in result["runs"]]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(range(1, len(pitch) + 1), pitch, color="tab:blue")
    ax.axhline(authors * 100, color="tab:red", ls="--", label=f"authors' mean {authors:.1%}")
    ax.set_ylim(min(90, min(pitch) - 2), 100.5)
    ax.set_xlabel("run (title-cued recall after memorizing 5 pieces)")
    ax.set_ylabel("pitch accuracy (%)")
    ax.set_title(f"paper protocol: mean {np.mean(pitch):.2f} %, "
                 f"{result['summary']['perfect_runs']}/{len(pitch)} at 100 %")
    ax.legend(loc="lower right")
    return _save(fig, out / "paper.png")


def plot_tracks(rows: list[dict], out: Path) -> Path:
    """``out/full_tracks.png``: per-track accuracy, from the ``full`` protocol's
    ``track_rows``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for name in ("pitch", "pitch_first", "duration", "onset"):
        values = [r[name] for r in rows if r[name] is not None]
        if values:
            ax.hist(np.array(values) * 100, bins=20, range=(0, 100), histtype="step", label=name)
    ax.set_xlabel("accuracy per track (%)")
    ax.set_ylabel("tracks")
    ax.set_title("title-cued recall of every track")
    ax.legend()
    return _save(fig, out / "full_tracks.png")


def plot_episodic(by_length: list[dict], out: Path) -> Path:
    """``out/episodic.png`` from :func:`~jaxsnn_music.evaluate.protocols.episodic_protocol`'s
    ``by_length`` table."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for kind, key, label in (("memorized", "top1", "memorized: top-1 (ties count)"),
                             ("memorized", "unknown", "memorized: called unknown"),
                             ("held_out", "unknown", "held-out: called unknown")):
        part = [r for r in by_length if r["kind"] == kind]
        if part:
            ax.plot([r["length"] for r in part], [r[key] * 100 for r in part], "o-", label=label)
    ax.set_xscale("log", base=2)
    lengths = sorted({r["length"] for r in by_length})
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.set_xlabel("fragment length (events)")
    ax.set_ylabel("%")
    ax.set_ylim(-2, 102)
    ax.set_title("episodic identification")
    ax.legend(fontsize=8)
    return _save(fig, out / "episodic.png")


def plot_tempo(result: dict, out: Path) -> Path:
    """``out/tempo.png`` from :func:`~jaxsnn_music.evaluate.protocols.tempo_protocol`'s result."""
    plt = _pyplot()
    rows = result["rates"]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.loglog([r["pacemaker_hz"] for r in rows], [r["length_seconds"] for r in rows], "o-",
              label="simulated")
    hz = np.array([r["pacemaker_hz"] for r in rows])
    ref = rows[0]["length_seconds"] * rows[0]["pacemaker_hz"]
    ax.loglog(hz, ref / hz, "k--", lw=0.8, label="length ∝ 1 / rate")
    ax.set_xticks(hz, [f"{h:g}" for h in hz])
    ax.minorticks_off()
    ax.set_xlabel("pacemaker rate (Hz)")
    ax.set_ylabel("recalled length (s)")
    ax.set_title(result["title"], fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, out / "tempo.png")


def plot_capacity(result: dict, out: Path) -> Path:
    """``out/capacity.png`` from :func:`~jaxsnn_music.evaluate.protocols.capacity_protocol`'s
    result."""
    plt = _pyplot()
    rows = result["sizes"]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name in ("pitch", "pitch_first", "duration"):
        ax.plot([r["pieces"] for r in rows], [r[f"{name}_weighted"] * 100 for r in rows], "o-",
                label=name)
    ax.set_xscale("log")
    ax.set_xlabel("pieces stored in one network")
    ax.set_ylabel("title-cued accuracy (%, event-weighted)")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    return _save(fig, out / "capacity.png")
