"""`flowaudit.frames(result)`: the report's tables as pandas DataFrames, for notebooks, and the
same tables as CSV or Parquet files (`flowaudit export csv|parquet`).

Tables (one row per …):
- `flows`: flow, with its endpoints, their kinds and operators, elements, purposes, whether it
  is a restricted transfer and under which regimes, its status and findings;
- `transfers`: restricted transfer (flow × regime), as the Transfers sheet of ropa.xlsx;
- `findings`: finding, as findings.json has them (waived ones included, marked);
- `exposure`: element × external organisation it reaches (flows delivering it; 0 when it is
  only stored there), the long form of the Exposure sheet;
- `record`: the Art. 30 record: one row per processing activity, the controller record's
  columns and the processor record's, with `Record` saying which (Art. 30(1) or 30(2)).

List-valued cells stay lists in the DataFrames (explode them); CSV joins them with "; ".
Rows are sorted as in the reports, so the same inventory gives the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowaudit.audits import AuditResult

if TYPE_CHECKING:
    import pandas as pd

TABLES = ("flows", "transfers", "findings", "exposure", "record")


def _data(result: AuditResult) -> Any:
    from flowaudit.reports.records import ReportData

    return ReportData(result)


def frames(result: AuditResult) -> dict[str, pd.DataFrame]:
    """The flows, transfers, findings, exposure and Art. 30 record tables of an audit result."""
    import pandas as pd

    data = _data(result)
    view, inv = data.view, data.inventory
    flows = []
    for f in sorted(inv.flows.values(), key=lambda f: f.id):
        exporter, importer = view.operator(f.from_), view.operator(f.to)
        transfers = data.transfers_by_flow.get(f.id, [])
        flows.append({
            "flow": f.id, "from": f.from_, "from_kind": view.kind(f.from_), "to": f.to, "to_kind": view.kind(f.to),
            "exporter": exporter.id if exporter else None, "importer": importer.id if importer else None,
            "to_countries": list(view.countries(f.to)), "elements": list(f.elements), "purposes": list(f.purposes),
            "frequency": f.frequency.value, "volume": f.volume,
            # one mechanism or several ("scc,uk-addendum"): always text, so the column has one type
            "mechanism": ",".join(m.value for m in f.transfer.mechanisms) or None if f.transfer else None,
            "restricted": bool(transfers), "regimes": sorted({t.regime for t in transfers}),
            "status": data.flow_status(f.id),
            "findings": [x.rule for x in data.findings_by_subject.get(f.id, ()) if not x.waived],
        })
    transfers = [{
        "flow": r["flow"], "regime": r["regime"], "from": r["from"], "to": r["to"], "exporter": r["exporter"],
        "importer": r["importer"], "countries": r["countries"], "elements": r["elements"],
        "mechanism": r["mechanism"] or None, "scc_module": r["scc_module"] or None, "scc": r["scc"] or None,
        "tia_date": r["tia_date"] or None, "tia_outcome": r["tia_outcome"] or None, "measures": r["measures"],
        "hop": r["hop"], "onward_path": r["path"], "safeguard": r["safeguard"],
        "safeguard_detail": r["safeguard_detail"], "status": r["status"],
        "findings": [x.strip() for x in r["findings"].split(",") if x.strip()],
    } for r in data.transfer_rows]
    findings = [{
        "rule": f.rule, "title": f.title, "severity": f.severity.value, "subject_kind": f.subject_kind,
        "subject": f.subject_id, "message": f.message, "legal": list(f.legal), "remediation": f.remediation,
        "waived": f.waived, "waiver": data.waiver_text(f) or None, "location": data.location_text(f) or None,
        "regimes": data.finding_regimes(f),
    } for f in result.findings]
    exposure = []
    orgs = data.exposure["organisations"]
    for row in data.exposure["rows"]:
        for org, value in zip(orgs, row["values"], strict=True):
            if value is not None:
                exposure.append({"element": row["element"], "element_name": row["name"], "category": row["category"],
                                 "organisation": org["id"], "organisation_name": org["name"],
                                 "relation": org["relation"], "country": org["country"], "flows": value})
    exposure.sort(key=lambda r: (r["element"], r["organisation"]))
    record = []
    for table, label in ((data.controller_record, "Art. 30(1)"), (data.processor_record, "Art. 30(2)")):
        for row in table.rows:
            record.append({"Record": label, **dict(zip(table.columns, row, strict=True))})
    columns = {
        "flows": ["flow", "from", "from_kind", "to", "to_kind", "exporter", "importer", "to_countries", "elements",
                  "purposes", "frequency", "volume", "mechanism", "restricted", "regimes", "status", "findings"],
        "transfers": ["flow", "regime", "from", "to", "exporter", "importer", "countries", "elements", "mechanism",
                      "scc_module", "scc", "tia_date", "tia_outcome", "measures", "hop", "onward_path", "safeguard",
                      "safeguard_detail", "status", "findings"],
        "findings": ["rule", "title", "severity", "subject_kind", "subject", "message", "legal", "remediation",
                     "waived", "waiver", "location", "regimes"],
        "exposure": ["element", "element_name", "category", "organisation", "organisation_name", "relation",
                     "country", "flows"],
        "record": ["Record", *dict.fromkeys([*data.CONTROLLER_COLUMNS, *data.PROCESSOR_COLUMNS])],
    }
    rows = {"flows": flows, "transfers": transfers, "findings": findings, "exposure": exposure, "record": record}
    out = {}
    for name in TABLES:
        frame = pd.DataFrame(rows[name], columns=columns[name])
        if name == "flows":
            frame["volume"] = frame["volume"].astype("Int64")
        if name == "exposure":
            frame["flows"] = frame["flows"].astype("int64")
        out[name] = frame
    return out


def _flat(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return value


def write_tables(result: AuditResult, out_dir: Path, fmt: str) -> list[Path]:
    """One file per table in `out_dir`: `flows.csv`, … or `flows.parquet`, …"""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames(result).items():
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            flat = frame.copy()
            for column in flat.columns:
                if flat[column].dtype == object:
                    flat[column] = flat[column].map(_flat)
            flat.to_csv(path, index=False, lineterminator="\n")
        elif fmt == "parquet":
            _parquet(frame, path)
        else:  # pragma: no cover - the CLI offers csv and parquet only
            raise ValueError(fmt)
        written.append(path)
    return written


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pyarrow is the `parquet` extra
        from .common import ImportError_

        raise ImportError_("Parquet needs pyarrow: pip install 'flowaudit[parquet]'") from None
    # list columns of strings stay lists (Arrow list<string>); no pandas index, no timestamps
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path)
