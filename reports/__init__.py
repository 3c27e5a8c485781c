"""Reports: renderers from the audit result (and its inventory view) to files.

Reads findings and the view; never imported by `inventory` or `audits`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_report(result: Any, out_dir: Path, progress: Callable[[str], None] | None = None,
                 label: str | None = None) -> list[Path]:
    """Write ropa.xlsx, report.html, findings.json and dataflow.svg into `out_dir`."""
    from .bundle import write_report as write

    return write(result, out_dir, progress=progress, label=label)
