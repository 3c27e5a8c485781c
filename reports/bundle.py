"""`flowaudit report`: ropa.xlsx, report.html, findings.json and dataflow.svg in one folder.

Each file is one renderer from the report data to a path, looked up in `WRITERS` (the HTML
inlines the diagram, so it is written after it).

The bundle is swapped in as a whole:

- **Staged inside the output folder** (`OUT/.flowaudit-new-PID-…/`), so only the output folder
  needs to be writable, and the final moves are renames on one file system.
- **Swapped in with a way back.** Each previous file is first hard-linked (or copied) into
  `OUT/.flowaudit-old-PID-…/`; then every new file replaces its old one with `os.replace`
  (each name always holds a whole file). When any step fails, or the process is interrupted
  (Ctrl-C; the CLI turns SIGTERM into the same), the previous files are put back: the
  previous bundle stays whole, never half new.
- **No leftovers.** The staging and backup folders are removed on success, failure and
  interruption; a later run removes those of a process killed outright (SIGKILL), once that
  process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
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
from .machine import render_json_bytes
from .records import ReportData

Progress = Callable[[str], None]


@dataclass
class _Run:
    data: ReportData
    say: Progress
    diagram_svg: str | None = None  # the <svg> element for the HTML, when dot drew it
    diagram_note: str | None = None  # why there is no diagram


def _findings_json(run: _Run, path: Path) -> None:
    path.write_bytes(render_json_bytes(run.data.result, run.data.label))


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


_WORK_FOLDER = re.compile(r"^\.flowaudit-(new|old)-(?P<pid>[0-9]+)-")


def write_report(result: AuditResult, out_dir: Path, progress: Progress | None = None,
                 label: str | None = None) -> list[Path]:
    """Write the four report files into `out_dir` (created if needed); returns their paths.

    `label` names the inventory in the files (default: its path relative to the working folder).
    On any error or interruption the files already in `out_dir` are left as they were.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FlowauditError(f"{out_dir} exists and is not a folder")
    created = not out_dir.exists()
    # This call's own prefix: an interruption that lands while the staging folder is being made
    # (before its name is known here) still finds it, and no other call's folder matches.
    prefix = f".flowaudit-new-{os.getpid()}-{secrets.token_hex(4)}-"
    try:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            _remove_dead_runs_folders(out_dir)
            staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out_dir))
        except OSError as exc:
            raise FlowauditError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
        run = _Run(ReportData(result, label), progress or (lambda message: None))
        for name, write in WRITERS.items():
            run.say(f"writing {name}…")
            write(run, staging / name)
        written = swap_in(staging, out_dir, FILES)
    except BaseException as exc:
        _remove_own_staging(out_dir, prefix)
        if created:  # a folder this run made for nothing goes too
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        if isinstance(exc, OSError):
            raise FlowauditError(f"cannot write the report to {out_dir}: {exc.strerror or exc}; "
                                 "the previous files there are unchanged") from exc
        raise
    _remove_own_staging(out_dir, prefix)
    return written


def _remove_own_staging(out_dir: Path, prefix: str) -> None:
    with contextlib.suppress(OSError):
        for entry in out_dir.iterdir():
            if entry.name.startswith(prefix):
                shutil.rmtree(entry, ignore_errors=True)


def swap_in(staging: Path, out_dir: Path, names: tuple[str, ...]) -> list[Path]:
    """Move `names` from `staging` into `out_dir` as a whole: on any failure or interruption,
    the files `out_dir` held before are restored."""
    backup = Path(tempfile.mkdtemp(prefix=f".flowaudit-old-{os.getpid()}-", dir=out_dir))
    kept: list[str] = []  # previous files saved in the backup
    replaced: list[str] = []  # names that now hold a new file
    try:
        for name in names:
            if os.path.lexists(out_dir / name):
                _keep(out_dir / name, backup / name)
                kept.append(name)
        for name in names:
            os.replace(staging / name, out_dir / name)
            replaced.append(name)
        return [out_dir / name for name in names]
    except BaseException:
        for name in replaced:
            with contextlib.suppress(OSError):
                if name in kept:
                    os.replace(backup / name, out_dir / name)
                else:
                    (out_dir / name).unlink()
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)


def _keep(path: Path, copy: Path) -> None:
    try:
        os.link(path, copy, follow_symlinks=False)
    except OSError:
        shutil.copy2(path, copy, follow_symlinks=False)


def _remove_dead_runs_folders(out_dir: Path) -> None:
    """Staging and backup folders of a run killed outright (its process is gone)."""
    for entry in out_dir.iterdir():
        found = _WORK_FOLDER.match(entry.name)
        if found is None or not entry.is_dir() or entry.is_symlink():
            continue
        pid = int(found["pid"])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
        except PermissionError:  # someone else's running process
            continue
