"""Recall: what a memorized network gives back (MODEL.md sections 4 and 5).

The data path's step after the checkpoint, one concept per module:

- :mod:`.simulator`: the one recall simulator (columns in order, 50 steps each; goal
  links, delayed sequential synapses, finite facilitation, inhibition), with swappable
  spike function, delay read-out, thresholds and pass-on.
- :mod:`.index`: the network's tables as host-side look-ups and per-chunk inputs.
- :mod:`.readout`: from a window's spikes to a recalled value (first spike, rate, chords).
- :mod:`.cued`: goal-based recall of every track of some titles (batched, vmapped).
- :mod:`.raster`: every spike of one recall, for figures.
- :mod:`.pacemaker`: pacemaker and striatal timing neurons -> onsets -> MIDI.
- :mod:`.episodic`: identify a fragment (or call it unknown) and continue it.
- :mod:`.scores`: pitch, duration and onset accuracy.
"""

from jaxsnn_music.recall.cued import (
    CuedTrack,
    RecalledPiece,
    RecalledTrack,
    recall_title,
    recall_titles,
    recall_units,
    title_index,
)
from jaxsnn_music.recall.episodic import Fragment, Identification, Match, TitleCluster, identify
from jaxsnn_music.recall.errors import EmptyFragmentError, MissingTrackError, UnknownTitleError
from jaxsnn_music.recall.index import NetworkIndex
from jaxsnn_music.recall.pacemaker import (
    Pacemaker,
    Striatum,
    TimedPiece,
    release_times,
    seconds_to_beats,
    time_piece,
    write_recall,
)
from jaxsnn_music.recall.readout import SILENT, ColumnReadOut, FirstSpike, Rate, ReadOut
from jaxsnn_music.recall.scores import TrackScore, score_piece, score_track, summarize
from jaxsnn_music.recall.simulator import (
    ColumnInputs,
    ColumnOutput,
    CueInputs,
    Recaller,
    RecallState,
    recall_chunk,
)

__all__ = [
    "SILENT",
    "ColumnInputs",
    "ColumnOutput",
    "ColumnReadOut",
    "CueInputs",
    "CuedTrack",
    "EmptyFragmentError",
    "FirstSpike",
    "Fragment",
    "Identification",
    "Match",
    "MissingTrackError",
    "NetworkIndex",
    "Pacemaker",
    "Rate",
    "ReadOut",
    "RecallState",
    "RecalledPiece",
    "RecalledTrack",
    "Recaller",
    "Striatum",
    "TimedPiece",
    "TitleCluster",
    "TrackScore",
    "UnknownTitleError",
    "identify",
    "recall_chunk",
    "recall_title",
    "recall_titles",
    "recall_units",
    "release_times",
    "score_piece",
    "score_track",
    "seconds_to_beats",
    "summarize",
    "time_piece",
    "title_index",
    "write_recall",
]
