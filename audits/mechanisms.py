"""Which of a flow's declared transfer mechanisms counts for a restricted transfer (SPEC §2-§3).

A flow may declare one mechanism or several (`[scc, uk-addendum]` for EU and UK data on the
same SCCs). Each regime uses only the mechanisms it recognises (`data/rulebook/mechanisms.yaml`;
SCCs per version, `scc.yaml`: the 2021 clauses are not a UK mechanism on their own, only with
the UK Addendum), and the strongest valid one counts: adequacy where a decision applies, then an
Art. 46/47 safeguard, then an Art. 49 derogation (GDPR Art. 49(1) first subparagraph: a
derogation only "in the absence of" an adequacy decision or appropriate safeguards). When none
of the recognised mechanisms is valid, the strongest recognised one is the one relied on, so
that the rule about it says why it fails (TRF-002 adequacy, TRF-005 derogation, TRF-008 old
SCCs, TRF-009 BCRs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowaudit.inventory.models import Frequency, Mechanism

if TYPE_CHECKING:
    from flowaudit.inventory.graph import Transfer

    from .rulebook import Rulebook

# strength of each kind: adequacy > Art. 46/47 safeguard > Art. 49 derogation (PIPL: its level)
_STRENGTH = {"adequacy": 30, "safeguard": 20, "derogation": 10}


@dataclass(frozen=True)
class Choice:
    """The mechanism that counts for one restricted transfer, and whether it is valid."""

    mechanism: Mechanism | None
    problem: str | None  # why it does not count (None: it does); also set when mechanism is None
    kind: str | None  # adequacy, safeguard, derogation, pipl

    @property
    def valid(self) -> bool:
        return self.mechanism is not None and self.problem is None


def scc_version(book: Rulebook, t: Transfer) -> int:
    terms = t.flow.transfer
    scc = terms.scc if terms else None
    return scc.version if scc is not None and scc.version is not None else book.scc_default_version


def recognises(book: Rulebook, regime: str, mechanism: Mechanism, t: Transfer) -> bool:
    """The regime knows the mechanism (EU/UK SCCs: the version's clauses cover the regime's data;
    a regime that `scc.yaml` does not name takes the clauses on its own conditions)."""
    if book.mechanism_for(regime, mechanism) is None:
        return False
    if mechanism is Mechanism.SCC and regime in book.scc_regimes:
        version = book.scc_versions.get(scc_version(book, t))
        return version is not None and regime in version.regimes
    return True


def _field(block: object, path: str) -> object:
    """A dotted field of the flow's `transfer` block (`scc.swiss_amendments`), None when absent."""
    for part in path.split("."):
        block = getattr(block, part, None)
    return block


def regime_condition_problem(book: Rulebook, t: Transfer, mechanism: Mechanism, as_of: dt.date) -> str | None:
    """Why the regime does not (yet, or any longer) take a mechanism it declares: its dates and
    conditions in the regime's mechanisms.yaml (EU SCCs under the FADP only with the Swiss
    amendments; under the LGPD clauses other than the ANPD's only until 2025-08-23)."""
    info = book.mechanism_for(t.regime, mechanism)
    if info is None:
        return None
    name = book.regime_short_name(t.regime)
    if info.since is not None and as_of < info.since:
        return f"{mechanism.value} is only available from {info.since}"
    if info.until is not None and as_of >= info.until:
        why = f": {info.notes}" if info.notes else ""
        return f"{mechanism.value} no longer counts under the {name} from {info.until}{why}"
    if info.requires and (info.requires_from is None or as_of >= info.requires_from):
        missing = [f"transfer.{path}: {str(value).lower()}" for path, value in info.requires.items()
                   if _field(t.flow.transfer, path) != value]
        if missing:
            return f"{mechanism.value} counts under the {name} only with {', '.join(missing)}"
    return None


