"""Tests for ``jaxsnn_music.corpus.fetch`` against a local HTTP server (never the internet).

The server serves a few real piano-midi.de files from a temporary folder. Its
handler understands ``Range`` (206/416), records every request, and can be told
to ignore ``Range`` or to drop the connection part-way through a body.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from jaxsnn_music.corpus import fetch
from jaxsnn_music.corpus.fetch import ManifestEntry, fetch_corpus, load_manifest
from jaxsnn_music.errors import FetchError

# Small files from different composer folders, so nested folders get created.
SAMPLE = ["Bach/bach_847.mid", "Chopin/chpn-p7.mid", "Christmas/bk_xmas1.mid", "Mozart/mz_545_3.mid"]


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.root`; honours Range unless `server.ignore_range`; `server.drop[path] = n`
    sends only n body bytes of the next answer for that path, then closes the connection."""

    def do_GET(self):
        srv = self.server
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        srv.requests.append((rel, self.headers.get("Range")))
        file = srv.root / rel
        if not file.is_file():
            self.send_error(404)
            return
        data = file.read_bytes()
        start = 0
        if self.headers.get("Range") and not srv.ignore_range:
            start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = srv.drop.pop(rel, None)
        self.wfile.write(body if cut is None else body[:cut])
        self.close_connection = True

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def server(tmp_path, monkeypatch, corpus_root):
    """A running server on 127.0.0.1 serving copies of SAMPLE; yields (server, base_url, manifest)."""
    # A proxy from the environment must not see (or break) requests to the local server.
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setattr(fetch, "_RETRY_PAUSE_S", 0.0)
    root = tmp_path / "served"
    manifest = []
    for rel in SAMPLE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        data = (corpus_root / rel).read_bytes()
        (root / rel).write_bytes(data)
        manifest.append(ManifestEntry(rel, hashlib.sha256(data).hexdigest(), len(data)))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.root, srv.requests, srv.ignore_range, srv.drop = root, [], False, {}
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/", manifest
    srv.shutdown()
    srv.server_close()


def _run(dest, base_url, manifest, **kw):
    return fetch_corpus(dest, base_url=base_url, manifest=manifest, progress=False, timeout=5, **kw)


def _assert_complete(dest: Path, manifest):
    for e in manifest:
        assert hashlib.sha256((dest / e.path).read_bytes()).hexdigest() == e.sha256
        assert not (dest / (e.path + ".part")).exists()


def test_fresh_download_verifies_and_credits(server, tmp_path):
    srv, url, manifest = server
    dest = tmp_path / "corpus"
    report = _run(dest, url, manifest)
    assert report.ok and sorted(report.downloaded) == sorted(SAMPLE)
    assert report.already_present == [] and report.resumed == []
    assert report.summary() == "4 files: 4 downloaded (0 resumed), 0 already present, 0 failed"
    _assert_complete(dest, manifest)
    text = (dest / "ATTRIBUTION.txt").read_text()
    assert "Bernd Krueger, www.piano-midi.de" in text and "CC BY-SA 3.0 DE" in text
    assert all(rng is None for _, rng in srv.requests)


def test_second_run_downloads_nothing(server, tmp_path):
    srv, url, manifest = server
    _run(tmp_path / "corpus", url, manifest)
    srv.requests.clear()
    report = _run(tmp_path / "corpus", url, manifest)
    assert report.ok and report.downloaded == [] and sorted(report.already_present) == sorted(SAMPLE)
    assert srv.requests == []


def test_only_filters_entries(server, tmp_path):
    _, url, manifest = server
    report = _run(tmp_path / "corpus", url, manifest, only=lambda p: p.startswith("Chopin/"))
    assert report.downloaded == ["Chopin/chpn-p7.mid"]
    assert not (tmp_path / "corpus" / "Bach").exists()


@pytest.mark.parametrize("ignore_range", [False, True], ids=["range", "server-ignores-range"])
def test_partial_file_is_resumed(server, tmp_path, ignore_range):
    srv, url, manifest = server
    srv.ignore_range = ignore_range
    entry = manifest[1]
    dest = tmp_path / "corpus"
    half = entry.bytes // 2
    (dest / entry.path).parent.mkdir(parents=True)
    (dest / (entry.path + ".part")).write_bytes((srv.root / entry.path).read_bytes()[:half])
    report = _run(dest, url, manifest)
    assert report.ok
    assert (entry.path, f"bytes={half}-") in srv.requests
    assert report.resumed == ([] if ignore_range else [entry.path])
    _assert_complete(dest, manifest)


