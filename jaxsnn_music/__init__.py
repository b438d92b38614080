"""jaxsnn-music: a brain-inspired spiking network that memorizes music, in JAX.

The data path, one module per step: MIDI (:mod:`midi_io`) -> note events
(:mod:`encoding`, :mod:`events`) -> corpus (:mod:`corpus`) -> network -> checkpoint
-> recall -> scores. Every constant lives in :mod:`config`.

The Python API (:mod:`jaxsnn_music.api`) puts the whole path behind a few calls::

    import jaxsnn_music as jm

    network = jm.memorize("bach-chorales", limit=10)
    recalled = jm.recall(network, "r001")
    found = jm.identify(network, [67, 67, 69, 71])
    jm.save("checkpoints/ten", network)
    network = jm.load("checkpoints/ten")
    result = jm.evaluate(network, "full")

Importing the package stays light: JAX and the network load when a call needs them.
"""

import sys
import types

from jaxsnn_music.api import (
    PROTOCOLS,
    Recalled,
    evaluate,
    identify,
    load,
    memorize,
    read_pieces,
    recall,
    save,
)
from jaxsnn_music.config import Config, EncodingConfig, load_config
from jaxsnn_music.errors import BadMidiError, ConfigError, CorpusError, UserError
from jaxsnn_music.events import N_PITCH_CLASSES, REST, Piece, TrackEvents
from jaxsnn_music.version import __version__

__all__ = ["__version__", "Config", "EncodingConfig", "load_config", "BadMidiError", "ConfigError",
           "CorpusError", "UserError", "N_PITCH_CLASSES", "REST", "Piece", "TrackEvents",
           "PROTOCOLS", "Recalled", "evaluate", "identify", "load", "memorize", "read_pieces",
           "recall", "save"]


class _Package(types.ModuleType):
    """The package, whose API functions ``recall`` and ``evaluate`` share their names with the
    subpackages :mod:`jaxsnn_music.recall` and :mod:`jaxsnn_music.evaluate`.

    Importing a subpackage sets it as an attribute of its parent; for these two names the
    function stays (``jaxsnn_music.recall`` is the function whatever was imported before). The
    subpackages are imported by their dotted names as usual
    (``from jaxsnn_music.recall.cued import recall_title``)."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("recall", "evaluate") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