def scc_lapsed(book: Rulebook, t: Transfer, as_of: dt.date) -> str | None:
    """Why the declared SCCs do not count for the transfer's regime on `as_of`, or None."""
    terms = t.flow.transfer
    scc = terms.scc if terms else None
    version = book.scc_versions[scc_version(book, t)]
    lapse = version.regimes.get(t.regime)
    if lapse is None:
        return None
    name = book.regime_short_name(t.regime)
    if lapse.from_ is not None and as_of < lapse.from_:
        return f"the {version.version} SCCs ({version.decision}) apply only from {lapse.from_}"
    if lapse.void_from is not None and as_of >= lapse.void_from:
        return (f"the {version.version} SCCs ({version.decision}) ceased to count for {name} data on "
                f"{lapse.void_from}")
    if lapse.no_new_after is not None and scc is not None and scc.signed is not None \
            and scc.signed > lapse.no_new_after:
        return (f"the {version.version} SCCs ({version.decision}) could not be signed for {name} data after "
                f"{lapse.no_new_after} (signed {scc.signed})")
    return None


def derogation_unavailable(book: Rulebook, t: Transfer, mechanism: Mechanism) -> str | None:
    """Why an Art. 49(1) derogation is not available for the flow's frequency, or None."""
    limits = book.derogation_limits
    if not book.regimes[t.regime].derogations_occasional_only:
        return None  # FADP Art. 17 and LGPD Art. 33 set no "occasional" limit on their exceptions
    frequency = t.flow.frequency
    if mechanism in limits.occasional_only and frequency is not Frequency.OCCASIONAL:
        return f"the derogation {mechanism.value} is only for occasional transfers, not {frequency.value} ones"
    if mechanism in limits.not_continuous and frequency is Frequency.CONTINUOUS:
        return f"the derogation {mechanism.value} cannot carry a continuous transfer"
    return None


def problem_of(book: Rulebook, t: Transfer, mechanism: Mechanism, as_of: dt.date) -> str | None:
    """Why a mechanism the regime recognises is not valid for the transfer, or None."""
    info = book.mechanisms[mechanism]
    condition = regime_condition_problem(book, t, mechanism, as_of)
    if condition is not None:
        return condition
    if info.kind == "adequacy":
        if t.adequate:
            return None
        reasons = [a.reason for a in t.adequacy if not a.adequate and a.reason]
        return "no adequacy decision applies: " + "; ".join(reasons) if reasons else "no adequacy decision applies"
    if mechanism is Mechanism.SCC:
        return scc_lapsed(book, t, as_of)
    if mechanism is Mechanism.BCR:
        a, b = t.exporter.bcr_group, t.importer.bcr_group
        return None if a and a == b else "exporter and importer are not in the same BCR group"
    if info.kind == "derogation":
        return derogation_unavailable(book, t, mechanism)
    return None


def _strength(book: Rulebook, mechanism: Mechanism) -> int:
    info = book.mechanisms[mechanism]
    return info.level if info.kind == "pipl" else _STRENGTH.get(info.kind, 0)


_NONE_DECLARED = Choice(None, "no transfer mechanism", None)  # frozen: one answer for every such transfer


def choose(book: Rulebook, t: Transfer) -> Choice:
    """The strongest valid recognised mechanism; else the strongest recognised one, with its
    problem; else none (with why: none declared, or none the regime knows)."""
    terms = t.flow.transfer
    declared = terms.mechanisms if terms else ()
    if not declared:
        return _NONE_DECLARED
    as_of = t.as_of
    recognised = [m for m in declared if recognises(book, t.regime, m, t)]
    if not recognised:
        names = ", ".join(m.value for m in declared)
        extra = ""
        if Mechanism.SCC in declared and t.regime == "uk-gdpr":
            extra = " (the 2021 EU SCCs count for UK data only with the UK Addendum, `uk-addendum`, or use the IDTA)"
        regime = book.regime_short_name(t.regime)
        return Choice(None, f"{names} is not a transfer mechanism under the {regime}{extra}", None)
    ranked = sorted(recognised, key=lambda m: -_strength(book, m)) if len(recognised) > 1 else recognised
    first: str | None = None
    for m in ranked:
        problem = problem_of(book, t, m, as_of)
        if problem is None:
            return Choice(m, None, book.mechanisms[m].kind)
        if first is None:
            first = problem
    best = ranked[0]
    return Choice(best, first, book.mechanisms[best].kind)
