"""Findings: what a rule reports about one subject (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field
from enum import StrEnum
from collections.abc import Sequence
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}
SEVERITIES = tuple(Severity)  # most severe first


@dataclass(slots=True)
class Hit:
    """What a rule's check returns: the subject and what is wrong. The engine adds the metadata."""

    kind: str  # organisation, subject, element, purpose, system or flow
    id: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # only when a rule documents a different severity for this case


def hit(entry: Any, message: str, severity: Severity | None = None, **details: Any) -> Hit:
    """A hit on an inventory entry (Flow, Purpose, ...) or on a Transfer (its flow)."""
    flow = getattr(entry, "flow", None)
    if flow is not None:  # a Transfer
        entry = flow
    kind = _KINDS[type(entry).__name__]
    return Hit(kind, entry.id, message, details, severity)


_KINDS = {"Organisation": "organisation", "Subject": "subject", "Element": "element", "Purpose": "purpose",
          "System": "system", "Flow": "flow"}


@dataclass
class Waived:
    reason: str
    approved_by: str
    expires: dt.date

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "approved_by": self.approved_by, "expires": self.expires.isoformat()}


DETAILS_LIST_LIMIT = 20  # SPEC §5: a list in `details` longer than this is cut, its full count beside it
MESSAGE_LIST_LIMIT = 3  # a message names at most this many items of a list that grows with the inventory


def some(items: Sequence[str], what: str, limit: int = MESSAGE_LIST_LIMIT) -> str:
    """The first `limit` items joined by commas, and how many more there are: a message stays one
    readable line whatever the inventory's size, while `details` keep the list (cut at
    DETAILS_LIST_LIMIT). `some(["a", "b", "c", "d", "e"], "purpose")` is
    "a, b, c and 2 other purposes"; four items or fewer are all named."""
    if len(items) <= limit + 1:  # "and 1 other" would take as long as naming it
        return ", ".join(items)
    return f"{', '.join(items[:limit])} and {len(items) - limit:,} other {what}s"


def cap_lists(details: dict[str, Any], limit: int = DETAILS_LIST_LIMIT) -> dict[str, Any]:
    """`details` with every list (at any depth) longer than `limit` cut to its first `limit`
    items and its full length beside it as `<key>_count`, so a finding stays small whatever the
    inventory's size (PUR-001 once listed 1,554 purposes per pair). Sets are sorted first, so the
    items kept do not depend on hashing. Details with nothing to cut (scalars and short lists of
    strings: most findings') are returned as they are, not copied."""
    if _flat(details, limit):
        return details
    out: dict[str, Any] = {}
    for key, value in details.items():
        kind = type(value)
        if kind is str or value is None or kind is bool or kind is int:  # most values: as they are
            out[key] = value
            continue
        if kind is list and len(value) <= limit and _only_strings(value):  # ids, countries
            out[key] = value[:]
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            if len(value) > limit:  # a set: its first `limit` in order, without sorting them all
                out.setdefault(f"{key}_count", details.get(f"{key}_count", len(value)))
                value = (value[:limit] if isinstance(value, (list, tuple))
                         else heapq.nsmallest(limit, value, key=str))
            elif isinstance(value, (set, frozenset)):
                value = sorted(value, key=str)
            value = [cap_lists(v, limit) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict):
            value = cap_lists(value, limit)
        out[key] = value
    return out


@dataclass(slots=True)
class Finding:
    rule: str
    title: str
    severity: Severity
    subject_kind: str
    subject_id: str
    message: str
    legal: tuple[str, ...]
    remediation: str
    details: dict[str, Any] = field(default_factory=dict)
    waived: bool = False
    waiver: Waived | None = None
    waiver_expired: Waived | None = None
    location: tuple[str, int | None] | None = None  # (file, line)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.rule, self.subject_id)

    def plain_details(self) -> dict[str, Any]:
        """`details` JSON-ready: sets sorted, dates as ISO strings."""
        return _plain(self.details)  # type: ignore[no-any-return]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity.value,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "message": self.message,
            "legal": list(self.legal),
            "remediation": self.remediation,
            "details": self.plain_details(),
            "waived": self.waived,
        }
        if self.waiver is not None:
            out["waiver"] = self.waiver.as_dict()
        if self.waiver_expired is not None:
            out["waiver_expired"] = self.waiver_expired.as_dict()
        if self.location is not None:
            out["location"] = {"file": self.location[0], "line": self.location[1]}
        return out


_AS_IS = frozenset({str, int, float, bool, type(None)})
_AS_IS_OR_LIST = _AS_IS | {list}
_STR = frozenset({str})


def _only_strings(items: list[Any] | tuple[Any, ...]) -> bool:
    """Every item is a `str` (not a subclass): the types gathered at C speed, not a generator."""
    return _STR.issuperset(map(type, items))


def _flat(details: dict[Any, Any], limit: int | None = None) -> bool:
    """Every value is a string, number, boolean or None, or a list of strings (at most `limit`
    long): the shape of most findings' details, told from the set of their types."""
    kinds = set(map(type, details.values()))
    if kinds <= _AS_IS:
        return True
    if not kinds <= _AS_IS_OR_LIST:
        return False
    for v in details.values():  # a loop, not a generator: asked for every finding (50,000 for a chain)
        if type(v) is list and (not _STR.issuperset(map(type, v)) or (limit is not None and len(v) > limit)):
            return False
    return True


def _plain(value: Any) -> Any:
    """JSON-ready, deterministic: sets sorted, dates as ISO strings."""
    kind = type(value)
    if kind in _AS_IS:  # most values: no copy, no chain of isinstance checks
        return value
    if (kind is list or kind is tuple) and _only_strings(value):
        return list(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
