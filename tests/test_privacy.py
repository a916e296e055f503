"""Identifying column names, as the survey tools write them."""

from __future__ import annotations

import pytest

from hsc_research.ingest.privacy import is_identifying


@pytest.mark.parametrize(
    "name",
    ["IPAddress", "IP Address", "RecipientEmail", "Email Address", "Email", "Name",
     "First Name", "Last Name", "RecipientFirstName", "ExternalReference",
     "ExternalDataReference", "LocationLatitude", "LocationLongitude", "e-mail address"],
)  # fmt: skip
def test_identifying(name):
    assert is_identifying(name)


@pytest.mark.parametrize(
    "name", ["ResponseId", "Respondent ID", "Site", "Status", "Q4_1", "What is your profession?"]
)
def test_not_identifying(name):
    assert not is_identifying(name)
