"""flowaudit observe on DuckDB: endpoints, host matching (exact, wildcard, CIDR v4/v6), the
four OBS findings, windows, column mapping, the log formats, bad logs, exit codes, report --logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_tree

from flowaudit.cli import main
from flowaudit.observe import observe

INVENTORY = """\
organisations:
  - {id: acme, name: Acme GmbH, country: DE, relation: self, contact: privacy@acme.example, endpoints: [10.0.0.0/8]}
  - {id: mixpanel, name: Mixpanel, country: US, relation: processor, dpa: {signed: 2023-01-01},
     endpoints: ["*.mixpanel.com"]}
  - {id: cloudco, name: CloudCo, country: DE, relation: processor, dpa: {signed: 2023-01-01}}
subjects:
  - {id: customers, name: Customers, locations: [DE]}
elements:
  - {id: email, name: Email, category: contact, subjects: [customers]}
purposes:
  - {id: sales, name: Sales, legal_basis: contract, elements: [email], subjects: [customers], retention: P1Y}
systems:
  - {id: web, name: Web, operator: acme, endpoints: [10.1.0.0/16, "2001:db8:1::/48"], elements: [email],
     security: [tls]}
  - {id: crm, name: CRM, operator: cloudco, locations: [DE], endpoints: [crm.cloudco.example, "*.eu.cloudco.example"],
     elements: [email], security: [tls]}
  - {id: db, name: DB, operator: acme, endpoints: [db.acme.internal, 10.9.9.9], elements: [email], security: [tls]}
  - {id: batch, name: Batch, operator: acme, elements: [email], security: [tls]}
flows:
  - {id: collect, from: customers, to: web, elements: [email], purposes: [sales]}
  - {id: web-crm, from: web, to: crm, elements: [email], purposes: [sales]}
  - {id: web-db, from: web, to: db, elements: [email], purposes: [sales]}
  - {id: db-crm, from: db, to: crm, elements: [email], purposes: [sales]}
