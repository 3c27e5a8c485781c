"""`flowaudit report`: ropa.xlsx, report.html, findings.json and dataflow.svg in one folder.

Everything is written into a temporary folder beside the output folder and moved into place
only when all four files exist, so an error never leaves a half-written report behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from audits import AuditResult
from inventory import FlowauditError

from .diagram import NO_DOT, Diagram, dot_available, placeholder_svg, render_source, strip_prolog
from .excel import write_xlsx
from .html import render_html
from .machine import render_json
from .records import ReportData

FILES = ("ropa.xlsx", "report.html", "findings.json", "dataflow.svg")


def write_report(result: AuditResult, out_dir: Path, progress: Callable[[str], None] | None = None,
                 label: str | None = None) -> list[Path]:
    """Write the four report files into `out_dir` (created if needed); returns their paths.

    `label` names the inventory in the files (default: its path relative to the working folder).
    """
    say = progress or (lambda message: None)
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
        data = ReportData(result, label)

        say("writing findings.json…")
        (staging / "findings.json").write_text(render_json(result, data.label), encoding="utf-8")

        say("drawing dataflow.svg…")
        diagram_svg: str | None = None
        note: str | None = None
        source = Diagram(data).build().source
        if dot_available():
            try:
                svg = render_source(source, "svg")
            except FlowauditError as exc:  # dot vanished or failed: the rest of the report still matters
                note = str(exc)
                svg = placeholder_svg(note)
            else:
                diagram_svg = strip_prolog(svg.decode("utf-8"))
        else:
            note = NO_DOT
            say(f"warning: {NO_DOT}; dataflow.svg is a placeholder")
            svg = placeholder_svg(NO_DOT)
        (staging / "dataflow.svg").write_bytes(svg)

        say("writing ropa.xlsx…")
        write_xlsx(data, staging / "ropa.xlsx")

        say("writing report.html…")
        html = render_html(data, diagram_svg, note)
        (staging / "report.html").write_bytes(html.encode("utf-8", "replace"))

        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in FILES:
            target = out_dir / name
            os.replace(staging / name, target)
            written.append(target)
        return written
    except OSError as exc:
        raise FlowauditError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
