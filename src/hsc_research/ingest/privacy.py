"""Identifying columns: recognised by name and dropped at ingest, before anything else.

Survey tools add columns that identify people (IP address, e-mail, names, recipient
fields, location, external references). None of them is needed for the analysis, so
they are removed from an export as soon as its header is read: they never reach a
cleaned table, a log of exclusions or ``data/processed/``.
"""

from __future__ import annotations

import re

from hsc_research.ingest.labels import normalise_label

#: Names (folded: lower case, no spaces, dashes or underscores) that identify a person,
#: as the survey tools write them.
_KNOWN = {
    "ipaddress", "ip", "email", "emailaddress", "recipientemail", "recipientfirstname",
    "recipientlastname", "recipientname", "firstname", "lastname", "fullname", "name",
    "surname", "forename", "externalreference", "externaldatareference", "externalref",
    "locationlatitude", "locationlongitude", "latitude", "longitude", "phone",
    "phonenumber", "mobile", "telephone", "postcode", "nhsnumber", "address",
}  # fmt: skip
#: Words that make any column identifying wherever they appear in its name.
_WORDS = re.compile(r"e-?mail|ip address|latitude|longitude|recipient|phone|postcode")


def _fold(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", normalise_label(name))


def is_identifying(name: str) -> bool:
    """Whether an export column names or locates a person.

    Examples
    --------
    >>> is_identifying("RecipientEmail"), is_identifying("IP Address")
    (True, True)
    >>> is_identifying("ResponseId")
    False
    """
    return _fold(name) in _KNOWN or bool(_WORDS.search(normalise_label(name)))
