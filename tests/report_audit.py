"""An auditor of built reports that reads nothing but the published HTML.

It is deliberately independent of the package's code: it parses the tables and sentences
a reader sees and checks them against the rules a reader would apply.

* **Coherence**: every row that prints an interval and a significance word, and every
  headline sentence, agrees with the interval printed beside it ("yes" / "significantly
  higher" exactly when the interval excludes 0, with the right sign), and no caption names
  a correction (Holm) that no printed interval carries.
* **Disclosure**: in the response profiles, no published count is below ``min_cell``, and
  no hidden count can be recovered by subtraction: the additive links a reader knows
  (groups add up to all respondents, so do professions and role levels; professions add
  up to their group; sites add up to the nation) are solved repeatedly for any equation
  with a single unknown. Hidden cells of one equation together hold at least
  ``min_cell`` respondents (else their smallness is disclosed).

Run as a script on a reports folder to print what it finds::

    python tests/report_audit.py reports/
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

NUMBER = r"(-?\d+(?:\.\d+)?)"
HIDDEN = re.compile(r"suppressed \(n<(\d+)\)")


@dataclass
class Findings:
    rows_checked: int = 0
    sentences_checked: int = 0
    conflicts: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    small: list[str] = field(default_factory=list)


def _tables(soup: BeautifulSoup):
    for table in soup.find_all("table"):
        head = [th.get_text(" ", strip=True) for th in table.find_all("th")]
        rows = [
            [td.get_text(" ", strip=True) for td in tr.find_all("td")]
            for tr in table.find_all("tr")
            if tr.find_all("td")
        ]
        caption = table.get("aria-label", "")
        yield caption, head, rows


def _interval(text: str) -> tuple[float, float] | None:
    m = re.fullmatch(NUMBER + r"%? to " + NUMBER + r"%?", text)
    return (float(m.group(1)), float(m.group(2))) if m else None


def check_coherence(path: Path, out: Findings) -> None:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    name = path.name
    for caption, head, rows in _tables(soup):
        if "Holm" in caption:
            out.conflicts.append(f"{name}: caption names Holm: {caption[:80]}")
        ci_cols = [i for i, h in enumerate(head) if re.search(r"CI \(points\)$", h)]
        sig = head.index("Significant") if "Significant" in head else None
        flag = head.index("Flag") if "Flag" in head else None
        if not ci_cols or (sig is None and flag is None):
            continue
        ci_col = ci_cols[0]
        for row in rows:
            ci = _interval(row[ci_col])
            if ci is None:
                continue
            out.rows_checked += 1
            excludes = ci[0] > 0 or ci[1] < 0
            if sig is not None and (row[sig] == "yes") != excludes:
                out.conflicts.append(
                    f"{name}: {row[0]}: interval {row[ci_col]}, significant {row[sig]}"
                )
            if flag is not None:
                words = row[flag]
                said = {"significantly higher": 1, "significantly lower": -1}.get(words, 0)
                real = (ci[0] > 0) - (ci[1] < 0)
                if said != real:
                    out.conflicts.append(f"{name}: {row[0]}: interval {row[ci_col]}, flag {words}")
    for li in soup.find_all("li"):
        text = li.get_text(" ", strip=True)
        if "points" not in text:
            continue
        if "Holm" in text:
            out.conflicts.append(f"{name}: sentence names Holm: {text[:100]}")
        m = re.search(
            r"\d+ points (higher|lower) \(([^()]*?):? " + NUMBER + " to " + NUMBER + r" points\)",
            text,
        )
        if m:
            out.sentences_checked += 1
            lo, hi = float(m.group(3)), float(m.group(4))
            if not (lo > 0 and hi > 0):
                out.conflicts.append(f"{name}: '{m.group(0)}' but the interval reaches 0")
            continue
        m = re.search(
            r"no evidence of a difference \(([^()]*?):? " + NUMBER + " to " + NUMBER + r" points\)",
            text,
        )
        if m:
            out.sentences_checked += 1
            lo, hi = float(m.group(2)), float(m.group(3))
            if lo > 0 or hi < 0:
                out.conflicts.append(f"{name}: 'no evidence' beside {lo} to {hi} points")


def _profile(path: Path) -> dict[tuple[str, str, str], int | None] | None:
    """(breakdown, category, wave) -> count, or None when hidden; None if no profile."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for caption, head, rows in _tables(soup):
        if not caption.startswith("Respondents,"):
            continue
        cells = {}
        for row in rows:
            for wave, cell in zip(head[2:], row[2:], strict=True):
                if HIDDEN.fullmatch(cell):
                    cells[(row[0], row[1], wave)] = None
                else:
                    m = re.match(r"(\d+) \(", cell)
                    if m:
                        cells[(row[0], row[1], wave)] = int(m.group(1))
        return cells
    return None