"""

LOG_HEADER = "time,source,destination,bytes,count,elements,country\n"
LOG_ROWS = """\
2024-03-01T10:00:00Z,10.1.2.3,crm.cloudco.example,100,1,email,DE
2024-03-01T11:00:00Z,10.1.2.4,API.eu.cloudco.example:443,200,2,email,US
2024-03-02T11:00:00Z,10.1.2.4,api.mixpanel.com,300,1,email;device,US
2024-03-02T12:00:00Z,2001:db8:1::5,tracker.example,50,1,,
2024-03-02T12:00:00Z,[2001:db8:1:0::6]:5000,https://tracker2.example/x,70,1,,
1709460000,10.1.2.3,tracker.example,5,1,,
2024-03-02T13:00:00Z,10.9.9.9,10.1.7.7,10,1,,
2024-03-02T13:00:00Z,10.200.0.1,mixpanel.com,10,1,,
"""


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return write_tree(tmp_path, {"inv/inventory.yaml": INVENTORY, "logs/a.csv": LOG_HEADER + LOG_ROWS})


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def by_rule(findings: list) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for f in findings:
        out.setdefault(f.rule, {})[f.subject_id] = f
    return out


def test_findings_on_small_logs(case: Path) -> None:
    result = observe(case / "inv", [str(case / "logs")])
    found = by_rule(result.findings)
    assert set(found) == {"OBS-001", "OBS-002", "OBS-003", "OBS-004"}
    # web → mixpanel has no flow; mixpanel.com itself is not under *.mixpanel.com
    assert set(found["OBS-001"]) == {"web"}
    web = found["OBS-001"]["web"]
    (destination,) = web.details["destinations"]["items"]
    assert destination["node"] == "mixpanel" and destination["hosts"] == ["api.mixpanel.com"]
    assert destination["elements"] == ["device", "email"]
    assert destination["connections"] == 1 and destination["bytes"] == 300
    assert destination["first_seen"] == "2024-03-02T11:00:00Z"
    # unknown hosts: from web (IPv6 sources, with brackets and port), and mixpanel.com from the org
    # range only (a source that maps to an organisation is not reported)
    unknown = found["OBS-002"]["web"]
    assert unknown.details["hosts_total"] == 2
    assert [h["host"] for h in unknown.details["hosts"]] == ["tracker2.example", "tracker.example"]
    assert unknown.details["connections"] == 3 and unknown.details["bytes"] == 125
    assert set(found["OBS-002"]) == {"web"}
    # db → crm declared, never seen; web-db seen in reverse (db opened the connection); web-crm seen
    assert set(found["OBS-003"]) == {"db-crm"}
    # API.eu.cloudco.example:443 answered from US; crm declares DE
    assert set(found["OBS-004"]) == {"crm"}
    assert [c["country"] for c in found["OBS-004"]["crm"].details["countries"]] == ["US"]
    assert found["OBS-004"]["crm"].location[1] == 15
    traffic = result.traffic()
    assert traffic["rows"] == 8 and traffic["connections"] == 9


def test_cli_formats_and_exit_codes(case: Path) -> None:
    code, out, _ = run("observe", str(case / "inv"), str(case / "logs" / "a.csv"), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["summary"]["high"] == 2 and data["traffic"]["engine"] == "duckdb"
    assert [f["rule"] for f in data["findings"]] == ["OBS-001", "OBS-002", "OBS-003", "OBS-004"]
    code, out, _ = run("observe", str(case / "inv"), str(case / "logs"), "--format", "sarif", "--fail-on", "critical")
    assert code == 0
    sarif = json.loads(out)
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {"OBS-001", "OBS-002", "OBS-003", "OBS-004"}
    code, out, _ = run("observe", str(case / "inv"), str(case / "logs"), "--format", "markdown")
    assert out.startswith("# Observed traffic") and "| high | OBS-001 | system `web` |" in out
    code, out, _ = run("observe", str(case / "inv"), str(case / "logs"))
    assert "OBS-004" in out and "Summary: 2 high, 1 medium, 1 low" in out


def test_window_and_waiver(case: Path) -> None:
    # only 2024-03-01: the mixpanel and unknown traffic falls outside; db-crm and web-db are silent
    result = observe(case / "inv", [str(case / "logs")], since=__import__("datetime").date(2024, 3, 1),
                     until=__import__("datetime").date(2024, 3, 1))
    found = by_rule(result.findings)
    assert set(found) == {"OBS-003", "OBS-004"}
    assert set(found["OBS-003"]) == {"db-crm", "web-db"}
    window = found["OBS-003"]["web-db"].details["window"]
    assert window == {"from": "2024-03-01T00:00:00Z", "to": "2024-03-02T00:00:00Z"}
    waived = INVENTORY + ("waivers:\n  - {rule: OBS-001, subject: web, reason: trial, approved_by: dpo, "
                          "expires: 2999-01-01}\n")
    (case / "inv" / "inventory.yaml").write_text(waived, encoding="utf-8")
    code, out, _ = run("observe", str(case / "inv"), str(case / "logs"), "--format", "json", "--fail-on", "high")
    data = json.loads(out)
    assert [f["waived"] for f in data["findings"] if f["rule"] == "OBS-001"] == [True]
    assert code == 1  # OBS-004 is still high


def test_mapping_parquet_and_jsonl(tmp_path: Path) -> None:
    import duckdb

    write_tree(tmp_path, {"inv/inventory.yaml": INVENTORY, "a.csv": LOG_HEADER + LOG_ROWS})
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT CAST(time AS VARCHAR) AS ts, source AS src, destination AS dst, bytes AS octets,
                        count, elements, country FROM read_csv('{tmp_path / 'a.csv'}', all_varchar = true))
                    TO '{tmp_path / 'p.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT * FROM read_csv('{tmp_path / 'a.csv'}', all_varchar = true))
                    TO '{tmp_path / 'j.jsonl'}' (FORMAT json)""")
    csv_result = observe(tmp_path / "inv", [str(tmp_path / "a.csv")])
    parquet = observe(tmp_path / "inv", [str(tmp_path / "*.parquet")],
                      mapping={"time": "ts", "source": "src", "destination": "dst", "bytes": "octets"})
    jsonl = observe(tmp_path / "inv", [str(tmp_path / "j.jsonl")])
    expected = [f.as_dict() for f in csv_result.findings]
    assert [f.as_dict() for f in parquet.findings] == expected
    assert [f.as_dict() for f in jsonl.findings] == expected
    code, _, err = run("observe", str(tmp_path / "inv"), str(tmp_path / "p.parquet"), "--map", "time=ts")
    assert code == 2 and "p.parquet: missing columns source, destination" in err
    assert "use --map" in err


