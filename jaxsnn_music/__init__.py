"""jaxsnn-music: a brain-inspired spiking network that memorizes music, in JAX.

The data path, one module per step: MIDI (:mod:`midi_io`) -> note events
(:mod:`encoding`, :mod:`events`) -> corpus (:mod:`corpus`) -> network -> checkpoint
-> recall -> scores. Every constant lives in :mod:`config`.
"""

from jaxsnn_music.config import Config, EncodingConfig, load_config
from jaxsnn_music.errors import BadMidiError, ConfigError, CorpusError, UserError
from jaxsnn_music.events import N_PITCH_CLASSES, REST, Piece, TrackEvents

__version__ = "0.1.0"

__all__ = ["Config", "EncodingConfig", "load_config", "BadMidiError", "ConfigError",
           "CorpusError", "UserError", "N_PITCH_CLASSES", "REST", "Piece", "TrackEvents"]
