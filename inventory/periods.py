"""Retention periods (SPEC §2): an ISO 8601 duration (`P3Y`, `P90D`, `P1Y6M`) or one of the
keywords. The one definition that validation, the JSON Schema, the reports and the importers use."""

from __future__ import annotations

import re

RETENTION_KEYWORDS = frozenset({"until-account-deletion", "until-purpose-fulfilled", "statutory"})

_N = r"(\d+(?:[.,]\d+)?)"  # ISO 8601 allows a decimal fraction, with a point or a comma
# No lookbehind and no named groups: the same pattern serves Python and the JSON Schema (ECMA 262).
DURATION = re.compile(rf"^P(?!$)(?:{_N}Y)?(?:{_N}M)?(?:{_N}W)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?$")
DURATION_UNITS = ("year", "month", "week", "day", "hour", "minute", "second")  # DURATION's groups, in order


def is_period(value: str) -> bool:
    """A retention keyword or an ISO 8601 duration."""
    return value in RETENTION_KEYWORDS or DURATION.fullmatch(value) is not None


def duration_parts(period: str) -> list[tuple[str, str]] | None:
    """'P1Y6M' -> [('1', 'year'), ('6', 'month')]; None when `period` is not an ISO 8601 duration."""
    m = DURATION.fullmatch(period)
    if m is None:
        return None
    return [(n, unit) for n, unit in zip(m.groups(), DURATION_UNITS, strict=True) if n]
