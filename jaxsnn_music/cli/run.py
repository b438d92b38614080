"""``jaxsnn-music run``: the main job, end to end, on one corpus.

memorize (checkpoint) -> recall one piece by its title to MIDI -> identify a
fragment of another piece -> recall and score every memorized piece. It is the
README's quick start on the embedded Bach chorales, and the quickest way to see
the whole data path work on any corpus.

The steps are the Python API's (:func:`jaxsnn_music.api.read_corpus`,
:func:`~jaxsnn_music.api.recall`, :func:`~jaxsnn_music.api.identify`); the network
is memorized by :func:`jaxsnn_music.resumable.memorize_corpus`, as
``api.memorize(..., out=...)`` does, for the learning time its report holds.
"""

from __future__ import annotations

import click

from jaxsnn_music import api
from jaxsnn_music.cli.options import (config_options, corpus_source, output_folder, quiet_option,
                                      read_corpus, selection_option, user_errors)
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

    from jaxsnn_music.recall.episodic import Fragment
    from jaxsnn_music.recall.scores import summarize
    from jaxsnn_music.resumable import memorize_corpus

    t0 = time.perf_counter()
    cfg = load_config(preset, config_path, list(overrides))
    out = output_folder(out)
    pieces = read_corpus(corpus_source(corpus, selection), cfg, limit=limit, quiet=quiet).pieces
    memorized = memorize_corpus(pieces, cfg, out / "network")
    network = memorized.network
    events = sum(p.n_events for p in pieces)
    click.echo(f"1. memorized {len(pieces)} pieces ({events:,} events) in "
               f"{memorized.learn_seconds:.1f} s -> {out / 'network'}")

    first = pieces[0]
    recalled = api.recall(network, first.title, stored=first)
    midi = recalled.write_midi(out / "recalled.mid")
    click.echo(f"2. recalled {first.title!r} from its title: {recalled.n_events} events -> {midi}")

    other = pieces[len(pieces) // 2]
    track = other.tracks[0]
    start = max(0, min(track.n_events - fragment_length, track.n_events // 3))
    frag = Fragment.from_track(track, start, fragment_length)
    found = api.identify(network, frag)
    verdict = "unknown" if found.unknown else f"{found.title} (score {found.best.score:.2f})"
    click.echo(f"3. identified a {frag.n_events}-event fragment of {other.title!r} "
               f"(event {start}): {verdict}")

    every = api.recall(network, list(network.titles), stored=pieces)
    summary = summarize([s for r in every for s in r.scores])
    (out / "scores.json").write_text(json.dumps(summary, indent=1))
    click.echo(f"4. title recall of all {len(pieces)} pieces, {summary['tracks']} tracks, "
               f"{summary['events']:,} events: pitch {summary['pitch_weighted']:.1%}, "
               f"duration {summary['duration_weighted']:.1%}, onset "
               f"{summary.get('onset_weighted', float('nan')):.1%} -> {out / 'scores.json'}")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s")
