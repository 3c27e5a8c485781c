"""A finding's message stays one readable line whatever the inventory's size (SPEC §5, §7).

At 1,000,000 flows PUR-001's message named every purpose an element had been collected for,
up to 1,554 of them: 13 KB per message on average, 274 MB of a 402 MB findings file, and the
1M bar of 2 KB per finding was missed. A message now names a few and counts the rest, while
`details` keep the list (cut at 20 with its full count).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flowaudit.audits.engine import run_audit
from flowaudit.audits.findings import DETAILS_LIST_LIMIT, MESSAGE_LIST_LIMIT, cap_lists, some
from flowaudit.inventory import load_inventory
from flowaudit.synth import synthesize

AS_OF = dt.date(2026, 6, 1)
COLLECTIONS = 40


def test_some_names_a_few_and_counts_the_rest() -> None:
    assert some(["a", "b", "c", "d", "e"], "purpose") == "a, b, c and 2 other purposes"
    assert some(["a", "b", "c", "d"], "purpose") == "a, b, c, d"  # "and 1 other" is no shorter
    assert some(["a"], "purpose") == "a"
    assert some([], "purpose") == ""
    assert some([str(i) for i in range(1_234)], "purpose").endswith("and 1,231 other purposes")


def _many_collection_purposes(root: Path) -> Path:
    purposes = "\n".join(f"  - {{id: collect-{i:03d}, name: Collection {i}, legal_basis: contract}}"
                         for i in range(COLLECTIONS))
    collections = "\n".join(f"  - {{id: c-{i:03d}, from: customers, to: crm, elements: [email], "
                            f"purposes: [collect-{i:03d}]}}" for i in range(COLLECTIONS))
    (root / "inventory.yaml").write_text(f"""\
organisations:
  - {{id: acme, name: Acme GmbH, country: DE, relation: self, contact: privacy@acme.example}}
  - {{id: ad-partner, name: Ad Partner, country: DE, relation: partner}}
subjects:
  - {{id: customers, name: Customers, locations: [DE]}}
elements:
  - {{id: email, name: Email, category: contact, subjects: [customers]}}
purposes:
{purposes}
  - {{id: advertising, name: Advertising, legal_basis: legitimate-interests}}
systems:
  - {{id: crm, name: CRM, operator: acme, elements: [email]}}
flows:
{collections}
  - {{id: to-ads, from: crm, to: ad-partner, elements: [email], purposes: [advertising]}}
""", encoding="utf-8")
    return root


def test_purpose_limitation_names_a_few_collection_purposes(tmp_path: Path) -> None:
    result = run_audit(load_inventory(_many_collection_purposes(tmp_path)), AS_OF)
    (finding,) = [f for f in result.findings if f.rule == "PUR-001"]
    assert finding.subject_id == "to-ads"
    assert finding.message == ("uses 'email' for 'advertising', but it was collected for collect-000, "
                               f"collect-001, collect-002 and {COLLECTIONS - MESSAGE_LIST_LIMIT} other "
                               "purposes and no compatibility is documented")
    (pair,) = finding.details["pairs"]
    assert pair["collected_for"] == [f"collect-{i:03d}" for i in range(DETAILS_LIST_LIMIT)]
    assert pair["collected_for_count"] == COLLECTIONS


def test_every_message_stays_short_on_a_synthetic_inventory(tmp_path: Path) -> None:
    """Messages built from lists the inventory can grow (collection purposes, chains) name a
    few items; the rest are bounded by one entry's own lists. 5,000 flows keep it quick."""
    synthesize(tmp_path, 5_000, 0)
    longest: dict[str, int] = {}
    for f in run_audit(load_inventory(tmp_path), AS_OF).findings:
        longest[f.rule] = max(longest.get(f.rule, 0), len(f.message))
    too_long = {rule: n for rule, n in longest.items() if n > 500}
    assert not too_long, f"messages longer than 500 characters: {too_long}"


def test_details_are_capped_only_where_a_list_is_long() -> None:
    small = {"regime": "gdpr", "countries": ["US"], "n": 2, "x": None, "ok": True, "share": 0.5}
    assert cap_lists(small) is small  # nothing to cut: not copied
    long = [f"p{i:02d}" for i in range(DETAILS_LIST_LIMIT + 5)]
    capped = cap_lists({"purposes": long, "set": {"b", "a"}, "pairs": [{"ids": long}]})
    assert capped == {"purposes": long[:DETAILS_LIST_LIMIT], "purposes_count": DETAILS_LIST_LIMIT + 5,
                      "set": ["a", "b"], "pairs": [{"ids": long[:DETAILS_LIST_LIMIT],
                                                    "ids_count": DETAILS_LIST_LIMIT + 5}]}
    exact = {"ids": long[:DETAILS_LIST_LIMIT]}
    assert cap_lists(exact) is exact and "ids_count" not in exact
