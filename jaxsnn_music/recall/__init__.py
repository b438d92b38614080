"""Recall: what a memorized network gives back (MODEL.md sections 4 and 5).

The data path's step after the checkpoint, one concept per module:

- :mod:`.simulate`: the compiled recall dynamics (columns in order, 50 steps each;
  goal links, delayed sequential synapses, finite facilitation, inhibition).
- :mod:`.readout`: from a window's spikes to a recalled value (first spike, rate, chords).
- :mod:`.tables`: the network's synapses and links as host-side lookups and chunk inputs.
- :mod:`.cued`: goal-based recall of every track of some titles (batched, vmapped).
- :mod:`.pacemaker`: pacemaker and striatal timing neurons -> onsets -> MIDI.
- :mod:`.episodic`: identify a fragment (or call it unknown) and continue it.
- :mod:`.scores`: pitch, duration and onset accuracy.
"""

from jaxsnn_music.recall.cued import (
    RecalledPiece,
    RecalledTrack,
    CuedTrack,
    recall_title,
    recall_titles,
    recall_units,
    title_index,
)
from jaxsnn_music.recall.episodic import Fragment, Identification, Match, TitleCluster, identify
from jaxsnn_music.recall.errors import EmptyFragmentError, MissingTrackError, UnknownTitleError
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
from jaxsnn_music.recall.simulate import (
    ChunkInputs,
    ColumnOutput,
    Recaller,
    RecallState,
    ColumnSynapses,
    dense_weights,
    recall_chunk,
)
from jaxsnn_music.recall.index import NetworkIndex

__all__ = [
    "SILENT",
    "ChunkInputs",
    "ColumnOutput",
    "ColumnReadOut",
    "EmptyFragmentError",
    "FirstSpike",
    "Fragment",
    "NetworkIndex",
    "Identification",
    "Match",
    "MissingTrackError",
    "Pacemaker",
    "Rate",
    "ReadOut",
    "RecallState",
    "RecalledPiece",
    "RecalledTrack",
    "Recaller",
    "ColumnSynapses",
    "Striatum",
    "TimedPiece",
    "TitleCluster",
    "TrackScore",
    "CuedTrack",
    "UnknownTitleError",
    "dense_weights",
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
