"""One writer per output folder: an exclusive lock that a killed process cannot leave behind.

A memorize run (:mod:`jaxsnn_music.resumable`) holds :class:`RunLock` on its folder
from before it looks at what the folder holds until its result is written, so a
second run on the same folder is refused in one line instead of racing the first
(both would resume the same step and the later save would silently replace the
earlier one).

The lock is ``flock`` on a file in the folder (:data:`LOCK_FILE`), taken without
waiting. The kernel releases it when the holding process ends, however it ends
(``kill -9`` included), so a lock is never stale: the next run simply gets it. The
file also says who holds it (pid, host, start time), for the refusal message; a
run that finds it filled in but unlocked knows the previous run was killed, and
says so. The file stays when the run ends (emptied): deleting a lock file while
another process may be opening it would let two processes lock two different files.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from jaxsnn_music.errors import CheckpointError

LOCK_FILE = ".memorize.lock"


class RunLock:
    """The lock on ``folder`` (created if needed); release it with :meth:`release` or ``with``.

    **Arguments:**

    - `folder`: the output folder (it must exist).
    - `what`: what is refused, for the message (``"memorize run"``).

    Raises :class:`CheckpointError` (one line) when another process holds the lock or the
    folder cannot be written. :attr:`previous` describes a holder that ended without
    releasing it (killed), or is None.
    """

    def __init__(self, folder: str | Path, what: str = "memorize run"):
        self.path = Path(folder) / LOCK_FILE
        self.previous: str | None = None
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CheckpointError(f"{folder}: cannot write in this folder "
                                  f"({exc.strerror or exc})") from None
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: nothing to guard with
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(self._read())
            self._close()
            raise CheckpointError(f"{folder} is in use by another {what} ({holder}); wait for it "
                                  f"to finish or pick another output folder (--out)") from None
        except OSError:
            return  # a file system without locks (some network mounts): run unguarded
        left = self._read()
        if left:
            self.previous = _describe(left)
        self._write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "started": time.strftime("%Y-%m-%d %H:%M:%S")}))

    def _read(self) -> dict | None:
        try:
            text = os.pread(self._fd, 4096, 0).decode("utf-8", "replace")
            return json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return {}

    def _write(self, text: str) -> None:
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)
        except OSError:
            pass  # who holds it is only for messages; the lock itself is held

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        """Empty the file (no holder) and release the lock."""
        if self._fd is None:
            return
        self._write("")
        self._close()  # closing the descriptor releases the flock

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _describe(holder: dict | None) -> str:
    if not holder:
        return "no details recorded"
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
            f"{holder.get('started', '?')}")
