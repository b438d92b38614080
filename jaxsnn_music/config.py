"""The one config object: the single source of every constant.

A :class:`Config` is a tree of frozen dataclasses, one section per stage of the
data path (``encoding`` now; the network and recall sections join it as they are
built). YAML files, the CLI's ``--set section.key=value`` and sweeps all produce
a ``Config`` through :func:`load_config`, so a value cannot be set in one place
and silently ignored in another.

Two presets exist: ``paper`` (what Liang, Zeng & Xu ran: first track, first
chord tone) and ``default`` (every track, whole chords).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from jaxsnn_music.errors import ConfigError

PRESETS = ("paper", "default")


@dataclasses.dataclass(frozen=True)
class EncodingConfig:
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
    chord_onset_beats: float = 1 / 16
    """Notes starting within this of an event's first note join its chord."""
    chord_overlap_beats: float = 1 / 16
    """Notes the event's first note still overlaps by at least this join its chord."""
    leading_rest_beats: float = 1 / 16
    """A silence at least this long before a track's first note becomes a rest."""
    rest_gap_beats: float = 50 / 480
    """A gap at least this long between an event's end and the next onset becomes a rest."""
    duration_step_beats: float = 0.125
    """Width of one duration class; class i (0-based) is (i + 1) * step beats."""
    n_duration_classes: int = 64
    """Number of duration classes (0.125 .. 8.0 beats with the default step)."""
    duration_tolerance_beats: float = 1 / 16
    """A duration within this of its class is exact; further away it is counted as approximated."""
    skip_drums: bool = True
    """Drop drum instruments (they have no pitch in the model's sense)."""
    max_notes: int = 200_000
    """A file with more notes than this is refused (a guard against absurd files)."""
    max_file_bytes: int = 64 * 1024 * 1024
    """A file larger than this is refused before it is parsed."""
    min_qpm: float = 4.0
    """Tempi below this (quarter notes per minute) are absurd: the file is refused."""
    max_qpm: float = 2000.0
    """Tempi above this are absurd: the file is refused."""
    render_velocity: int = 80
    """Velocity of notes written back to MIDI (events carry no velocity)."""


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """The spiking network and its learning rule (MODEL.md sections 3, 4 and 6).

    Units: ms for time, arbitrary units for currents and potentials. Times that
    the simulation counts in steps (window, refractory period, coincidence and
    facilitation windows, delays) must be whole multiples of ``dt_ms``;
    :func:`load_config` refuses any that are not, so no rule ever depends on
    floating-point equality of times (MODEL.md section 6).
    """

    resistance: float = 2.0
    """R of the LIF membrane: tau_m dV/dt = -V + R I."""
    capacitance: float = 0.2
    """C of the LIF membrane; tau_m = R C = 0.4 ms."""
    v_th: float = 5.0
    """Firing threshold: a neuron spikes when V >= v_th."""
    v_reset: float = 0.0
    """Potential after a spike and throughout the refractory period."""
    v_0: float = 0.0
    """Potential at the start of every simulation (each learned piece, each recall)."""
    refractory_ms: float = 0.5
    """After a spike the neuron is held at v_reset for this long (5 steps)."""
    dt_ms: float = 0.1
    """Forward-Euler time step."""
    window_ms: float = 5.0
    """Simulated time per note event (column): 50 steps."""
    input_current: float = 10.0
    """Teacher current into the neuron(s) preferring an event's value while it is learned."""
    title_current_learn: float = 10.0
    """Current into a piece's title neuron for the whole time its piece is learned."""
    title_current_recall: float = 30.0
    """Current into the cued title neuron during goal-based recall."""
    n_delays: int = 4
    """D: column k receives sequential synapses from columns k-1 .. k-D, delay = distance."""
    a_plus: float = 1.0
    """STDP potentiation amplitude (pre before post)."""
    a_minus: float = 1.0
    """STDP depression amplitude (post before pre)."""
    tau_plus_ms: float = 5.0
    """Time constant of the potentiation window (the presynaptic trace)."""
    tau_minus_ms: float = 5.0
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
    w_max: float = math.inf
    """Upper bound of sequential weights (inf = unbounded, the paper)."""
    w_min: float = -math.inf
    """Lower bound of sequential weights (-inf = unbounded, the paper)."""
    lateral_inhibition: bool = True
    """All-to-all inhibition inside each minicolumn (the paper describes it; the
    authors' code had it off; which one reproduces the paper is an ablation)."""
    inhibition_weight: float = 20.0
    """Current removed from a neuron per other spike of its minicolumn in the previous step."""
    inhibition_floor: float = -20.0
    """The total current (input minus inhibition) is clamped at this from below."""
    goal_forward_weight: float = 3.0
    """Weight of a created title -> note link."""
    goal_feedback_weight: float = 1.0
    """Weight of a created note -> title feedback link."""
    coincidence_count: int = 4
    """A note neuron is linked to the title when this many of its spikes in one window
    lie within coincidence_window_ms of a title spike."""
    coincidence_window_ms: float = 0.5
    """|t_note - t_title| <= this counts as coincident (inclusive, in whole steps)."""
    facilitation_sequential: float = 0.2
    """Recall: u <- u + f (u + 1) on a sequential synapse whose presynaptic spike arrived recently."""
    facilitation_goal: float = 0.5
    """Recall: the same increment for goal (title) links."""
    facilitation_window_ms: float = 0.5
    """Recall: 'recently' = the last arrival lies within this many ms (inclusive, whole steps)."""
    facilitation_cap: float = 10.0
    """Recall: u never exceeds this (the authors' u overflowed float32; MODEL.md section 6)."""
    facilitation_reset: Literal["window", "recall"] = "window"
    """Recall: u goes back to 0 at the start of every column window, or only once per recall."""
    max_chord_size: int = 32
    """Events with more chord tones than this are refused (the largest in the corpus has 20)."""
    segment_columns: int = 64
    """Learning cuts tracks into segments of this many columns (plus n_delays of context)."""
    batch_segments: int = 64
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


