"""The synthetic demo survey: generated from a seed, never stored (see :mod:`.synth`)."""

from hsc_research.demo.synth import SynthSpec, generate, make_messy, site_names, write

__all__ = ["SynthSpec", "generate", "make_messy", "site_names", "write"]
