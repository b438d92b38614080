"""The tutorial (docs/tutorial.py) runs to the end, its numbers are what its text says, and
docs/tutorial.ipynb is its current rendering.

The script runs in this process (``runpy``), so it reuses what ``test_api.py`` compiled for
the same six chorales.
"""

from __future__ import annotations

import importlib.util
import json
import runpy
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_notebook_is_the_rendered_script(tmp_path):
    spec = importlib.util.spec_from_file_location("render_notebook", DOCS / "render_notebook.py")
    render = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render)
    text = render.render(DOCS / "tutorial.py", tmp_path / "tutorial.ipynb")
    assert text == (DOCS / "tutorial.ipynb").read_text(), \
        "docs/tutorial.ipynb is stale: run python docs/render_notebook.py"
    cells = json.loads(text)["cells"]
    assert {c["cell_type"] for c in cells} == {"markdown", "code"}
    assert all(c["outputs"] == [] for c in cells if c["cell_type"] == "code")


def test_the_tutorial_runs_and_its_numbers_are_sane(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TUTORIAL_OUTPUT", str(tmp_path / "out"))
    ns = runpy.run_path(str(DOCS / "tutorial.py"), run_name="__main__")
    out = tmp_path / "out"
    for name in ("raster.png", "piano_roll.png", "ablation.png", "recalled_r001.mid",
                 "fragment.mid", "unseen.mid"):
        assert (out / name).stat().st_size > 0, name
    assert ns["network"].n_titles == 6
    recalled = ns["recalled"]
    assert recalled.pitch_accuracy == 1.0
    # The raster's read-out is the recall's, over the columns it recorded.
    assert [lr.chords for lr in recalled.raster.layers] == [tuple(t.chords()[:12])
                                                            for t in recalled.tracks]
    # The fragment is found where it was cut; the unseen chorale's is not attributed.
    assert ns["found"].title == ns["source"].title
    assert (ns["found"].best.layer, ns["found"].best.column) == (1, 20)
    assert ns["stranger"].unknown
    # Switching the sequential synapses off: no effect with a title linked to every note,
    # most of the piece lost when the title is linked to the first four events only.
    ablation = ns["ablation"]
    assert ablation["default: on"] == ablation["default: off"] == 1.0
    assert ablation["sequence memory: on"] > 0.95
    assert ablation["sequence memory: off"] < 0.2
    assert ns["same"].pitch_accuracy == 1.0
