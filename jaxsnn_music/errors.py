"""Errors a user can cause, and how they are reported.

Every problem with the user's input (a broken MIDI file, a bad config value, a
missing checkpoint, an output folder that cannot be written) is raised as a
subclass of :class:`UserError`. The CLI turns it into a one-line message and exit
code 2, never a traceback; a bad file in a corpus is reported and skipped instead
(the command ends with exit code 1).
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with what the user gave us, explained in one line."""

    exit_code: int = 2


class ConfigError(UserError):
    """A config key or value that does not exist or is out of range."""


class BadMidiError(UserError):
    """A MIDI file that cannot be turned into note events.

    **Arguments:**

    - `path`: the file.
    - `reason`: what is wrong with it, in a few words.
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CorpusError(UserError):
    """A corpus that cannot be found or has nothing usable in it."""


class FetchError(UserError):
    """A download that failed or did not match its manifest."""


class CheckpointError(UserError):
    """A checkpoint that is missing, incomplete, damaged, or not the one asked for."""


class OutputError(UserError):
    """A file or folder that cannot be written (a file in the way, no permission, a full disk)."""
