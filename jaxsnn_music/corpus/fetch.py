"""Download the piano-midi.de corpus, verified against a pinned manifest.

``jaxsnn-music corpus fetch`` calls :func:`fetch_corpus`. Every file in the
packaged manifest (``jaxsnn_music/data/piano_midi_manifest.csv``: path, sha256,
bytes) is fetched from a pinned commit of ``cheriell/ClassicalPianoMIDI-dataset``,
so the bytes are exactly those the project was developed on. Files already
present with the right hash are skipped; an interrupted download is kept as
``<name>.part`` and continued with an HTTP ``Range`` request on the next run;
only a file whose size and sha256 match is renamed to its final name. Only the
standard library (``urllib``) and ``tqdm`` are used.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from tqdm import tqdm

from jaxsnn_music.errors import FetchError

DEFAULT_BASE_URL = ("https://raw.githubusercontent.com/cheriell/ClassicalPianoMIDI-dataset/"
                    "505aef5e7539ac56cdb4cbc72d08a98bfaf7a208/midis/")

ATTRIBUTION = """\
MIDI files from the Classical Piano Midi Page, http://www.piano-midi.de/
Sequenced by Bernd Krueger. Attribution: "Bernd Krueger, www.piano-midi.de".
Licence: Creative Commons Attribution-ShareAlike 3.0 Germany (CC BY-SA 3.0 DE),
https://creativecommons.org/licenses/by-sa/3.0/de/ (terms: http://www.piano-midi.de/copy.htm).
Keep the copyright meta tracks in the files; anything derived from them must stay
under the same licence.
Downloaded from: {base_url}
"""

_CHUNK = 1 << 16
# Seconds to wait before retry n is n times this; short, because the files are small.
_RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class ManifestEntry:
    """One file to fetch.

    **Arguments:**

    - `path`: path below the corpus folder, with ``/`` separators (also the URL suffix).
    - `sha256`: expected hex digest, lower case.
    - `bytes`: expected size.
    """

    path: str
    sha256: str
    bytes: int

    def __post_init__(self):
        # A manifest decides where files are written: refuse anything that could leave `dest`.
        parts = self.path.split("/")
        if "\\" in self.path or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
            raise ValueError(f"unsafe or empty path {self.path!r}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"{self.path}: sha256 must be 64 lower-case hex digits")
        if self.bytes < 0:
            raise ValueError(f"{self.path}: negative size")


@dataclass
class FetchReport:
    """What :func:`fetch_corpus` did, file by file.

    **Arguments:**

    - `downloaded`: paths written in this run (resumed ones included).
    - `already_present`: paths that were there with the right hash.
    - `failed`: ``(path, one-line reason)`` for every file that is still missing.
    - `resumed`: the subset of `downloaded` that continued an earlier ``.part``.
    """

    downloaded: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every requested file is now present and verified."""
        return not self.failed

    def summary(self) -> str:
        """One line of counts, e.g. ``337 files: 3 downloaded (1 resumed), 334 already present, 0 failed``."""
        total = len(self.downloaded) + len(self.already_present) + len(self.failed)
        return (f"{total} files: {len(self.downloaded)} downloaded ({len(self.resumed)} resumed), "
                f"{len(self.already_present)} already present, {len(self.failed)} failed")


class _Retryable(Exception):
    """A network problem that another try may not have."""


class _Failed(Exception):
    """A problem that retrying will not fix; the message is the report's reason."""


