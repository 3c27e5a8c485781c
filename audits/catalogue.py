"""The rule catalogue: the core rule modules listed explicitly, in documentation order, then
each regime's own module, named by its folder in the rulebook (`rules:` in its regime.yaml).

Nothing registers itself by being imported: a regime's module is imported because its folder
names it. A module's rules are the `Rule` objects it defines (collected here, so a rule cannot
be dropped by forgetting to list it), and a regime module's `FAMILIES` names its families.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from flowaudit.inventory.errors import FlowauditError, InventoryError, Problem
from flowaudit.inventory.validate import Inventory

from .config import Config
from .rule import Rule
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


def rules_of(module: ModuleType) -> tuple[Rule, ...]:
    """The rules a module defines (not those it imports from another module), by id."""
    found = {id(v): v for v in vars(module).values()
             if isinstance(v, Rule) and getattr(v.check, "__module__", None) == module.__name__}
    return tuple(sorted(found.values(), key=lambda r: r.id))


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
        if not rules_of(module):
            raise FlowauditError(f"rule module {name} of regime {regime.id} defines no rule")
        out[regime.id] = module
    return out


def _collect(modules: Iterable[ModuleType]) -> tuple[Rule, ...]:
    seen: dict[str, Rule] = {}
    for module in modules:
        for r in rules_of(module):
            if r.id in seen:
                raise FlowauditError(f"rule id {r.id} is defined twice ({seen[r.id].check.__module__}, "
                                     f"{module.__name__})")
            seen[r.id] = r
    return tuple(sorted(seen.values(), key=lambda r: r.id))


def build_catalogue(rulebook: Rulebook) -> tuple[tuple[Rule, ...], dict[str, str]]:
    """(rules sorted by id, family names) for the regimes the rulebook holds."""
    regimes = regime_modules(rulebook).values()
    families = dict(CORE_FAMILIES)
    for module in regimes:
        families.update(getattr(module, "FAMILIES", {}))
    return _collect((*CORE_MODULES, *regimes)), families


CATALOGUE, FAMILIES = build_catalogue(default_rulebook())
# SPEC §10: rules whose evidence is observed traffic; `flowaudit observe` computes them, `audit` does not.
OBSERVED: tuple[Rule, ...] = rules_of(observed)
FAMILIES = {**FAMILIES, "OBS": "Observed traffic"}
BY_ID = {r.id: r for r in (*CATALOGUE, *OBSERVED)}


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'TRF-001'?)' for the closest known id, or ''."""
    close = difflib.get_close_matches(name.upper(), sorted(known), n=1)  # rule ids are upper case: min-001
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_rule(pattern: str, rules: tuple[Rule, ...] = CATALOGUE, families: Iterable[str] | None = None, *,
                 ids_only: bool = False) -> str | None:
    """Why `pattern` names no rule (nor a family, unless `ids_only`: a waiver or a severity names
    one rule), with the closest id; None when it does."""
    known = {r.id for r in rules} | {r.id for r in OBSERVED}  # OBS ids may be named in any configuration
    if pattern in known:
        return None
    if not ids_only and pattern in {r.family for r in rules} | set(FAMILIES if families is None else families):
        return None
    return f"unknown rule {pattern!r}{did_you_mean(pattern, known)}"


def waiver_problems(inventory: Inventory, rules: tuple[Rule, ...] = CATALOGUE) -> list[Problem]:
    """A waiver names one rule (SPEC §7): an unknown id is a problem at the waiver's `rule:` line,
    with the closest id. `rules`: every rule of the rulebook, also those of regimes left out."""
    problems = []
    for index, waiver in enumerate(inventory.waivers):
        problem = unknown_rule(waiver.rule, rules, ids_only=True)
        if problem is not None:
            origin = inventory.waiver_origins[index]
            line, col = origin.source.locate((origin.section, origin.index, "rule"))
            problems.append(Problem(origin.source.display, line, col, "rule",
                                    f"waiver of {waiver.subject!r}: {problem}"))
    return problems


def check_config(config: Config, rules: tuple[Rule, ...] = CATALOGUE, families: Iterable[str] | None = None) -> None:
    """[severity] names one rule each; `skip` names rules or families (`TPX`). A name the catalogue
    does not know (a typo would silently change nothing) is a `FlowauditError` naming the
    configuration file and line, with the closest id."""
    if not config.severity and not config.skip:
        return
    family_names = set(FAMILIES if families is None else families) | {r.family for r in rules}
    path = Path(config.source) if config.source else None
    text = path.read_text(encoding="utf-8", errors="replace") if path is not None and path.is_file() else ""
    start = max(text.find("tool.flowaudit"), 0) if path is not None and path.name == "pyproject.toml" else 0

    def fail(field: str, name: str, problem: str) -> None:
        found = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])").search(text, start)
        line = f":{text.count(chr(10), 0, found.start()) + 1}" if found else ""
        raise FlowauditError(f"{path or 'configuration'}{line}: {field}: {problem}")

    for name in config.severity:
        if name in family_names:
            example = next((r.id for r in rules if r.family == name), f"{name}-001")
            fail("severity", name, f"{name!r} is a family; [severity] names one rule, such as {example!r}")
        problem = unknown_rule(name, rules, families, ids_only=True)
        if problem is not None:
            fail("severity", name, problem)
    for name in config.skip:
        problem = unknown_rule(name, rules, families)
        if problem is not None:
            fail("skip", name, problem)


def check_waivers(inventory: Inventory, rules: tuple[Rule, ...] = CATALOGUE) -> None:
    """Raise `InventoryError` when a waiver names no rule."""
    problems = waiver_problems(inventory, rules)
    if problems:
        raise InventoryError(problems)


def select(rules: tuple[Rule, ...], only: tuple[str, ...] = (), skip: tuple[str, ...] = (),
           families: dict[str, str] | None = None, known: tuple[Rule, ...] | None = None) -> tuple[Rule, ...]:
    """Rules by id or family prefix (`TRF`, `TRF-001`); unknown ids are an error. `known`: every rule
    that may be named (default `rules`): a rule of a regime left out by `--regime` is not unknown."""

    def matches(r: Rule, pattern: str) -> bool:
        return r.id == pattern or r.family == pattern

    for pattern in (*only, *skip):
        problem = unknown_rule(pattern, rules if known is None else known, families)
        if problem is not None:
            raise FlowauditError(problem)
    chosen = [r for r in rules if not only or any(matches(r, p) for p in only)]
    return tuple(r for r in chosen if not any(matches(r, p) for p in skip))
