"""The spiking network of MODEL.md section 3 and its teacher-forced STDP learning.

One concept per module: :mod:`.lif` (neurons), :mod:`.inhibition` (lateral
inhibition switch), :mod:`.stdp` (pair STDP and spike timing variants),
:mod:`.delays` (ring buffer), :mod:`.goal` (title links), :mod:`.facilitation`
(recall-time facilitation), :mod:`.buckets` (capacity buckets), :mod:`.synapses`
(sparse store), :mod:`.layout` (columns, layers, segments), :mod:`.learn` (the
compiled scan), :mod:`.model` (the :class:`Network`), :mod:`.growth` (the driver:
learn pieces into a network).
"""

from jaxsnn_music.network.buckets import bucket, trace_counts
from jaxsnn_music.network.delays import RingBuffer
from jaxsnn_music.network.facilitation import Facilitation, FacilitationState
from jaxsnn_music.network.goal import CoincidenceRule, GoalLinks
from jaxsnn_music.network.inhibition import Inhibition, LateralInhibition, NoInhibition
from jaxsnn_music.network.layout import Segments, segment_pieces
from jaxsnn_music.network.learn import Learner, learn_batch, title_raster
from jaxsnn_music.network.lif import LIF, LIFState
from jaxsnn_music.network.growth import Learned, learn, grow, grow_one_by_one
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.stdp import (
                                           STDP,
                                           ArrivalTiming,
                                           EmissionTiming,
                                           SpikeTiming,
                                           StdpTraces,
)
from jaxsnn_music.network.synapses import (
                                           BYTES_PER_SYNAPSE,
                                           DURATION,
                                           PITCH,
                                           SynapseStore,
                                           merge,
)

__all__ = [
                                           "BYTES_PER_SYNAPSE",
                                           "DURATION",
                                           "LIF",
                                           "PITCH",
                                           "STDP",
                                           "ArrivalTiming",
                                           "CoincidenceRule",
                                           "EmissionTiming",
                                           "Facilitation",
                                           "FacilitationState",
                                           "GoalLinks",
                                           "Inhibition",
                                           "LIFState",
                                           "LateralInhibition",
                                           "Learned",
                                           "Learner",
                                           "Network",
                                           "NoInhibition",
                                           "RingBuffer",
                                           "Segments",
                                           "SpikeTiming",
                                           "StdpTraces",
                                           "SynapseStore",
                                           "bucket",
                                           "learn",
                                           "learn_batch",
                                           "grow",
                                           "grow_one_by_one",
                                           "merge",
                                           "segment_pieces",
                                           "title_raster",
                                           "trace_counts",
]
