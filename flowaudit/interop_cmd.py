"""`flowaudit import fides|ropa` and `flowaudit export dpv|fides|graphml|csv|parquet` (SPEC §5).

Exit 0 when done, 2 for input that cannot be imported or exported (the message names the file
and key, or the sheet, row and column) or an inventory that is not valid. Nothing is written
on error: the output goes to a temporary folder first and is moved into place at the end.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from flowaudit.cliutil import DATE
from flowaudit.cliutil import guard as _guard
from flowaudit.interop.common import ImportError_, ImportResult
from flowaudit.inventory import InventoryError


def _translate(func):  # type: ignore[no-untyped-def]
    """Importer and exporter errors become exit 2 with their message (the CLI's one boundary)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return func(*args, **kwargs)
        except ImportError_ as exc:
            click.echo(f"error: {exc}", err=True)
            click.echo("nothing was written", err=True)
            sys.exit(2)

    return _guard(wrapper)


def _write_into(result: ImportResult, out_dir: Path) -> list[Path]:
    """Write the imported inventory into `out_dir` only when all of it validates."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ImportError_(f"{out_dir}: the output folder is not empty; import into a new folder, or use "
                           "--into to apply a workbook to an existing inventory")
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    from flowaudit.interop.common import write_inventory

    try:
        try:
            written = write_inventory(result, staging)
        except InventoryError as exc:  # name the files as they would have been written
            import dataclasses

            raise InventoryError([dataclasses.replace(p, file=p.file.replace(str(staging), str(out_dir)))
                                  for p in exc.problems]) from None
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [out_dir / p.name for p in written]


def _summary(result: ImportResult, out_dir: Path) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in result.counts().items())
    click.echo(f"{out_dir}: {counts}")
    click.echo(f"{len(result.reviews)} to review, {len(set(result.skipped))} not imported: "
               f"{out_dir / 'import-report.md'}")


@click.group("import")
def import_group() -> None:
    """Bring an inventory in: fideslang manifests or a record-of-processing workbook."""


@import_group.command("fides")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="New folder for the inventory YAML and import-report.md.")
@click.option("--country", help="Where the controller is established (ISO code), when the manifest does not say.")
@_translate
def import_fides_cmd(path: Path, out_dir: Path, country: str | None) -> None:
    """Import fideslang manifests (a file or a folder: system, dataset, organization, policy)."""
    from flowaudit.interop.fides_in import import_fides

    result = import_fides(path, country=country)
    _write_into(result, out_dir)
    _summary(result, out_dir)


@import_group.command("ropa")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="New folder for the inventory YAML and import-report.md.")
@click.option("--into", "into", type=click.Path(path_type=Path),
              help="Apply the edits in flowaudit's own ropa.xlsx to this inventory (comments kept), print the diff.")
@click.option("--country", help="Where the controller is established (ISO code), when the workbook does not say.")
@_translate
def import_ropa_cmd(path: Path, out_dir: Path | None, into: Path | None, country: str | None) -> None:
    """Import a record-of-processing workbook: the ICO controller/processor template or flowaudit's ropa.xlsx."""
    if (out_dir is None) == (into is None):
        raise click.UsageError("give either -o DIR (a new inventory) or --into INVENTORY (apply the edits)")
    if into is not None:
        from flowaudit.diff import render_text
        from flowaudit.interop.ropa_edit import apply_ropa

        applied = apply_ropa(path, into)
        for line in applied.changes:
            click.echo(f"applied: {line}")
        for line in applied.not_applied:
            click.echo(f"not applied: {line}")
        if applied.diff is None:
            click.echo(f"{into}: the workbook says what the inventory says; nothing to apply")
            return
        for p in applied.files:
            click.echo(f"wrote {p}")
        applied.diff["old"] = {"label": f"{into} (before)"}
        applied.diff["new"] = {"label": f"{into} (with {path.name})"}
        click.echo(render_text(applied.diff), nl=False)
        return
    from flowaudit.interop.ropa_in import import_ropa

    assert out_dir is not None
    result = import_ropa(path, country=country)
    _write_into(result, out_dir)
    _summary(result, out_dir)


EXPORT_FORMATS = ("dpv", "fides", "graphml", "csv", "parquet")


@click.command("export")
@click.argument("fmt", metavar="dpv|fides|graphml|csv|parquet", type=click.Choice(EXPORT_FORMATS))
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="The file to write (dpv, fides, graphml) or the folder (csv, parquet: one file per table).")
@click.option("--as-of", type=DATE, help="Audit the law as it stood on DATE (default today).")
@_translate
def export_cmd(fmt: str, path: Path, out: Path, as_of: dt.date | None) -> None:
    """Export the inventory at PATH: W3C DPV JSON-LD, a fideslang manifest, GraphML, or CSV/Parquet tables."""
    from flowaudit.api import audit
    from flowaudit.audits import load_config

    result = audit(path, as_of, config=load_config(path))
    if fmt in ("csv", "parquet"):
        from flowaudit.interop.frames import write_tables

        if out.exists() and not out.is_dir():
            raise ImportError_(f"{out}: {fmt} export writes one file per table: -o names a folder")
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else "."))
        try:
            written = write_tables(result, staging, fmt)
            out.mkdir(parents=True, exist_ok=True)
            for p in written:
                os.replace(p, out / p.name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for p in written:
            click.echo(str(out / p.name))
        return
    if out.is_dir():
        raise ImportError_(f"{out}: a folder; {fmt} export writes one file")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp"
    try:
        if fmt == "graphml":
            from flowaudit.interop.graphml import write_graphml

            write_graphml(result, tmp)
        elif fmt == "fides":
            from flowaudit.interop.fides_out import write_fides

            write_fides(result, tmp)
        else:
            from flowaudit.interop.dpv import write_dpv

            write_dpv(result, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(str(out))


def register(main: click.Group) -> None:
    main.add_command(import_group)
    main.add_command(export_cmd)


__all__ = ["DATE", "dt", "import_group", "register"]
