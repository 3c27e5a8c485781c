"""ropa.xlsx: the Record of Processing Activities (GDPR Art. 30) and the transfer report.

Sheets: Controller record (Art. 30(1), columns in the order of the UK ICO's controller
template), Processor record (Art. 30(2)), Transfers, Findings, Elements, Systems, Recipients,
Exposure. Written with a write-only (streaming) workbook so that 100,000-flow inventories
stay fast; every cell's style is a shared, precomputed style array.

Two guarantees:
- No inventory string becomes a formula: every string cell is an inline string, and one that
  starts with `=`, `+`, `-`, `@`, a tab or a carriage return also carries Excel's quote
  prefix, so editing it in Excel keeps it text (OWASP "CSV injection").
- The same inventory and as-of date give a byte-identical file: fixed document properties,
  fixed zip timestamps, a stable member order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from .records import SAFEGUARD_TEXT, ReportData, Table

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_CELL = 32767  # Excel's limit on the characters of a cell
STYLED_ROWS = 20000  # beyond this many rows a sheet's body cells are written unstyled, for speed

SEVERITY_FILL = {
    "critical": ("9C0006", "FFFFFF"),
    "high": ("F8CBAD", "7F1D1D"),
    "medium": ("FFE699", "5C4400"),
    "low": ("DDEBF7", "1F3864"),
    "info": ("EDEDED", "404040"),
}
STATUS_FILL = {"finding": ("F8CBAD", "7F1D1D"), "waived": ("DDEBF7", "1F3864"), "ok": ("E2EFDA", "375623")}
SAFEGUARD_FILL = {"adequacy": ("E2EFDA", "375623"), "safeguard": ("E2EFDA", "375623"),
                  "derogation": ("FFE699", "5C4400"), "pipl": ("E2EFDA", "375623"),
                  "not-required": ("EDEDED", "404040"), "none": ("F8CBAD", "7F1D1D")}
HEADER_FILL = "1F2937"


def safe_text(value: str) -> str:
    """A string Excel accepts (no XML-illegal control characters, at most 32,767 characters)."""
    value = _ILLEGAL.sub("\ufffd", value)
    if len(value) > MAX_CELL:
        value = value[: MAX_CELL - 1] + "…"
    return value


class _Styles:
    """Precomputed style arrays, shared by every cell that uses them: assigning fonts and fills
    cell by cell is slow, and a streaming sheet never changes a cell's style once made."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.cache: dict[tuple, Any] = {}

    def get(self, *, bold: bool = False, fill: str | None = None, color: str | None = None, wrap: bool = True,
            quote: bool = False, header: bool = False, size: float | None = None, number: bool = False) -> Any:
        key = (bold, fill, color, wrap, quote, header, size, number)
        found = self.cache.get(key)
        if found is None:
            cell = Cell(self.ws, row=1, column=1)
            font_args: dict[str, Any] = {}
            if bold or header:
                font_args["bold"] = True
            if header:
                font_args["color"] = "FFFFFF"
            elif color:
                font_args["color"] = color
            if size:
                font_args["size"] = size
            if font_args:
                cell.font = Font(**font_args)
            if header:
                cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
                cell.border = Border(bottom=Side(style="thin", color="000000"))
            elif fill:
                cell.fill = PatternFill("solid", fgColor=fill)
            cell.alignment = Alignment(wrap_text=wrap, vertical="top",
                                       horizontal="right" if number else None)
            if quote:
                cell.quotePrefix = True
            found = self.cache[key] = cell._style
        return found


def _cell(ws: Any, styles: _Styles, value: Any, **style: Any) -> Cell:
    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, (list, tuple, set, frozenset)):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    quote = False
    if isinstance(value, str):
        value = safe_text(value)
        quote = value.startswith(FORMULA_TRIGGERS)
    elif value is not None and not isinstance(value, (int, float)):
        value = safe_text(str(value))
    cell = Cell(ws, row=1, column=1, value=value,
                style_array=styles.get(quote=quote, number=isinstance(value, (int, float)), **style))
    if isinstance(value, str):
        cell.data_type = "s"  # text, never a formula, whatever it starts with
    return cell


def _widths(columns: Sequence[str], rows: Iterable[Sequence[Any]], sample: int = 300) -> list[float]:
    widths = [max(10.0, min(len(c) + 2, 40)) for c in columns]
    for i, row in enumerate(rows):
        if i >= sample:
            break
        for j, v in enumerate(row):
            text = v if isinstance(v, str) else str(v) if v is not None else ""
            longest = max((len(line) for line in text.split("\n")), default=0)
            widths[j] = max(widths[j], min(longest + 2, 60))
    return widths


