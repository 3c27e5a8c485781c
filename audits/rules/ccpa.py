"""California: the CCPA as amended by the CPRA (Cal. Civ. Code 1798.100 ff.).

The CCPA has no transfer rule. For the personal information of consumers (California
residents: subjects located in `US-CA`) it asks whether the business sells it (discloses it to
a third party for valuable consideration, 1798.140(ad)) or shares it (discloses it for
cross-context behavioural advertising, 1798.140(ah)), whether the consumer can opt out of
that, whether every recipient is bound by the contract 1798.100(d) requires, and whether
sensitive personal information used beyond the permitted purposes carries the right to limit
(1798.121). The rules apply only to a *business* (1798.140(d)): see `business_status`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from flowaudit.inventory.models import Category, Flow, LegalBasis, Organisation, Purpose, Relation

from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit

REGIME = "us-ca-ccpa"
FAMILIES = {"CCPA": "California"}
# A third party in the CCPA's sense (1798.140(ai)): not the business, not its service providers.
_THIRD_PARTIES = (Relation.PARTNER, Relation.THIRD_PARTY)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amount(_Model):
    since: dt.date
    amount: int
    source: str


class Business(_Model):
    revenue_usd_above: tuple[Amount, ...]
    consumers_from: int

    def revenue_threshold(self, as_of: dt.date) -> Amount | None:
        found = [a for a in self.revenue_usd_above if a.since <= as_of]
        return max(found, key=lambda a: a.since) if found else None


class Thresholds(_Model):
    source: str
    business: Business
    sensitive_categories: tuple[Category, ...]
    permitted_bases: tuple[LegalBasis, ...]


@lru_cache(maxsize=8)
def _thresholds(raw: str) -> Thresholds:
    return Thresholds.model_validate_json(raw)


def thresholds(ctx: Context) -> Thresholds:
    """data/rulebook/us-ca-ccpa/thresholds.yaml, checked."""
    import json

    return _thresholds(json.dumps(ctx.rulebook.facts(REGIME, "thresholds"), default=str, sort_keys=True))


@dataclass(frozen=True)
class Disclosure:
    """A flow by which the business makes consumers' personal information available to another
    organisation: from one of its own systems, or collected straight into the recipient's system
    (a pixel or SDK of an ad network on the business's site)."""

    flow: Flow
    recipient: Organisation
    sale: bool
    sharing: bool
    advertising_purposes: tuple[Purpose, ...]


def _californian(ctx: Context, subject_id: str) -> bool:
    regimes_of = ctx.rulebook.regimes_of_location
    return any(REGIME in regimes_of(loc, ctx.as_of) for loc in ctx.inventory.subjects[subject_id].locations)


def disclosures(ctx: Context) -> list[Disclosure]:
    """Every disclosure of consumers' personal information by the business, with whether it is a
    sale or sharing. A disclosure the consumer directs (`consumer_directed`) or one in a merger,
    acquisition or bankruptcy (`merger`) is neither (1798.140(ad)(2)(A), (C); (ah)(2)(A), (C))."""
    return ctx.memo("ccpa_disclosures", _disclosures)


def _disclosures(ctx: Context) -> list[Disclosure]:
    view, inv = ctx.view, ctx.inventory
    me = view.controller
    out = []
    operators = view.operators
    # the business discloses what it collects (a flow from subjects) or holds (a flow from its
    # own nodes); a recipient's own onward disclosure is not the business's
    sources = {*inv.subjects, me.id, *(s_id for s_id, system in inv.systems.items() if system.operator == me.id)}
    for flow in inv.flows.values():
        if flow.from_ not in sources:
            continue
        recipient = operators.get(flow.to)
        if recipient is None or recipient.id == me.id:
            continue
        if not view.carried(flow, REGIME):
            continue
        exempt = flow.consumer_directed or flow.merger
        advertising = tuple(inv.purposes[p] for p in flow.purposes if inv.purposes[p].cross_context_advertising)
        sale = not exempt and flow.consideration and recipient.relation in _THIRD_PARTIES
        sharing = not exempt and bool(advertising)
        out.append(Disclosure(flow, recipient, sale, sharing, advertising))
    return out


def business_status(ctx: Context) -> str | None:
    """Why `self` is a CCPA business (1798.140(d)(1)), or None when it is not: declared
    (`ccpa_business: true`); annual gross revenue (`revenue_usd`) in excess of the rulebook's
    figure for the as-of date; or, alone or in combination, buying, selling or sharing the
    personal information of 100,000 or more consumers a year (the `count`s of the Californian
    subject categories whose data its sales and sharing carry)."""
    me = ctx.view.controller
    if me.ccpa_business:
        return "declared a CCPA business (ccpa_business: true)"
    limits = thresholds(ctx).business
    threshold = limits.revenue_threshold(ctx.as_of)
    if me.revenue_usd is not None and threshold is not None and me.revenue_usd > threshold.amount:
        return f"annual gross revenue ${me.revenue_usd:,} exceeds ${threshold.amount:,} ({threshold.source})"
    consumers = consumers_sold_or_shared(ctx)
    if consumers >= limits.consumers_from:
        return (f"sells or shares the personal information of {consumers:,} consumers "
                f"(at least {limits.consumers_from:,})")
    return None


def consumers_sold_or_shared(ctx: Context) -> int:
    """Consumers whose personal information the business sells or shares: each Californian subject
    category carried by a sale or sharing counted once, by its `count`."""
    carried = {s for d in disclosures(ctx) if d.sale or d.sharing
               for e in ctx.view.elements_carried(d.flow, REGIME) for s in e.subjects if _californian(ctx, s)}
    subjects = ctx.inventory.subjects
    return sum(subjects[s].count or 0 for s in carried)


@selector("when the controller is a CCPA business: every disclosure of Californians' personal information "
          "by the business (not consumer-directed, not in a merger)")
def business_disclosures(ctx: Context) -> list[Disclosure]:
    return disclosures(ctx) if business_status(ctx) else []


@rule("CCPA-001", title="A sale or sharing of Californians' personal information offers the opt-out",
      severity=Severity.HIGH,
      legal=("Cal. Civ. Code 1798.120", "Cal. Civ. Code 1798.135", "Cal. Civ. Code 1798.140(ad)",
             "Cal. Civ. Code 1798.140(ah)"),
      subject="flow", over=business_disclosures,
      remediation="Offer and honour the \"Do Not Sell or Share My Personal Information\" opt-out (and "
                  "opt-out preference signals) for the purpose, and set `opt_out: true` on it; or stop "
                  "selling or sharing.",
      example="""
organisations:
  - {id: shop, name: Shop Inc, country: US, relation: self, revenue_usd: 40000000}
  - {id: broker, name: Data Broker, country: US, relation: third-party, contract: {signed: 2024-01-01}}
flows:
  - {id: sell-list, from: crm, to: broker, elements: [email], purposes: [marketing],
     consideration: true}   # a sale, and `marketing` has no opt_out: fires
""")
def sale_or_sharing_without_opt_out(ctx: Context, d: Disclosure) -> Hit | None:
    """A business discloses consumers' personal information to a `partner` or `third-party` for
    valuable consideration (`consideration: true` on the flow: a sale, 1798.140(ad)) and none of
    the flow's purposes has `opt_out: true`; or discloses it to any other organisation for a
    purpose with `cross_context_advertising: true` (sharing, 1798.140(ah)) that lacks `opt_out`.
    Disclosures the consumer directs and those in a merger or acquisition are neither.

    Only for a CCPA business (1798.140(d)(1)): declared (`ccpa_business: true`), with annual gross
    revenue (`revenue_usd`) above the rulebook's inflation-adjusted figure ($26,625,000 from
    2025-01-01), or buying, selling or sharing the personal information of 100,000 or more
    consumers."""
    purposes = [ctx.inventory.purposes[p] for p in d.flow.purposes]
    problems = []
    if d.sale and not any(p.opt_out for p in purposes):
        problems.append("sale")
    unshielded = [p.id for p in d.advertising_purposes if not p.opt_out]
    if d.sharing and unshielded:
        problems.append("sharing")
    if not problems:
        return None
    kinds = " and ".join(problems)
    why = f" for {', '.join(unshielded)}" if "sharing" in problems else ""
    return hit(d.flow, f"discloses Californians' personal information to {d.recipient.name} ({kinds}{why}) "
                       "with no \"Do Not Sell or Share\" opt-out",
               regime=REGIME, recipient=d.recipient.id, kinds=problems, purposes=unshielded or [p.id for p in purposes],
               business=business_status(ctx))


@selector("when the controller is a CCPA business: every organisation it discloses Californians' personal "
          "information to, with those disclosures")
def recipients(ctx: Context) -> list[tuple[Organisation, list[Disclosure]]]:
    if not business_status(ctx):
        return []
    by_recipient: dict[str, list[Disclosure]] = {}
    for d in disclosures(ctx):
        by_recipient.setdefault(d.recipient.id, []).append(d)
    orgs = ctx.inventory.organisations
    return [(orgs[r], ds) for r, ds in by_recipient.items()]


@rule("CCPA-002", title="Every recipient of Californians' personal information is bound by contract",
      severity=Severity.HIGH, legal=("Cal. Civ. Code 1798.100(d)", "Cal. Civ. Code 1798.140(ag)(1)",
                                     "Cal. Civ. Code 1798.140(j)(1)", "11 CCR 7051, 7053"),
      subject="organisation", over=recipients,
      remediation="Sign the contract 1798.100(d) requires: with a service provider or contractor the "
                  "processing agreement (`dpa: {signed: DATE}`, with the terms of 11 CCR 7051); with a "
                  "third party that buys or receives for advertising, `contract: {signed: DATE}` (11 CCR 7053).",
      example="""
organisations:
  - {id: adnet, name: Ad Network, country: US, relation: third-party}   # receives for advertising, no contract: fires
""")
def recipient_without_contract(ctx: Context, item: tuple[Organisation, list[Disclosure]]) -> Iterator[Hit]:
    """A business discloses consumers' personal information to a service provider or contractor
    (a `processor`) that has no `dpa`, or sells or shares it with a third party (a `partner` or
    `third-party`) that has no `contract`. 1798.100(d) asks for the contract where the business
    sells or shares personal information with a third party or discloses it to a service provider
    or contractor for a business purpose; a third party that receives it otherwise (neither sold
    nor shared) is not covered. Affiliates under common control and branding are part of the
    business (1798.140(d)(2)); authorities receive under legal obligations (1798.145(a))."""
    org, found = item
    if org.relation is Relation.PROCESSOR and org.dpa is None:
        yield hit(org, f"service provider '{org.name}' receives Californians' personal information with no "
                       "contract (dpa)", regime=REGIME, missing="dpa", flows=sorted(d.flow.id for d in found))
    elif org.relation in _THIRD_PARTIES and org.contract is None:
        sold = sorted(d.flow.id for d in found if d.sale or d.sharing)
        if sold:
            yield hit(org, f"third party '{org.name}' buys or receives for cross-context advertising "
                           "Californians' personal information with no contract",
                      regime=REGIME, missing="contract", flows=sold)


@selector("when the controller is a CCPA business: every purpose that uses sensitive personal information "
          "of Californians, with those elements")
def sensitive_purposes(ctx: Context) -> list[tuple[Purpose, list[str]]]:
    if not business_status(ctx):
        return []
    sensitive = set(thresholds(ctx).sensitive_categories)
    elements = ctx.inventory.elements
    out = []
    for purpose in ctx.inventory.purposes.values():
        found = [e for e in purpose.elements if elements[e].category in sensitive
                 and any(_californian(ctx, s) for s in elements[e].subjects)]
        if found:
            out.append((purpose, found))
    return out


@rule("CCPA-003", title="Sensitive personal information used beyond the permitted purposes can be limited",
      severity=Severity.MEDIUM, legal=("Cal. Civ. Code 1798.121", "Cal. Civ. Code 1798.135(a)(2)",
                                       "Cal. Civ. Code 1798.140(ae)", "11 CCR 7027(m)"),
      subject="purpose", over=sensitive_purposes,
      remediation="Offer the \"Limit the Use of My Sensitive Personal Information\" right for the purpose "
                  "(`limit_use: true`), or confine the use to what 11 CCR 7027(m) permits.",
      example="""
purposes:
  - {id: ads, name: Ads, legal_basis: consent, profiling: true, elements: [health-interest]}   # fires
""")
def sensitive_use_without_limit(ctx: Context, item: tuple[Purpose, list[str]]) -> Hit | None:
    """A purpose of a business uses sensitive personal information of consumers (1798.140(ae):
    government identifiers, account credentials and financial account numbers, precise
    geolocation, racial or ethnic origin, religion, union membership, genetic, biometric, health
    and sex-life data) beyond the permitted purposes, and offers no right to limit
    (`limit_use: true`). Permitted, as modelled: a purpose on `contract` (the services or goods
    the consumer reasonably expects, 11 CCR 7027(m)(1)), `legal-obligation` (1798.145(a)(1)) or
    `vital-interests` (7027(m)(4)) that neither profiles (`profiling`: inferring characteristics,
    1798.121(d)) nor serves cross-context behavioural advertising."""
    purpose, found = item
    if purpose.limit_use:
        return None
    permitted = set(thresholds(ctx).permitted_bases)
    reasons = []
    if purpose.legal_basis not in permitted:
        reasons.append(f"basis {purpose.legal_basis.value if purpose.legal_basis else 'none'}")
    if purpose.profiling:
        reasons.append("profiling")
    if purpose.cross_context_advertising:
        reasons.append("cross-context advertising")
    if not reasons:
        return None
    return hit(purpose, f"'{purpose.name}' uses Californians' sensitive personal information ({', '.join(found)}) "
                        f"beyond the permitted purposes ({'; '.join(reasons)}) with no right to limit",
               regime=REGIME, elements=found, reasons=reasons)