@pytest.mark.parametrize("content, expected", [
    ("time,source\n2024-01-01,a\n", "missing column destination"),
    (LOG_HEADER + "yesterday,10.1.2.3,crm.cloudco.example,1,1,,\n", "bad timestamp 'yesterday'"),
    (LOG_HEADER + "2024-01-01,10.1.2.3,crm.cloudco.example,lots,1,,\n", "bad bytes"),
    (LOG_HEADER + ",10.1.2.3,crm.cloudco.example,1,1,,\n", "missing time"),
])
def test_bad_logs_exit_2_naming_the_file(tmp_path: Path, content: str, expected: str) -> None:
    write_tree(tmp_path, {"inv/inventory.yaml": INVENTORY, "logs/bad.csv": content})
    code, out, err = run("observe", str(tmp_path / "inv"), str(tmp_path / "logs"))
    assert code == 2, out + err
    assert "bad.csv" in err and expected in err and "Traceback" not in err


def test_missing_and_unreadable_logs(tmp_path: Path) -> None:
    write_tree(tmp_path, {"inv/inventory.yaml": INVENTORY, "notes.txt": "x", "broken.parquet": b"not parquet",
                          "empty/readme.md": "x"})
    for args, expected in [
        ([str(tmp_path / "nope.csv")], "nope.csv: no such file or folder"),
        ([str(tmp_path / "*.csv")], "no file matches this pattern"),
        ([str(tmp_path / "notes.txt")], "unknown log format"),
        ([str(tmp_path / "empty")], "the folder holds no log files"),
        ([str(tmp_path / "broken.parquet")], "broken.parquet: cannot read as Parquet"),
    ]:
        code, _, err = run("observe", str(tmp_path / "inv"), *args)
        assert code == 2 and expected in err, err


@pytest.mark.parametrize("endpoint, message", [
    ("10.0.0.1/8", "did you mean '10.0.0.0/8'"),
    ("10.0.0.0/33", "not a valid IP address or CIDR range"),
    ("https://api.example.com/v1", "is a URL"),
    ("a.*.example.com", "a wildcard may only be the whole leftmost label"),
    ("foo..example.com", "is not a host name"),
    ("api.example.com:443", "ports are not part of an endpoint"),
])
def test_malformed_endpoint_is_an_error_with_file_and_line(tmp_path: Path, endpoint: str, message: str) -> None:
    text = INVENTORY.replace('endpoints: [db.acme.internal, 10.9.9.9]', f'endpoints: [db.acme.internal, "{endpoint}"]')
    write_tree(tmp_path, {"inv/inventory.yaml": text})
    code, _, err = run("validate", str(tmp_path / "inv"))
    assert code == 2
    assert "inventory.yaml:17:" in err and "endpoints[1]" in err and message in err, err


def test_endpoints_in_schema() -> None:
    from flowaudit.inventory.schema import json_schema

    schema = json.dumps(json_schema())
    assert schema.count('"endpoints"') == 2 and "*.mixpanel.com" in schema