@dataclasses.dataclass(frozen=True)
class MemorizeConfig:
    """How a corpus is memorized as a resumable run (:mod:`jaxsnn_music.resumable`)."""

    chunk_pieces: int = 64
    """Pieces learned per chunk; progress is saved after every chunk. Part of the result:
    chunks merge one after another, so another chunk size sums weights in another order.
    A merge costs about the chunk plus one copy of the store, so small chunks cost little."""
    keep_checkpoints: int = 2
    """Progress steps kept on disk while a run goes on (the newest ones); no effect on the result."""

    def __post_init__(self):
        # Checked here, not in load_config: a section validates itself when it is built.
        if not self.chunk_pieces >= 1:
            raise ConfigError(f"memorize.chunk_pieces must be >= 1, got {self.chunk_pieces}")
        if not self.keep_checkpoints >= 1:
            raise ConfigError(f"memorize.keep_checkpoints must be >= 1, got {self.keep_checkpoints}")


@dataclasses.dataclass(frozen=True)
class RecallConfig:
    """Recall, identification, the pacemaker and the scores (MODEL.md sections 4 and 5).

    Facilitation during recall is set in the ``network`` section (``facilitation_*``):
    it is part of the synapse model. Everything here is about reading the network out.
    """

    readout: Literal["first", "rate"] = "first"
    """A column's value: the ``first`` neuron to spike in its window (the paper; ties within a
    step go to the earlier interpolated threshold crossing), or the one that fires most (``rate``)."""
    chord_readout: Literal["volley", "window"] = "volley"
    """With ``encoding.chords = all``, a chord is read as a set: the neurons whose first spike lies
    within ``volley_ms`` of the column's first spike (``volley``), or every neuron that fires in
    the window (``window``)."""
    volley_ms: float = 0.015
    """Width of the first volley that a chord is read from (ms; ``volley`` read-out)."""
    propagate: Literal["all", "readout"] = "readout"
    """What a recalled column passes on to the columns after it: every spike of the window
    (``all``, the paper's network, in which everything reachable through learned synapses ends
    up firing), or only the spikes of its read-out (``readout``: a winner-take-all minicolumn)."""
    chunk_columns: int = 64
    """Columns simulated per call of the compiled recall scan (row tables are padded per chunk)."""
    batch_units: int = 64
    """(title, track) recalls simulated side by side (vmapped) per call."""
    sparse_inputs: int = 32
    """Speed only, never the result: while no recall of a batch has more presynaptic neurons
    that fired (over the previous D columns of a subnetwork) than this, a window multiplies
    only their weight rows; otherwise the dense product (0: always dense)."""
    pacemaker_hz: float = 16.0
    """Firing rate of the pacemaker cluster during recall."""
    reference_hz: float = 16.0
    """The pacemaker rate at which a recalled piece plays at its own tempo map."""
    spikes_per_step: int = 1
    """Pacemaker spikes a striatal timing neuron counts per duration step (1/8 beat); an event
    of duration class i is released after (i + 1) * spikes_per_step spikes."""
    min_support: float = 1.0
    """Identification: a candidate position is kept when at least this share of the fragment's
    events (after the first) is reached by learned sequential input from the events before it."""
    min_score: float = 0.9
    """Identification: below this score (the share of the fragment's notes linked to the winning
    title at the matched columns) the fragment is reported as unknown."""
    identify_durations: bool = True
    """Identification also replays the fragment's durations (when it has them) into the
    duration subnetwork: candidates must be reached there too and both feed the title."""
    max_candidates: int = 2048
    """Identification: at most this many candidate positions are replayed into the title cluster
    (the best supported first)."""
    continuation_events: int = 32
    """Events recalled after an identified fragment (0: up to the end of the track)."""
    onset_tolerance_beats: float = 1 / 16
    """A recalled onset within this of the stored one counts as correct."""
    paper_runs: int = 50
    """evaluate --protocol paper: title-cued recalls, each in a fresh network."""
    paper_pieces: int = 5
    """evaluate --protocol paper: random pieces memorized per run (one of them is cued)."""
    fragment_lengths: str = "4,6,8,12,16,24,32"
    """evaluate: fragment lengths (events) of the episodic identification curve."""
    fragments_per_length: int = 40
    """evaluate: fragments per length, from memorized and from held-out pieces each."""
    capacity_sizes: str = "5,10,20,50,100,200,331"
    """evaluate --protocol capacity: numbers of stored pieces (nested random subsets)."""
    seed: int = 0
    """Random seed of the evaluation protocols (piece draws, fragment positions)."""

    def __post_init__(self):
        for name in ("volley_ms", "chunk_columns", "batch_units", "pacemaker_hz", "reference_hz",
                     "spikes_per_step", "max_candidates", "paper_runs",
                     "paper_pieces", "fragments_per_length"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"recall.{name} must be > 0, got {getattr(self, name)}")
        for name in ("min_support", "min_score"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"recall.{name} must be in 0..1, got {getattr(self, name)}")
        for name in ("continuation_events", "onset_tolerance_beats", "sparse_inputs"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"recall.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("fragment_lengths", "capacity_sizes"):
            try:
                values = [int(x) for x in str(getattr(self, name)).split(",") if x.strip()]
            except ValueError:
                values = []
            if not values or min(values) < (2 if name == "fragment_lengths" else 1):
                raise ConfigError(f"recall.{name} must be integers >= "
                                  f"{2 if name == 'fragment_lengths' else 1} separated by commas, "
                                  f"got {getattr(self, name)!r}")

    def lengths(self) -> tuple[int, ...]:
        """``fragment_lengths`` as integers."""
        return tuple(int(x) for x in str(self.fragment_lengths).split(",") if x.strip())


@dataclasses.dataclass(frozen=True)
class TuneConfig:
    """Differentiable mode (``jaxsnn-music tune``, :mod:`jaxsnn_music.tune`, MODEL.md section 5.4).

    A surrogate-gradient copy of the recall dynamics in which the firing thresholds (per
    neuron of each subnetwork, and the title neuron's) and the sequential synapses' delays
    (per subnetwork, delay slot and presynaptic neuron) are real-valued and trained with optax
    to make cued recall robust to a perturbed cue; the memorized weights stay frozen.
    """

    surrogate_slope: float = 2.0
    """SuperSpike / fast-sigmoid slope: d spike / dV = 1 / (1 + slope |V - v_th|)^2."""
    delay_readout: Literal["gaussian", "linear"] = "gaussian"
    """How a real-valued delay reads the delay buffer: a normalised Gaussian kernel (Hammouamri
    et al. 2024) whose width anneals, or linear interpolation between the two nearest steps."""
    delay_range_steps: int = 25
    """A delay of ``d`` columns may move this many steps either way from ``d`` windows."""
    sigma_start: float = 0.0
    """Gaussian read-out width (steps) at the start; 0 = a third of the delay range's width."""
    sigma_end: float = 0.3
    """Gaussian read-out width (steps) from ``sigma_anneal`` of training on."""
    sigma_anneal: float = 0.5
    """Share of the training steps over which the width anneals (linearly) to ``sigma_end``."""
    readout_tau_steps: float = 2.0
    """Temperature of the soft first-spike read-out: logit = -(first-spike time) / tau."""
    silent_margin_steps: float = 10.0
    """A neuron that does not fire counts as firing this long after its window's end."""
    threshold_min: float = 1.0
    """Trained thresholds are clamped to [threshold_min, threshold_max]."""
    threshold_max: float = 50.0
    lr_threshold: float = 0.05
    """Adam learning rate of the thresholds."""
    lr_delay: float = 0.5
    """Adam learning rate of the delays (steps; their own parameter group)."""
    steps: int = 150
    """Optimiser steps."""
    batch: int = 16
    """Perturbed cues per optimiser step."""
    horizon: int = 4
    """Columns recalled after each cue (the loss covers them all)."""
    title_cue: bool = True
    """Drive the piece's title during the cued recall (False: the sequence memory alone)."""
    jitter_steps: int = 2
    """Cue perturbation: every cue spike moves by a uniform whole number of steps in +-this."""
    drop_prob: float = 0.2
    """Cue perturbation: every cue spike is dropped with this probability."""
    extra_spikes: float = 2.0
    """Cue perturbation: spurious spikes per cue column (Poisson mean), random neuron and step."""
    train_share: float = 0.5
    """Share of the memorized titles whose cues train; the others' cues are held out."""
    eval_cues: int = 256
    """Held-out perturbed cues scored in the plain simulator (before and after tuning)."""
    eval_columns: int = 8
    """Columns recalled (and scored) after each held-out cue."""
    checkpoint_every: int = 25
    """Optimiser steps between orbax checkpoints of the training state (the run resumes)."""
    log_every: int = 5
    """Optimiser steps between W&B / progress log lines."""
    wandb: Literal["offline", "disabled"] = "offline"
    """W&B logging of the training run (offline files; never a network wait)."""
    seed: int = 0
    """Random seed (cue draws, perturbations)."""

    def __post_init__(self):
        for name in ("surrogate_slope", "readout_tau_steps", "steps", "batch", "horizon",
                     "eval_cues", "eval_columns", "checkpoint_every", "log_every", "sigma_end",
                     "lr_threshold", "lr_delay", "threshold_min"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"tune.{name} must be > 0, got {getattr(self, name)}")
        for name in ("delay_range_steps", "sigma_start", "jitter_steps", "extra_spikes",
                     "silent_margin_steps"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"tune.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("drop_prob", "sigma_anneal"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"tune.{name} must be in 0..1, got {getattr(self, name)}")
        if not 0 < self.train_share < 1:
            raise ConfigError(f"tune.train_share must be strictly between 0 and 1, got "
                              f"{self.train_share}")
        if not self.threshold_min < self.threshold_max:
            raise ConfigError(f"tune.threshold_min ({self.threshold_min}) must be < threshold_max "
                              f"({self.threshold_max})")


@dataclasses.dataclass(frozen=True)
class Config:
    """Every constant of the pipeline, by section."""

    preset: str = "default"
    encoding: EncodingConfig = dataclasses.field(default_factory=EncodingConfig)
    network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
    memorize: MemorizeConfig = dataclasses.field(default_factory=MemorizeConfig)
    recall: RecallConfig = dataclasses.field(default_factory=RecallConfig)
    tune: TuneConfig = dataclasses.field(default_factory=TuneConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self, section: str) -> str:
        """A short hash of one section, for cache keys and checkpoint manifests."""
        payload = json.dumps(dataclasses.asdict(getattr(self, section)), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


_PRESET_OVERRIDES: dict[str, dict[str, Any]] = {
    "paper": {"encoding.tracks": "first", "encoding.chords": "first",
              "network.stdp_timing": "emission"},
    # Bounded at one learned pairing's worth (a transition learned once under arrival timing
    # weighs 9): unbounded sums let transitions shared by many pieces outweigh the title's
    # drive, and title recall of the 371 chorales falls from 100 % to 11 % pitch accuracy.
    "default": {"network.w_max": 9.0},
}


def _validate_encoding(enc: EncodingConfig) -> None:
    for name in ("chord_onset_beats", "chord_overlap_beats", "leading_rest_beats",
                 "rest_gap_beats", "duration_tolerance_beats"):
        if getattr(enc, name) < 0:
            raise ConfigError(f"encoding.{name} must be >= 0, got {getattr(enc, name)}")
    for name in ("duration_step_beats", "n_duration_classes", "max_notes", "max_file_bytes"):
        if getattr(enc, name) <= 0:
            raise ConfigError(f"encoding.{name} must be > 0, got {getattr(enc, name)}")
    if not 0 < enc.min_qpm < enc.max_qpm:
        raise ConfigError(f"encoding.min_qpm/max_qpm must satisfy 0 < min < max, got "
                          f"{enc.min_qpm}, {enc.max_qpm}")
    if not 1 <= enc.render_velocity <= 127:
        raise ConfigError(f"encoding.render_velocity must be in 1..127, got {enc.render_velocity}")


def _validate_network(net: NetworkConfig) -> None:
    for name in ("resistance", "capacitance", "dt_ms", "window_ms", "tau_plus_ms", "tau_minus_ms",
                 "n_delays", "coincidence_count", "max_chord_size", "segment_columns",
                 "batch_segments"):
        if not getattr(net, name) > 0:
            raise ConfigError(f"network.{name} must be > 0, got {getattr(net, name)}")
    for name in ("refractory_ms", "a_plus", "a_minus", "inhibition_weight", "coincidence_window_ms",
                 "facilitation_sequential", "facilitation_goal", "facilitation_window_ms",
                 "facilitation_cap"):
        if not getattr(net, name) >= 0:
            raise ConfigError(f"network.{name} must be >= 0, got {getattr(net, name)}")
    if not net.dt_ms <= net.tau_m_ms:
        # Beyond this forward Euler overshoots; it also keeps an undriven neuron from
        # ever crossing threshold, which the active-column learning relies on.
        raise ConfigError(f"network.dt_ms ({net.dt_ms}) must be <= tau_m = R*C ({net.tau_m_ms})")
    if not net.v_th > max(net.v_reset, net.v_0, 0.0):
        raise ConfigError(f"network.v_th ({net.v_th}) must be > 0, v_reset and v_0")
    for name in ("window_ms", "refractory_ms", "coincidence_window_ms", "facilitation_window_ms"):
        steps = getattr(net, name) / net.dt_ms
        if abs(steps - round(steps)) > 1e-6:
            raise ConfigError(f"network.{name} ({getattr(net, name)}) must be a whole number of "
                              f"steps of dt_ms={net.dt_ms}")
    if net.inhibition_floor > 0:
        raise ConfigError(f"network.inhibition_floor must be <= 0, got {net.inhibition_floor}")
    if not net.w_min < net.w_max:
        raise ConfigError(f"network.w_min ({net.w_min}) must be < w_max ({net.w_max})")
    if any(math.isnan(getattr(net, f.name)) for f in dataclasses.fields(net)
           if isinstance(getattr(net, f.name), float)):
        raise ConfigError("network: NaN is not a valid value")


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Convert a YAML/CLI value to the field's declared type, or explain why not."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, choices))}, got {value!r}")
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if annotation in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        try:
            number = float(value) if annotation is float else _as_int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be {'an integer' if annotation is int else 'a number'}, "
                              f"got {value!r}") from None
        return number
    if annotation is str:
        return str(value)
    raise ConfigError(f"{key}: unsupported field type {annotation!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, str):
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
    return int(value)


def _set(cfg: Config, key: str, value: Any) -> Config:
    """Return ``cfg`` with the dotted ``key`` (``section.field``) set to ``value``."""
    parts = key.split(".")
    if len(parts) != 2:
        raise ConfigError(f"config key {key!r} must look like section.field "
                          f"(sections: {', '.join(_sections())})")
    section_name, field_name = parts
    if section_name not in _sections():
        raise ConfigError(f"unknown config section {section_name!r} in {key!r} "
                          f"(sections: {', '.join(_sections())})")
    section = getattr(cfg, section_name)
    hints = typing.get_type_hints(type(section))
    if field_name not in hints:
        raise ConfigError(f"unknown config key {key!r} (fields of {section_name}: "
                          f"{', '.join(hints)})")
    new_section = dataclasses.replace(section, **{field_name: _coerce(value, hints[field_name], key)})
    return dataclasses.replace(cfg, **{section_name: new_section})


def _sections() -> list[str]:
    return [f.name for f in dataclasses.fields(Config) if f.name != "preset"]


def _flatten(tree: dict[str, Any], where: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in tree.items():
        if section == "preset":
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: section {section!r} must be a mapping of key: value")
        for key, value in values.items():
            flat[f"{section}.{key}"] = value
    return flat


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split a CLI ``key=value`` into the key and a YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _read_yaml(yaml_path: str | Path) -> tuple[str | None, dict[str, Any]]:
    """A YAML config file's ``preset`` (or None) and its values as ``{"section.key": value}``."""
    path = Path(yaml_path)
    try:
        tree = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections")
    return tree.get("preset"), _flatten(tree, str(path))


def extend_config(cfg: Config, yaml_path: str | Path | None = None,
                  overrides: dict[str, Any] | list[str] | tuple[str, ...] | None = None) -> Config:
    """``cfg`` (e.g. a checkpoint's) with a YAML file's values and then ``overrides`` on top,
    validated like :func:`load_config` (the preset stays ``cfg``'s)."""
    flat = _flatten(cfg.to_dict(), "config")
    if yaml_path is not None:
        flat.update(_read_yaml(yaml_path)[1])
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_assignment(item) for item in overrides)
    flat.update(overrides or {})
    return load_config(cfg.preset, overrides=flat)


def load_config(preset: str | None = None, yaml_path: str | Path | None = None,
                overrides: dict[str, Any] | list[str] | None = None) -> Config:
    """Build the config: preset, then YAML file, then overrides (later wins).

    **Arguments:**

    - `preset`: ``paper`` or ``default``; if None, the YAML's ``preset`` key or ``default``.
    - `yaml_path`: a YAML file of ``section: {key: value}`` mappings.
    - `overrides`: ``{"section.key": value}`` or a list of ``"section.key=value"`` strings.

    **Returns:** a validated :class:`Config`. Bad keys or values raise :class:`ConfigError`.
    """
    from_yaml: dict[str, Any] = {}
    if yaml_path is not None:
        yaml_preset, from_yaml = _read_yaml(yaml_path)
        preset = preset or yaml_preset
    preset = preset or "default"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    if isinstance(overrides, list):
        overrides = dict(parse_assignment(item) for item in overrides)
    cfg = Config(preset=preset)
    for key, value in {**_PRESET_OVERRIDES[preset], **from_yaml, **(overrides or {})}.items():
        cfg = _set(cfg, key, value)
    _validate_encoding(cfg.encoding)
    _validate_network(cfg.network)
    if cfg.tune.delay_range_steps > cfg.network.steps_per_window:
        raise ConfigError(f"tune.delay_range_steps ({cfg.tune.delay_range_steps}) must be <= the "
                          f"steps of one window ({cfg.network.steps_per_window})")
    return cfg
