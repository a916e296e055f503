"""Figures drawn once per process for the same inputs (report.figures.drawn)."""

from __future__ import annotations

import base64
import collections

import matplotlib
import pandas as pd
import pytest

from hsc_research.report import figures, plots

ORDER = ["a", "b"]
LABELS = {"a": "Nurses", "b": "Social workers"}


def _matrix(mean_ab: float = 3.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rater": ["a", "b", "a", "b"],
            "target": ["b", "a", "a", "b"],
            "mean": [mean_ab, 4.0, 4.5, 4.2],
            "n": [20, 30, 25, 28],
            "self": [False, False, True, True],
        }
    )


@pytest.fixture
def counted(monkeypatch):
    """A plot function that counts its drawings, and an empty store of drawn figures."""
    monkeypatch.setattr(figures, "_DRAWN", collections.OrderedDict())
    calls = []

    def heatmap(*args):
        calls.append(args)
        return plots.matrix_heatmap(*args)

    return heatmap, calls


def test_same_inputs_are_drawn_once(counted):
    heatmap, calls = counted
    first = figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    again = figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    assert again is first
    assert len(calls) == 1


def test_a_changed_value_is_drawn_again(counted):
    heatmap, calls = counted
    first = figures.drawn(heatmap, _matrix(3.0), ORDER, LABELS, "Ties")
    other = figures.drawn(heatmap, _matrix(3.5), ORDER, LABELS, "Ties")
    assert len(calls) == 2
    assert other.src != first.src


def test_a_changed_rcparam_is_drawn_again(counted):
    heatmap, calls = counted
    figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    with matplotlib.rc_context({"font.family": "serif"}):
        figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    assert len(calls) == 2


def test_arguments_that_cannot_be_pickled_are_drawn_every_time(counted):
    heatmap, calls = counted

    class Labels(dict):  # defined here: pickle cannot find it by name
        pass

    labels = Labels(LABELS)
    figures.drawn(heatmap, _matrix(), ORDER, labels, "Ties")
    figures.drawn(heatmap, _matrix(), ORDER, labels, "Ties")
    assert len(calls) == 2


def test_a_stored_drawing_is_the_fresh_drawing(counted):
    heatmap, _ = counted
    figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    stored = figures.drawn(heatmap, _matrix(), ORDER, LABELS, "Ties")
    fresh = figures._svg(plots.matrix_heatmap(_matrix(), ORDER, LABELS, "Ties"))
    assert stored.src == fresh
    svg = base64.b64decode(stored.src).decode()
    assert "<dc:date>" not in svg
    assert stored.alt_text.startswith("Ties")


@pytest.fixture(scope="module")
def demo_tables(codebook, tmp_path_factory):
    from hsc_research import aggregate
    from hsc_research.clean import clean
    from hsc_research.demo import synth
    from hsc_research.ingest import read_template

    export, sites = synth.generate(codebook, synth.SynthSpec(sites=5, respondents=(25, 90), seed=3))
    path, _ = synth.write(export, sites, tmp_path_factory.mktemp("raw"))
    cleaned = clean(read_template(path, codebook), codebook, sites)
    meta = {"sites": dict(zip(sites["site_id"], sites["site_name"], strict=True)),
            "waves": sorted(int(w) for w in cleaned.respondents["wave"].unique())}  # fmt: skip
    return aggregate.aggregate(cleaned, codebook, 10), meta


def test_funnels_from_stored_curves_are_the_funnels_the_plot_computes(demo_tables, codebook):
    from hsc_research import report
    from hsc_research.aggregate.io import NATIONAL

    tables, meta = demo_tables
    wave = meta["waves"][-1]
    stored = report.Context(tables, meta, codebook, NATIONAL, wave, None, 10)
    without = {k: v for k, v in tables.items() if k != "funnel_limits"}
    computed = report.Context(without, meta, codebook, NATIONAL, wave, None, 10)
    page = figures.funnel_figures(stored).data
    assert page.count("<figure") == len(codebook.indicators)
    assert page == figures.funnel_figures(computed).data
