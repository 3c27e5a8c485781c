"""`flowaudit.synth`: deterministic, of the promised size, and a valid inventory (SPEC §5 `synth`)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

import flowaudit
from flowaudit.synth import synthesize

ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sections(root: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in sorted(root.rglob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=yaml.CSafeLoader) or {}
        for key, entries in doc.items():
            out.setdefault(key, []).extend(entries or [])
    return out


@pytest.fixture(scope="module")
def synth_2000(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("synth") / "inv"
    return out, synthesize(out, 2000, seed=0)


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", 1500, seed=42)
    b = synthesize(tmp_path / "b", 1500, seed=42)
    assert a == b
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_another_seed_gives_another_inventory(tmp_path: Path) -> None:
    synthesize(tmp_path / "a", 1500, seed=1)
    synthesize(tmp_path / "b", 1500, seed=2)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


def test_size_is_as_asked(synth_2000: tuple[Path, dict[str, int]]) -> None:
    root, counts = synth_2000
    sections = _sections(root)
    assert counts["flows"] == len(sections["flows"]) == 2000
    # about one system per 20 flows, one purpose per 100 (at least 20)
    assert 90 <= counts["systems"] == len(sections["systems"]) <= 115
    assert counts["purposes"] == len(sections["purposes"]) == 20
    assert 150 <= len(sections["elements"]) <= 300
    # split as teams own it: central files plus one file per ~750 flows
    files = {str(p.relative_to(root)) for p in root.rglob("*.yaml")}
    assert {"organisations.yaml", "subjects.yaml", "elements.yaml", "purposes.yaml", "waivers.yaml"} <= files
    assert len([f for f in files if f.startswith("teams/")]) == counts["teams"] == 3


def test_ids_unique_references_resolve_and_shape(synth_2000: tuple[Path, dict[str, int]]) -> None:
    root, counts = synth_2000
    s = _sections(root)
    ids = [e["id"] for key in ("organisations", "subjects", "elements", "purposes", "systems", "flows")
           for e in s[key]]
    assert len(ids) == len(set(ids))
    assert all(ID.match(i) for i in ids)
    orgs = {o["id"]: o for o in s["organisations"]}
    assert [o["relation"] for o in orgs.values()].count("self") == 1
    endpoints = set(orgs) | {x["id"] for x in s["subjects"]} | {x["id"] for x in s["systems"]}
    elements = {e["id"] for e in s["elements"]}
    purposes = {p["id"]: p for p in s["purposes"]}
    for flow in s["flows"]:
        assert flow["from"] in endpoints and flow["to"] in endpoints and flow["from"] != flow["to"]
        assert set(flow["elements"]) <= elements and set(flow["purposes"]) <= set(purposes)
    # a flow mostly carries what its purposes need; a few extras are there for MIN-002
    extra = sum(1 for f in s["flows"]
                if set(f["elements"]) - {e for p in f["purposes"] for e in purposes[p]["elements"]})
    assert 0 < extra < 0.05 * len(s["flows"])
    # a minority of flows is a transfer, under a variety of mechanisms
    transfers = [f["transfer"] for f in s["flows"] if "transfer" in f]
    assert 0.03 * len(s["flows"]) < len(transfers) < 0.25 * len(s["flows"])
    assert len({t.get("mechanism") for t in transfers}) >= 5
    assert counts["cross_border"] >= len(transfers)
    # Norway's code must survive YAML 1.1 (unquoted NO is false)
    assert all(isinstance(c, str) for x in s["systems"] for c in x["locations"])


def test_synthetic_inventory_validates(synth_2000: tuple[Path, dict[str, int]]) -> None:
    root, counts = synth_2000
    inventory = flowaudit.load(root)  # raises InventoryError on any problem
    assert len(inventory.flows) == counts["flows"]
    assert len(inventory.systems) == counts["systems"]


def test_tiny_inventories_are_valid(tmp_path: Path) -> None:
    for n in (0, 1, 7, 60):
        counts = synthesize(tmp_path / str(n), n)
        assert counts["flows"] == n
        flowaudit.load(tmp_path / str(n))


def test_synthetic_inventory_gives_every_family_something_to_find(synth_2000: tuple[Path, dict[str, int]]) -> None:
    root, _ = synth_2000
    result = flowaudit.audit(root)
    assert not result.errors
    rules = {f.rule for f in result.findings}
    assert {"TRF-001", "TRF-003", "TRF-008", "MIN-002", "SEC-001"} <= rules
    assert len(rules) >= 15
    assert {r.split("-")[0] for r in rules} >= {"PUR", "MIN", "TRF", "TPX", "GOV", "SEC"}


def test_country_lists_come_from_the_rulebook() -> None:
    """The generator's EEA and adequacy lists are the rulebook's, on the generator's date."""
    from flowaudit.audits.rulebook import default_rulebook
    from flowaudit.synth import jurisdictions as j

    law = j.jurisdictions()
    rulebook = default_rulebook()
    assert law.eea == rulebook.area("gdpr", j.AS_OF)
    assert "BR" in law.eu_adequate  # (EU) 2026/179
    assert "US" not in law.eu_adequate  # only certified importers (eu-us-dpf)
    assert law.eea <= law.uk_adequate  # DPA 2018 Sch. 21 para 5
    assert law.regime("GB") == "uk" and law.regime("CN") == "cn" and law.regime("US") == "other"
    before = j.jurisdictions(as_of=dt.date(2025, 1, 1))
    assert "BR" not in before.eu_adequate


def test_vocabulary_is_tables_only() -> None:
    """The vocabulary holds data, no functions or classes (the generator draws from it)."""
    import inspect

    from flowaudit.synth import vocabulary

    assert not [n for n, v in vars(vocabulary).items()
                if (inspect.isfunction(v) or inspect.isclass(v)) and v.__module__ == vocabulary.__name__]
