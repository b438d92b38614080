"""The mistakes a user can make when asking for a recall (one-line :class:`UserError`)."""

from __future__ import annotations

from jaxsnn_music.errors import UserError


class UnknownTitleError(UserError):
    """A title that the network has not memorized."""

    def __init__(self, title: str, known: tuple[str, ...]):
        close = [t for t in known if str(title).lower() in t.lower()][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else f" ({len(known)} titles memorized)"
        super().__init__(f"unknown title {title!r}{hint}")


class EmptyFragmentError(UserError):
    """A fragment with no notes to identify."""


class MissingTrackError(UserError):
    """A fragment file without the requested track."""
