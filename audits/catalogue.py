"""The rule catalogue: the core rule modules listed explicitly, in documentation order, then
each regime's own module, named by its folder in the rulebook (`rules:` in its regime.yaml).

Nothing registers itself by being imported: a regime's module is imported because its
folder names it, and its `RULES` and `FAMILIES` are read from it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from flowaudit.inventory.errors import FlowauditError

from .engine import Rule
from .rulebook import Rulebook, default_rulebook
from .rules import governance, minimisation, observed, purposes, third_parties, transfers

CORE_MODULES: tuple[ModuleType, ...] = (purposes, minimisation, transfers, third_parties, governance)
CORE_FAMILIES = {
    "PUR": "Purpose limitation and lawfulness",
    "SPC": "Special categories",
    "CHD": "Children",
    "MIN": "Minimisation and retention",
    "TRF": "International transfers",
    "TPX": "Third-party exposure",
    "GOV": "Governance and records",
    "SEC": "Security",
}


def regime_modules(rulebook: Rulebook) -> dict[str, ModuleType]:
    """Per regime with rules of its own, its module: `rules: pipl` is flowaudit.audits.rules.pipl;
    a dotted name is imported as written (a regime kept outside flowaudit)."""
    out = {}
    for regime in rulebook.regimes.values():
        if not regime.rules:
            continue
        name = regime.rules if "." in regime.rules else f"{__package__}.rules.{regime.rules}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise FlowauditError(f"rulebook: {regime.id}/regime.yaml names rule module {regime.rules!r}, "
                                 f"which cannot be imported: {exc}") from exc
        if not isinstance(getattr(module, "RULES", None), tuple):
            raise FlowauditError(f"rule module {name} of regime {regime.id} has no RULES tuple")
        out[regime.id] = module
    return out


def build_catalogue(rulebook: Rulebook) -> tuple[tuple[Rule, ...], dict[str, str]]:
    """(rules sorted by id, family names) for the regimes the rulebook holds."""
    rules: list[Rule] = [r for m in CORE_MODULES for r in m.RULES]
    families = dict(CORE_FAMILIES)
    for module in regime_modules(rulebook).values():
        rules.extend(module.RULES)
        families.update(getattr(module, "FAMILIES", {}))
    ids = [r.id for r in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise FlowauditError(f"rule ids declared twice: {', '.join(duplicates)}")
    return tuple(sorted(rules, key=lambda r: r.id)), families


CATALOGUE, FAMILIES = build_catalogue(default_rulebook())
# SPEC §10: rules whose evidence is observed traffic; `flowaudit observe` computes them, `audit` does not.
OBSERVED: tuple[Rule, ...] = tuple(sorted(observed.RULES, key=lambda r: r.id))
FAMILIES = {**FAMILIES, "OBS": "Observed traffic"}
BY_ID = {r.id: r for r in (*CATALOGUE, *OBSERVED)}


def select(rules: tuple[Rule, ...], only: tuple[str, ...] = (), skip: tuple[str, ...] = (),
           families: dict[str, str] | None = None) -> tuple[Rule, ...]:
    """Rules by id or family prefix (`TRF`, `TRF-001`); unknown ids are an error."""
    known = {r.id for r in rules} | {r.id for r in OBSERVED}  # OBS ids may be skipped in any configuration
    family_names = {r.family for r in rules} | set(families if families is not None else FAMILIES)

    def matches(r: Rule, pattern: str) -> bool:
        return r.id == pattern or r.family == pattern

    for pattern in (*only, *skip):
        if pattern not in known and pattern not in family_names:
            import difflib

            close = difflib.get_close_matches(pattern, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FlowauditError(f"unknown rule {pattern!r}{hint}")
    chosen = [r for r in rules if not only or any(matches(r, p) for p in only)]
    return tuple(r for r in chosen if not any(matches(r, p) for p in skip))
