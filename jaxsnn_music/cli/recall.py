"""``jaxsnn-music recall``: play back a memorized piece from its title, as MIDI.

A thin shell around :func:`jaxsnn_music.api.recall` (title-cued recall, pacemaker
timing, scores against the memorized piece when its source can still be read: a
MIDI file, a chorale or a tune of an ABC file).
"""

from __future__ import annotations

import click

from jaxsnn_music import api
from jaxsnn_music.cli.options import (checkpoint_option, checkpoint_set_option, load_network,
                                      output_file, user_errors)


@click.command("recall")
@checkpoint_option
@click.option("--title", required=True, help="The piece to recall (its title, or the "
              "file name part of it, e.g. chpn-p7).")
@click.option("--pacemaker-hz", type=str, default=None,
              help="Pacemaker rate, i.e. --set recall.pacemaker_hz (default: the config's; "
                   "reference_hz plays the piece at its own tempo, twice that twice as fast).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The MIDI file to write.")
@click.option("--tuned", type=click.Path(file_okay=False), default=None,
              help="Recall with the thresholds and delays of a `jaxsnn-music tune` run "
                   "folder (delays rounded to whole steps).")
@checkpoint_set_option
@user_errors
def recall(checkpoint, title, pacemaker_hz, out, tuned, overrides):
    """Title-cued recall: drive TITLE's neuron, recall every track it has, time it with the
    pacemaker and write it to OUT as MIDI (the piece's own tempo map when its source can
    still be read; rests are silences)."""
    from jaxsnn_music.errors import ConfigError

    if pacemaker_hz is not None:  # checked like every config value (a finite number in range)
        overrides = (*overrides, f"recall.pacemaker_hz={pacemaker_hz}")
    try:
        network, cfg = load_network(checkpoint, overrides)
    except ConfigError as exc:
        if pacemaker_hz is not None and str(exc).startswith("recall.pacemaker_hz "):
            raise ConfigError(f"--pacemaker-hz{str(exc)[len('recall.pacemaker_hz'):]}") from None
        raise
    output_file(out)
    recaller = None
    if tuned is not None:
        from jaxsnn_music.tune import load_tuned, plain_recaller

        recaller = plain_recaller(load_tuned(tuned, cfg), cfg)
    recalled = api.recall(network, title, overrides, recaller=recaller)
    path = recalled.write_midi(out)
    click.echo(f"recalled {recalled.title}: {recalled.n_events:,} events in "
               f"{len(recalled.tracks)} track(s), {recalled.timed.length_seconds:,.1f} s of "
               f"pacemaker time at {recalled.config.recall.pacemaker_hz:g} Hz -> {path}")
    if recalled.stored is None:
        click.echo("(the memorized piece cannot be read again: written at 120 qpm, 480 ticks "
                   "per beat, no scores)", err=True)
        return
    for s in recalled.scores:
        click.echo(f"track {s.track}: {s.events:,} events, pitch {s.pitch:.1%}, "
                   f"duration {s.duration:.1%}, onset {s.onset:.1%}")