def test_complete_part_answered_416_is_verified(server, tmp_path):
    srv, url, manifest = server
    entry = manifest[0]
    dest = tmp_path / "corpus"
    (dest / entry.path).parent.mkdir(parents=True)
    (dest / (entry.path + ".part")).write_bytes((srv.root / entry.path).read_bytes())
    report = _run(dest, url, manifest)
    assert report.ok and report.resumed == [entry.path]
    _assert_complete(dest, manifest)


def test_wrong_prefix_in_part_is_redownloaded(server, tmp_path):
    srv, url, manifest = server
    entry = manifest[0]
    dest = tmp_path / "corpus"
    (dest / entry.path).parent.mkdir(parents=True)
    (dest / (entry.path + ".part")).write_bytes(b"\0" * 100)
    report = _run(dest, url, manifest)
    assert report.ok and report.resumed == []
    assert [r for r in srv.requests if r[0] == entry.path] == [(entry.path, "bytes=100-"), (entry.path, None)]
    _assert_complete(dest, manifest)


def test_corrupt_served_file_fails_alone(server, tmp_path):
    srv, url, manifest = server
    bad = manifest[2]
    served = srv.root / bad.path
    data = bytearray(served.read_bytes())
    data[-10] ^= 0xFF
    served.write_bytes(bytes(data))
    dest = tmp_path / "corpus"
    report = _run(dest, url, manifest)
    assert [p for p, _ in report.failed] == [bad.path]
    reason = report.failed[0][1]
    assert reason.startswith(f"sha256 mismatch (expected {bad.sha256}, got ") and "\n" not in reason
    assert not report.ok and sorted(report.downloaded) == sorted(e.path for e in manifest if e is not bad)
    assert not (dest / bad.path).exists() and not (dest / (bad.path + ".part")).exists()


def test_dropped_connection_leaves_part_that_next_run_resumes(server, tmp_path):
    srv, url, manifest = server
    entry = manifest[3]
    dest = tmp_path / "corpus"
    srv.drop[entry.path] = 1000
    report = _run(dest, url, manifest, retries=0)
    assert report.failed == [(entry.path, f"connection closed after 1000 of {entry.bytes} bytes")]
    assert (dest / (entry.path + ".part")).stat().st_size == 1000
    assert len(report.downloaded) == 3

    report = _run(dest, url, manifest, retries=0)
    assert report.ok and report.downloaded == report.resumed == [entry.path]
    assert srv.requests[-1] == (entry.path, "bytes=1000-")
    _assert_complete(dest, manifest)


def test_retry_resumes_within_one_run(server, tmp_path):
    srv, url, manifest = server
    entry = manifest[3]
    srv.drop[entry.path] = 1000
    report = _run(tmp_path / "corpus", url, manifest, retries=1)
    assert report.ok and report.resumed == [entry.path]
    assert [r for r in srv.requests if r[0] == entry.path] == [(entry.path, None),
                                                               (entry.path, "bytes=1000-")]


def test_404_is_a_recorded_failure(server, tmp_path):
    _, url, manifest = server
    missing = ManifestEntry("Nobody/missing.mid", "0" * 64, 10)
    report = _run(tmp_path / "corpus", url, [missing, *manifest])
    assert report.failed == [(missing.path, "HTTP 404 Not Found")]
    assert len(report.downloaded) == len(manifest)


def test_file_url(server, tmp_path):
    srv, _, manifest = server
    report = _run(tmp_path / "corpus", srv.root.as_uri() + "/", manifest)
    assert report.ok and len(report.downloaded) == len(manifest)
    _assert_complete(tmp_path / "corpus", manifest)


def test_bad_destination_raises(tmp_path):
    blocker = tmp_path / "corpus"
    blocker.write_text("not a folder")
    with pytest.raises(FetchError, match="not a folder"):
        fetch_corpus(blocker, manifest=[], progress=False)


def test_bad_manifest_rows_raise(tmp_path):
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(f"path,sha256,bytes\n../evil.mid,{'a' * 64},5\n")
    with pytest.raises(FetchError, match="line 2: unsafe"):
        load_manifest(csv_file)


def test_packaged_manifest_shape():
    entries = load_manifest()
    paths = [e.path for e in entries]
    assert len(entries) == 337 and paths == sorted(paths) and len(set(paths)) == 337
    assert sum(p.startswith("Christmas/") for p in paths) == 5


def test_packaged_manifest_matches_local_corpus(corpus_root):
    for e in load_manifest():
        data = (corpus_root / e.path).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (e.bytes, e.sha256), e.path
