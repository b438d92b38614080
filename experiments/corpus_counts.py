"""Figure 1: the corpus. Note counts of the 331 pieces (the paper's bar chart), tracks, events.

For each preset (``paper``: first track, melody; ``default``: every track, chords)
the paper selection is encoded and counted; with the ``paper`` preset also with
``encoding.note_order=file``, the authors' own procedure, whose counts the
authors' code reported (343,662 first-track events, 53,923 rests).

Writes ``corpus_counts.json`` (every count), ``corpus_pieces.csv`` (one row per
piece), ``corpus_variants.csv`` (one row per encoding) and ``corpus_counts.png``.

    python experiments/corpus_counts.py [--quick] [--preset paper default]
"""

from __future__ import annotations

import sys

import numpy as np

import common

NAME = "corpus_counts"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("paper", "default")

KNOWN = {"pieces": 331, "composers": 25, "source_notes": 779_970 - 336,
         "first_track_events": 343_662, "first_track_rests": 53_923}
"""The corpus as the authors' code saw it (pretty_midi 0.2.11; MODEL.md section 2): 331 files
of 25 composers, 779,970 notes in the 332 classical files minus the 336 of debussy_cc_5, and
the first-track events and rests their encoding loop produced."""

FILE_ORDER = {"encoding.note_order": "file"}


def variants(ctx: common.Context) -> list[tuple[str, object]]:
    """``(name, config)`` of every encoding counted."""
    out = [(preset, ctx.config(preset)) for preset in ctx.presets]
    if "paper" in ctx.presets:
        out.append(("paper, note_order=file", ctx.config("paper", FILE_ORDER)))
    return out


def run(ctx: common.Context) -> dict:
    from jaxsnn_music.corpus.stats import corpus_stats, piece_stats

    stats, per_piece = {}, {}
    for name, cfg in variants(ctx):
        report = ctx.report(cfg)
        stats[name] = s = corpus_stats(report)
        per_piece[name] = {p.title: piece_stats(p) for p in report.pieces}
        ctx.log(f"{name}: {s['pieces']} pieces, {s['tracks']} tracks, {s['events']:,} events "
                f"({s['rests']:,} rests), {s['source_notes']:,} notes in the files")

    titles = list(next(iter(per_piece.values())))
    rows = []
    for title in titles:
        row = {"title": title, "composer": title.split("/")[0],
               "notes_in_file": next(iter(per_piece.values()))[title]["source_notes"]}
        for name, by_title in per_piece.items():
            p = by_title[title]
            row.update({f"{name}: tracks": p["tracks"], f"{name}: events": p["events"],
                        f"{name}: rests": p["rests"], f"{name}: notes": p["notes"]})
        rows.append(row)
    common.write_csv(ctx.out / "corpus_pieces.csv", rows)
    common.write_csv(ctx.out / "corpus_variants.csv",
                     [{"encoding": name, **{k: v for k, v in s.items() if not isinstance(v, list)}}
                      for name, s in stats.items()])
    plot(rows, stats, ctx.out)

    any_stats = next(iter(stats.values()))
    headline = (f"{any_stats['pieces']} pieces, {any_stats['composers']} composers, "
                f"{any_stats['source_notes']:,} notes in the files")
    for name, label in (("paper", "first-track events"), ("paper, note_order=file", "in file order")):
        if name in stats:
            headline += f"; {label} {stats[name]['events']:,} ({stats[name]['rests']:,} rests)"
    if "default" in stats:
        headline += f"; all tracks {stats['default']['events']:,} events"
    return {"headline": headline, "known": KNOWN, "stats": stats,
            "per_piece_notes": {r["title"]: r["notes_in_file"] for r in rows},
            "figures": [str(ctx.out / "corpus_counts.png")]}


def plot(rows: list[dict], stats: dict, out) -> None:
    plt = common.pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = np.arange(len(rows))
    composers = [r["composer"] for r in rows]
    starts = [i for i in range(len(rows)) if i == 0 or composers[i] != composers[i - 1]]
    shade = np.zeros(len(rows), int)
    for k, s in enumerate(starts):
        shade[s:] = k % 2
    colors = np.where(shade == 0, "tab:blue", "tab:cyan")
    ax.bar(x, [r["notes_in_file"] for r in rows], width=1.0, color=colors,
           label="notes in the file (all tracks)")
    first = next((k for k in ("paper", "paper, note_order=file") if f"{k}: events" in rows[0]), None)
    if first:
        ax.bar(x, [r[f"{first}: events"] for r in rows], width=1.0, color="tab:orange", alpha=0.8,
               label=f"first-track events ({first} preset)")
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_xticks([s + (e - s) / 2 for s, e in zip(starts, starts[1:] + [len(rows)])],
                  [composers[s] for s in starts], rotation=90, fontsize=6)
    ax.set_ylabel("notes / events per piece")
    total = next(iter(stats.values()))
    ax.set_title(f"the paper selection: {total['pieces']} pieces, {total['source_notes']:,} notes",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    common.save_figure(fig, out / "corpus_counts.png")


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
