"""Shapes that hurt (SPEC §7, issue 9): long onward chains, many elements, cycles.

Each reproduces what the red team measured, sized to run in seconds: a 4,000-flow chain took
39 s and 1.5 GB to audit (paths rebuilt per transfer, quadratic) and `lineage` printed 83 MB;
200,000 elements took 3.3 GB (bitsets as wide as the element count, on every flow and node);
a cycle of flows was refused outright. The full-size bars are measured by benchmarks/bench.py.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowaudit.audits import default_rulebook
from flowaudit.audits.engine import run_audit
from flowaudit.inventory import load_inventory
from flowaudit.inventory.graph import PATH_CUT, PATH_LIMIT, InventoryView
from flowaudit.reports.lineage import render_lineage
from flowaudit.reports.machine import render_json

from flowaudit.cli import main
from flowaudit.synth.shapes import chain, many_elements, ring

AS_OF = dt.date(2026, 6, 1)
CHAIN = 10_000


@pytest.fixture(scope="module")
def long_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chain")
    chain(out, CHAIN)
    return out


def test_a_long_onward_chain_audits_in_linear_time(long_chain: Path) -> None:
    inventory = load_inventory(long_chain)
    start = time.process_time()
    # the GDPR's chain (processors in BR also hold the data under the LGPD, whose own findings
    # on the same hops would merge other chains into these)
    result = run_audit(inventory, AS_OF, regimes=["gdpr"])
    seconds = time.process_time() - start
    # quadratic paths took 39 s for 4,000 flows; linear work is well under a second here
    assert seconds < 20, f"audit of a {CHAIN:,}-flow chain took {seconds:.1f} s of CPU"
    onward = {f.subject_id: f for f in result.findings if f.rule == "TRF-007"}
    # hops 2, 4, 6, ... have no mechanism (hop 1 is first-hop, odd hops carry SCCs)
    assert len(onward) == (CHAIN - 1) // 2
    last = onward[f"hop-{CHAIN - 2:06d}"]
    path = last.details["path"]
    assert last.details["path_length"] == CHAIN - 1  # crm, proc-000001 ... proc-009998
    assert len(path) == PATH_LIMIT
    assert path[:3] == ["crm", "proc-000001", "proc-000002"]
    assert path[PATH_LIMIT // 2] == PATH_CUT
    assert path[-2:] == [f"proc-{CHAIN - 3:06d}", f"proc-{CHAIN - 2:06d}"]
    short = onward["hop-000004"]
    assert short.details["path"] == ["crm", "proc-000001", "proc-000002", "proc-000003", "proc-000004"]
    assert short.details["path_length"] == 5
    text = render_json(result, "chain")
    assert len(text) / len(result.findings) < 2048, "findings JSON must stay under 2 KB a finding"


def test_lineage_of_a_long_chain_is_capped(long_chain: Path) -> None:
    inventory = load_inventory(long_chain)
    text = render_lineage(inventory, "email", AS_OF, default_rulebook())
    assert len(text) < 200_000, f"lineage printed {len(text):,} bytes"
    assert f"Flows carrying it ({CHAIN})" in text
    assert f"… and {CHAIN - 200:,} more flows not shown (--limit 0 shows all)" in text
    assert f"… and {CHAIN - 1 - 200:,} more organisations not shown" in text
    every = render_lineage(inventory, "email", AS_OF, default_rulebook(), limit=None)
    assert "more flows not shown" not in every and f"{CHAIN}. hop-{CHAIN - 1:06d}" in every
    # every onward chain printed is cut to PATH_LIMIT nodes
    assert max(line.count(" → ") for line in every.splitlines()) < PATH_LIMIT + 2


def test_lineage_limit_option(long_chain: Path) -> None:
    out = CliRunner().invoke(main, ["lineage", str(long_chain), "email", "--limit", "3", "--as-of", "2026-06-01"])
    assert out.exit_code == 0, out.output
    assert "3. hop-000002" in out.output and "4. hop-000003" not in out.output
    assert f"… and {CHAIN - 3:,} more flows not shown" in out.output


def _view_peak(path: Path) -> int:
    inventory = load_inventory(path)
    tracemalloc.start()
    try:
        view = InventoryView(inventory, _rulebook(), AS_OF)
        transfers = list(view.transfers())
        assert transfers
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _rulebook():  # type: ignore[no-untyped-def]
    from flowaudit.audits.rulebook import default_rulebook

    return default_rulebook()


def test_memory_grows_linearly_with_the_element_count(tmp_path: Path) -> None:
    """Bitsets over all elements made memory grow with the square of the element count."""
    many_elements(tmp_path / "small", 4_000)
    many_elements(tmp_path / "large", 16_000)
    small, large = _view_peak(tmp_path / "small"), _view_peak(tmp_path / "large")
    # four times the elements: four times the memory, not sixteen
    assert large / small < 6, f"{small:,} → {large:,} bytes"
    assert large < 40 * 2**20


def test_many_elements_audit(tmp_path: Path) -> None:
    counts = many_elements(tmp_path, 4_000)
    result = run_audit(load_inventory(tmp_path), AS_OF)
    archives = {f.subject_id for f in result.findings if f.rule == "TRF-004"}
    assert len(archives) == counts["flows"] // 2  # each archive flow: SCCs without a TIA


# --- cycles: data, not errors ------------------------------------------------------------------

def test_a_ring_of_flows_terminates_and_stays_linear(tmp_path: Path) -> None:
    ring(tmp_path, 3_006)  # 3,000 ring members, the collection, a return, a synchronisation
    inventory = load_inventory(tmp_path)
    start = time.process_time()
    result = run_audit(inventory, AS_OF)
    assert time.process_time() - start < 20
    view = result.view
    flows = inventory.flows
    # the processor's return of results and the synchronisation are flows, not transfers
    assert view.is_restricted(flows["enrich"])
    assert not view.is_restricted(flows["enriched"])
    assert not view.is_restricted(flows["sync-to-crm"]) and not view.is_restricted(flows["sync-to-shop"])
    # around the ring: DE member → US member is first hop (held in the EEA), US → IN onward
    (first,) = view.transfers_of(flows["ring-flow-000000"])
    assert first.first_hop and first.destination_countries == ("US",)
    (onward,) = view.transfers_of(flows["ring-flow-000001"])
    assert onward.onward
    path = view.onward_path(onward)
    assert path[0] == "ring-000000" and path[-1] == "ring-000002"
    # the ring closes: the last member (DE) hands back to the first; nothing leaves the EEA
    assert not view.is_restricted(flows["ring-flow-002999"])
    rules = {f.rule for f in result.findings}
    assert {"TRF-001", "TRF-007"} <= rules
    # the whole ring is reached by the data: every member's organisation is exposed
    assert len(view.reach["email"].organisations) == 3_001
    text = render_lineage(inventory, "email", AS_OF, default_rulebook())
    assert "Flows carrying it (3006)" in text


def test_a_two_cycle_through_the_cli(tmp_path: Path) -> None:
    """A processor returns results to the system they came from; two systems synchronise:
    validate, audit, lineage and report all work."""
    ring(tmp_path / "inv", 12)
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(tmp_path / "inv")]).exit_code == 0
    out = runner.invoke(main, ["audit", str(tmp_path / "inv"), "--as-of", "2026-06-01", "--format", "json"])
    assert out.exit_code == 1, out.output  # findings, not an error
    found = json.loads(out.output)
    assert {f["subject"]["id"] for f in found["findings"] if f["rule"] == "TRF-001"} >= {"ring-flow-000000"}
    out = runner.invoke(main, ["lineage", str(tmp_path / "inv"), "email", "--as-of", "2026-06-01"])
    assert out.exit_code == 0 and "enriched: Enricher [enricher] (US) → CRM [crm] (DE)" in out.output
    out = runner.invoke(main, ["report", str(tmp_path / "inv"), "-o", str(tmp_path / "out"), "--as-of", "2026-06-01"])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "out" / "report.html").stat().st_size > 0
