"""Write the packaged download manifest for ``jaxsnn-music corpus fetch``.

Reads the full corpus manifest of the local piano-midi.de copy
(``$JAXSNN_MUSIC_PIANO_MIDI/manifest.csv``, default
``/work/shared/corpus/piano-midi/manifest.csv``) and writes
``jaxsnn_music/data/piano_midi_manifest.csv`` with only the columns the fetcher
needs (``path,sha256,bytes``), one row per file, sorted by path.
Run it again only when the corpus copy changes: ``python experiments/make_fetch_manifest.py``.
"""

import csv
import os
from pathlib import Path

source = Path(os.environ.get("JAXSNN_MUSIC_PIANO_MIDI", "/work/shared/corpus/piano-midi")) / "manifest.csv"
target = Path(__file__).resolve().parents[1] / "jaxsnn_music" / "data" / "piano_midi_manifest.csv"

with source.open(newline="", encoding="utf-8") as f:
    rows = sorted(({k: row[k] for k in ("path", "sha256", "bytes")} for row in csv.DictReader(f)),
                  key=lambda row: row["path"])
# A duplicate path would make the fetcher download one file twice and miss another.
assert len({row["path"] for row in rows}) == len(rows), "duplicate paths in the source manifest"

with target.open("w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=["path", "sha256", "bytes"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
print(f"wrote {len(rows)} rows to {target}")
