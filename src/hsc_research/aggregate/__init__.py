"""Every published table, per site, nation and wave: the tables and their suppression
(:mod:`.tables`), the response profile (:mod:`.profile`), and writing, reading and
verifying them (:mod:`.io`).

Reading the aggregates (``read``, ``NATIONAL``) stays light: a report kernel imports
:mod:`.io` only. The statistics behind :func:`aggregate` load on first use.
"""

from hsc_research.aggregate.io import NATIONAL, read, write

__all__ = ["NATIONAL", "RESPONSE_COLUMNS", "aggregate", "metadata", "read", "write"]

#: The columns of the cleaned ``responses`` that :func:`aggregate` reads: the labels and
#: targets (one text per answer) are left on disk, which is a quarter of reading the
#: answers of a million respondents.
RESPONSE_COLUMNS = ("respondent_id", "site", "wave", "profession", "group", "role_level",
                    "question", "item", "code", "status")  # fmt: skip


def __getattr__(name: str):
    # aggregate(), metadata() and the table builders import statsmodels and scipy:
    # load them only when asked for, not when a report kernel reads the tables.
    import importlib

    if name.startswith("__"):
        raise AttributeError(name)
    tables = importlib.import_module("hsc_research.aggregate.tables")
    if name == "tables":
        return tables
    try:
        return getattr(tables, name)
    except AttributeError:
        raise AttributeError(f"module 'hsc_research.aggregate' has no attribute {name!r}") from None
