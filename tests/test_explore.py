"""notebooks/explore.ipynb runs top to bottom on a small synthetic project and answers
its five questions."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import ROOT

from hsc_research.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    import papermill as pm

    root = tmp_path_factory.mktemp("explore")
    main(["--root", str(root), "synth", "--sites", "3", "--respondents", "90", "--seed", "5"])
    main(["--root", str(root), "clean"])
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "explore.ipynb", root / "notebooks")
    # As in JupyterLab (`make lab`): the notebook runs from notebooks/ with its defaults.
    return pm.execute_notebook(
        root / "notebooks" / "explore.ipynb",
        root / "notebooks" / "explore.out.ipynb",
        kernel_name="python3",
        cwd=root / "notebooks",
        progress_bar=False,
    )


def _answers(nb) -> list[dict]:
    """The output of each answer cell (the code cells after the set-up)."""
    cells = [c for c in nb.cells if c.cell_type == "code"][2:]
    return [c.outputs[-1] for c in cells]


def test_every_cell_runs_and_each_answer_shows_a_result(executed):
    answers = _answers(executed)
    assert len(answers) == 5
    assert all(out.output_type == "execute_result" for out in answers[:4])
    # The figure is drawn inline once (display_data), not also returned as a result.
    assert answers[4].output_type == "display_data"


def test_answer_one_is_a_proportion_with_its_interval(executed):
    html = _answers(executed)[0].data["text/html"]
    assert all(col in html for col in ("estimate", "ci_low", "ci_high", "suppressed"))


def test_answer_four_has_thresholds_with_standard_errors(executed):
    html = _answers(executed)[3].data["text/html"]
    # Each threshold row: term, kind, estimate, se, ...
    rows = re.findall(r"<td>threshold</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", html)
    assert len(rows) == 3  # agree4: four levels, three cut points
    assert all(float(se) > 0 for _, se in rows)


def test_answer_five_is_a_figure(executed):
    assert "image/png" in _answers(executed)[4].data
