"""``jaxsnn-music identify``: which memorized piece a fragment comes from (episodic recall).

A thin shell around :func:`jaxsnn_music.api.identify`; the fragment is a track of
a MIDI file or a note list typed on the command line (:func:`parse_notes`).
"""

from __future__ import annotations

import json

import click

from jaxsnn_music import api
from jaxsnn_music.cli.options import (checkpoint_option, checkpoint_set_option, load_network,
                                      user_errors)

IDENTIFY_JSON = """\b
JSON (--json), one object:
  unknown      true when the fragment is not attributed to any memorized piece
  title        the identified title, or null when unknown
  score        share of the fragment's notes linked to the winner at the matched
               columns (1.0 = all of them)
  spikes       spikes of the winner's title neuron during the replay
  support      share of the fragment's transitions reached by learned synapses
  position     {"track": layer, "column": index of the fragment's first event}
               of the best match, or null
  ties         titles tied with the winner (empty when there is no tie)
  best_guess   {"title", "score", "spikes", "position"} of the best match, also
               when unknown, or null
  runner_up    the same for the second-best title, or null
  candidates   candidate positions; kept: those with enough support
  fragment_events
  continuation the events recalled after the fragment: [{"pitches": [MIDI
               numbers], "rest": bool, "duration_class": int}, ...]"""


def parse_notes(text: str):
    """``60 62 64+67 r``: MIDI numbers, ``+`` joins a chord, ``r`` is a rest."""
    from jaxsnn_music.errors import UserError

    notes = []
    for token in text.replace(",", " ").split():
        if token.lower() in ("r", "rest"):
            notes.append(None)
            continue
        try:
            chord = [int(t) for t in token.split("+")]
        except ValueError:
            raise UserError(f"--notes: {token!r} is not a MIDI note number, a chord like "
                            f"60+64+67, or r") from None
        if not all(0 <= n <= 127 for n in chord):
            raise UserError(f"--notes: {token!r} is outside MIDI notes 0..127")
        notes.append(chord[0] if len(chord) == 1 else chord)
    return notes


@click.command("identify", epilog=IDENTIFY_JSON)
@checkpoint_option
@click.option("--fragment", type=click.Path(dir_okay=False), default=None,
              help="A MIDI file holding the fragment.")
@click.option("--notes", default=None,
              help='A note list instead: "60 62 64+67 r" (MIDI numbers, + for a chord, '
                   'r for a rest).')
@click.option("--track", type=click.IntRange(min=0), default=0, show_default=True,
              help="Which track of the fragment file (any track may match any "
                   "memorized track).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON "
              "(fields below).")
@checkpoint_set_option
@user_errors
def identify(checkpoint, fragment, notes, track, as_json, overrides):
    """Episodic recall: which memorized piece a fragment (--fragment FILE.mid, one of its
    tracks; or --notes "60 62 64+67 r") comes from, where, and how it continues.

    A fragment that no memorized piece holds is reported as unknown, not forced onto a
    title (see recall.min_support and recall.min_score)."""
    from jaxsnn_music.errors import UserError

    if (fragment is None) == (notes is None):
        raise UserError("give either --fragment FILE.mid or --notes \"60 62 64\"")
    network, _ = load_network(checkpoint, overrides)
    result = api.identify(network, fragment if fragment is not None else parse_notes(notes),
                          overrides, track=track)
    data = result.to_json()
    if as_json:
        click.echo(json.dumps(data, indent=1))
        return
    best = result.best
    if result.unknown:
        guess = f" (best guess {best.title}, score {best.score:.2f})" if best else ""
        click.echo(f"unknown: no memorized piece holds this fragment{guess}")
        return
    tie = f" (tied with {', '.join(t for t in result.ties if t != best.title)})" \
        if len(result.ties) > 1 else ""
    click.echo(f"{best.title}: score {best.score:.2f}, track {best.layer}, event {best.column}{tie}")
    if result.runner_up:
        click.echo(f"runner-up {result.runner_up.title}: score {result.runner_up.score:.2f}")
    if data["continuation"]:
        shown = " ".join("r" if e["rest"] else "+".join(map(str, e["pitches"]))
                         for e in data["continuation"][:16])
        click.echo(f"continues: {shown}{' ...' if len(data['continuation']) > 16 else ''}")
