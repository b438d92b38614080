"""``jaxsnn-music recall | identify | evaluate``: what a checkpoint remembers.

Thin shells around :mod:`jaxsnn_music.recall`; heavy modules (JAX, the network)
are imported inside the commands so that ``--help`` stays fast. Every command
takes ``--set section.key=value`` on top of the checkpoint's own config (e.g.
``--set recall.readout=rate``).
"""

from __future__ import annotations

import json
import sys

import click

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


def _restore(checkpoint: str, overrides: tuple[str, ...]):
    """The checkpoint's network, its config with the user's overrides, and its manifest."""
    from jaxsnn_music.checkpoint import restore
    from jaxsnn_music.config import extend_config

    network, cfg, manifest = restore(checkpoint)
    if overrides:
        cfg = extend_config(cfg, overrides=overrides)
    return network, cfg, manifest


def _sources(manifest: dict) -> dict[str, str]:
    return {entry.get("title"): entry.get("source") for entry in manifest.get("corpus", [])
            if isinstance(entry, dict)}


def _stored_piece(manifest: dict, title: str, cfg):
    """The memorized piece, re-read from its source file (None when it cannot be)."""
    from jaxsnn_music.errors import BadMidiError
    from jaxsnn_music.midi_io import read_piece

    source = _sources(manifest).get(title)
    if not source:
        return None
    try:
        return read_piece(source, cfg.encoding, title=title)
    except BadMidiError:
        return None


def _corpus_pieces(items, cfg, cache_dir=None, quiet=True):
    from jaxsnn_music.corpus.cache import ParseCache
    from jaxsnn_music.corpus.load import load_corpus

    report = load_corpus(items, cfg.encoding, cache=ParseCache(cache_dir), progress=not quiet)
    for title, reason in report.skipped:
        click.echo(f"skipped {title}: {reason}", err=True)
    return report.pieces


def _memorized_items(manifest: dict):
    from jaxsnn_music.corpus.sources import CorpusItem
    from jaxsnn_music.errors import CheckpointError

    items = [CorpusItem(title, "midi", source) for title, source in _sources(manifest).items()
             if title and source]
    if not items:
        raise CheckpointError("the checkpoint's manifest lists no corpus sources to score against")
    return items


def recall(checkpoint, title, pacemaker_hz, out, tuned, overrides):
    """Title-cued recall: drive TITLE's neuron, recall every track it has, time it with the
    pacemaker and write it to OUT as MIDI (the piece's own tempo map when its source file
    is still there; rests are silences)."""
    from jaxsnn_music.events import TempoMap
    from jaxsnn_music.recall.cued import recall_title
    from jaxsnn_music.recall.pacemaker import time_piece, write_recall
    from jaxsnn_music.recall.scores import score_piece

    network, cfg, manifest = _restore(checkpoint, overrides)
    recaller = None
    if tuned is not None:
        from jaxsnn_music.tune import load_tuned

        recaller = load_tuned(tuned, cfg).recaller(cfg)
    recalled = recall_title(network, title, cfg, recaller)
    stored = _stored_piece(manifest, recalled.title, cfg)
    rate = cfg.recall.pacemaker_hz if pacemaker_hz is None else pacemaker_hz
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


def _parse_notes(text: str):
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


