# %% [markdown]
# # Tutorial: a spiking network that memorizes music
#
# This tutorial walks through the Python API of `jaxsnn_music` on six Bach chorales
# (they install with music21, nothing to download). It memorizes them, recalls one from
# its title and looks at the spikes, identifies a fragment, and switches a mechanism off
# to see what it carried. It runs in under a minute on a laptop CPU.
#
# The model is the network of Liang, Zeng & Xu (2020): pitch- and duration-selective
# minicolumns of LIF neurons, one column per note position, chained by delayed synapses
# that learn by STDP, and a title neuron per piece linked to the notes it was active with.
# `../shared/docs/MODEL.md` has every number; the README says what is built.
#
# Run it as a script (`python docs/tutorial.py`, figures go to `results/tutorial/`) or open
# `docs/tutorial.ipynb` (the same cells; `python docs/render_notebook.py` makes it from this file).

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures go to files; in a notebook, drop this line to see them inline
import matplotlib.pyplot as plt
import numpy as np
import pretty_midi

import jaxsnn_music as jm
from jaxsnn_music.recall.scores import summarize

OUT = Path(os.environ.get("TUTORIAL_OUTPUT", "results/tutorial"))
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## 1. Memorize a corpus
#
# `jm.read_pieces` reads a corpus into note events: a named selection (`bach-chorales`,
# `paper` and `piano-midi` for piano-midi.de, `essen`, `folk`, ...), a MIDI file or a folder
# of them. `jm.memorize` takes the same (or the pieces themselves) and a config: a preset
# (`default`: every track, whole chords; `paper`: first track, melody), a YAML file or a
# `Config`, with overrides such as `{"network.n_delays": 2}`. It returns the `Network`, which
# records the config it was memorized with.

# %%
pieces = jm.read_pieces("bach-chorales", limit=6)
network = jm.memorize(pieces)

events = sum(p.n_events for p in pieces)
print(f"memorized {network.n_titles} chorales ({events:,} note events, "
      f"{sum(len(p.tracks) for p in pieces)} voices) with the {network.config.preset!r} preset")
print(f"columns per track layer: {network.columns().tolist()}; "
      f"sequential synapses: {network.synapses.n:,}; goal links: {int(network.goal.count):,}")
print("titles:", ", ".join(t.rsplit("/", 1)[-1] for t in network.titles))

# %% [markdown]
# ## 2. Recall a piece from its title
#
# `jm.recall` drives the title neuron and reads every column of every track: the first
# pitch neuron (or chord of neurons) to fire in a column's 5 ms window is the recalled note,
# the first duration neuron its length. The pacemaker and striatal timing neurons then give
# each event its onset. The result holds the recalled notes (`.piece`), the stored piece
# (`.stored`) and the scores against it; `spikes=True` also keeps every spike (`spikes=12`:
# those of the first 12 columns of each track).

# %%
title = "r001-bwv269"  # the end of the title is enough when it is unique
recalled = jm.recall(network, title, spikes=12)
print(f"recalled {recalled.title}: {recalled.n_events} events in {len(recalled.tracks)} tracks")
for score in recalled.scores:
    print(f"  track {score.track}: {score.events} events, pitch {score.pitch:.0%}, "
          f"duration {score.duration:.0%}, onset {score.onset:.0%}")
midi = recalled.write_midi(OUT / "recalled_r001.mid")
print("written to", midi)

# %% [markdown]
# The spike raster of the first columns of the soprano: the title neuron fires all along;
# in each column window the pitch and duration neurons that receive the title's links and
# the delayed synapses from the columns before fire, and the first one to fire (circled) is
# the recalled value.

# %%
raster = recalled.raster
layer = raster.layers[0]
columns = layer.n_columns  # the 12 recorded
shown = columns * raster.steps
fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True,
                         gridspec_kw={"height_ratios": [0.4, 2, 1.3]})
