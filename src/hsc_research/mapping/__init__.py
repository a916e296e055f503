"""Export columns to the codebook: the mapping spec (:mod:`.spec`), applying it
(:mod:`.apply`), drafting one (:mod:`.suggest`) and checking an export with it
(:mod:`.validate`)."""

from hsc_research.mapping.apply import apply_mapping, prepare, read_mapped
from hsc_research.mapping.spec import Accept, ExcludeRule, FieldSource, Mapping, load_mapping

__all__ = ["Accept", "ExcludeRule", "FieldSource", "Mapping", "apply_mapping", "load_mapping",
           "prepare", "read_mapped"]  # fmt: skip
