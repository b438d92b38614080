"""``jaxsnn-music run``: the main job, end to end, on one corpus.

memorize (checkpoint) -> recall one piece by its title to MIDI -> identify a
fragment of another piece -> recall and score every memorized piece. It is the
README's quick start on the embedded Bach chorales, and the quickest way to see
the whole data path work on any corpus.
"""

from __future__ import annotations


import click

from jaxsnn_music.cli.options import (config_options, output_folder, quiet_option, read_corpus,
                                      selection_option, user_errors)
from jaxsnn_music.config import load_config


@click.command("run")
@click.option("--corpus", type=click.Path(exists=True), default=None,
              help="A folder of MIDI files (default: --selection).")
@selection_option(help="A named corpus (default: bach-chorales).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N pieces.")
@click.option("--out", type=click.Path(file_okay=False), default="checkpoints/run",
              show_default=True, help="Output folder.")
@click.option("--fragment-length", type=click.IntRange(min=2), default=12, show_default=True)
@quiet_option()
@config_options
@user_errors
def run(corpus, selection, limit, out, preset, config_path, overrides, fragment_length, quiet):
    """Memorize a corpus (default: the 371 embedded Bach chorales), recall one piece to MIDI,
    identify a fragment of another, and print title-recall scores for every piece.

    Writes OUT/network (the checkpoint), OUT/recalled.mid and OUT/scores.json."""
    import json
    import time

    from jaxsnn_music.evaluate import recall_scores
    from jaxsnn_music.recall import Fragment, identify, recall_title, summarize, time_piece, write_recall
    from jaxsnn_music.resumable import memorize_corpus

    t0 = time.perf_counter()
    cfg = load_config(preset, config_path, list(overrides))
    out = output_folder(out)
    pieces = read_corpus(cfg, corpus, selection, limit=limit, quiet=quiet).pieces
    memorized = memorize_corpus(pieces, cfg, out / "network")
    network = memorized.network
    events = sum(p.n_events for p in pieces)
    click.echo(f"1. memorized {len(pieces)} pieces ({events:,} events) in "
               f"{memorized.learn_seconds:.1f} s -> {out / 'network'}")

    first = pieces[0]
    recalled = recall_title(network, first.title, cfg)
    timed = time_piece(recalled, cfg, cfg.recall.pacemaker_hz, resolution=first.resolution,
                       tempo=first.tempo)
    midi = write_recall(timed, out / "recalled.mid", cfg)
    click.echo(f"2. recalled {first.title!r} from its title: {recalled.n_events} events -> {midi}")

    other = pieces[len(pieces) // 2]
    track = other.tracks[0]
    start = max(0, min(track.n_events - fragment_length, track.n_events // 3))
    frag = Fragment.from_track(track, start, fragment_length)
    found = identify(network, frag, cfg)
    verdict = "unknown" if found.unknown else f"{found.title} (score {found.best.score:.2f})"
    click.echo(f"3. identified a {frag.n_events}-event fragment of {other.title!r} "
               f"(event {start}): {verdict}")

    summary = summarize(recall_scores(network, pieces, cfg))
    (out / "scores.json").write_text(json.dumps(summary, indent=1))
    click.echo(f"4. title recall of all {len(pieces)} pieces, {summary['tracks']} tracks, "
               f"{summary['events']:,} events: pitch {summary['pitch_weighted']:.1%}, "
               f"duration {summary['duration_weighted']:.1%}, onset "
               f"{summary.get('onset_weighted', float('nan')):.1%} -> {out / 'scores.json'}")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s")