t, _ = raster.times_ms(raster.title_spikes[:shown, None])
axes[0].eventplot([t], colors="k", linelengths=0.8, linewidths=0.7)
axes[0].set_yticks([0], ["title"])
for ax, grid, values, offset, label in (
        (axes[1], layer.pitch, layer.pitch_value, 1, "MIDI pitch"),
        (axes[2], layer.duration, layer.duration_class, 0, "duration class")):
    times, neurons = raster.times_ms(grid[:shown])
    ax.scatter(times, neurons - offset, s=3, lw=0)
    for k, value in enumerate(values[:columns]):  # the read-out: each column's first spike
        fired = np.nonzero(grid[k * raster.steps:(k + 1) * raster.steps, value])[0]
        if value >= 0 and len(fired):
            ax.scatter((k * raster.steps + fired[0]) * raster.dt_ms, value - offset, s=40,
                       facecolors="none", edgecolors="tab:red")
    ax.set_ylim(neurons.min() - offset - 2, neurons.max() - offset + 2)
    ax.set_ylabel(label)
for ax in axes:
    for k in range(1, columns):
        ax.axvline(k * raster.steps * raster.dt_ms, color="0.85", lw=0.5, zorder=0)
axes[-1].set_xlabel("network time (ms), one 5 ms window per column")
axes[0].set_title(f"spikes of the recall of {recalled.title} (soprano, first {columns} columns)")
fig.tight_layout()
fig.savefig(OUT / "raster.png", dpi=120)
plt.close(fig)

# %% [markdown]
# The piano roll: the stored chorale (grey) and the recall (red), timed by the pacemaker at
# its reference rate, so that it plays at the chorale's own tempo.

# %%
fig, ax = plt.subplots(figsize=(10, 4))
for piece, color, width, label in ((recalled.stored, "0.7", 5, "stored"),
                                   (recalled.piece, "tab:red", 1.5, "recalled")):
    for i, track in enumerate(piece.tracks):
        event = np.repeat(np.arange(track.n_events), track.chord_size)
        sounding = track.pitch > 0
        start = track.onset[event[sounding]] / piece.resolution
        stop = (track.onset + track.duration)[event[sounding]] / piece.resolution
        ax.hlines(track.pitch[sounding] - 1, start, stop, color=color, lw=width,
                  label=label if i == 0 else None)
ax.set_xlabel("beats")
ax.set_ylabel("MIDI pitch")
ax.set_title(f"{recalled.title}: stored (grey) and recalled (red), four voices")
ax.legend(loc="upper right")
fig.tight_layout()
fig.savefig(OUT / "piano_roll.png", dpi=120)
plt.close(fig)

# %% [markdown]
# ## 3. Identify a fragment
#
# `jm.identify` replays a fragment along the columns where its first note was used, keeps
# the positions whose transitions the learned synapses carry, and lets the title neurons
# collect feedback: the title with the most spikes wins. It takes a MIDI file, a note list
# or a `Fragment`. Here we cut twelve events out of the alto of the fifth chorale, write
# them to a MIDI file with pretty_midi, and hand the file over.


# %%
def write_fragment(piece, track, start, length, path, qpm=120.0):
    """Events start .. start + length - 1 of one track of a piece, as a MIDI file."""
    events = piece.tracks[track]
    beat = 60.0 / qpm
    midi = pretty_midi.PrettyMIDI(initial_tempo=qpm)
    instrument = pretty_midi.Instrument(program=0)
    first = events.onset[start]
    for k in range(start, start + length):
        begin = (events.onset[k] - first) / piece.resolution * beat
        end = begin + events.duration[k] / piece.resolution * beat
        for pitch_class in events.chord(k):
            if pitch_class != jm.REST:
                instrument.notes.append(pretty_midi.Note(90, pitch_class - 1, begin, end))
    midi.instruments.append(instrument)
    midi.write(str(path))
    return path


source = pieces[4]
fragment_file = write_fragment(source, track=1, start=20, length=12, path=OUT / "fragment.mid")
found = jm.identify(network, fragment_file)
best = found.best
print(f"a fragment of {source.title} (alto, events 20-31) -> {found.title}: "
      f"score {best.score:.2f}, found in track {best.layer} at event {best.column}")
print("it goes on with:", " ".join("+".join(str(p - 1) for p in chord) if chord != (jm.REST,)
                                   else "rest" for chord in found.continuation.chords()[:8]))

# %% [markdown]
# A note list works too (MIDI numbers, a list for a chord, None for a rest), and a fragment
# of a chorale the network never memorized comes back *unknown* instead of being forced
# onto a title.

