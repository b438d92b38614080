"""Shared test settings: W&B off, caches in a temporary folder, the real corpus located.

The piano-midi.de corpus is found through one setting, ``$JAXSNN_MUSIC_PIANO_MIDI``
(default ``../shared/corpus/piano-midi``). Tests that need it skip elsewhere with
the reason, but under CI (``CI=true``) a missing corpus is an error, not a skip.
"""

from __future__ import annotations

import os

for key, value in {"WANDB_MODE": "disabled", "WANDB_SILENT": "true",
                   "WANDB_X_DISABLE_STATS": "true", "WANDB_X_DISABLE_MACHINE_INFO": "true",
                   "WANDB_X_DISABLE_META": "true"}.items():
    os.environ.setdefault(key, value)

from pathlib import Path  # noqa: E402

import pretty_midi  # noqa: E402
import pytest  # noqa: E402

from jaxsnn_music.corpus.sources import piano_midi_root  # noqa: E402

PIANO_MIDI = piano_midi_root()


@pytest.fixture(autouse=True, scope="session")
def _isolated_data(tmp_path_factory):
    """Keep caches and downloads of the tests out of the user's home."""
    data = tmp_path_factory.mktemp("jaxsnn-data")
    old = {k: os.environ.get(k) for k in ("JAXSNN_MUSIC_DATA", "JAXSNN_MUSIC_CACHE")}
    os.environ["JAXSNN_MUSIC_DATA"] = str(data)
    os.environ.pop("JAXSNN_MUSIC_CACHE", None)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def require_corpus() -> Path:
    """The piano-midi.de folder; skips the calling test (fails it under CI) when missing."""
    if PIANO_MIDI is None or not PIANO_MIDI.is_dir():
        message = ("piano-midi.de corpus not found: set JAXSNN_MUSIC_PIANO_MIDI to its folder "
                   "(default ../shared/corpus/piano-midi) or run `jaxsnn-music corpus fetch`")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return PIANO_MIDI


@pytest.fixture(scope="session")
def corpus_root() -> Path:
    """The piano-midi.de folder (see :func:`require_corpus`)."""
    return require_corpus()


def make_midi(path: Path, tracks: list[list[tuple[float, float, int]]], resolution: int = 480,
              qpm: float = 120.0, drum: tuple[bool, ...] = ()) -> Path:
    """Write a MIDI file of notes given as (start beat, end beat, MIDI pitch) per track."""
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=qpm)
    for i, notes in enumerate(tracks):
        inst = pretty_midi.Instrument(program=0, name=f"track{i}", is_drum=i < len(drum) and drum[i])
        for start, end, pitch in notes:
            inst.notes.append(pretty_midi.Note(90, pitch, start * 60 / qpm, end * 60 / qpm))
        pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path
