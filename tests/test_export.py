"""`flowaudit export dpv|fides|graphml|csv|parquet` and `flowaudit.frames`."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import flowaudit
from conftest import EXAMPLE, ROOT, write_tree
from flowaudit.cli import main
from flowaudit.inventory import load_inventory

DPV_TERMS = ROOT / "tests" / "fixtures" / "dpv"
NAMESPACES = {"https://w3id.org/dpv#": "dpv", "https://w3id.org/dpv/legal/eu/gdpr#": "eu-gdpr",
              "https://w3id.org/dpv/loc#": "loc", "https://w3id.org/dpv/pd#": "pd"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example with retention periods on two purposes (it has none of its own)."""
    import shutil

    copy = tmp_path_factory.mktemp("example") / "inv"
    shutil.copytree(EXAMPLE, copy)
    purposes = copy / "purposes.yaml"
    text = purposes.read_text()
    text = text.replace("  - id: community-services\n", "  - id: community-services\n    retention: P6Y\n", 1)
    text = text.replace("  - id: community-activity-alerts\n",
                        "  - id: community-activity-alerts\n    retention: until-account-deletion\n", 1)
    purposes.write_text(text)
    return copy


@pytest.fixture(scope="module")
def result(example: Path):
    # the same date as the exports below: findings depend on the date (e.g. the LGPD's clauses from 2025-08-23)
    return flowaudit.audit(example, dt.date(2025, 1, 1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, example: Path) -> Path:
    out = tmp_path_factory.mktemp("export")
    for fmt, name in (("dpv", "record.jsonld"), ("fides", "fides.yml"), ("graphml", "graph.graphml"),
                      ("csv", "csv"), ("parquet", "parquet")):
        res = run("export", fmt, str(example), "-o", str(out / name), "--as-of", "2025-01-01")
        assert res.exit_code == 0, res.output
    return out


def test_dpv_parses_and_uses_only_terms_of_the_release_it_names(exported: Path) -> None:
    rdflib = pytest.importorskip("rdflib")
    g = rdflib.Graph()
    g.parse(exported / "record.jsonld", format="json-ld")
    dct = rdflib.Namespace("http://purl.org/dc/terms/")
    releases = {str(o) for o in g.objects(None, dct.conformsTo)}
    assert releases == {"https://w3id.org/dpv/2.2"}
    version = next(iter(releases)).rsplit("/", 1)[1]
    defined = set((DPV_TERMS / f"dpv-{version}-terms.txt").read_text().split())
    used = set()
    for triple in g:
        for term in triple:
            if isinstance(term, rdflib.URIRef):
                for ns, prefix in NAMESPACES.items():
                    if str(term).startswith(ns):
                        used.add(f"{prefix}:{str(term)[len(ns):]}")
    assert used and not used - defined, sorted(used - defined)
    # the shape: one PersonalDataHandling per purpose, with the facts the issue lists
    dpv = rdflib.Namespace("https://w3id.org/dpv#")
    inv = load_inventory(EXAMPLE)  # the same entries as the copy
    handlings = set(g.subjects(rdflib.RDF.type, dpv.PersonalDataHandling))
    assert len(handlings) == len(inv.purposes)
    for prop in ("hasPurpose", "hasPersonalData", "hasDataSubject", "hasLegalBasis", "hasRecipient",
                 "hasDataController", "hasStorageCondition", "hasProcessing"):
        assert any(g.objects(h, dpv[prop]) for h in handlings), prop
    transfers = set(g.subjects(rdflib.RDF.type, dpv.CrossBorderTransfer))
    assert transfers
    countries = {str(o) for t in transfers for o in g.objects(t, dpv.hasThirdCountry)}
    assert "https://w3id.org/dpv/loc#US" in countries
    scc = rdflib.URIRef("https://w3id.org/dpv/legal/eu/gdpr#A46-2-c")
    assert any((t, dpv.hasLegalBasis, scc) in g for t in transfers)
    durations = {v for v in g.objects(None, dpv.hasDuration) if isinstance(v, rdflib.Literal)}
    assert rdflib.Literal("P6Y", datatype=rdflib.XSD.duration) in durations
    assert next(g.subjects(rdflib.RDF.type, dpv.UntilEventDuration), None) is not None


def test_dpv_is_deterministic(exported: Path, example: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.jsonld"
    assert run("export", "dpv", str(example), "-o", str(again), "--as-of", "2025-01-01").exit_code == 0
    assert again.read_bytes() == (exported / "record.jsonld").read_bytes()
    json.loads((exported / "record.jsonld").read_text())


def _flows(inv) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for f in inv.flows.values():
        found[(f.from_, f.to)][0].update(f.elements)
        found[(f.from_, f.to)][1].update(f.purposes)
    return dict(found)


def test_fides_export_then_import_gives_the_same_systems_purposes_and_flows(exported: Path, example: Path,
                                                                            tmp_path: Path) -> None:
    res = run("import", "fides", str(exported / "fides.yml"), "-o", str(tmp_path / "back"))
    assert res.exit_code == 0, res.output
    before, after = load_inventory(example), load_inventory(tmp_path / "back")
    assert set(after.systems) == set(before.systems)
    assert {s: system.operator for s, system in after.systems.items()} == \
        {s: system.operator for s, system in before.systems.items()}
    assert set(after.purposes) == set(before.purposes)
    for pid, p in before.purposes.items():
        q = after.purposes[pid]
        assert (q.name, q.legal_basis, q.special_condition, q.retention) == (
            p.name, p.legal_basis, p.special_condition, p.retention), pid
    assert _flows(after) == _flows(before)
    assert {o: after.organisations[o].relation for o in after.organisations} == {
        o: before.organisations[o].relation for o in before.organisations}
    assert {s: after.subjects[s].locations for s in after.subjects} == {
        s: before.subjects[s].locations for s in before.subjects}


def test_graphml_round_trips_through_networkx(exported: Path) -> None:
    import networkx as nx

    g = nx.read_graphml(exported / "graph.graphml", force_multigraph=True)
    inv = load_inventory(EXAMPLE)
    assert g.number_of_nodes() == len(inv.subjects) + len(inv.systems) + len(inv.organisations)
    assert g.number_of_edges() == len(inv.flows)
    edge = next(d for _, _, d in g.edges(data=True) if d["id"] == "collect-eea-email-tracking")
    assert edge["mechanism"] == "scc" and edge["restricted"] is True and "gdpr" in edge["regimes"]
    assert g.nodes["members-eea"]["kind"] == "subject"


def test_frames(result) -> None:
    tables = flowaudit.frames(result)
    assert set(tables) == {"flows", "transfers", "findings", "exposure", "record"}
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    inv = result.inventory
    assert len(tables["flows"]) == len(inv.flows)
    assert len(tables["findings"]) == len(result.findings)
    assert len(tables["transfers"]) == sum(1 for _ in result.view.transfers())
    assert len(tables["record"]) == len(inv.purposes)
    flows = tables["flows"].set_index("flow")
    assert flows.loc["collect-eea-email-tracking", "restricted"]
    assert "email-open-events" in flows.loc["collect-eea-email-tracking", "elements"]
    exposure = tables["exposure"]
    assert set(exposure["organisation"]) <= set(inv.organisations) and (exposure["flows"] >= 0).all()
    # a notebook question: which external organisations receive special-category data?
    special = exposure[exposure["category"].str.startswith("special:")]
    assert set(special.columns) >= {"element", "organisation", "country"}


def test_csv_and_parquet_one_file_per_table(exported: Path, example: Path) -> None:
    # the export ran on 2025-01-01: the same date's audit (findings change with the law's dates)
    tables = flowaudit.frames(flowaudit.audit(example, dt.date(2025, 1, 1)))
    for name, frame in tables.items():
        csv = pd.read_csv(exported / "csv" / f"{name}.csv")
        assert list(csv.columns) == list(frame.columns) and len(csv) == len(frame)
        pq = pd.read_parquet(exported / "parquet" / f"{name}.parquet")
        assert list(pq.columns) == list(frame.columns) and len(pq) == len(frame)
    flows = pd.read_parquet(exported / "parquet" / "flows.parquet")
    assert isinstance(list(flows["elements"].iloc[0]), list)  # lists stay lists in Parquet
    csv_flows = pd.read_csv(exported / "csv" / "flows.csv")
    assert "; " in csv_flows.set_index("flow").loc["collect-eea-account", "elements"]


def test_export_bad_input_exit_2(tmp_path: Path) -> None:
    write_tree(tmp_path / "bad", {"a.yaml": "flows:\n  - id: x\n    from: nowhere\n    to: nobody\n"})
    res = run("export", "dpv", str(tmp_path / "bad"), "-o", str(tmp_path / "x.jsonld"))
    assert res.exit_code == 2 and "a.yaml" in res.output and not (tmp_path / "x.jsonld").exists()
    (tmp_path / "file.txt").write_text("")
    res = run("export", "csv", str(EXAMPLE), "-o", str(tmp_path / "file.txt"))
    assert res.exit_code == 2 and "names a folder" in res.output
    res = run("export", "yaml", str(EXAMPLE), "-o", str(tmp_path / "y"))
    assert res.exit_code == 2
