"""The on-disk parse cache: a corpus is parsed once per file content and setting.

An entry's key is the sha256 of what is parsed (a file's bytes, or the text of
one ABC tune), its kind (for ABC tunes and MIDI files with their reader's version,
:data:`~jaxsnn_music.corpus.folk.READER_VERSION`,
:data:`~jaxsnn_music.midi_io.READER_VERSION`), the encoding section of the
config and :data:`~jaxsnn_music.encoding.ENCODER_VERSION`; a changed file,
setting or encoder therefore misses and is parsed again. The entry holds
the encoded :class:`~jaxsnn_music.events.Piece`, or the one-line reason a file
was refused, so a known-bad file is not parsed again either. The title and path
are not part of the key: the same file under another name is a hit.

Entries are pickles written atomically (temporary file + rename), so a killed
run never leaves a half-written entry; an unreadable entry counts as a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from jaxsnn_music.config import EncodingConfig
from jaxsnn_music.encoding import ENCODER_VERSION
from jaxsnn_music.events import Piece

CACHE_ENV = "JAXSNN_MUSIC_CACHE"


@dataclasses.dataclass(frozen=True)
class Refused:
    """A cached refusal: the file could not be encoded, for this reason."""

    reason: str


def default_cache_dir() -> Path:
    from jaxsnn_music.corpus.sources import data_dir

    return Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else data_dir() / "parse-cache"


def encoding_key(enc: EncodingConfig) -> str:
    payload = repr((ENCODER_VERSION, sorted(dataclasses.asdict(enc).items())))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class ParseCache:
    """A folder of cached parses.

    **Arguments:**

    - `root`: the cache folder (created on first write).
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.write_error: str | None = None
        """Why the cache could not be written, once a write failed (None: all were written)."""

    def _path(self, content_sha256: str, enc: EncodingConfig, kind: str) -> Path:
        key = hashlib.sha256(f"{kind}:{content_sha256}:{encoding_key(enc)}".encode()).hexdigest()
        return self.root / key[:2] / f"{key}.pkl"

    def get(self, content_sha256: str, enc: EncodingConfig, kind: str) -> Piece | Refused | None:
        """The cached result, or None on a miss (or an unreadable entry)."""
        path = self._path(content_sha256, enc, kind)
        try:
            with open(path, "rb") as f:
                value = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry is a miss; it is overwritten on put
            return None
        return value if isinstance(value, (Piece, Refused)) else None

    def put(self, content_sha256: str, enc: EncodingConfig, kind: str, value: Piece | Refused) -> None:
        """Store a result. A cache that cannot be written (a read-only or full disk, a file
        where the folder should be) is not an error: the run goes on without it, and
        :attr:`write_error` says why (the first time)."""
        if self.write_error is not None:
            return
        path = self._path(content_sha256, enc, kind)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError as exc:
            self.write_error = f"{self.root}: cannot write the parse cache ({exc.strerror or exc})"
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        except BaseException:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise
