"""The audit engine: the catalogue's rules (`audits.rule`) run over the inventory view.

A rule is a small check with its ID, title, severity, legal references and remediation
beside it. Its selector names the items it checks (flows, transfers, purposes, ...) and its
check returns hits. The engine adds metadata, keeps one finding per rule and subject, applies the
configuration and the waivers, and turns a rule that raises into a finding naming the rule
and the subject: never a silent pass.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flowaudit.inventory.graph import InventoryView
from flowaudit.inventory.validate import Inventory

from . import catalogue
from .config import Config
from .findings import SEVERITIES, Finding, Hit, Severity, Waived, cap_lists
from .rule import Context, Rule
from .rulebook import Rulebook, default_rulebook

@dataclass
class AuditResult:
    inventory: Inventory
    view: InventoryView
    as_of: dt.date
    findings: list[Finding]
    config: Config
    rules: tuple[Rule, ...]
    rulebook: Rulebook  # the law it ran with: every report reads this one
    errors: list[Finding] = field(default_factory=list)
    unused_waivers: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Findings per severity, most severe first (waived ones included; see `waived_count`)."""
        counts = {s.value: 0 for s in SEVERITIES}
        for f in self.findings:
            counts[f.severity.value] += 1
        return counts

    @property
    def waived_count(self) -> int:
        return sum(1 for f in self.findings if f.waived)

    def failing(self, threshold: Severity) -> list[Finding]:
        """Unwaived findings at or above `threshold` (what --fail-on counts)."""
        return [f for f in self.findings if not f.waived and f.severity.at_least(threshold)]


def run_audit(inventory: Inventory, as_of: dt.date | None = None, *, config: Config | None = None,
              rulebook: Rulebook | None = None, only: Iterable[str] = (), skip: Iterable[str] = (),
              rules: tuple[Rule, ...] | None = None, regimes: Iterable[str] = ()) -> AuditResult:
    as_of = as_of or dt.date.today()
    config = config or Config()
    regimes = tuple(regimes)
    # every rule a waiver or an option may name: the whole rulebook's, also of regimes left out
    if rulebook is None or rulebook is default_rulebook():
        known, all_families = catalogue.CATALOGUE, catalogue.FAMILIES
    else:
        known, all_families = catalogue.build_catalogue(rulebook)
    catalogue.check_waivers(inventory, known)
    catalogue.check_config(config, known, all_families)
    if regimes:  # audit only these regimes' data: their transfers and their own rules
        rulebook = (rulebook or default_rulebook()).restricted(regimes)
    if rulebook is None or rulebook is default_rulebook():
        rulebook, available, families = default_rulebook(), catalogue.CATALOGUE, None
    else:  # another rulebook (another set of regime folders) brings its own regimes' rules
        available, families = catalogue.build_catalogue(rulebook)
    chosen = catalogue.select(rules or available, only=tuple(only), skip=tuple(skip) + tuple(config.skip),
                              families={**all_families, **(families or {})}, known=known)
    view = InventoryView(inventory, rulebook, as_of)
    context = Context(view, rulebook, config)
    found: dict[tuple[str, str], Finding] = {}
    errors: list[Finding] = []
    for r in chosen:
        for finding in _run_rule(r, context, errors):
            key = (finding.rule, finding.subject_id)
            if key in found:
                _merge(found[key], finding)
            else:
                found[key] = finding
    findings = [found[key] for key in sorted(found)]  # the keys are the findings' sort keys
    for f in findings:  # once, after merging: every rule's lists stay small (SPEC §5)
        f.details = cap_lists(f.details)
    unused = _apply_waivers(findings, inventory, as_of)
    for f in findings:
        f.location = inventory.location(f.subject_id)
    # one error per rule and subject too (a flow checked once per regime may fail twice)
    unique: dict[tuple[str, str], Finding] = {}
    for f in errors:
        unique.setdefault((f.rule, f.subject_id), f)
    errors = list(unique.values())
    for f in errors:
        f.location = inventory.location(f.subject_id)
    if errors:
        findings = sorted(findings + errors, key=lambda f: f.sort_key)
    return AuditResult(inventory, view, as_of, findings, config, chosen, rulebook, errors, unused)


def add_findings(result: AuditResult, extra: Iterable[Finding], rules: tuple[Rule, ...] = ()) -> AuditResult:
    """Findings computed outside the rule engine (observed traffic, SPEC §10) joined to an
    audit's: sorted with the others, and waived by the inventory's waivers the same way."""
    import dataclasses

    findings = sorted([*result.findings, *extra], key=lambda f: f.sort_key)
    unused = _apply_waivers(findings, result.inventory, result.as_of)
    known = {r.id for r in result.rules}
    return dataclasses.replace(result, findings=findings, unused_waivers=unused,
                               rules=result.rules + tuple(r for r in rules if r.id not in known))


def _run_rule(r: Rule, context: Context, errors: list[Finding]) -> Iterator[Finding]:
    severity = context.config.severity.get(r.id, r.severity)
    try:
        items = list(r.over(context))
    except Exception as exc:  # broad on purpose: a broken rule is reported, never a silent pass
        errors.append(_error(r, "inventory", context.inventory.controller.id, exc))
        return
    check = r.check
    # the regimes that cite their own law for this rule (`references:` in a regime.yaml: TRF-001
    # under the FADP is FADP Art. 16), asked once per rule rather than once per finding
    cited = {regime: found.references[r.id] for regime, found in context.rulebook.regimes.items()
             if r.id in found.references}
    explicit = r.id in context.config.severity  # the configuration's severity outranks a hit's own
    for item in items:
        try:
            out = check(context, item)
            if not out:  # most checks pass (None): nothing more to do
                continue
            hits = [out] if isinstance(out, Hit) else list(out)
        except Exception as exc:  # broad on purpose, likewise for one subject; the others still run
            kind, ident = _subject_of(item)
            errors.append(_error(r, kind, ident, exc))
            continue
        if not hits:
            continue
        legal = cited.get(getattr(item, "regime", None), r.legal) if cited else r.legal  # type: ignore[arg-type]
        for h in hits:
            level = severity
            if h.severity is not None and not explicit:
                level = h.severity
            # the hit's own details (`hit` makes them per call); `_merge` copies before it adds
            yield Finding(r.id, r.title, level, h.kind, h.id, h.message, legal, r.remediation, h.details)


def _subject_of(item: Any) -> tuple[str, str]:
    """The inventory entry a rule was checking: wrappers (a PIPL export → its transfer → its
    flow) are unwrapped down to the entry with an id, so the error names a real subject."""
    entry = item
    while not hasattr(entry, "id"):
        inner = getattr(entry, "flow", None) or getattr(entry, "transfer", None)
        if inner is None:
            break
        entry = inner
    name = type(entry).__name__.lower()
    return name, str(getattr(entry, "id", entry))


def _error(r: Rule, kind: str, ident: str, exc: Exception) -> Finding:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return Finding(r.id, r.title, Severity.CRITICAL, kind, ident,
                   f"rule {r.id} failed on {kind} {ident!r}: {type(exc).__name__}: {exc}{at}; "
                   "the check did not run, so this subject is unverified",
                   r.legal, "Report this as a bug in flowaudit, with the inventory entry.",
                   {"error": f"{type(exc).__name__}: {exc}"})


def _merge(kept: Finding, other: Finding) -> None:
    """One finding per rule and subject: keep the most severe message, merge details."""
    kept.details = dict(kept.details)  # a rule's hit may share its details with another
    if other.severity.rank > kept.severity.rank:
        kept.severity, kept.message = other.severity, other.message
    kept.legal = (*kept.legal, *(ref for ref in other.legal if ref not in kept.legal))
    for key, value in other.details.items():
        mine = kept.details.get(key)
        if mine is None:
            kept.details[key] = value
        elif mine != value:
            merged = list(mine) if isinstance(mine, (list, tuple)) else [mine]
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if v not in merged:
                    merged.append(v)
            kept.details[key] = merged


def _apply_waivers(findings: list[Finding], inventory: Inventory, as_of: dt.date) -> list[dict[str, Any]]:
    """An active waiver marks its finding waived; an expired one is reported and waives nothing."""
    if not inventory.waivers:
        return []
    by_key = {(f.rule, f.subject_id): f for f in findings}
    unused = []
    for index, w in enumerate(inventory.waivers):
        target = by_key.get((w.rule, w.subject))
        waiver = Waived(w.reason, w.approved_by, w.expires)
        if target is None:
            file, line = inventory.waiver_location(index)
            unused.append({"rule": w.rule, "subject": w.subject, "expires": w.expires.isoformat(),
                           "expired": w.expires < as_of, "location": {"file": file, "line": line}})
            continue
        if w.expires >= as_of:
            target.waived, target.waiver = True, waiver
            target.waiver_expired = None
        elif not target.waived:
            target.waiver_expired = waiver
    return unused
