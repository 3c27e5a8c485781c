"""`flowaudit report`: ropa.xlsx, report.html, findings.json and dataflow.svg in one folder.

Each file is one renderer from the report data to a path, looked up in `WRITERS` (the HTML
inlines the diagram, so it is written after it). Everything is written into a temporary
folder beside the output folder and moved into place only when all four files exist, so an
error never leaves a half-written report behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flowaudit.audits import AuditResult
from flowaudit.inventory import FlowauditError

from .diagram import NO_DOT, Diagram, dot_available, placeholder_svg, render_source, strip_prolog
from .excel import write_xlsx
from .html import render_html
from .machine import render_json
from .records import ReportData

Progress = Callable[[str], None]


@dataclass
class _Run:
    data: ReportData
    say: Progress
    diagram_svg: str | None = None  # the <svg> element for the HTML, when dot drew it
    diagram_note: str | None = None  # why there is no diagram


def _findings_json(run: _Run, path: Path) -> None:
    path.write_text(render_json(run.data.result, run.data.label), encoding="utf-8")


def _dataflow_svg(run: _Run, path: Path) -> None:
    source = Diagram(run.data).build().source
    if not dot_available():
        run.diagram_note = NO_DOT
        run.say(f"warning: {NO_DOT}; dataflow.svg is a placeholder")
        path.write_bytes(placeholder_svg(NO_DOT))
        return
    try:
        svg = render_source(source, "svg")
    except FlowauditError as exc:  # dot failed: the rest of the report still matters
        run.diagram_note = str(exc)
        run.say(f"warning: {exc}; dataflow.svg is a placeholder")
        path.write_bytes(placeholder_svg(str(exc)))
        return
    run.diagram_svg = strip_prolog(svg.decode("utf-8"))
    path.write_bytes(svg)


def _ropa_xlsx(run: _Run, path: Path) -> None:
    write_xlsx(run.data, path)


def _report_html(run: _Run, path: Path) -> None:
    html = render_html(run.data, run.diagram_svg, run.diagram_note)
    path.write_bytes(html.encode("utf-8", "replace"))


WRITERS: dict[str, Callable[[_Run, Path], None]] = {
    "findings.json": _findings_json,
    "dataflow.svg": _dataflow_svg,
    "ropa.xlsx": _ropa_xlsx,
    "report.html": _report_html,
}
FILES = ("ropa.xlsx", "report.html", "findings.json", "dataflow.svg")  # the order `write_report` returns


def write_report(result: AuditResult, out_dir: Path, progress: Progress | None = None,
                 label: str | None = None) -> list[Path]:
    """Write the four report files into `out_dir` (created if needed); returns their paths.

    `label` names the inventory in the files (default: its path relative to the working folder).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FlowauditError(f"{out_dir} exists and is not a folder")
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise FlowauditError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    try:
        run = _Run(ReportData(result, label), progress or (lambda message: None))
        for name, write in WRITERS.items():
            run.say(f"writing {name}…")
            write(run, staging / name)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in FILES:
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
        return written
    except OSError as exc:
        raise FlowauditError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
