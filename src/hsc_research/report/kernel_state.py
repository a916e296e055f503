"""What runs inside a warm report kernel: the warm-up and the reset between reports.

Kept apart from :mod:`hsc_research.report.engine` so that a kernel imports neither papermill
nor the Jupyter client machinery. See :mod:`hsc_research.report.engine` for what is reset.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings
from typing import Any

#: The build's own matplotlib settings, applied after ``rcdefaults()`` before each report.
#: SVG ids are hashed with a fixed salt, so the same figure gives the same file.
BUILD_RC = {"svg.hashsalt": "hsc-research"}

#: Imported once when a kernel starts (what every report notebook imports).
WARM_IMPORTS = (
    "hsc_research.report.context",
    "hsc_research.report.text",
    "hsc_research.report.tables",
    "hsc_research.report.glance",
    "hsc_research.report.figures",
)

# State of this (kernel) process when it was warmed; reset_kernel_state returns to it.
_BASELINE: dict[str, Any] = {}


def warm_up_kernel(imports: tuple[str, ...] = WARM_IMPORTS) -> None:
    """Import the report libraries and record the state each report starts from.

    Runs inside the kernel once, right after it starts. One small figure is drawn and
    saved as SVG so that fonts and the SVG writer are loaded before the first report.
    """
    import importlib
    import io

    for name in imports:
        importlib.import_module(name)
    from hsc_research.report import context

    # Reports of one build read the same verified aggregates: read each table once.
    context.SHARE_TABLES = True
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.rcdefaults()
    matplotlib.rcParams.update(BUILD_RC)
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    ax.set_title("warm")
    fig.savefig(io.BytesIO(), format="svg")
    plt.close("all")
    # What the kernel holds now (modules, fonts, the shared tables' machinery) lives as
    # long as the kernel: moved out of the collector's sight, the full collection at
    # every reset (and those during a report) walk only a report's own objects.
    gc.collect()
    gc.freeze()
    _BASELINE.clear()
    _BASELINE.update(
        backend=matplotlib.get_backend(),
        path=list(sys.path),
        environ=dict(os.environ),
        filters=list(warnings.filters),
    )
    if "numpy" in sys.modules:
        import numpy as np

        _BASELINE.update(printoptions=np.get_printoptions(), seterr=np.geterr())


def reset_kernel_state(cwd: str) -> None:
    """Return this kernel to the state it was warmed in (the namespace is emptied by
    ``%reset -f`` just before).

    Parameters
    ----------
    cwd
        Working folder of the next report.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    plt.close("all")
    if _BASELINE and matplotlib.get_backend() != _BASELINE["backend"]:
        plt.switch_backend(_BASELINE["backend"])  # a notebook ran %matplotlib
    matplotlib.rcdefaults()
    matplotlib.rcParams.update(BUILD_RC)
    os.chdir(cwd)
    if _BASELINE:
        sys.path[:] = _BASELINE["path"]
        if dict(os.environ) != _BASELINE["environ"]:
            os.environ.clear()
            os.environ.update(_BASELINE["environ"])
        # resetwarnings invalidates every module's record of warnings already shown.
        warnings.resetwarnings()
        warnings.filters[:] = _BASELINE["filters"]
        warnings.onceregistry.clear()
        if "printoptions" in _BASELINE:
            import numpy as np

            np.set_printoptions(**_BASELINE["printoptions"])
            np.seterr(**_BASELINE["seterr"])
    if "pandas" in sys.modules:
        import pandas as pd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.reset_option("all")


def _reset_code(cwd: str) -> str:
    # Into the next report's folder first: %reset records the working folder, and the
    # previous report's folder may be gone (a cluster worker's temporary folder).
    return (
        f'__import__("os").chdir({cwd!r})\n'
        'get_ipython().run_line_magic("reset", "-f")\n'
        f'__import__("hsc_research.report.kernel_state").report.kernel_state.reset_kernel_state({cwd!r})\n'
    )


def _warm_code(imports: tuple[str, ...]) -> str:
    return f'__import__("hsc_research.report.kernel_state").report.kernel_state.warm_up_kernel({imports!r})\n'