def test_most_specific_endpoint_wins(tmp_path: Path) -> None:
    """A system's /24 inside its operator's /8, a host under two wildcards: the longest wins;
    the same endpoint on a system and an organisation goes to the system."""
    from flowaudit.observe.endpoints import build_tables

    text = INVENTORY.replace('endpoints: ["*.mixpanel.com"]', 'endpoints: ["*.mixpanel.com", crm.cloudco.example]')
    write_tree(tmp_path, {"inv/inventory.yaml": text, "logs/a.csv": LOG_HEADER + LOG_ROWS})
    tables = build_tables(__import__("flowaudit").load(tmp_path / "inv"))
    assert ("crm.cloudco.example", "crm") in tables.hosts and tables.conflicts
    result = observe(tmp_path / "inv", [str(tmp_path / "logs")])
    found = by_rule(result.findings)
    assert "web-crm" not in found.get("OBS-003", {})  # crm.cloudco.example still maps to crm


def test_report_with_logs(case: Path) -> None:
    out_dir = case / "out"
    code, _, err = run("report", str(case / "inv"), "-o", str(out_dir), "--logs", str(case / "logs"))
    assert code == 0, err
    data = json.loads((out_dir / "findings.json").read_text(encoding="utf-8"))
    rules = {f["rule"] for f in data["findings"]}
    assert {"OBS-001", "OBS-002", "OBS-003", "OBS-004"} <= rules
    assert any(r.startswith(("GOV", "TRF", "TPX", "MIN", "PUR")) for r in rules) or len(rules) >= 4


# --- synthetic logs with planted drift, on both engines ----------------------------------------

def _compare(findings: list) -> dict[str, object]:
    got: dict[str, dict[str, object]] = {}
    for f in findings:
        got.setdefault(f.rule, {})[f.subject_id] = f.details
    return {
        "OBS-001": {s: sorted(d["node"] for d in v["destinations"]["items"])
                    for s, v in got.get("OBS-001", {}).items()},
        "OBS-002": {s: v["hosts_total"] for s, v in got.get("OBS-002", {}).items()},
        "OBS-003": sorted(got.get("OBS-003", {})),
        "OBS-004": {s: [c["country"] for c in v["countries"]] for s, v in got.get("OBS-004", {}).items()},
    }


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("planted")
    code, out, err = run("synth", "-o", str(root), "--flows", "400", "--logs", "20000",
                         "--logs-format", "parquet", "--logs-format", "csv")
    assert code == 0, err
    assert "planted:" in out
    return root, json.loads((root / "logs" / "planted.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_observe_finds_exactly_what_was_planted(planted: tuple[Path, dict], fmt: str) -> None:
    root, manifest = planted
    expected = manifest["expected"]
    assert all(expected[rule] for rule in ("OBS-001", "OBS-002", "OBS-003", "OBS-004"))
    result = observe(root, [str(root / "logs" / fmt)])
    assert _compare(result.findings) == expected
    assert result.aggregates.rows == 20000


def test_synth_logs_are_deterministic(tmp_path: Path) -> None:
    from flowaudit.synth import synthesize
    from flowaudit.synth.logs import write_logs

    synthesize(tmp_path / "inv", 200, seed=3)
    a = write_logs(tmp_path / "inv", tmp_path / "a", 5000, seed=3, formats=("csv",))
    b = write_logs(tmp_path / "inv", tmp_path / "b", 5000, seed=3, formats=("csv",))
    assert a == b
    import duckdb

    rows = [duckdb.sql(f"SELECT * FROM read_csv('{tmp_path / d / 'csv' / '*.csv'}') ORDER BY ALL").fetchall()
            for d in ("a", "b")]
    assert rows[0] == rows[1] and len(rows[0]) == 5000
    code, _, err = run("synth", "-o", str(tmp_path / "small"), "--flows", "400", "--logs", "10")
    assert code == 2 and "too few rows" in err


def test_observe_names_the_inventory_by_its_root_from_any_working_folder(case: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """SPEC §5: the same inventory gives the same bytes from any working folder (observe once
    printed the path as typed)."""
    logs = str(case / "logs" / "a.csv")
    outputs = []
    for cwd, path in ((case, "inv"), (case / "logs", "../inv/"), (Path("/"), str(case / "inv"))):
        monkeypatch.chdir(cwd)
        code, out, _ = run("observe", path, logs, "--format", "json")
        assert code == 1
        outputs.append(out)
    assert json.loads(outputs[0])["inventory"] == "inv"
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
