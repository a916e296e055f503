"""One rule for every number shown: round half away from zero.

Python's ``round`` and ``f"{x:.0f}"`` round half to even (12.5 -> 12) and work on the
binary value (0.125 is exact, 2.675 is stored as 2.67499...). Reports, the index and
figures all format through this module, so 12.5% reads 13% everywhere. Values are
rounded on their shortest decimal representation (``repr``), which is what a reader
would compute from the printed inputs.

Examples
--------
>>> points(0.125), points(-0.125), points(0.135)
(13, -13, 14)
>>> pct(0.125), signed(0.125), fixed(2.675, 2), fixed(-0.5, 0)
('13%', '+13', '2.68', '-1')
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np


def round_half_away(value: float, decimals: int = 0) -> Decimal:
    """``value`` rounded half away from zero to ``decimals`` places."""
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def points(proportion: float) -> int:
    """A proportion in whole percentage points (0.125 -> 13)."""
    return int(round_half_away(100 * float(proportion)))


def pct(proportion: float) -> str:
    """A proportion as "NN%"."""
    return f"{points(proportion)}%"


def signed(proportion: float) -> str:
    """A difference of proportions in signed whole points ("+13", "-4", "0")."""
    p = points(proportion)
    return f"{p:+d}" if p else "0"


def bound(proportion: float) -> str:
    """An interval bound in percentage points: whole points, unless that would print 0
    for a bound that is not 0 (then as many decimals as it takes, up to 4), so that a
    printed interval excludes 0 exactly when the interval does.

    Examples
    --------
    >>> bound(0.26), bound(0.004), bound(-0.00004), bound(0.0)
    ('26', '0.4', '-0.004', '0')
    """
    x = 100 * float(proportion)
    for decimals in range(0, 5):
        r = round_half_away(x, decimals)
        if r != 0 or x == 0:
            return f"{r:.{decimals}f}" if x != 0 else "0"
    return f"{x:.2g}"


def fixed(value: float, decimals: int = 2) -> str:
    """A number with ``decimals`` places (means, odds ratios)."""
    out = round_half_away(value, decimals)
    return f"{out:.{decimals}f}" if out != 0 else f"{abs(out):.{decimals}f}"


def pct_value(value: float) -> str:
    """A value already in percent (12.5 -> "13%"); "n/a" when missing."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{int(round_half_away(value))}%"


def p_text(p: float) -> str:
    """A p-value as printed: "< 0.001", "= 0.043" (three decimals), or "n/a" when missing.

    Examples
    --------
    >>> p_text(0.0004), p_text(0.0425), p_text(float("nan"))
    ('< 0.001', '= 0.043', 'n/a')
    """
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {fixed(p, 3)}"
