"""The frame contract: what a mapped export hands to :func:`hsc_research.clean.clean`.

:mod:`hsc_research.mapping` renames an export's columns to the codebook's and adds these
columns and ``DataFrame.attrs`` entries; :mod:`hsc_research.clean` reads them. Both import
them from here, so neither stage depends on the other for the names they share.
"""

from __future__ import annotations

#: Boolean column a mapping adds to flag preview and test submissions.
TEST_FLAG = "test_response"
#: Columns a mapping's ``exclude`` rules add: the reason of the first rule a row meets
#: (missing where none does), and the export column and cell that met it.
EXCLUDE_REASON, EXCLUDE_COLUMN, EXCLUDE_VALUE = "exclude_reason", "exclude_column", "exclude_value"
#: Reasons a mapping's exclude rule may log rows under.
RULE_REASONS = ("test_response", "partial_response")
#: What makes two submissions the same respondent, by default: a respondent id may be
#: reused in another wave or numbered per site.
DUPLICATE_KEY = ("respondent_id", "wave", "site")
#: Frame column of a keyed hash of an identifying column (an e-mail address) that a
#: mapping's ``duplicates: {identity: ...}`` compares instead of the respondent id.
IDENTITY = "identity"
#: Fields a duplicate key may combine (respondent_id or identity always among them).
DUPLICATE_KEY_FIELDS = ("respondent_id", IDENTITY, "wave", "site")
#: ``DataFrame.attrs`` entry through which a mapping passes its duplicate key to clean.
DUPLICATE_KEY_ATTR = "duplicate_key"
#: ``DataFrame.attrs`` entry naming the export a frame was read from, for messages.
SOURCE_ATTR = "source"
#: ``DataFrame.attrs`` entries through which a mapping passes the date order it asks for
#: (``dates: {order: ...}``), the layout's convention and the export column of
#: ``submitted_at``, read by :func:`hsc_research.ingest.dates.date_order`.
DATE_ORDER_ATTR = "date_order"
DATE_DEFAULT_ATTR = "date_default"
DATE_COLUMN_ATTR = "date_column"