def _write_table(wb: Workbook, table: Table, *, above: Sequence[tuple[str, str]] = (), title: str | None = None,
                 colour_columns: dict[str, dict[str, tuple[str, str]]] | None = None,
                 widths: Sequence[float] | None = None, empty: str = "") -> None:
    """One sheet: an optional title and key/value block, then the table with a frozen header
    row and an autofilter. `colour_columns` maps a column name to value→(fill, font colour)."""
    ws = wb.create_sheet(table.name)
    styles = _Styles(ws)
    cols = table.columns
    header_row = (1 if title else 0) + len(above) + 2 if (title or above) else 1
    _print_setup(ws, header_row)
    for i, w in enumerate(widths or _widths(cols, table.rows), start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = f"A{header_row + 1}"  # before the first row: a streaming sheet writes its view first
    if title or above:
        if title:
            ws.append([_cell(ws, styles, title, bold=True, size=14, wrap=False)])
        for key, value in above:
            ws.append([_cell(ws, styles, key, bold=True), _cell(ws, styles, value)])
        ws.append([])
    ws.append([_cell(ws, styles, c, header=True) for c in cols])
    colour_columns = colour_columns or {}
    coloured = {i: colour_columns[c] for i, c in enumerate(cols) if c in colour_columns}
    styled = len(table.rows) <= STYLED_ROWS
    plain = styles.get()
    for row in table.rows:
        if not styled:
            cells = []
            for v in row:
                if isinstance(v, str):
                    v = safe_text(v)
                    if v.startswith(FORMULA_TRIGGERS):
                        cells.append(_cell(ws, styles, v))
                        continue
                    c = Cell(ws, row=1, column=1, value=v, style_array=plain)
                    c.data_type = "s"
                    cells.append(c)
                else:
                    cells.append(_cell(ws, styles, v))
            ws.append(cells)
            continue
        cells = []
        for i, v in enumerate(row):
            palette = coloured.get(i)
            if palette and v in palette:
                fill, font = palette[v]
                cells.append(_cell(ws, styles, v, fill=fill, color=font, bold=font == "FFFFFF"))
            else:
                cells.append(_cell(ws, styles, v))
        ws.append(cells)
    if not table.rows and empty:
        ws.append([_cell(ws, styles, empty, wrap=False)])
    last = get_column_letter(len(cols))
    ws.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(table.rows), 1)}"


def _print_setup(ws: Any, header_row: int) -> None:
    """Printable as a regulator reads it: landscape, every column on the page's width, the
    header row repeated on each page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.gridLines = True


def _exposure_sheet(wb: Workbook, data: ReportData) -> None:
    exposure = data.exposure
    orgs = exposure["organisations"]
    ws = wb.create_sheet("Exposure")
    styles = _Styles(ws)
    _print_setup(ws, 3)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 36
    ws.column_dimensions["C"].width = 18
    ws.freeze_panes = "D4"
    for i in range(len(orgs)):
        ws.column_dimensions[get_column_letter(i + 4)].width = 14
    ws.append([_cell(ws, styles, "Elements × external organisations: number of flows that deliver the element to "
                     "the organisation or its systems (0: stored there only; blank: not reached)", bold=True,
                     wrap=False)])
    ws.append([_cell(ws, styles, "", header=True), _cell(ws, styles, "", header=True),
               _cell(ws, styles, "relation / country", header=True)]
              + [_cell(ws, styles, f"{o['relation']} / {o['country']}", header=True) for o in orgs])
    ws.append([_cell(ws, styles, c, header=True) for c in ("Element", "Name", "Category")]
              + [_cell(ws, styles, o["name"], header=True) for o in orgs])
    top = max((v for r in exposure["rows"] for v in r["values"] if v), default=1)
    for r in exposure["rows"]:
        cells = [_cell(ws, styles, r["element"]), _cell(ws, styles, r["name"]), _cell(ws, styles, r["category"])]
        for v in r["values"]:
            if v is None:
                cells.append(None)
            else:
                cells.append(_cell(ws, styles, v, fill=_heat(v, top), wrap=False))
        ws.append(cells)
    ws.auto_filter.ref = f"A3:{get_column_letter(max(3, len(orgs) + 3))}{3 + max(1, len(exposure['rows']))}"


def _heat(value: int, top: int) -> str:
    """A fill from pale amber to deep red, on a log scale of the flow count."""
    import math

    steps = ("FFF2CC", "FFE699", "F8CBAD", "F4B183", "E06666", "C00000")
    if value <= 0:
        return "F2F2F2"
    level = math.log1p(value) / math.log1p(max(top, 1))
    return steps[min(len(steps) - 1, int(level * (len(steps) - 1) + 0.5))]


def build_workbook(data: ReportData) -> Workbook:
    wb = Workbook(write_only=True)
    title = f"Record of processing activities (GDPR Art. 30(1)): {data.controller.name}"
    _write_table(wb, data.controller_record, above=data.controller_block, title=title)
    _write_table(wb, data.processor_record, above=[("Processor", data.controller_block[0][1]),
                                                  *data.controller_block[1:4]],
                 title=f"Record of processing carried out on behalf of controllers (GDPR Art. 30(2)): "
                       f"{data.controller.name}",
                 empty="No processing on behalf of other controllers: no processing activity has role: processor.")
    _write_table(wb, data.transfer_table, colour_columns={
        "Status": STATUS_FILL, "Safeguard type": {SAFEGUARD_TEXT[k]: v for k, v in SAFEGUARD_FILL.items()}})
    _write_table(wb, data.finding_table, colour_columns={"Severity": SEVERITY_FILL})
    _write_table(wb, data.element_table)
    _write_table(wb, data.system_table)
    _write_table(wb, data.recipient_table)
    _exposure_sheet(wb, data)
    return wb


def write_xlsx(data: ReportData, path: Path) -> None:
    """Write the workbook, then rewrite its zip with fixed timestamps (byte-identical output)."""
    save_workbook(build_workbook(data), path, data.as_of,
                  f"Record of processing activities: {safe_text(data.controller.name)}")


def save_workbook(wb: Workbook, path: Path, day: dt.date, title: str) -> None:
    """Save a workbook byte-identically for the same content and day: fixed document
    properties, fixed zip timestamps, a stable member order."""
    fixed = dt.datetime.combine(max(day, dt.date(1980, 1, 1)), dt.time())
    props = wb.properties
    props.creator = "flowaudit"
    props.lastModifiedBy = "flowaudit"
    props.title = title
    props.created = fixed
    props.modified = fixed
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        # ExcelWriter directly: `save_workbook` would stamp the current time into docProps/core.xml
        ExcelWriter(wb, archive).save()
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=fixed.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            member.create_system = 3
            target.writestr(member, source.read(info.filename), compresslevel=6)