# %%
melody = [int(chord[0]) - 1 for chord in source.tracks[0].chords()[10:20]]
print("soprano notes", melody, "->", jm.identify(network, melody).title)

unseen = jm.read_pieces("bach-chorales", limit=7)[-1]
unseen_file = write_fragment(unseen, track=0, start=8, length=12, path=OUT / "unseen.mid")
stranger = jm.identify(network, unseen_file)
guess = stranger.best
print(f"a fragment of {unseen.title} (not memorized) -> "
      f"{'unknown' if stranger.unknown else stranger.title}"
      + (f" (best guess {guess.title}, score {guess.score:.2f})" if guess else ""))

# %% [markdown]
# ## 4. Switch a mechanism off
#
# Which part of the network carries the music? `recall.sequential = off` removes the
# learned sequential (STDP) synapses from recall, leaving only the title's links. Recall-time
# settings are overrides on top of the network's own config; a setting that learning read
# (say `network.n_delays`) cannot be changed at recall and is refused.
#
# In the default network the title neuron was active during the whole piece, so it is
# linked to every note: recall stays perfect without the sequential synapses, the memory is
# a table from (title, position) to note. `network.goal_links = first:4` links the title to
# the first four events of each track only; the rest must then come from the sequence
# memory: eight context cells per value (`network.context_cells = 8`, so that a transition
# belongs to the context it was learned in), synapses between the pitch and duration
# subnetworks (`network.cross_subnet = true`), and every spike of a column passed on
# (`recall.propagate = all`). We recall every chorale from its title and count the events
# recalled right (`jm.evaluate(network, "full")` does the same and more: identification of
# random fragments, tempo).


# %%
def pitch_accuracy(net, overrides=None):
    """The share of all events of all chorales recalled with the right pitch (or chord)."""
    recalled = jm.recall(net, net.titles, overrides)
    return summarize([score for r in recalled for score in r.scores])["pitch_weighted"]


sequence_memory = jm.memorize(pieces, overrides={"network.goal_links": "first:4",
                                                 "network.context_cells": 8,
                                                 "network.cross_subnet": True})
propagate = {"recall.propagate": "all"}
ablation = {
    "default: on": pitch_accuracy(network),
    "default: off": pitch_accuracy(network, {"recall.sequential": "off"}),
    "sequence memory: on": pitch_accuracy(sequence_memory, propagate),
    "sequence memory: off": pitch_accuracy(sequence_memory, {**propagate, "recall.sequential": "off"}),
}
for name, accuracy in ablation.items():
    print(f"{name:<22} pitch accuracy {accuracy:.1%}")

try:
    jm.recall(sequence_memory, title, {"network.n_delays": 2})
except jm.ConfigError as error:
    print("refused:", error)

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(range(len(ablation)), [100 * a for a in ablation.values()],
       color=["tab:blue", "tab:gray", "tab:blue", "tab:gray"])
ax.set_xticks(range(len(ablation)), [n.replace(": ", "\nsequential ") for n in ablation], fontsize=8)
ax.set_ylabel("pitch accuracy (%)")
ax.set_title("title-cued recall of 6 chorales, sequential synapses on / off", fontsize=9)
fig.tight_layout()
fig.savefig(OUT / "ablation.png", dpi=120)
plt.close(fig)

# %% [markdown]
# Without its sequential synapses the sequence-memory network recalls only the events its
# title is linked to (the first four of each voice), a few percent of the piece; with them,
# all of it. In the default network the same switch changes nothing.
#
# To try: memorize the sequence-memory network with `network.context_cells = 1` (one neuron
# per value, the paper's network). A transition that two chorales share then leads both
# ways, and recall mixes them up: when this was written, the six chorales came back with 48 %
# pitch accuracy under `recall.propagate = all` and 94 % under `readout` (where only each
# column's winner is passed on); two context cells were enough for 100 %.
#
# ## 5. Save and load
#
# A checkpoint holds the arrays, the config and the corpus manifest (titles, sources,
# hashes), and is checked whole when it is loaded.

# %%
jm.save(OUT / "six-chorales", network)
again = jm.load(OUT / "six-chorales")
same = jm.recall(again, title)
print(f"loaded {again.n_titles} titles ({again.config.preset!r} preset); "
      f"recall of {same.title} after loading: pitch {same.pitch_accuracy:.0%}")
print("figures and files in", OUT)
