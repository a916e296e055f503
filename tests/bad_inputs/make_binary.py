"""Write the binary files of this catalogue (run once; the outputs are committed).

    python tests/bad_inputs/make_binary.py

``27_password_protected.xlsx`` is made by encrypting a workbook with msoffcrypto-tool
(``pip install msoffcrypto-tool`` in a scratch environment; not a project dependency),
when it is installed; the password is ``secret``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyreadstat
from openpyxl import Workbook

HERE = Path(__file__).parent
HEAD = ["id", "site", "wave", "profession", "role", "submitted", "trust_asc", "trust_gp",
        "rel_asc", "rel_cp", "comment"]  # fmt: skip


def numbers_as_text() -> None:
    # Ratings typed as numbers, as text ("4" with Excel's green triangle) and as 4.0.
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append(
        ["P1", "Northshire", 2019, "GPs", "Frontline", "2019-05-01", "Agree", "Agree", 4, "3", None]
    )
    ws.append(
        [
            "P2",
            "Northshire",
            "2019",
            "GPs",
            "Frontline",
            "2019-05-01",
            "Agree",
            "Agree",
            "4",
            3.0,
            None,
        ]
    )
    wb.save(HERE / "15_numbers_stored_as_text.xlsx")


def password_protected() -> None:
    try:
        import msoffcrypto
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return
    wb = Workbook()
    wb.active.append(HEAD)
    plain = io.BytesIO()
    wb.save(plain)
    plain.seek(0)
    with open(HERE / "27_password_protected.xlsx", "wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    assert msoffcrypto  # imported to check the tool is there


def spss_without_labels() -> None:
    df = pd.DataFrame({"id": ["P1", "P2"], "site": ["Northshire", "Northshire"],
                       "wave": [2019, 2019], "profession": ["GPs", "GPs"],
                       "trust_asc": [3, 2], "trust_gp": [4, 1]})  # fmt: skip
    pyreadstat.write_sav(df, HERE / "29_spss_without_value_labels.sav")


if __name__ == "__main__":
    numbers_as_text()
    password_protected()
    spss_without_labels()
