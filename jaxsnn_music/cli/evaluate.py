"""``jaxsnn-music evaluate``: score what a checkpoint remembers.

A thin shell around :func:`jaxsnn_music.api.evaluate` (the protocols ``paper``,
``full`` and ``capacity`` of :mod:`jaxsnn_music.evaluate`), which reads the
memorized pieces again from the sources the checkpoint lists; the command finds
the held-out pieces of ``full`` and prints each protocol's headline.
"""

from __future__ import annotations

import click

from pathlib import Path

from jaxsnn_music import api
from jaxsnn_music.cli.options import (cache_dir_option, checkpoint_option, checkpoint_set_option,
                                      load_network, output_folder, parse_cache, piano_midi_option,
                                      quiet_option, read_corpus, report_skip, selection_option,
                                      user_errors)


@click.command("evaluate")
@checkpoint_option
@click.option("--protocol", type=click.Choice(["paper", "full", "capacity"]), default="full",
              show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for the JSON, CSV and PNG results.")
@click.option("--held-out", type=click.Path(), default=None,
              help="A folder of MIDI files not memorized (fragments of them must come "
                   "back unknown); default: the rest of --selection.")
@selection_option(help="Where held-out pieces come from (default piano-midi).",
                  choices=["paper", "piano-midi"])
@piano_midi_option(help="The piano-midi.de folder.")
@cache_dir_option(help="Parse cache folder.")
@quiet_option(help="No progress messages.")
@checkpoint_set_option
@user_errors
def evaluate(checkpoint, protocol, out, held_out, selection, piano_midi, cache_dir, quiet,
             overrides):
    """Score what a checkpoint remembers; JSON, CSV and PNG go to OUT.

    \b
    paper: the authors' test: recall.paper_runs times, memorize recall.paper_pieces
           random pieces of the checkpoint's corpus in a fresh network (paper preset),
           cue one by title, score its pitch accuracy (authors: 99.9 %, 48 of 50 at 100 %).
    full:  the checkpoint's network: every piece and track recalled and scored (pitch,
           duration, onset); episodic identification against fragment length for
           memorized and held-out pieces (--held-out, default: the rest of
           --selection); tempo fidelity.
    capacity: title-cued accuracy against the number of stored pieces (nested random
           subsets of the checkpoint's corpus, recall.capacity_sizes, memorized afresh
           with the checkpoint's config)."""
    from jaxsnn_music.errors import UserError

    network, cfg = load_network(checkpoint, overrides)
    output_folder(out)
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    held = None
    if protocol == "full":
        try:
            held = read_corpus(Path(held_out) if held_out else selection or "piano-midi", cfg,
                               exclude=network.titles, piano_midi=piano_midi, cache_dir=cache_dir,
                               quiet=quiet).pieces
        except UserError as exc:  # no held-out corpus on this machine: evaluate without it
            say(f"no held-out pieces ({exc})")
    result = api.evaluate(network, protocol, overrides, held_out=held, out=out, progress=say,
                          cache=parse_cache(cache_dir), on_skip=report_skip)
    if protocol == "paper":
        s = result["summary"]
        click.echo(f"paper protocol: {s['runs']} recalls, mean pitch accuracy "
                   f"{s['mean_pitch_accuracy']:.2%} ({s['perfect_runs']} at 100 %, "
                   f"{s['distinct_titles']} distinct titles); authors: 99.9 %, 48 at 100 % -> {out}")
        return
    if protocol == "capacity":
        for row in result["sizes"]:
            click.echo(f"{row['pieces']:>5} pieces: pitch {row['pitch_weighted']:.2%}, duration "
                       f"{row['duration_weighted']:.2%}, largest weight {row['max_weight']:.0f}")
        return
    t = result["tracks"]
    click.echo(f"full protocol: {t['tracks']} tracks, {t['events']:,} events: pitch "
               f"{t['pitch_weighted']:.2%}, duration {t['duration_weighted']:.2%}, onset "
               f"{t.get('onset_weighted', float('nan')):.2%} (event-weighted); recall "
               f"{result['recall_seconds']:.0f} s")
    if "episodic" in result:
        e = result["episodic"]["summary"]
        click.echo(f"episodic: top-1 {e['top1']:.1%} on memorized fragments, false unknown "
                   f"{e['false_unknown_rate']:.1%}, false known on held-out "
                   f"{(e['false_known_rate'] or 0):.1%} -> {out}")