def load_manifest(path: str | Path | None = None) -> list[ManifestEntry]:
    """Read a download manifest (CSV with columns ``path,sha256,bytes``; others are ignored).

    **Arguments:**

    - `path`: the CSV file; None reads the manifest packaged with jaxsnn_music.

    **Returns:** the entries in file order.

    **Raises:** :class:`FetchError` for an unreadable file, a missing column or a bad row.
    """
    if path is None:
        name = "jaxsnn_music/data/piano_midi_manifest.csv"
        text = (resources.files("jaxsnn_music") / "data" / "piano_midi_manifest.csv").read_text("utf-8")
    else:
        name = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise FetchError(f"cannot read manifest {name}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"path", "sha256", "bytes"} - set(reader.fieldnames or ())
    if missing:
        raise FetchError(f"manifest {name} lacks column(s) {', '.join(sorted(missing))}")
    entries = []
    for line, row in enumerate(reader, start=2):
        try:
            entries.append(ManifestEntry(row["path"], row["sha256"], int(row["bytes"])))
        except (TypeError, ValueError) as exc:
            raise FetchError(f"manifest {name}, line {line}: {exc}") from None
    return entries


def fetch_corpus(dest: Path, base_url: str = DEFAULT_BASE_URL,
                 manifest: Sequence[ManifestEntry] | None = None,
                 only: Callable[[str], bool] | None = None, progress: bool = True,
                 timeout: float = 60, retries: int = 2) -> FetchReport:
    """Make `dest` hold every manifest file with the right bytes, downloading what is missing.

    One file's failure never stops the others: it is recorded in the report and
    its ``.part`` (if the failure was a network one) is kept for the next run.

    **Arguments:**

    - `dest`: the corpus folder; created if missing. ``ATTRIBUTION.txt`` is written into it.
    - `base_url`: URL prefix the manifest paths are appended to (``https://``,
      ``http://`` or ``file://``).
    - `manifest`: entries to fetch; None uses :func:`load_manifest`'s packaged one.
    - `only`: keep only the entries whose path it accepts (e.g. one composer).
    - `progress`: show a tqdm progress bar over the files.
    - `timeout`: seconds to wait on the network before giving up on one try.
    - `retries`: extra tries per file after a network error.

    **Returns:** a :class:`FetchReport`.

    **Raises:** :class:`FetchError` when `dest` cannot be used as a folder.
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise FetchError(f"cannot fetch the corpus into {dest}: it exists and is not a folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "ATTRIBUTION.txt").write_text(ATTRIBUTION.format(base_url=base_url), "utf-8")
    except OSError as exc:
        raise FetchError(f"cannot fetch the corpus into {dest}: {exc.strerror or exc}") from None

    entries = [e for e in (load_manifest() if manifest is None else manifest) if only is None or only(e.path)]
    prefix = base_url if base_url.endswith("/") else base_url + "/"
    report = FetchReport()
    with tqdm(entries, desc="corpus fetch", unit="file", disable=not progress) as bar:
        for entry in bar:
            bar.set_postfix_str(entry.path, refresh=False)
            final = dest / entry.path
            if final.is_file() and _verify(final, entry) is None:
                report.already_present.append(entry.path)
                continue
            part = final.with_name(final.name + ".part")
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                resumed = _fetch_one(prefix + quote(entry.path), part, entry, timeout, retries)
                os.replace(part, final)
            except _Failed as exc:
                report.failed.append((entry.path, str(exc)))
                continue
            except OSError as exc:
                report.failed.append((entry.path, f"cannot write file: {exc.strerror or exc}"))
                continue
            report.downloaded.append(entry.path)
            if resumed:
                report.resumed.append(entry.path)
    return report


def _fetch_one(url: str, part: Path, entry: ManifestEntry, timeout: float, retries: int) -> bool:
    """Get `part` to the verified content of `entry`, retrying network errors.

    **Returns:** whether the final bytes continued an earlier partial download.
    """
    tries = 0
    while True:
        try:
            resumed = _download(url, part, entry.bytes, timeout)
        except _Retryable as exc:
            if tries >= retries:
                raise _Failed(f"{exc} (after {tries + 1} tries)" if tries else str(exc)) from None
            tries += 1
            time.sleep(_RETRY_PAUSE_S * tries)
            continue
        problem = _verify(part, entry)
        if problem is None:
            return resumed
        part.unlink()
        if not resumed:
            raise _Failed(problem)
        # The kept prefix may be what is wrong (an older edition, a bad earlier write): start over once.


def _download(url: str, part: Path, size: int, timeout: float) -> bool:
    """Fetch `url` into `part`, continuing an existing `part` with a Range request.

    **Returns:** whether the bytes were appended to an existing `part`.

    **Raises:** :class:`_Retryable` for network errors and short bodies, :class:`_Failed`
    for HTTP client errors.
    """
    offset = part.stat().st_size if part.exists() else 0
    if offset > size:
        part.unlink()
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with urlopen(Request(url, headers=headers), timeout=timeout) as resp:
            # 206 continues the .part; 200 (server ignored Range) or no status (file://) is the whole file.
            appending = offset > 0 and resp.status == 206
            with part.open("ab" if appending else "wb") as out:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
    except HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:
            if offset == size:
                return True  # .part is already complete; the caller verifies it
            part.unlink()
            return _download(url, part, size, timeout)
        reason = f"HTTP {exc.code} {exc.reason}"
        raise (_Retryable if exc.code >= 500 or exc.code in (408, 429) else _Failed)(reason) from None
    except URLError as exc:
        if isinstance(exc.reason, FileNotFoundError):  # a file:// URL; retrying will not help
            raise _Failed(f"not found: {url}") from None
        raise _Retryable(f"network error: {exc.reason}") from None
    except (http.client.HTTPException, ConnectionError, TimeoutError) as exc:
        raise _Retryable(f"network error: {exc!r}") from None
    got = part.stat().st_size
    if got < size:
        # urllib's read(n) returns b"" on a dropped connection instead of raising.
        raise _Retryable(f"connection closed after {got} of {size} bytes")
    return appending


def _verify(file: Path, entry: ManifestEntry) -> str | None:
    """Compare `file` with its manifest entry.

    **Returns:** None on a match, else the one-line reason.
    """
    got_size = file.stat().st_size
    if got_size != entry.bytes:
        return f"size mismatch (expected {entry.bytes} bytes, got {got_size})"
    with file.open("rb") as f:
        got = hashlib.file_digest(f, "sha256").hexdigest()
    if got != entry.sha256:
        return f"sha256 mismatch (expected {entry.sha256}, got {got})"
    return None
