"""Figure 2: network growth while the whole corpus is memorized.

The paper selection is memorized chunk by chunk (``--chunk`` pieces per chunk, in
corpus order, as ``jaxsnn-music memorize`` does with ``memorize.chunk_pieces``)
and the network is measured after every chunk:

- the paper's measure, 2 x the longest piece so far (a pitch and a duration
  column per note position) + one title neuron per piece;
- ours: columns of every track layer, neurons (columns x (129 + 64) + titles),
  sequential synapses, goal links, and the bytes of the synapse store and the
  goal links, beside what a dense (all-to-all, D delays) store of the same columns
  would need. The final network is saved as a checkpoint and its size on disk given.

Writes ``network_growth.json``, ``growth_<preset>.csv`` and ``network_growth.png``.

    python experiments/network_growth.py [--quick] [--preset paper default] [--chunk 8]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import common

NAME = "network_growth"
DESCRIPTION = __doc__.splitlines()[0]
PRESETS = ("paper", "default")
QUICK_CHUNK = 4


def add_arguments(parser) -> None:
    parser.add_argument("--chunk", type=int, default=8,
                        help="pieces per chunk: one measurement per chunk (default 8; "
                             f"{QUICK_CHUNK} with --quick)")
    parser.add_argument("--no-checkpoint", action="store_true",
                        help="do not save the final network (its size on disk is then not given)")


def _row_bytes(table, fields) -> int:
    return sum(np.dtype(getattr(table, f).dtype).itemsize for f in fields)


def measure(network, cfg, pieces_done: int, events: int, seconds: float) -> dict:
    """The sizes of a network after ``pieces_done`` pieces."""
    from jaxsnn_music.network.subnets import Subnets
    from jaxsnn_music.resumable import network_counts

    counts = network_counts(network, cfg)
    columns = counts["columns"]
    goal_bytes = counts["goal_links"] * _row_bytes(network.goal, ("title", "layer", "subnet", "column",
                                                                  "neuron", "forward", "feedback"))
    subnets = Subnets.from_config(cfg)
    dense = sum(columns) * cfg.network.n_delays * sum(subnets.neurons(s) ** 2
                                                      for s in range(subnets.count))
    return {"pieces": pieces_done, "events": events, "longest_track": max(columns, default=0),
            "paper_measure": counts["paper_size"], "layers": len(columns),
            "columns": sum(columns), "column_pairs_and_titles": 2 * sum(columns) + counts["titles"],
            "neurons": counts["neurons"], "synapses": counts["synapses"],
            "goal_links": counts["goal_links"], "synapse_bytes": network.synapses.nbytes,
            "goal_bytes": goal_bytes, "store_bytes": network.synapses.nbytes + goal_bytes,
            "dense_synapses": dense, "dense_bytes": dense * np.dtype(np.float32).itemsize,
            "learn_seconds": seconds}


def grow(ctx: common.Context, preset: str, chunk: int) -> dict:
    from jaxsnn_music import checkpoint

    cfg = ctx.config(preset, {"memorize.chunk_pieces": chunk})
    pieces = ctx.pieces(cfg)
    rows: list[dict] = []
    done_events = np.cumsum([p.n_events for p in pieces])

    def after_chunk(network, done, seconds):
        rows.append(measure(network, cfg, done, int(done_events[done - 1]), seconds))
        r = rows[-1]
        ctx.log(f"{preset}: {done}/{len(pieces)} pieces, paper measure {r['paper_measure']:,}, "
                f"{r['neurons']:,} neurons, {r['synapses']:,} synapses, "
                f"{r['store_bytes'] / 2**20:.1f} MiB ({seconds:.1f} s)")

    t0 = time.perf_counter()
    network = common.memorize_chunks(pieces, cfg, after_chunk=after_chunk)
    wall = time.perf_counter() - t0
    common.write_csv(ctx.out / f"growth_{preset}.csv", rows)
    final = dict(rows[-1])
    if not ctx.args.no_checkpoint:
        where = ctx.out / f"network-{preset}"
        checkpoint.save(where, network, cfg, checkpoint.corpus_manifest(pieces))
        final["checkpoint_bytes"] = checkpoint.size_on_disk(where)
    final.update({"wall_seconds": wall, "chunks": len(rows), "chunk_pieces": chunk,
                  "learn_seconds": sum(r["learn_seconds"] for r in rows)})
    return {"rows": rows, "final": final}


def run(ctx: common.Context) -> dict:
    chunk = QUICK_CHUNK if ctx.quick and ctx.args.chunk == 8 else ctx.args.chunk
    results = {preset: grow(ctx, preset, chunk) for preset in ctx.presets}
    plot(results, ctx.out)
    finals = {p: r["final"] for p, r in results.items()}
    headline = "; ".join(f"{p}: {f['pieces']} pieces -> paper measure {f['paper_measure']:,}, "
                         f"{f['neurons']:,} neurons, {f['synapses']:,} synapses, "
                         f"{f['store_bytes'] / 2**20:.1f} MiB" for p, f in finals.items())
    return {"headline": headline, "final": finals,
            "figures": [str(ctx.out / "network_growth.png")]}


def plot(results: dict, out) -> None:
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    colors = {"paper": "tab:orange", "default": "tab:blue"}
    # The paper preset is drawn wide and pale underneath, so that curves the presets share
    # (the longest piece is the same) stay visible.
    widths = {"paper": 3.5}
    for preset, result in results.items():
        rows = result["rows"]
        x = [r["pieces"] for r in rows]
        style = {"color": colors.get(preset), "lw": widths.get(preset, 1.3),
                 "alpha": 0.55 if preset in widths else 1.0}
        axes[0].plot(x, [r["paper_measure"] for r in rows], "-", **style,
                     label=f"{preset}: 2 x longest + pieces (paper)")
        axes[0].plot(x, [r["column_pairs_and_titles"] for r in rows], "--", **style,
                     label=f"{preset}: 2 x columns of all layers + pieces")
        axes[1].plot(x, [r["neurons"] for r in rows], "-", **style, label=f"{preset}: neurons")
        axes[1].plot(x, [r["synapses"] for r in rows], "--", **style, label=f"{preset}: synapses")
        axes[1].plot(x, [r["goal_links"] for r in rows], ":", **style, label=f"{preset}: goal links")
        axes[2].plot(x, [r["store_bytes"] / 2**20 for r in rows], "-", **style,
                     label=f"{preset}: sparse store")
        axes[2].plot(x, [r["dense_bytes"] / 2**20 for r in rows], ":", **style,
                     label=f"{preset}: dense equivalent")
    axes[0].set_ylabel("columns + title neurons")
    axes[0].set_title("the paper's growth measure", fontsize=10)
    axes[1].set_yscale("log")
    axes[1].set_title("neurons, synapses, goal links", fontsize=10)
    axes[2].set_yscale("log")
    axes[2].set_ylabel("MiB")
    axes[2].set_title("memory of the learned network", fontsize=10)
    for ax in axes:
        ax.set_xlabel("pieces memorized")
        ax.legend(fontsize=6.5)
    fig.tight_layout()
    common.save_figure(fig, out / "network_growth.png")


if __name__ == "__main__":
    sys.exit(common.main(sys.modules[__name__]))
