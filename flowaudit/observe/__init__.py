"""Declared against observed (SPEC §10): read connection logs, map their hosts onto the
inventory through `endpoints:`, and report OBS-001..004.

    result = flowaudit.observe.observe("inventory/", ["logs/*.parquet"], engine="duckdb")

The engines (DuckDB by default, Spark on request) only aggregate; `findings` decides. Both
engines return the same `Aggregates` for the same logs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowaudit.audits import Config, Finding
from flowaudit.inventory.errors import FlowauditError
from flowaudit.inventory.validate import Inventory

from .aggregates import Aggregates, iso
from .endpoints import build_tables
from .findings import Window, observed_findings
from .sources import LogError, find_logs, parse_mapping

ENGINES = ("duckdb", "spark")

__all__ = ["ENGINES", "Aggregates", "LogError", "ObserveResult", "observe", "parse_mapping"]


@dataclass
class ObserveResult:
    findings: list[Finding]
    aggregates: Aggregates
    window: Window
    engine: str
    files: int
    conflicts: list[str]

    def traffic(self) -> dict[str, Any]:
        """What was read, for the outputs' header."""
        a = self.aggregates
        return {"engine": self.engine, "files": self.files, "window": self.window.as_details(a),
                "rows": a.rows, "connections": a.connections, "bytes": a.bytes,
                "first_seen": iso(a.first_us), "last_seen": iso(a.last_us), "hosts": a.hosts,
                "mapped_hosts": a.mapped_hosts, "ignored_rows": a.ignored,
                **({"endpoint_conflicts": self.conflicts} if self.conflicts else {})}


def _micros(day: dt.date | None) -> int | None:
    if day is None:
        return None
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000


def observe(inventory: Inventory | str | Path, logs: list[str], *, since: dt.date | None = None,
            until: dt.date | None = None, engine: str = "duckdb", mapping: dict[str, str] | None = None,
            config: Config | None = None, engine_options: dict[str, Any] | None = None) -> ObserveResult:
    """Observed traffic against the inventory. `until` is inclusive (the whole day)."""
    from flowaudit.api import load

    if not isinstance(inventory, Inventory):
        inventory = load(inventory)
    if since and until and until < since:
        raise FlowauditError(f"--until {until} is before --since {since}")
    files = find_logs(list(logs))
    tables = build_tables(inventory)
    window = Window(_micros(since), _micros(until + dt.timedelta(days=1)) if until else None)
    options = dict(engine_options or {})
    if engine == "duckdb":
        from .engine_duckdb import DuckDBEngine, DuckDBSettings

        runner: Any = DuckDBEngine(DuckDBSettings(**options))
    elif engine == "spark":
        from .engine_spark import SparkEngine

        runner = SparkEngine(**options)
    else:
        raise FlowauditError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    aggregates = runner.aggregate(files, mapping or {}, tables, window.since_us, window.until_us)
    findings = observed_findings(inventory, aggregates, window, config or Config())
    return ObserveResult(findings, aggregates, window, engine, len(files.files), tables.conflicts)