def identify(checkpoint, fragment, notes, track, as_json, overrides):
    """Episodic recall: which memorized piece a fragment (--fragment FILE.mid, one of its
    tracks; or --notes "60 62 64+67 r") comes from, where, and how it continues.

    A fragment that no memorized piece holds is reported as unknown, not forced onto a
    title (see recall.min_support and recall.min_score)."""
    from jaxsnn_music.errors import UserError
    from jaxsnn_music.recall.episodic import Fragment
    from jaxsnn_music.recall.episodic import identify as run_identify

    if (fragment is None) == (notes is None):
        raise UserError("give either --fragment FILE.mid or --notes \"60 62 64\"")
    network, cfg, _ = _restore(checkpoint, overrides)
    frag = (Fragment.from_midi(fragment, cfg, track) if fragment is not None
            else Fragment.from_notes(_parse_notes(notes)))
    result = run_identify(network, frag, cfg)
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
    from jaxsnn_music.config import load_config
    from jaxsnn_music.corpus.sources import resolve_items
    from jaxsnn_music.errors import UserError
    from jaxsnn_music.evaluate import run_capacity, run_full, run_paper

    network, cfg, manifest = _restore(checkpoint, overrides)
    say = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    items = _memorized_items(manifest)
    if protocol == "paper":
        recall_section = {f"recall.{k}": v for k, v in cfg.to_dict()["recall"].items()}
        paper_cfg = load_config("paper", overrides=recall_section)
        pieces = _corpus_pieces(items, paper_cfg, cache_dir, quiet)
        result = run_paper(pieces, paper_cfg, out, say)
        s = result["summary"]
        click.echo(f"paper protocol: {s['runs']} recalls, mean pitch accuracy "
                   f"{s['mean_pitch_accuracy']:.2%} ({s['perfect_runs']} at 100 %, "
                   f"{s['distinct_titles']} distinct titles); authors: 99.9 %, 48 at 100 % -> {out}")
        return
    if protocol == "capacity":
        result = run_capacity(_corpus_pieces(items, cfg, cache_dir, quiet), cfg, out, say)
        for row in result["sizes"]:
            click.echo(f"{row['pieces']:>5} pieces: pitch {row['pitch_weighted']:.2%}, duration "
                       f"{row['duration_weighted']:.2%}, largest weight {row['max_weight']:.0f}")
        return
    memorized = [p for p in _corpus_pieces(items, cfg, cache_dir, quiet) if p.title in
                 set(network.titles)]
    known = set(network.titles)
    try:
        others = resolve_items(held_out, None if held_out else (selection or "piano-midi"),
                               piano_midi)
        held = _corpus_pieces([i for i in others if i.title not in known], cfg, cache_dir, quiet)
    except UserError as exc:  # no held-out corpus on this machine: evaluate without it
        say(f"no held-out pieces ({exc})")
        held = []
    result = run_full(network, memorized, held, cfg, out, say)
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


def recall_commands() -> list[click.Command]:
    """The ``recall``, ``identify`` and ``evaluate`` commands (a factory: the shared options
    live in :mod:`jaxsnn_music.cli`, which imports this module when it is imported)."""
    from jaxsnn_music.cli import _user_errors

    setting = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                           help="Override a config value on top of the checkpoint's, e.g. "
                                "--set recall.readout=rate (repeatable).")
    checkpoint = click.option("--checkpoint", required=True, type=click.Path(file_okay=False),
                              help="A checkpoint folder written by `jaxsnn-music memorize`.")

    recall_cmd = click.command("recall")(checkpoint(
        click.option("--title", required=True, help="The piece to recall (its title, or the "
                     "file name part of it, e.g. chpn-p7).")(
        click.option("--pacemaker-hz", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Pacemaker rate (default recall.pacemaker_hz; reference_hz plays the "
                          "piece at its own tempo, twice that twice as fast).")(
        click.option("--out", required=True, type=click.Path(dir_okay=False),
                     help="The MIDI file to write.")(
        click.option("--tuned", type=click.Path(file_okay=False), default=None,
                     help="Recall with the thresholds and delays of a `jaxsnn-music tune` run "
                          "folder (delays rounded to whole steps).")(
            setting(_user_errors(recall))))))))

    identify_cmd = click.command("identify", epilog=IDENTIFY_JSON)(checkpoint(
        click.option("--fragment", type=click.Path(dir_okay=False), default=None,
                     help="A MIDI file holding the fragment.")(
        click.option("--notes", default=None,
                     help='A note list instead: "60 62 64+67 r" (MIDI numbers, + for a chord, '
                          'r for a rest).')(
        click.option("--track", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Which track of the fragment file (any track may match any "
                          "memorized track).")(
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON "
                     "(fields below).")(setting(_user_errors(identify))))))))

    evaluate_cmd = click.command("evaluate")(checkpoint(
        click.option("--protocol", type=click.Choice(["paper", "full", "capacity"]), default="full",
                     show_default=True)(
        click.option("--out", required=True, type=click.Path(file_okay=False),
                     help="Folder for the JSON, CSV and PNG results.")(
        click.option("--held-out", type=click.Path(), default=None,
                     help="A folder of MIDI files not memorized (fragments of them must come "
                          "back unknown); default: the rest of --selection.")(
        click.option("--selection", type=click.Choice(["paper", "piano-midi"]), default=None,
                     help="Where held-out pieces come from (default piano-midi).")(
        click.option("--piano-midi", type=click.Path(file_okay=False), default=None,
                     help="The piano-midi.de folder.")(
        click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                     help="Parse cache folder.")(
        click.option("--quiet", is_flag=True, help="No progress messages.")(
            setting(_user_errors(evaluate)))))))))))
    return [recall_cmd, identify_cmd, evaluate_cmd]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: jaxsnn-music recall | identify | evaluate")
