"""Whole numbers read from what a client sends: a path, a header, a form field, a query string.

Only ASCII digits count. Python's `str.isdigit()`, `int()` and the regex `\\d` also accept other
scripts' digits ("١٢") and superscripts ("²"), and `int()` raises on more than 4300 digits, so
text from outside is matched against a bounded ASCII pattern before it becomes a number."""

from __future__ import annotations

import re

# The largest id a table holds (a PostgreSQL integer key); larger ones cannot exist.
MAX_ID = 2**31 - 1
# Enough digits for any number the shop reads (an id, a version, a quantity, a page).
WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")


def whole_number(text: str, high: int = MAX_ID) -> int | None:
    """`text` as a number if it is 1 to 10 ASCII digits worth at most `high`, else None."""
    if not WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number <= high else None

