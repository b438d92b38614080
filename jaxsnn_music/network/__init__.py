"""The spiking network of MODEL.md section 3 and its teacher-forced STDP learning.

One concept per module: :mod:`.lif` (neurons), :mod:`.spikes` (spike functions),
:mod:`.inhibition` (lateral inhibition switch), :mod:`.stdp` (pair STDP and spike timing
variants), :mod:`.delays` (ring buffer, delay read-outs), :mod:`.goal` (title links),
:mod:`.facilitation` (recall-time facilitation), :mod:`.subnets` (subnetwork sizes),
:mod:`.cells` (context cells), :mod:`.keys` (table keys), :mod:`.buckets` (capacity
buckets), :mod:`.synapses` (sparse store), :mod:`.sorted_merge` (merging sorted tables),
:mod:`.layout` (columns, layers, segments), :mod:`.learn` (the compiled scan),
:mod:`.model` (the :class:`Network`), :mod:`.growth` (the driver: learn pieces into a
network).
"""

from jaxsnn_music.network.buckets import bucket, trace_counts
from jaxsnn_music.network.cells import CellTable, allocate
from jaxsnn_music.network.delays import (
    AbstractDelayReadout,
    GaussianDelays,
    LinearDelays,
    RingBuffer,
    WholeSteps,
)
from jaxsnn_music.network.facilitation import Facilitation, FacilitationState
from jaxsnn_music.network.goal import CoincidenceRule, GoalLinks
from jaxsnn_music.network.growth import Learned, grow, grow_one_by_one, learn
from jaxsnn_music.network.inhibition import Inhibition, LateralInhibition, NoInhibition
from jaxsnn_music.network.layout import Segments, segment_pieces
from jaxsnn_music.network.learn import Learner, learn_batch, title_raster
from jaxsnn_music.network.lif import LIF, LIFState
from jaxsnn_music.network.model import Network
from jaxsnn_music.network.spikes import AbstractSpike, Heaviside, SuperSpike
from jaxsnn_music.network.stdp import STDP, ArrivalTiming, EmissionTiming, SpikeTiming, StdpTraces
from jaxsnn_music.network.subnets import DURATION, PITCH, Subnets
from jaxsnn_music.network.synapses import BYTES_PER_SYNAPSE, SynapseStore, merge

__all__ = [
    "BYTES_PER_SYNAPSE",
    "DURATION",
    "LIF",
    "PITCH",
    "STDP",
    "AbstractDelayReadout",
    "AbstractSpike",
    "ArrivalTiming",
    "CellTable",
    "CoincidenceRule",
    "EmissionTiming",
    "Facilitation",
    "FacilitationState",
    "GaussianDelays",
    "GoalLinks",
    "Heaviside",
    "Inhibition",
    "LIFState",
    "LateralInhibition",
    "Learned",
    "Learner",
    "LinearDelays",
    "Network",
    "NoInhibition",
    "RingBuffer",
    "Segments",
    "SpikeTiming",
    "StdpTraces",
    "Subnets",
    "SuperSpike",
    "SynapseStore",
    "WholeSteps",
    "allocate",
    "bucket",
    "grow",
    "grow_one_by_one",
    "learn",
    "learn_batch",
    "merge",
    "segment_pieces",
    "title_raster",
    "trace_counts",
]
