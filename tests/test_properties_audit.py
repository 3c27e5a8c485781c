"""Property: a random valid inventory never crashes an audit.

Inventories are drawn over small id pools so that references collide often: organisations of
every relation in EEA, UK, Chinese, US, Indian and other countries, subjects, elements of every
category and state, purposes, systems, and flows with random transfer blocks. Flows go from any
node to any system or organisation but itself, so cycles (data returned to where it came from,
two systems synchronising) are drawn often: they are data, not errors (SPEC §2).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from flowaudit.audits.catalogue import BY_ID
from flowaudit.audits.engine import run_audit
from flowaudit.inventory import load_inventory
from flowaudit.inventory.models import (
    Category,
    Frequency,
    Identifier,
    LegalBasis,
    Mechanism,
    Relation,
    SpecialCondition,
    State,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COUNTRIES = ["DE", "FR", "IE", "NO", "GB", "CN", "US", "IN", "CH", "CA", "JP", "KR", "BR", "SG"]
LOCATIONS = [*COUNTRIES, "EEA", "EU", "WORLD"]
CERTIFICATIONS = ["eu-us-dpf", "uk-us-extension", "privacy-shield", "safe-harbor", "apec-cbpr"]
SECURITY = ["tls", "encryption-at-rest", "password-hashing", "access-control", "logging", "backup"]
MEASURES = ["encryption-in-transit", "encryption-exporter-keys", "pseudonymisation", "split-processing"]
RETENTION = ["P1Y", "P90D", "until-account-deletion", "until-purpose-fulfilled", "statutory"]
AS_OF = [dt.date(2015, 1, 1), dt.date(2020, 1, 1), dt.date(2021, 3, 1), dt.date(2022, 6, 1),
         dt.date(2024, 1, 1), dt.date(2026, 1, 1)]
DATES = st.dates(min_value=dt.date(2012, 1, 1), max_value=dt.date(2027, 12, 31))
RELATIONS = [r.value for r in Relation if r is not Relation.SELF]


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def subset(pool: list[str], max_size: int = 4) -> st.SearchStrategy:
    if not pool:
        return st.just([])
    return st.lists(st.sampled_from(pool), max_size=max_size, unique=True)


def compact(entry: dict[str, Any]) -> dict[str, Any]:
    """Leave out optional keys drawn as None, as a person writing the YAML would."""
    return {k: v for k, v in entry.items() if v is not None}


@st.composite
def inventories(draw: st.DrawFn) -> dict[str, Any]:
    n_orgs = draw(st.integers(0, 5))
    org_ids = ["acme"] + [f"org-{i}" for i in range(n_orgs)]
    organisations = []
    for i, org_id in enumerate(org_ids):
        relation = "self" if i == 0 else draw(st.sampled_from(RELATIONS))
        organisations.append(compact({
            "id": org_id, "name": f"Organisation {i}", "country": draw(st.sampled_from(COUNTRIES)),
            "relation": relation,
            "contact": draw(maybe(st.just("privacy@example.org"))),
            "representative": draw(maybe(st.fixed_dictionaries(
                {"name": st.just("Rep Ltd"), "country": st.sampled_from(COUNTRIES)}))),
            "dpa": draw(maybe(st.fixed_dictionaries({"signed": DATES}))),
            "subprocessors": draw(subset([o for o in org_ids if o != org_id], 3)),
            "certifications": draw(subset(CERTIFICATIONS, 3)),
            "bcr_group": draw(maybe(st.sampled_from(["group-a", "group-b"]))),
            "arrangement": draw(maybe(st.fixed_dictionaries({"signed": DATES}))),
            "public_body": draw(st.booleans()),
        }))

    subject_ids = [f"subjects-{i}" for i in range(draw(st.integers(1, 3)))]
    subjects = [compact({
        "id": s, "name": f"Subjects {s}",
        "locations": draw(st.lists(st.sampled_from(LOCATIONS), min_size=1, max_size=3, unique=True)),
        "children": draw(st.booleans()),
        "count": draw(maybe(st.sampled_from([0, 50, 9_999, 10_000, 10_001, 99_999, 100_000, 1_000_001]))),
    }) for s in subject_ids]

    element_ids = [f"element-{i}" for i in range(draw(st.integers(1, 6)))]
    elements = [compact({
        "id": e, "name": f"Element {e}", "category": draw(st.sampled_from([c.value for c in Category])),
        "subjects": draw(subset(subject_ids, 2)),
        "identifier": draw(maybe(st.sampled_from([i.value for i in Identifier]))),
        "state": draw(maybe(st.sampled_from([s.value for s in State]))),
    }) for e in element_ids]

    purpose_ids = [f"purpose-{i}" for i in range(draw(st.integers(0, 4)))]
    purposes = [compact({
        "id": p, "name": f"Purpose {p}",
        "legal_basis": draw(maybe(st.sampled_from([b.value for b in LegalBasis]))),
        "special_condition": draw(maybe(st.sampled_from([c.value for c in SpecialCondition]))),
        "elements": draw(subset(element_ids)),
        "subjects": draw(subset(subject_ids, 2)),
        "retention": draw(maybe(st.sampled_from(RETENTION))),
        "needs": draw(maybe(st.sampled_from([s.value for s in State]))),
        "profiling": draw(st.booleans()),
        "automated_decisions": draw(st.booleans()),
        "compatible_with": draw(subset([q for q in purpose_ids if q != p], 2)),
        "dpia": draw(maybe(st.fixed_dictionaries({"date": DATES}))),
        "parental_consent": draw(st.booleans()),
        "role": draw(maybe(st.sampled_from(["controller", "processor"]))),
        "on_behalf_of": draw(maybe(st.sampled_from(org_ids))),
    }) for p in purpose_ids]

    system_ids = [f"system-{i}" for i in range(draw(st.integers(0, 4)))]
    systems = [compact({
        "id": s, "name": f"System {s}", "operator": draw(st.sampled_from(org_ids)),
        "locations": draw(maybe(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=2, unique=True))),
        "elements": draw(subset(element_ids)),
        "security": draw(subset(SECURITY, 3)),
    }) for s in system_ids]

    sources = subject_ids + system_ids + org_ids
    targets = system_ids + org_ids
    flows = []
    for i in range(draw(st.integers(0, 8))):
        start = draw(st.sampled_from(sources))
        ends = [t for t in targets if t != start]
        if not ends:
            break
        end = draw(st.sampled_from(ends))
        transfer = draw(maybe(st.fixed_dictionaries({}, optional={
            "mechanism": st.sampled_from([m.value for m in Mechanism]),
            "scc": st.fixed_dictionaries({}, optional={
                "module": st.sampled_from(["c2c", "c2p", "p2p", "p2c"]),
                "version": st.sampled_from([2021, 2010, 2004, 2001]),
                "signed": DATES}),
            "tia": st.fixed_dictionaries({}, optional={
                "date": DATES, "outcome": st.sampled_from(["acceptable", "measures-required", "not-acceptable"])}),
            "measures": subset(MEASURES, 2),
            "anonymised": st.booleans(),
            "separate_consent": st.booleans(),
        })))
        flows.append(compact({
            "id": f"flow-{i}", "from": start, "to": end,
            "elements": draw(subset(element_ids)),
            "purposes": draw(subset(purpose_ids, 2)),
            "frequency": draw(maybe(st.sampled_from([f.value for f in Frequency]))),
            "volume": draw(maybe(st.sampled_from([1, 10_000, 10_001, 100_000, 1_000_000, 2_000_000]))),
            "transfer": transfer,
        }))

    ids = org_ids + subject_ids + element_ids + purpose_ids + system_ids + [f["id"] for f in flows]
    waivers = [{
        "rule": draw(st.sampled_from(sorted(BY_ID))), "subject": draw(st.sampled_from(ids)),
        "reason": "accepted risk", "approved_by": "DPO", "expires": draw(DATES),
    } for _ in range(draw(st.integers(0, 2)))]

    return {"organisations": organisations, "subjects": subjects, "elements": elements, "purposes": purposes,
            "systems": systems, "flows": flows, "waivers": waivers}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=inventories(), as_of=st.sampled_from(AS_OF))
def test_random_valid_inventory_never_crashes_an_audit(document: dict[str, Any], as_of: dt.date) -> None:
    from flowaudit.reports.machine import RENDERERS

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inventory.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        inventory = load_inventory(path)  # valid by construction: a failure here is a bug in the strategy
        result = run_audit(inventory, as_of)
        errors = [f"{f.rule} on {f.subject_kind} {f.subject_id}: {f.details['error']}"
                  for f in result.findings if "error" in f.details]
        assert not errors, errors
        keys = [(f.rule, f.subject_id) for f in result.findings]
        assert len(keys) == len(set(keys)), "a subject reported twice for the same rule"
        for f in result.findings:
            assert f.rule in BY_ID
            assert f.subject_kind == inventory.kind_of(f.subject_id)
            assert f.subject_kind in {k.strip() for k in BY_ID[f.rule].subject.split(" or ")}
            assert f.location is not None and f.location[1] is not None
        for render in RENDERERS.values():
            assert render(result, "inventory.yaml")
