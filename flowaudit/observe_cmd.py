"""`flowaudit observe PATH LOGS…`: declared flows against observed traffic (SPEC §10).
Exit 0 none at or above --fail-on, 1 some, 2 bad input (inventory or logs)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from flowaudit.audits import AuditResult, Severity, load_config

ENGINE_CHOICE = click.Choice(["duckdb", "spark"])


def engine_options(engine: str, memory_limit: str | None, threads: int | None, spark_master: str | None,
                   temp_directory: Path | None) -> dict[str, Any]:
    if engine == "spark":
        return {"master": spark_master} if spark_master else {}
    options: dict[str, Any] = {}
    if memory_limit:
        options["memory_limit"] = memory_limit
    if threads:
        options["threads"] = threads
    if temp_directory:
        options["temp_directory"] = str(temp_directory)
    return options


def observed_result(inventory: Any, findings: list, config: Any, as_of: dt.date | None = None) -> AuditResult:
    """An audit result holding only the OBS findings, with waivers applied (for the renderers)."""
    from flowaudit.audits import default_rulebook
    from flowaudit.audits.catalogue import OBSERVED
    from flowaudit.audits.engine import add_findings
    from flowaudit.inventory.graph import InventoryView

    as_of = as_of or dt.date.today()
    book = default_rulebook()
    base = AuditResult(inventory, InventoryView(inventory, book, as_of), as_of, [], config, (), book)
    result = add_findings(base, findings, OBSERVED)
    result.unused_waivers = [w for w in result.unused_waivers if str(w["rule"]).startswith("OBS-")]
    return result


def with_observed(result: AuditResult, logs: list[str], *, since: dt.date | None, until: dt.date | None,
                  engine: str, mapping: tuple[str, ...], spark_master: str | None, memory_limit: str | None,
                  threads: int | None, temp_directory: Path | None) -> AuditResult:
    """`report --logs`: the audit's findings and the observed ones, in one result."""
    from flowaudit.audits.catalogue import OBSERVED
    from flowaudit.audits.engine import add_findings
    from flowaudit.observe import observe as run
    from flowaudit.observe import parse_mapping

    outcome = run(result.inventory, logs, since=since, until=until, engine=engine,
                  mapping=parse_mapping(list(mapping)), config=result.config,
                  engine_options=engine_options(engine, memory_limit, threads, spark_master, temp_directory))
    return add_findings(result, outcome.findings, OBSERVED)


def logs_options(func):  # type: ignore[no-untyped-def]
    """Options shared by `observe` and `report --logs`."""
    from flowaudit.cliutil import DATE

    for option in reversed([
        click.option("--since", type=DATE, help="Only traffic on or after DATE (UTC)."),
        click.option("--until", type=DATE, help="Only traffic on or before DATE (UTC, inclusive)."),
        click.option("--engine", type=ENGINE_CHOICE, default="duckdb", show_default=True,
                     help="DuckDB embedded, or Spark (pip install 'flowaudit[spark]')."),
        click.option("--map", "mapping", multiple=True, metavar="NAME=COLUMN,…",
                     help="Log column names: time=ts,source=src,destination=dst,bytes=…,count=…,elements=…,country=…"),
        click.option("--spark-master", help="Spark master URL (default: the Spark configuration, or local[*])."),
        click.option("--memory-limit",
                     help="DuckDB memory limit, e.g. 4GB [default: 2GB]; beyond it DuckDB spills to disk."),
        click.option("--threads", type=click.IntRange(min=1), help="DuckDB threads [default: every core]."),
        click.option("--temp-directory", type=click.Path(path_type=Path),
                     help="Where DuckDB spills [default: a temporary folder]."),
    ]):
        func = option(func)
    return func


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("logs", nargs=-1, required=True)
@logs_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "markdown"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--fail-on", type=click.Choice([s.value for s in Severity], case_sensitive=False), default=None,
              help="Exit 1 when an unwaived finding is at or above this severity [default: high].")
def observe(path: Path, logs: tuple[str, ...], since: dt.date | None, until: dt.date | None, engine: str,
            mapping: tuple[str, ...], spark_master: str | None, memory_limit: str | None, threads: int | None,
            temp_directory: Path | None, fmt: str, output: Path | None, fail_on: str | None) -> None:
    """Compare the inventory at PATH with observed traffic in LOGS (CSV, JSON lines or Parquet files,
    folders or globs; columns time, source, destination, optional bytes, count, elements, country).
    Findings OBS-001..004. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input."""
    from flowaudit.cliutil import atomic_write as _atomic_write
    from flowaudit.cliutil import guard as _guard
    from flowaudit.observe import observe as run
    from flowaudit.observe import parse_mapping
    from flowaudit.reports.observed import OBSERVED_RENDERERS, render_observed_text
    from flowaudit.reports.records import inventory_label

    @_guard
    def body() -> None:
        from flowaudit.api import load

        config = load_config(path)
        inventory = load(path)
        outcome = run(inventory, list(logs), since=since, until=until, engine=engine,
                      mapping=parse_mapping(list(mapping)), config=config,
                      engine_options=engine_options(engine, memory_limit, threads, spark_master, temp_directory))
        result = observed_result(inventory, outcome.findings, config)
        traffic = outcome.traffic()
        label = inventory_label(inventory)  # by its root's name, as audit names it (SPEC §5)
        if fmt == "text":
            text = render_observed_text(result, label, traffic, color=output is None and sys.stdout.isatty())
        else:
            text = OBSERVED_RENDERERS[fmt](result, label, traffic)
        if output:
            _atomic_write(output, text)
        else:
            click.echo(text, nl=False)
        threshold = Severity(fail_on) if fail_on else config.fail_on
        sys.exit(1 if result.failing(threshold) else 0)

    body()
