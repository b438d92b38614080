"""Episodic recall: identify fragments (ties, unknowns, files), report position and continuation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jaxsnn_music.config import load_config
from jaxsnn_music.errors import UserError
from jaxsnn_music.midi_io import write_midi
from jaxsnn_music.network import Network, grow
from jaxsnn_music.recall.episodic import Fragment, identify
from jaxsnn_music.recall.errors import EmptyFragmentError, MissingTrackError
from jaxsnn_music.recall.index import NetworkIndex
from test_network_fixtures import head, make_piece, make_track

CFG = load_config("default", overrides={"recall.chunk_columns": 16, "recall.batch_units": 4})
SHARED = [(74,), (72,), (71,), (69,), (67,)]


def melody(title, chords, durations=None):
    track = make_track(chords, durations or [1] * len(chords))
    # Ticks that agree with the duration classes (480 per beat, class i = (i + 1) / 8 beat),
    # so that the piece survives a trip through a MIDI file.
    ticks = (track.duration_class.astype(np.int64) + 1) * 60
    onset = np.concatenate([[0], np.cumsum(ticks)[:-1]])
    return make_piece(title, dataclasses.replace(track, onset=onset, duration=ticks))


def notes(*pitches):
    return [(p,) for p in pitches]


@pytest.fixture(scope="module")
def corpus():
    pieces = [
        melody("A", notes(60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60),
               [1, 1, 1, 1, 3, 1, 1, 7, 1, 1, 1, 1, 1, 1, 7]),
        # The same passage in B (from column 3) and in C (from column 9).
        melody("B", notes(48, 50, 52) + SHARED + notes(55, 57, 59)),
        melody("C", notes(40, 41, 43, 45, 47, 48, 50, 52, 53) + SHARED + notes(60)),
        make_piece("D", make_track(notes(57, 59, 60, 62), [3, 3, 3, 3]),
                   make_track([(52, 45), (53, 47), (55, 48), (0,), (57, 50), (59, 52)], [1] * 6)),
    ]
    net = grow(Network.empty(), pieces, CFG)
    return {p.title: p for p in pieces}, net, NetworkIndex(net, CFG)


def test_fragment_of_a_stored_piece_is_found_with_its_position_and_continuation(corpus):
    pieces, net, host = corpus
    a = pieces["A"].tracks[0]
    result = identify(net, Fragment.from_track(a, 4, 5), CFG, host)
    assert not result.unknown and result.title == "A" and result.ties == ("A",)
    assert (result.best.layer, result.best.column) == (0, 4)
    assert result.best.score == 1.0 and result.best.support == 1.0
    # The continuation is the rest of A, recalled from the driven title.
    cont = result.continuation
    assert cont.start == 9 and cont.chords() == a.chords()[9:]
    np.testing.assert_array_equal(cont.duration_class, a.duration_class[9:])
    j = result.to_json()
    assert j["title"] == "A" and j["position"] == {"track": 0, "column": 4} and not j["unknown"]
    assert j["continuation"][0] == {"pitches": [a.chord(9)[0] - 1], "rest": False,
                                    "duration_class": int(a.duration_class[9])}


def test_second_track_with_chords_and_rests(corpus):
    pieces, net, host = corpus
    d = pieces["D"].tracks[1]
    result = identify(net, Fragment.from_track(d, 1, 4), CFG, host)
    assert result.title == "D" and (result.best.layer, result.best.column) == (1, 1)
    assert result.continuation.chords() == d.chords()[5:]


def test_a_fragment_in_two_pieces_is_a_tie(corpus):
    _, net, host = corpus
    result = identify(net, Fragment(tuple(SHARED)), CFG, host)
    assert not result.unknown and set(result.ties) == {"B", "C"}
    assert {(m.title, m.column) for m in result.ranking[:2]} == {("B", 3), ("C", 9)}
    assert result.to_json()["ties"] == list(result.ties)
    assert result.runner_up.score == result.best.score == 1.0


def test_unlearned_fragments_are_unknown(corpus):
    pieces, net, host = corpus
    a, b = pieces["A"].tracks[0], pieces["B"].tracks[0]
    unseen = Fragment(tuple(notes(61, 63, 66, 68, 70)))
    # Every note of this one was stored at its column, by A or by B; the transitions were not.
    chimera = Fragment(tuple(a.chords()[:2] + b.chords()[2:5]))
    for fragment in (unseen, chimera):
        result = identify(net, fragment, CFG, host)
        assert result.unknown and result.title is None and result.continuation is None
        assert result.to_json()["unknown"] is True
    # The same chimera with a tolerant support threshold is still refused by its score.
    tolerant = dataclasses.replace(CFG, recall=dataclasses.replace(CFG.recall, min_support=0.5))
    result = identify(net, chimera, tolerant, host)
    assert result.kept > 0 and result.unknown and result.best.score < CFG.recall.min_score


def test_fragments_from_note_lists_and_files(corpus, tmp_path):
    pieces, net, host = corpus
    # A note list (MIDI numbers, no durations) of C's passage before the shared one.
    fragment = Fragment.from_notes([p - 1 for (p,) in pieces["C"].tracks[0].chords()[3:8]])
    assert fragment.durations is None
    assert identify(net, fragment, CFG, host).title == "C"
    # A MIDI file holding events 2..8 of A's track, read back with the network's encoding.
    cut = head(pieces["A"].tracks[0], 9)
    k = 2
    cut = dataclasses.replace(
        cut, onset=cut.onset[k:] - cut.onset[k], duration=cut.duration[k:],
        chord_ptr=cut.chord_ptr[k:] - cut.chord_ptr[k], pitch=cut.pitch[cut.chord_ptr[k]:],
        duration_class=cut.duration_class[k:], approximated=cut.approximated[k:])
    part = dataclasses.replace(pieces["A"], tracks=(cut,))
    path = write_midi(part, tmp_path / "fragment.mid", CFG.encoding)
    result = identify(net, Fragment.from_midi(path, CFG), CFG, host)
    assert result.title == "A" and result.best.column == 2
    with pytest.raises(MissingTrackError):
        Fragment.from_midi(path, CFG, track=3)


def test_fragments_without_notes_are_one_line_errors():
    for make in (lambda: Fragment.from_notes([]), lambda: Fragment.from_notes([None, None]),
                 lambda: Fragment(((0,),))):
        with pytest.raises(EmptyFragmentError) as err:
            make()
        assert isinstance(err.value, UserError) and "\n" not in str(err.value)