def _solve(equations: list[tuple[tuple, list[tuple]]], values: dict) -> dict:
    """Fill unknowns of ``total = sum(parts)`` equations that have one unknown left."""
    known = dict(values)
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            cells = [total, *parts]
            if any(c not in known for c in cells):
                continue
            unknown = [c for c in cells if known[c] is None]
            if len(unknown) != 1:
                continue
            u = unknown[0]
            if u == total:
                known[u] = sum(known[p] for p in parts)
            else:
                known[u] = known[total] - sum(known[p] for p in parts if p != u)
            changed = True
    return known


def check_disclosure(reports: Path, group_of: dict[str, str], min_cell: int, out: Findings) -> None:
    """``group_of`` maps profession labels to group labels (from the codebook)."""
    profiles = {
        p.name: _profile(p) for p in sorted(reports.glob("*.html")) if p.name != "index.html"
    }
    profiles = {k: v for k, v in profiles.items() if v}
    national = profiles.get("national.html")
    sites = {k: v for k, v in profiles.items() if k != "national.html"}
    values, equations = {}, []
    for report, cells in profiles.items():
        for key, n in cells.items():
            values[(report, *key)] = n
            if n is not None and 0 < n < min_cell:
                out.small.append(f"{report}: {key} published as {n}")
        waves = {k[2] for k in cells}
        for wave in waves:
            total = (report, "All", "All respondents", wave)
            for dim in ("Group", "Profession", "Role level"):
                parts = [(report, *k) for k in cells if k[0] == dim and k[2] == wave]
                equations.append((total, parts))
            for group in {g for g in group_of.values()}:
                parts = [(report, *k) for k in cells
                         if k[0] == "Profession" and k[2] == wave and group_of.get(k[1]) == group]  # fmt: skip
                equations.append(((report, "Group", group, wave), parts))
    if national:
        for key in national:
            parts = [(r, *key) for r, cells in sites.items() if key in cells]
            # A site with no row for a wave had no respondents in it (0, published by absence).
            equations.append((("national.html", *key), parts))
    known = _solve(equations, values)
    for cell, n in values.items():
        if n is None and known.get(cell) is not None:
            out.leaks.append(f"{cell}: hidden but recoverable as {known[cell]}")
    for total, parts in equations:
        cells = [total, *parts]
        if any(c not in values for c in cells) or values[total] is None:
            continue
        hidden = [p for p in parts if values[p] is None]
        if hidden:
            rest = values[total] - sum(values[p] for p in parts if values[p] is not None)
            if 0 < rest < min_cell:
                out.leaks.append(
                    f"{total}: hidden cells {hidden} together hold {rest} (< {min_cell})"
                )


def audit(reports: Path, group_of: dict[str, str], min_cell: int = 10) -> Findings:
    out = Findings()
    for path in sorted(reports.glob("*.html")):
        if path.name != "index.html":
            check_coherence(path, out)
    check_disclosure(reports, group_of, min_cell, out)
    return out


def codebook_groups() -> dict[str, str]:
    """Profession label -> group label, as printed in the profile tables."""
    from hsc_research.instrument import load_codebook

    cb = load_codebook()
    groups = cb.labels("group")
    return {p.label: groups[p.group] for p in cb.professions}


if __name__ == "__main__":
    found = audit(Path(sys.argv[1]), codebook_groups())
    print(f"rows checked {found.rows_checked}, sentences checked {found.sentences_checked}")
    print(f"conflicts {len(found.conflicts)}, recoverable or small-sum hidden cells "
          f"{len(found.leaks)}, published counts below min_cell {len(found.small)}")  # fmt: skip
    for line in [*found.conflicts, *found.leaks, *found.small][:60]:
        print(" ", line)
