"""`flowaudit tia`, `flowaudit dpia` and `flowaudit notice`: documents drafted from the inventory
(SPEC §9). Registered in `cli.py`; errors go through the one boundary (`cliutil.guard`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from flowaudit.audits import load_config
from flowaudit.cliutil import DATE, atomic_write, guard, split_ids


def _audit(path: Path, as_of: dt.date | None):  # type: ignore[no-untyped-def]
    """The inventory, its view and the configuration: the documents need no rule's findings
    (PUR-003 and TRF-004 ask the same questions these commands answer), so no rule runs."""
    from flowaudit.api import audit as run
    from flowaudit.audits.catalogue import CATALOGUE

    return run(path, as_of, config=load_config(path), skip=[r.id for r in CATALOGUE])


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("flows", nargs=-1)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--as-of", type=DATE, help="Assess the law as it stood on DATE (default today).")
@guard
def tia(path: Path, flows: tuple[str, ...], out_dir: Path, as_of: dt.date | None) -> None:
    """Draft a transfer-impact assessment workbook (EDPB Recommendations 01/2020, six steps) for
    each restricted transfer that needs one — an Art. 46/47 tool to a non-adequate country under
    a regime that requires an assessment, as TRF-004 asks — or only for the FLOWS named.

    Writes DIR/tia-<flow>-<regime>.xlsx. Exit 0 written, 2 invalid input or a FLOW that needs no TIA."""
    from flowaudit.reports.tia import write_tias

    result = _audit(path, as_of)
    written = write_tias(result, out_dir, list(flows) or None)
    for p in written:
        click.echo(str(p))
    if not written:
        click.echo("no restricted transfer needs a transfer-impact assessment", err=True)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("purposes", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--as-of", type=DATE, help="Screen as of DATE (default today).")
@guard
def dpia(path: Path, purposes: tuple[str, ...], fmt: str, output: Path | None, as_of: dt.date | None) -> None:
    """Screen each purpose (or the PURPOSES named) against WP248 rev.01's nine criteria: the
    inventory facts meeting each, and a verdict (required, likely, not indicated). PUR-003 uses
    the same computation; large scale is `limits.large_scale_subjects` in [tool.flowaudit].

    Exit 0, or 2 for invalid input or an unknown purpose."""
    from flowaudit.audits.dpia import screen_all
    from flowaudit.inventory import FlowauditError
    from flowaudit.inventory.validate import suggest
    from flowaudit.reports.records import inventory_label
    from flowaudit.reports.screening import RENDERERS

    result = _audit(path, as_of)
    known = result.inventory.purposes
    unknown = [p for p in purposes if p not in known]
    if unknown:
        raise FlowauditError("; ".join(f"no purpose {p!r}{suggest(p, known)}" for p in unknown))
    limit = result.config.limits.get("large_scale_subjects", 100_000)
    screenings = screen_all(result.view, limit, list(purposes) or None)
    text = RENDERERS[fmt](screenings, inventory_label(result.inventory), result.as_of.isoformat())
    if output:
        atomic_write(output, text)
        click.echo(str(output))
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--subjects", "subjects", multiple=True,
              help="The group of data subjects (ids; repeat or comma-separate). Default: every subject.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="FILE.md (Markdown) or FILE.html.")
@click.option("--as-of", type=DATE, help="Draft as of DATE (default today).")
@click.option("--strict", is_flag=True, help="Exit 1 when the notice has gaps.")
@guard
def notice(path: Path, subjects: tuple[str, ...], output: Path, as_of: dt.date | None, strict: bool) -> None:
    """Draft the GDPR Art. 13 (collected from the data subject) or Art. 14 information for one
    group of data subjects, in the order of the Articles, as Markdown or HTML by the output's
    suffix. Every gap (no retention, no DPO, a transfer without a safeguard to name, …) is
    listed at the end of the notice and on stderr.

    Exit 0 written (gaps or not); 1 written with gaps under --strict; 2 invalid input."""
    from flowaudit.inventory import FlowauditError
    from flowaudit.reports.notice import build_notice, render_notice

    suffix = output.suffix.lower()
    fmt = {".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}.get(suffix)
    if fmt is None:
        raise FlowauditError(f"{output}: the notice is written as .md or .html")
    result = _audit(path, as_of)
    group = split_ids(subjects)
    drafted = build_notice(result, group or None)
    atomic_write(output, render_notice(drafted, fmt))
    click.echo(str(output))
    for gap in drafted.gaps:
        click.echo(f"gap: {gap}", err=True)
    if drafted.gaps:
        click.echo(f"{len(drafted.gaps)} gap{'s' if len(drafted.gaps) != 1 else ''} listed at the end of the notice",
                   err=True)
    if strict and drafted.gaps:
        sys.exit(1)


COMMANDS = (tia, dpia, notice)
