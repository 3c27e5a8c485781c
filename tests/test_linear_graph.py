"""Graph questions that rules ask per transfer or per purpose cost no pass over the flows each
(SPEC §7: every graph computation linear in flows).

`combines_area_data` looped over every collection flow for each transfer it was asked about
(O(transfers × collection flows): 13 s of 17 at 10,000 flows) and PUR-004 over every flow for
each purpose. Both now read an index built once per view; these tests pin that the index is
what answers (counting passes, never timing) and that its answers are the flow-by-flow ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flowaudit.audits import default_rulebook
from flowaudit.audits.engine import run_audit
from flowaudit.inventory import load_inventory
from flowaudit.inventory.graph import InventoryView, Transfer
from flowaudit.inventory.models import Role
from flowaudit.synth import synthesize
from flowaudit.synth.jurisdictions import AS_OF

P2C = Path(__file__).parent / "fixtures" / "rules" / "TRF-004" / "variants" / "p2c-return" / "inventory.yaml"


def _combines_flow_by_flow(view: InventoryView, transfer: Transfer) -> bool:
    """`combines_area_data` as SPEC §3 reads, one collection flow at a time (the old loop)."""
    source = transfer.flow.from_
    collected: set[str] = set()
    for flow in view.collection_flows():
        if not view.carried(flow, transfer.regime):
            continue
        if flow.to == source:
            return True
        operator = view.operator(flow.to)
        if operator is not None and operator.id == transfer.exporter.id:
            collected.update(flow.elements)
    system = view.inventory.systems.get(source)
    return system is not None and any(e in collected for e in system.elements)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> InventoryView:
    out = tmp_path_factory.mktemp("syn")
    synthesize(out, 3_000, seed=5)
    return InventoryView(load_inventory(out), default_rulebook(), AS_OF)


def test_p2c_fixture_answers_are_pinned() -> None:
    view = InventoryView(load_inventory(P2C), default_rulebook(), AS_OF)
    answers = {t.flow.id: view.combines_area_data(t) for t in view.transfers("gdpr")
               if t.exporter_role is Role.PROCESSOR and t.importer_role is Role.CONTROLLER}
    assert answers == {"tracker-return-combined": True, "tracker-return-orders-only": True,
                       "batch-return-plain": False}


def test_combines_area_data_is_the_flow_by_flow_answer(synthetic: InventoryView) -> None:
    transfers = list(synthetic.transfers())
    p2c = [t for t in transfers if t.exporter_role is Role.PROCESSOR and t.importer_role is Role.CONTROLLER]
    assert p2c, "the synthetic inventory has processors returning data to controllers"
    asked = p2c + transfers[::25]
    answers = [synthetic.combines_area_data(t) for t in asked]
    assert answers == [_combines_flow_by_flow(synthetic, t) for t in asked]
    assert True in answers and False in answers


def test_combines_area_data_reads_the_collection_flows_once(synthetic: InventoryView,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    view = InventoryView(synthetic.inventory, default_rulebook(), AS_OF)
    transfers = list(view.transfers())
    passes = 0
    every = view.collection_flows

    def counted() -> object:
        nonlocal passes
        passes += 1
        return every()

    monkeypatch.setattr(view, "collection_flows", counted)
    for t in transfers:
        view.combines_area_data(t)
    assert len(transfers) > 100
    assert passes <= 1, f"{passes} passes over the collection flows for {len(transfers)} transfers"


def test_regimes_of_purpose_is_the_flow_by_flow_answer(synthetic: InventoryView) -> None:
    inv = synthetic.inventory
    for purpose in inv.purposes:
        expected = {r for r in synthetic.law.regime_ids
                    if any(purpose in f.purposes and synthetic.carried(f, r) for f in inv.flows.values())}
        assert synthetic.regimes_of_purpose(purpose) == expected, purpose


class _CountedFlows(dict):
    """The inventory's flows, counting the passes over them."""

    passes = 0

    def values(self):  # type: ignore[no-untyped-def, override]
        _CountedFlows.passes += 1
        return super().values()


def _legal_obligations(out: Path, purposes: int) -> Path:
    """A US controller of US customers, every purpose a legal obligation under US law; a processor
    in DE hosts each purpose's data, and for every other purpose returns it (under the GDPR while
    the processor holds it: the return carries GDPR data, SPEC §3)."""
    lines = ["organisations:",
             "  - {id: acme, name: Acme Inc, country: US, relation: self, contact: privacy@acme.example}",
             "  - {id: host, name: Host GmbH, country: DE, relation: processor, dpa: {signed: 2023-01-01}}",
             "subjects:", "  - {id: customers, name: Customers, locations: [US]}",
             "elements:", "  - {id: email, name: Email, category: contact, subjects: [customers]}",
             "systems:",
             "  - {id: crm, name: CRM, operator: acme, locations: [US], elements: [email]}",
             "  - {id: hosted, name: Hosted, operator: host, locations: [DE], elements: [email]}",
             "purposes:"]
    lines += [f"  - {{id: p{i:04d}, name: Obligation {i}, legal_basis: legal-obligation, law: US, "
              f"elements: [email], subjects: [customers], retention: P1Y}}" for i in range(purposes)]
    lines.append("flows:")
    for i in range(purposes):
        lines.append(f"  - {{id: collect-{i:04d}, from: customers, to: crm, elements: [email], purposes: [p{i:04d}]}}")
        lines.append(f"  - {{id: host-{i:04d}, from: crm, to: hosted, elements: [email], purposes: [p{i:04d}]}}")
        if i % 2:
            lines.append(f"  - {{id: back-{i:04d}, from: hosted, to: crm, elements: [email], purposes: [p{i:04d}]}}")
    out.mkdir()
    (out / "inventory.yaml").write_text("\n".join(lines) + "\n")
    return out


def test_pur004_passes_over_the_flows_once_whatever_the_purpose_count(tmp_path: Path) -> None:
    purposes = 200
    inventory = load_inventory(_legal_obligations(tmp_path / "inv", purposes))
    view = InventoryView(inventory, default_rulebook(), AS_OF)
    expected = {p for p in inventory.purposes
                if any(p in f.purposes and view.carried(f, "gdpr") for f in inventory.flows.values())}
    assert len(expected) == purposes // 2
    inventory.flows = _CountedFlows(inventory.flows)
    _CountedFlows.passes = 0
    result = run_audit(inventory, AS_OF, only=["PUR-004"])
    assert not result.errors
    assert {f.subject_id for f in result.findings} == expected
    assert _CountedFlows.passes <= 5, f"{_CountedFlows.passes} passes over the flows for {purposes} purposes"
