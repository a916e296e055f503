"""Survey statistics on the tidy tables.

Every function returns a tidy DataFrame: the grouping keys, ``n`` (substantive base),
the estimate, ``ci_low`` / ``ci_high`` and, where there is a test, ``p`` and ``p_adj``
with the correction named in ``correction``. Functions work on answer counts (see
:mod:`~hsc_research.stats.counts`) so that any grouping is one vectorised pass.
"""
