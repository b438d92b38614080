"""The config schema: one frozen dataclass per stage of the data path, and :class:`Config`.

Each field is declared with :func:`~jaxsnn_music.config.checks.spec`: its default, the
interval a number must lie in (``"(0.01, 10000]"``: more than 0.01, at most 10000), and,
where it differs from its section, whether learning reads it. A section checks its own
fields when it is built; :class:`Config` checks what relates two fields (whole-step
times, ``dt_ms <= tau_m``, ...). How YAML files, presets and ``--set`` make a Config is
:mod:`jaxsnn_music.config.loading`.

**Learned keys.** Every key of ``encoding``, ``memorize`` and ``network`` is read by
learning, except the network's recall-only keys (``learned=False``: the recall currents
and short-term facilitation). :func:`learned_keys` lists them; a network memorized with
one value of such a key cannot be recalled with another
(:func:`~jaxsnn_music.config.loading.recall_config`), and sweeps share a memorized
network between trials that differ only in the other keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from typing import Any, Literal

from jaxsnn_music.config.checks import Section, field_rules, spec
from jaxsnn_music.errors import ConfigError

Preset = Literal["paper", "default"]
"""The presets (what each sets is :mod:`jaxsnn_music.config.loading`'s)."""


@dataclasses.dataclass(frozen=True)
class EncodingConfig(Section, key="encoding", learned=True):
    """How a MIDI file becomes note events (MODEL.md section 2).

    Times are in beats (quarter notes); they are converted to integer ticks of
    each file's own resolution, so 1/16 beat is exactly 30 ticks at 480 per beat.
    """

    tracks: Literal["first", "all"] = "all"
    """``first``: only the first non-drum instrument (the paper); ``all``: every one."""
    chords: Literal["first", "all"] = "all"
    """``first``: keep one pitch per event (the paper's melody); ``all``: the whole chord."""
    note_order: Literal["onset", "file"] = "onset"
    """``onset``: sort notes by onset (MODEL.md); ``file``: the authors' procedure (pretty_midi's
    list order, rests from the previous listed note; reproduces their event counts, but events
    may then run backwards in time)."""
    chord_onset_beats: float = spec(1 / 16, "[0, 16]")
    """Notes starting within this of an event's first note join its chord."""
    chord_overlap_beats: float = spec(1 / 16, "[0, 16]")
    """Notes the event's first note still overlaps by at least this join its chord."""
    leading_rest_beats: float = spec(1 / 16, "[0, 1024]")
    """A silence at least this long before a track's first note becomes a rest."""
    rest_gap_beats: float = spec(50 / 480, "[0, 1024]")
    """A gap at least this long between an event's end and the next onset becomes a rest."""
    duration_step_beats: float = spec(0.125, "[0.0009765625, 16]")
    """Width of one duration class; class i (0-based) is (i + 1) * step beats (at least
    1/1024 beat, half a tick at the usual 480 per beat)."""
    n_duration_classes: int = spec(64, "(0, 4096]")
    """Number of duration classes (0.125 .. 8.0 beats with the default step); one neuron each."""
    duration_tolerance_beats: float = spec(1 / 16, "[0, 16]")
    """A duration within this of its class is exact; further away it is counted as approximated."""
    skip_drums: bool = True
    """Drop drum instruments (they have no pitch in the model's sense)."""
    max_notes: int = spec(200_000, "(0, 100000000]")
    """A file with more notes than this is refused (a guard against absurd files)."""
    max_file_bytes: int = spec(64 * 1024 * 1024, "(0, 1099511627776]")
    """A file larger than this is refused before it is parsed (at most 1 TiB)."""
    min_qpm: float = spec(4.0, "[0.001, 60000000]")
    """Tempi below this (quarter notes per minute) are absurd: the file is refused. (MIDI can
    express 3.6 .. 6e7 qpm; must be < ``max_qpm``.)"""
    max_qpm: float = spec(2000.0, "[0.001, 60000000]")
    """Tempi above this are absurd: the file is refused."""
    render_velocity: int = spec(80, "[1, 127]")
    """Velocity of notes written back to MIDI (events carry no velocity)."""


@dataclasses.dataclass(frozen=True)
class NetworkConfig(Section, key="network", learned=True):
    """The spiking network and its learning rule (MODEL.md sections 3, 4 and 6).

    Units: ms for time, arbitrary units for currents and potentials. Times that
    the simulation counts in steps (window, refractory period, coincidence and
    facilitation windows, delays) must be whole multiples of ``dt_ms``;
    :class:`Config` refuses any that are not, so no rule ever depends on
    floating-point equality of times (MODEL.md section 6).
    """

    resistance: float = spec(2.0, "[0.001, 1000]")
    """R of the LIF membrane: tau_m dV/dt = -V + R I."""
    capacitance: float = spec(0.2, "[0.001, 1000]")
    """C of the LIF membrane; tau_m = R C = 0.4 ms."""
    v_th: float = spec(5.0, "[0.001, 10000]")
    """Firing threshold: a neuron spikes when V >= v_th (must be > v_reset and v_0)."""
    v_reset: float = spec(0.0, "[-10000, 10000]")
    """Potential after a spike and throughout the refractory period."""
    v_0: float = spec(0.0, "[-10000, 10000]")
    """Potential at the start of every simulation (each learned piece, each recall)."""
    refractory_ms: float = spec(0.5, "[0, 1000]")
    """After a spike the neuron is held at v_reset for this long (5 steps)."""
    dt_ms: float = spec(0.1, "[0.0001, 10]")
    """Forward-Euler time step (must be <= tau_m)."""
    window_ms: float = spec(5.0, "[0.0001, 1000]")
    """Simulated time per note event (column): 50 steps (at most 10000)."""
    input_current: float = spec(10.0, "[0, 10000]")
    """Teacher current into the neuron(s) preferring an event's value while it is learned."""
    title_current_learn: float = spec(10.0, "[0, 10000]")
    """Current into a piece's title neuron for the whole time its piece is learned."""
    title_current_recall: float = spec(30.0, "[0, 10000]", learned=False)
    """Current into the cued title neuron during goal-based recall."""
    n_delays: int = spec(4, "(0, 15]")
    """D: column k receives sequential synapses from columns k-1 .. k-D, delay = distance."""
    a_plus: float = spec(1.0, "[0, 1000]")
    """STDP potentiation amplitude (pre before post)."""
    a_minus: float = spec(1.0, "[0, 1000]")
    """STDP depression amplitude (post before pre)."""
    tau_plus_ms: float = spec(5.0, "[0.001, 10000]")
    """Time constant of the potentiation window (the presynaptic trace)."""
    tau_minus_ms: float = spec(5.0, "[0.001, 10000]")
    """Time constant of the depression window (the postsynaptic trace)."""
    stdp_timing: Literal["emission", "arrival"] = "arrival"
    """Where a presynaptic spike's time is taken: at emission (the authors' code, long
    delays learn ~e^-d weaker) or at its delayed arrival (ours)."""
    stdp_coincident: Literal["potentiate", "ignore"] = "potentiate"
    """A presynaptic spike (arrival) in the same step as a postsynaptic spike:
    ``potentiate`` counts it as causal (+a_plus, the pre pathway runs first, as in
    Brian2); ``ignore`` counts it in neither direction. It decides the arrival
    variant: teacher-forced neurons all fire in the same phase of their window,
    so with ``ignore`` every arrival-timed weight cancels to ~0 (a_plus = a_minus)."""
    context_weight: float = spec(0.0, "[0, 1000000]")
    """Heterosynaptic normalization (0: off, the paper): the potentiation a neuron gets while one
    event is learned is scaled to sum to this, shared among the presynaptic neurons of the
    context in proportion to their STDP changes; a neuron fully predicted by its stored context
    then gets the same drive whatever the context's size, and a partly predicted one less."""
    w_max: float = spec(math.inf, "[-1000000, 1000000]", also=math.inf)
    """Upper bound of sequential weights (inf = unbounded, the paper); must be > w_min."""
    w_min: float = spec(-math.inf, "[-1000000, 1000000]", also=-math.inf)
    """Lower bound of sequential weights (-inf = unbounded, the paper)."""
    lateral_inhibition: bool = True
    """All-to-all inhibition inside each minicolumn (the paper describes it; the
    authors' code had it off; which one reproduces the paper is an ablation)."""
    inhibition_weight: float = spec(20.0, "[0, 10000]")
    """Current removed from a neuron per other spike of its minicolumn in the previous step."""
    inhibition_floor: float = spec(-20.0, "[-10000, 0]")
    """The total current (input minus inhibition) is clamped at this from below."""
    inhibition_tau_ms: float = spec(0.0, "[0, 1000]")
    """Time constant of the inhibitory current a spike causes in the other neurons of its
    minicolumn: 0 = it lasts one step (the paper); longer, and the first neurons to fire keep
    the others down for the rest of the window (winner-take-all)."""
    goal_forward_weight: float = spec(3.0, "[0, 10000]")
    """Weight of a created title -> note link."""
    goal_feedback_weight: float = spec(1.0, "[0, 10000]")
    """Weight of a created note -> title feedback link."""
    coincidence_count: int = spec(4, "(0, 10000]")
    """A note neuron is linked to the title when this many of its spikes in one window
    lie within coincidence_window_ms of a title spike."""
    coincidence_window_ms: float = spec(0.5, "[0, 1000]")
    """|t_note - t_title| <= this counts as coincident (inclusive, in whole steps)."""
    goal_links: str = spec("all", pattern=(r"all|none|first:[1-9][0-9]{0,6}",
                                           "all, none or first:N (N a whole number >= 1)"))
    """Which notes a title is linked to: ``all`` (the paper: the title neuron is driven while its
    whole piece is learned), ``first:N`` (it is driven during the first N events of each track
    only, so the coincidence rule links only those) or ``none`` (never driven)."""
    context_cells: int = spec(1, "[1, 63]")
    """Neurons per value in a column (M); learning picks one per stored context, so that a
    transition belongs to the context it was stored in (:mod:`jaxsnn_music.network.cells`).
    1 is the paper's network (one neuron per pitch or duration value)."""
    cross_subnet: bool = False
    """Sequential synapses also run between the pitch and duration subnetworks (from the
    columns before), so each subnetwork's next value is predicted from both; off in the paper."""
    facilitation_sequential: float = spec(0.2, "[0, 100]", learned=False)
    """Recall: u <- u + f (u + 1) on a sequential synapse whose presynaptic spike arrived recently."""
    facilitation_goal: float = spec(0.5, "[0, 100]", learned=False)
    """Recall: the same increment for goal (title) links."""
    facilitation_window_ms: float = spec(0.5, "[0, 1000]", learned=False)
    """Recall: 'recently' = the last arrival lies within this many ms (inclusive, whole steps)."""
    facilitation_cap: float = spec(10.0, "[0, 1000000]", learned=False)
    """Recall: u never exceeds this (the authors' u overflowed float32; MODEL.md section 6)."""
    facilitation_reset: Literal["window", "recall"] = spec("window", learned=False)
    """Recall: u goes back to 0 at the start of every column window, or only once per recall."""
    max_chord_size: int = spec(32, "(0, 128]")
    """Events with more chord tones than this are refused (the largest in the corpus has 20)."""
    segment_columns: int = spec(64, "(0, 65536]")
    """Learning cuts tracks into segments of this many columns (plus n_delays of context)."""
    batch_segments: int = spec(64, "(0, 65536]")
    """Segments learned in parallel by one call of the compiled learning scan."""

    @property
    def tau_m_ms(self) -> float:
        return self.resistance * self.capacitance

    @property
    def steps_per_window(self) -> int:
        return round(self.window_ms / self.dt_ms)

    @property
    def refractory_steps(self) -> int:
        return round(self.refractory_ms / self.dt_ms)

    @property
    def coincidence_steps(self) -> int:
        return round(self.coincidence_window_ms / self.dt_ms)

    @property
    def facilitation_steps(self) -> int:
        return round(self.facilitation_window_ms / self.dt_ms)

    @property
    def goal_events(self) -> int | None:
        """How many events of each track a title is driven (linked) for; None: all of them."""
        if self.goal_links == "all":
            return None
        return 0 if self.goal_links == "none" else int(self.goal_links.split(":")[1])


MAX_NEURONS_PER_SUBNET = 8192
"""Neurons of one subnetwork in one column (values x context cells): the network's key width
(:mod:`jaxsnn_music.network.keys`)."""
MAX_STEPS_PER_WINDOW = 10_000
"""A column window may be at most this many time steps (``window_ms / dt_ms``)."""


@dataclasses.dataclass(frozen=True)
class MemorizeConfig(Section, key="memorize", learned=True):
    """How a corpus is memorized as a resumable run (:mod:`jaxsnn_music.resumable`)."""

    chunk_pieces: int = spec(64, "[1, 1000000]")
    """Pieces learned per chunk; progress is saved after every chunk. Part of the result:
    chunks merge one after another, so another chunk size sums weights in another order.
    A merge costs about the chunk plus one copy of the store, so small chunks cost little."""
    keep_checkpoints: int = spec(2, "[1, 1000]")
    """Progress steps kept on disk while a run goes on (the newest ones); no effect on the result."""


@dataclasses.dataclass(frozen=True)
class RecallConfig(Section, key="recall", learned=False):
    """Recall, identification, the pacemaker and the scores (MODEL.md sections 4 and 5).

    Facilitation during recall is set in the ``network`` section (``facilitation_*``):
    it is part of the synapse model. Everything here is about reading the network out.
    """

    sequential: Literal["on", "off"] = "on"
    """Whether the learned sequential (STDP) synapses take part in recall (``off``: only the
    title's goal links drive the columns; the ablation that measures what the memory carries)."""
    spike_timing: Literal["precise", "step"] = "precise"
    """When a neuron's spike counts as happening for the ``first`` read-out: at its threshold
    crossing located inside the step by linear interpolation of V (``precise``, as NEST's
    precise-timing neurons do), or at its step (``step``: neurons crossing in the same step tie)."""
    readout: Literal["first", "rate"] = "first"
    """A column's value: the ``first`` neuron to spike in its window (the paper; ties within a
    step go to the earlier interpolated threshold crossing), or the one that fires most (``rate``)."""
    chord_readout: Literal["volley", "window"] = "volley"
    """With ``encoding.chords = all``, a chord is read as a set: the neurons whose first spike lies
    within ``volley_ms`` of the column's first spike (``volley``), or every neuron that fires in
    the window (``window``)."""
    volley_ms: float = spec(0.015, "[0.000001, 1000]")
    """Width of the first volley that a chord is read from (ms; ``volley`` read-out)."""
    propagate: Literal["all", "readout"] = "readout"
    """What a recalled column passes on to the columns after it: every spike of the window
    (``all``, the paper's network, in which everything reachable through learned synapses ends
    up firing), or only the spikes of its read-out (``readout``: a winner-take-all minicolumn)."""
    chunk_columns: int = spec(64, "(0, 65536]")
    """Columns simulated per call of the compiled recall scan (row tables are padded per chunk)."""
    batch_units: int = spec(64, "(0, 65536]")
    """(title, track) recalls simulated side by side (vmapped) per call."""
    sparse_inputs: int = spec(128, "[0, 65536]")
    """Speed only, never the result: while no recall of a batch has more presynaptic channels
    (a neuron of one of the previous D columns) that fired than this, a window gathers only
    their synapses; otherwise all synapses into the column (0: always all)."""
    sparse_slots: int = spec(64, "[0, 65536]")
    """Speed only, never the result: while also no recall of a batch can reach more neurons of a
    column than this (through the fired channels and its title's links), only those are
    simulated (0: always every neuron of the column)."""
    pacemaker_hz: float = spec(16.0, "(0.01, 10000]")
    """Firing rate of the pacemaker cluster during recall."""
    reference_hz: float = spec(16.0, "(0.01, 10000]")
    """The pacemaker rate at which a recalled piece plays at its own tempo map."""
    spikes_per_step: int = spec(1, "(0, 1000]")
    """Pacemaker spikes a striatal timing neuron counts per duration step (1/8 beat); an event
    of duration class i is released after (i + 1) * spikes_per_step spikes."""
    timing: Literal["spiking", "counter"] = "spiking"
    """How recalled onsets are made: ``spiking``, a pacemaker LIF neuron and one striatal LIF
    integrator per track simulated step by step (:mod:`jaxsnn_music.recall.timing`), or
    ``counter``, the same count done as integer arithmetic (no neurons)."""
    pacemaker: Literal["regular", "poisson"] = "regular"
    """The pacemaker's drive (``timing = spiking``): a constant current (``regular``: it fires
    every ``pacemaker_steps`` steps), or input spikes at random steps that each make it fire
    (``poisson``: its intervals are its refractory period plus a geometric wait, mean
    ``pacemaker_steps`` steps)."""
    pacemaker_steps: int = spec(0, "[0, 1000000]")
    """Euler steps of the timing circuit per (mean) pacemaker period: its clock, one step being
    1 / (pacemaker_hz * pacemaker_steps) s; more than the network's refractory steps (0: one
    more, 6, the fastest the network's neuron fires). ``poisson``: more steps, more irregular
    (interval CV 0.31 at 8, 0.95 at 100 with 5 refractory steps)."""
    striatal_tau_periods: float = spec(math.inf, "[1, 1000000000000]", also=math.inf)
    """Membrane time constant of the striatal integrators, in pacemaker periods (inf: no leak,
    a perfect counter of pacemaker spikes; a finite one forgets and needs more spikes)."""
    pacemaker_seed: int = spec(0, "[0, 4294967295]")
    """Random seed of the ``poisson`` pacemaker's input."""
    min_support: float = spec(1.0, "[0, 1]")
    """Identification: a candidate position is kept when at least this share of the fragment's
    events (after the first) is reached by learned sequential input from the events before it."""
    min_score: float = spec(0.9, "[0, 1]")
    """Identification: below this score (the share of the fragment's notes linked to the winning
    title at the matched columns) the fragment is reported as unknown."""
    identify_durations: bool = True
    """Identification also replays the fragment's durations (when it has them) into the
    duration subnetwork: candidates must be reached there too and both feed the title."""
    max_candidates: int = spec(2048, "(0, 10000000]")
    """Identification: at most this many candidate positions are replayed into the title cluster
    (the best supported first)."""
    continuation_events: int = spec(32, "[0, 10000000]")
    """Events recalled after an identified fragment (0: up to the end of the track)."""
    onset_tolerance_beats: float = spec(1 / 16, "[0, 1024]")
    """A recalled onset within this of the stored one counts as correct."""
    paper_runs: int = spec(50, "(0, 1000000]")
    """evaluate --protocol paper: title-cued recalls, each in a fresh network."""
    paper_pieces: int = spec(5, "(0, 1000000]")
    """evaluate --protocol paper: random pieces memorized per run (one of them is cued)."""
    fragment_lengths: str = spec("4,6,8,12,16,24,32", "[2, 1000000]")
    """evaluate: fragment lengths (events) of the episodic identification curve."""
    fragments_per_length: int = spec(40, "(0, 1000000]")
    """evaluate: fragments per length, from memorized and from held-out pieces each."""
    capacity_sizes: str = spec("5,10,20,50,100,200,331", "[1, 10000000]")
    """evaluate --protocol capacity: numbers of stored pieces (nested random subsets)."""
    seed: int = spec(0, "[0, 4294967295]")
    """Random seed of the evaluation protocols (piece draws, fragment positions)."""

    def lengths(self) -> tuple[int, ...]:
        """``fragment_lengths`` as integers."""
        return tuple(int(x) for x in str(self.fragment_lengths).split(",") if x.strip())


@dataclasses.dataclass(frozen=True)
class TuneConfig(Section, key="tune", learned=False):
    """Differentiable mode (``jaxsnn-music tune``, :mod:`jaxsnn_music.tune`, MODEL.md section 5.4).

    A surrogate-gradient copy of the recall dynamics in which the firing thresholds (per
    neuron of each subnetwork, and the title neuron's) and the sequential synapses' delays
    (per subnetwork, delay slot and presynaptic neuron) are real-valued and trained with optax
    to make cued recall robust to a perturbed cue; the memorized weights stay frozen.
    """

    surrogate_slope: float = spec(2.0, "[0.001, 10000]")
    """SuperSpike / fast-sigmoid slope: d spike / dV = 1 / (1 + slope |V - v_th|)^2."""
    delay_readout: Literal["gaussian", "linear"] = "gaussian"
    """How a real-valued delay reads the delay buffer: a normalised Gaussian kernel (Hammouamri
    et al. 2024) whose width anneals, or linear interpolation between the two nearest steps."""
    delay_range_steps: int = spec(25, "[0, 10000]")
    """A delay of ``d`` columns may move this many steps either way from ``d`` windows
    (at most the steps of one window)."""
    sigma_start: float = spec(0.0, "[0, 10000]")
    """Gaussian read-out width (steps) at the start; 0 = a third of the delay range's width."""
    sigma_end: float = spec(0.3, "[0.001, 10000]")
    """Gaussian read-out width (steps) from ``sigma_anneal`` of training on."""
    sigma_anneal: float = spec(0.5, "[0, 1]")
    """Share of the training steps over which the width anneals (linearly) to ``sigma_end``."""
    readout_tau_steps: float = spec(2.0, "[0.001, 10000]")
    """Temperature of the soft first-spike read-out: logit = -(first-spike time) / tau."""
    silent_margin_steps: float = spec(10.0, "[0, 100000]")
    """A neuron that does not fire counts as firing this long after its window's end."""
    threshold_min: float = spec(1.0, "[0.001, 10000]")
    """Trained thresholds are clamped to [threshold_min, threshold_max]."""
    threshold_max: float = spec(50.0, "[0.001, 10000]")
    """Must be > threshold_min."""
    lr_threshold: float = spec(0.05, "[0.000000001, 10000]")
    """Adam learning rate of the thresholds."""
    lr_delay: float = spec(0.5, "[0.000000001, 10000]")
    """Adam learning rate of the delays (steps; their own parameter group)."""
    steps: int = spec(150, "(0, 10000000]")
    """Optimiser steps."""
    batch: int = spec(16, "(0, 65536]")
    """Perturbed cues per optimiser step."""
    horizon: int = spec(4, "(0, 4096]")
    """Columns recalled after each cue (the loss covers them all)."""
    title_cue: bool = True
    """Drive the piece's title during the cued recall (False: the sequence memory alone)."""
    jitter_steps: int = spec(2, "[0, 10000]")
    """Cue perturbation: every cue spike moves by a uniform whole number of steps in +-this."""
    drop_prob: float = spec(0.2, "[0, 1]")
    """Cue perturbation: every cue spike is dropped with this probability."""
    extra_spikes: float = spec(2.0, "[0, 100000]")
    """Cue perturbation: spurious spikes per cue column (Poisson mean), random neuron and step."""
    train_share: float = spec(0.5, "(0, 1)")
    """Share of the memorized titles whose cues train; the others' cues are held out."""
    eval_cues: int = spec(256, "(0, 10000000]")
    """Held-out perturbed cues scored in the plain simulator (before and after tuning)."""
    eval_columns: int = spec(8, "(0, 4096]")
    """Columns recalled (and scored) after each held-out cue."""
    checkpoint_every: int = spec(25, "(0, 10000000]")
    """Optimiser steps between orbax checkpoints of the training state (the run resumes)."""
    log_every: int = spec(5, "(0, 10000000]")
    """Optimiser steps between W&B / progress log lines."""
    wandb: Literal["offline", "disabled"] = "offline"
    """W&B logging of the training run (offline files; never a network wait)."""
    seed: int = spec(0, "[0, 4294967295]")
    """Random seed (cue draws, perturbations)."""


SECTIONS: dict[str, type[Section]] = {cls.section_key: cls for cls in (
    EncodingConfig, NetworkConfig, MemorizeConfig, RecallConfig, TuneConfig)}
"""Every section, by its key prefix (the order of :class:`Config`'s fields)."""


@dataclasses.dataclass(frozen=True)
class Config:
    """Every constant of the pipeline, by section.

    Each section checks its own fields when it is built; building a Config checks what
    relates two of them (:meth:`check`), so a Config made any way at all is valid.
    """

    preset: Preset = "default"
    encoding: EncodingConfig = dataclasses.field(default_factory=EncodingConfig)
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    memorize: MemorizeConfig = dataclasses.field(default_factory=MemorizeConfig)
    recall: RecallConfig = dataclasses.field(default_factory=RecallConfig)
    tune: TuneConfig = dataclasses.field(default_factory=TuneConfig)

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse, in one line naming the keys, any two values that do not fit together."""
        presets = typing.get_args(Preset)
        if self.preset not in presets:
            raise ConfigError(f"unknown preset {self.preset!r} (choose from {', '.join(presets)})")
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(f"config section {name} must be a {cls.__name__}, "
                                  f"got a {type(getattr(self, name)).__name__}")
        enc, net, tune = self.encoding, self.network, self.tune
        if not enc.min_qpm < enc.max_qpm:
            raise ConfigError(f"encoding.min_qpm ({enc.min_qpm}) must be < encoding.max_qpm "
                              f"({enc.max_qpm})")
        if not net.dt_ms <= net.tau_m_ms:
            # Beyond this forward Euler overshoots; it also keeps an undriven neuron from
            # ever crossing threshold, which the active-column learning relies on.
            raise ConfigError(f"network.dt_ms ({net.dt_ms}) must be <= tau_m = "
                              f"network.resistance * network.capacitance ({net.tau_m_ms})")
        if not net.v_th > max(net.v_reset, net.v_0):
            raise ConfigError(f"network.v_th ({net.v_th}) must be > network.v_reset "
                              f"({net.v_reset}) and network.v_0 ({net.v_0})")
        for name in ("window_ms", "refractory_ms", "coincidence_window_ms",
                     "facilitation_window_ms"):
            steps = getattr(net, name) / net.dt_ms
            if abs(steps - round(steps)) > 1e-6:
                raise ConfigError(f"network.{name} ({getattr(net, name)}) must be a whole number "
                                  f"of steps of network.dt_ms={net.dt_ms}")
        if not 1 <= net.steps_per_window <= MAX_STEPS_PER_WINDOW:
            raise ConfigError(f"network.window_ms ({net.window_ms}) must be 1 to "
                              f"{MAX_STEPS_PER_WINDOW} steps of network.dt_ms={net.dt_ms}, "
                              f"got {net.steps_per_window}")
        if not net.w_min < net.w_max:
            raise ConfigError(f"network.w_min ({net.w_min}) must be < network.w_max ({net.w_max})")
        for values, key in ((129, "129 pitch classes"),
                            (enc.n_duration_classes, "encoding.n_duration_classes")):
            if values * net.context_cells > MAX_NEURONS_PER_SUBNET:
                raise ConfigError(f"network.context_cells ({net.context_cells}) x {key} "
                                  f"({values}) must be <= {MAX_NEURONS_PER_SUBNET} neurons per column")
        if tune.delay_range_steps > net.steps_per_window:
            raise ConfigError(f"tune.delay_range_steps ({tune.delay_range_steps}) must be <= the "
                              f"steps of one window ({net.steps_per_window})")
        if not tune.threshold_min < tune.threshold_max:
            raise ConfigError(f"tune.threshold_min ({tune.threshold_min}) must be < "
                              f"tune.threshold_max ({tune.threshold_max})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self, section: str) -> str:
        """A short hash of one section, for cache keys and checkpoint manifests."""
        payload = json.dumps(dataclasses.asdict(getattr(self, section)), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def learned_keys(section: str | None = None) -> tuple[str, ...]:
    """The keys (``"network.n_delays"``, ...) that learning reads, in schema order: fixed once
    a network is memorized. ``section``: only that section's."""
    names = [section] if section is not None else list(SECTIONS)
    return tuple(rule.key for name in names for rule in field_rules(SECTIONS[name])
                 if rule.learned)
