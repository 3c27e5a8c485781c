"""The rule catalogue: every rule module listed explicitly, in documentation order."""

from __future__ import annotations

from flowaudit.inventory.errors import FlowauditError

from .engine import Rule
from .rules import governance, minimisation, pipl, purposes, third_parties, transfers

CATALOGUE: tuple[Rule, ...] = tuple(sorted(
    (*purposes.RULES, *minimisation.RULES, *transfers.RULES, *third_parties.RULES, *governance.RULES, *pipl.RULES),
    key=lambda r: r.id,
))
BY_ID = {r.id: r for r in CATALOGUE}
FAMILIES = {
    "PUR": "Purpose limitation and lawfulness",
    "SPC": "Special categories",
    "CHD": "Children",
    "MIN": "Minimisation and retention",
    "TRF": "International transfers",
    "TPX": "Third-party exposure",
    "GOV": "Governance and records",
    "SEC": "Security",
    "PIPL": "China",
}


def select(rules: tuple[Rule, ...], only: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> tuple[Rule, ...]:
    """Rules by id or family prefix (`TRF`, `TRF-001`); unknown ids are an error."""
    known = {r.id for r in rules}

    def matches(r: Rule, pattern: str) -> bool:
        return r.id == pattern or r.family == pattern

    for pattern in (*only, *skip):
        if pattern not in known and pattern not in FAMILIES:
            import difflib

            close = difflib.get_close_matches(pattern, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FlowauditError(f"unknown rule {pattern!r}{hint}")
    chosen = [r for r in rules if not only or any(matches(r, p) for p in only)]
    return tuple(r for r in chosen if not any(matches(r, p) for p in skip))
