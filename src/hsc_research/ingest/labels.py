"""Matching labels as people type them: one folding rule for answers, categories and
column headers, used by the reader, the mapping and the cleaning alike."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032`\u00b4"), "'")
_QUOTES.update(dict.fromkeys(map(ord, "\u201c\u201d\u201e\u2033"), '"'))
_SPACE = re.compile(r"\s+")


def normalise_label(text: object) -> str:
    """Fold an answer or category label for matching.

    Unicode-normalises (NFKC), maps typographic dashes and quotes to ASCII, drops
    apostrophes (so "Dont know" matches "Don't know") and quotes around the whole label,
    collapses whitespace and case-folds. Missing values become ``""``.

    Examples
    --------
    >>> normalise_label("  Don\u2019t   KNOW ")
    'dont know'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).translate(_DASHES).translate(_QUOTES)
    s = s.replace("'", "")
    # Quotes around a whole label are a spreadsheet artefact ('"Agree"'), not wording.
    return _SPACE.sub(" ", s).strip().strip('"').strip().casefold()
