"""The survey instrument (codebook): questions, items, scales and professions, as data.

The codebook is a YAML file (the default ships as ``hsc2019.yaml`` beside this module).
:func:`load_codebook` reads and validates it; every other module takes a
:class:`Codebook` instead of naming a question, item, scale or profession itself.
"""

from hsc_research.instrument.load import AliasRefused, StrictLoader, load_codebook
from hsc_research.instrument.model import (
    COLUMN_SEP,
    DEFAULT_CODEBOOK,
    Codebook,
    Group,
    Indicator,
    Item,
    Level,
    Profession,
    Question,
    ReportSpec,
    RoleLevel,
    Scale,
)

__all__ = ["COLUMN_SEP", "DEFAULT_CODEBOOK", "AliasRefused", "Codebook", "Group", "Indicator",
           "Item", "Level", "Profession", "Question", "ReportSpec", "RoleLevel", "Scale",
           "StrictLoader", "load_codebook"]  # fmt: skip
