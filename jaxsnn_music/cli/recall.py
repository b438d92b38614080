"""``jaxsnn-music recall``: play back a memorized piece from its title, as MIDI.

A thin shell around :mod:`jaxsnn_music.recall` (title-cued recall, pacemaker
timing) that scores the recall against the piece's source file when it is still
there.
"""

from __future__ import annotations

import click

from jaxsnn_music.cli.options import (checkpoint_option, checkpoint_set_option, manifest_sources,
                                      output_file, restore_checkpoint, user_errors)


def _stored_piece(manifest: dict, title: str, cfg):
    """The memorized piece, re-read from its source file (None when it cannot be)."""
    from jaxsnn_music.errors import BadMidiError
    from jaxsnn_music.midi_io import read_piece

    source = manifest_sources(manifest).get(title)
    if not source:
        return None
    try:
        return read_piece(source, cfg.encoding, title=title)
    except BadMidiError:
        return None


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
    pacemaker and write it to OUT as MIDI (the piece's own tempo map when its source file
    is still there; rests are silences)."""
    from jaxsnn_music.errors import ConfigError
    from jaxsnn_music.events import TempoMap
    from jaxsnn_music.recall.cued import recall_title
    from jaxsnn_music.recall.pacemaker import time_piece, write_recall
    from jaxsnn_music.recall.scores import score_piece

    if pacemaker_hz is not None:  # checked like every config value (a finite number in range)
        overrides = (*overrides, f"recall.pacemaker_hz={pacemaker_hz}")
    try:
        network, cfg, manifest = restore_checkpoint(checkpoint, overrides)
    except ConfigError as exc:
        if pacemaker_hz is not None and str(exc).startswith("recall.pacemaker_hz "):
            raise ConfigError(f"--pacemaker-hz{str(exc)[len('recall.pacemaker_hz'):]}") from None
        raise
    output_file(out)
    recaller = None
    if tuned is not None:
        from jaxsnn_music.tune import load_tuned, plain_recaller

        recaller = plain_recaller(load_tuned(tuned, cfg), cfg)
    recalled = recall_title(network, title, cfg, recaller)
    stored = _stored_piece(manifest, recalled.title, cfg)
    rate = cfg.recall.pacemaker_hz
    timed = time_piece(recalled, cfg, rate,
                       resolution=stored.resolution if stored else 480,
                       tempo=stored.tempo if stored else TempoMap.constant())
    path = write_recall(timed, out, cfg)
    click.echo(f"recalled {recalled.title}: {recalled.n_events:,} events in "
               f"{len(recalled.tracks)} track(s), {timed.length_seconds:,.1f} s of pacemaker time "
               f"at {rate:g} Hz -> {path}")
    if stored is None:
        click.echo("(source file not found: written at 120 qpm, 480 ticks per beat, no scores)",
                   err=True)
        return
    reference = time_piece(recalled, cfg, cfg.recall.reference_hz)
    for s in score_piece(stored, recalled, cfg, reference):
        click.echo(f"track {s.track}: {s.events:,} events, pitch {s.pitch:.1%}, "
                   f"duration {s.duration:.1%}, onset {s.onset:.1%}")
