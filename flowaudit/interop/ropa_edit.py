"""`flowaudit import ropa FILE --into INVENTORY`: a DPO's edits to flowaudit's own ropa.xlsx,
applied back to the inventory YAML.

The round trip: `flowaudit report` writes ropa.xlsx; the DPO changes a retention schedule, a
lawful basis or an Art. 9 condition, or adds a recipient (`processor: New Co (US)`) in the
Controller record; this reads the workbook, compares each row (by its `Purpose id`) with what
the inventory says today, and writes only what changed:

- a changed field of a purpose is edited in place: only that value's bytes (or one new line
  after the entry's `id:`) change, so comments, key order and hand-wrapped lists are kept;
- a new recipient becomes an organisation (appended after the last organisation of the
  controller's file) and a flow from the purpose's system carrying the purpose's elements
  (appended to the file that holds that system's flows), both marked for review;

then the inventory with the edits must validate (or nothing is written), the files are
replaced atomically, and the difference (`flowaudit diff`'s report) is returned. A removed
recipient is not applied (a flow carries more than one purpose): it is listed instead.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowaudit.audits import AuditResult, load_config
from flowaudit.inventory import InventoryError
from flowaudit.inventory.loader import read_files
from flowaudit.inventory.validate import build_inventory

from .common import NEEDS_REVIEW, ImportError_, slug
from .ropa_in import (
    Workbook,
    is_none,
    legal_basis,
    match_heading,
    read_workbook,
    recipients,
    retention_period,
    special_condition,
    text,
    where,
)


@dataclass
class Applied:
    changes: list[str] = field(default_factory=list)  # what was applied, in words
    not_applied: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    diff: dict[str, Any] | None = None


def _scalar(value: str) -> str:
    dumped = yaml.safe_dump(value, default_style=None, width=1000).strip()
    return dumped.removesuffix("\n...").strip()


def set_field(raw: str, section: str, index: int, key: str, value: str) -> str:
    """`raw` with `key: value` set on entry `index` of `section`: the old value's characters
    replaced, or one line inserted after the entry's first key. Everything else is kept."""
    root = yaml.compose(raw, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise ImportError_(f"cannot edit {section}[{index}] in place: the file is not a mapping")
    seq = next(v for k, v in root.value if k.value == section)
    entry = seq.value[index]
    if not isinstance(entry, yaml.MappingNode) or entry.flow_style:
        raise ImportError_(f"cannot edit {section}[{index}] in place: it is written inline")
    for k, v in entry.value:
        if k.value == key:
            if not isinstance(v, yaml.ScalarNode):
                raise ImportError_(f"cannot edit {key} of {section}[{index}] in place")
            return raw[: v.start_mark.index] + _scalar(value) + raw[v.end_mark.index:]
    first_key, first_value = entry.value[0]
    line_end = raw.find("\n", first_value.end_mark.index)
    line_end = len(raw) if line_end < 0 else line_end
    newline = "\r\n" if raw[line_end - 1: line_end] == "\r" else "\n"
    if newline == "\r\n":
        line_end -= 1
    indent = " " * first_key.start_mark.column
    return raw[:line_end] + newline + f"{indent}{key}: {_scalar(value)}" + raw[line_end:]


def _current(result: AuditResult) -> dict[str, dict[str, str]]:
    from flowaudit.reports.records import ReportData

    table = ReportData(result).controller_record
    fields = [match_heading(c) for c in table.columns]
    out = {}
    for row in table.rows:
        values = {f: text(v) for f, v in zip(fields, row, strict=True) if f}
        out[values["purpose_id"]] = values
    return out


def _same(a: Any, b: Any) -> bool:
    return re.sub(r"\s+", " ", text(a)) == re.sub(r"\s+", " ", text(b))


def apply_ropa(book_path: str | Path, inventory: str | Path) -> Applied:
    from flowaudit.api import audit
    from flowaudit.diff import compare
    from flowaudit.inventory.edit import append_entry

    book = read_workbook(Path(book_path))
    if not book.flowaudit:
        raise ImportError_(f"{book.path.name}: --into applies flowaudit's own ropa.xlsx (it has a 'Purpose id' "
                           "column); import another workbook into a new folder with -o")
    root = Path(inventory)
    sources = read_files(root)
    inv = build_inventory(sources)
    config = load_config(root)
    before = audit(inv, config=config)
    current = _current(before)
    texts: dict[Path, str] = {s.path: s.path.read_text(encoding="utf-8") for s in sources}
    applied = Applied()
    me = inv.controller
    names = {o.name.lower(): o for o in inv.organisations.values()}
    taken = set(inv.organisations) | set(inv.flows) | set(inv.systems) | set(inv.purposes) | set(inv.elements) | set(
        inv.subjects)
    edits: list[tuple[Path, str, int, str, str]] = []
    appends: list[tuple[Path, str, dict[str, Any]]] = []
    for sheet in book.sheets:
        if "purpose_id" not in sheet.columns or sheet.processor:
            continue
        for row, values in sheet.rows:
            pid = text(values.get("purpose_id"))
            if not pid:
                continue
            if pid not in inv.purposes:
                close = difflib.get_close_matches(pid, list(inv.purposes), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ImportError_(f"{where(book, sheet, row, 'purpose_id')}: no purpose {pid!r} in {root}{hint}")
            purpose = inv.purposes[pid]
            now = current.get(pid, {})
            origin = inv.origins[pid]
            path = origin.source.path
            for fld, key, parse, old in (
                    ("retention", "retention", retention_period, purpose.retention),
                    ("basis", "legal_basis", legal_basis, purpose.legal_basis),
                    ("special", "special_condition", special_condition, purpose.special_condition)):
                if fld not in values or _same(values[fld], now.get(fld)):
                    continue
                cell = values[fld]
                if is_none(cell):
                    applied.not_applied.append(f"purpose {pid}: {key} emptied in the workbook; remove it in the YAML "
                                               "if that is meant")
                    continue
                new = parse(text(cell)) if fld == "retention" else parse(cell)
                if new is None:
                    expected = {"retention": "a period such as '6 years' or P6Y, or 'until the account is deleted'",
                                "basis": "an Art. 6(1) basis such as 'Art. 6(1)(b) contract' or 'consent'",
                                "special": "an Art. 9(2) condition such as 'Art. 9(2)(a) explicit consent'"}[fld]
                    raise ImportError_(f"{where(book, sheet, row, fld)}: {text(cell)!r} is not understood: expected "
                                       f"{expected}")
                old_value = getattr(old, "value", old)  # an enum member compares by its text
                if new != old_value:
                    edits.append((path, origin.section, origin.index, key, new))
                    applied.changes.append(f"purpose {pid}: {key} {old_value or '(none)'} → {new}")
            if "recipients" in values and not _same(values["recipients"], now.get("recipients")):
                had = {n.lower() for _, n, _ in recipients(now.get("recipients"))}
                wanted = recipients(values["recipients"])
                for relation, name, country in wanted:
                    if name.lower() in had:
                        continue
                    org = names.get(name.lower())
                    if org is None:
                        ident = _take(slug(name, "recipient"), taken)
                        entry: dict[str, Any] = {"id": ident, "name": name, "country": country or me.country,
                                                 "relation": relation or "third-party",
                                                 "source": f"{book.path.name}: {sheet.name} row {row}",
                                                 "notes": f"{NEEDS_REVIEW}: recipient added in the record of processing"
                                                          + ("" if relation and country else
                                                             f"; {'relation' if not relation else 'country'} assumed")}
                        appends.append((inv.origins[me.id].source.path, "organisations", entry))
                        names[name.lower()] = entry  # type: ignore[assignment]
                        org_id = ident
                        applied.changes.append(f"organisation {ident}: added ({entry['relation']}, {entry['country']})")
                    else:
                        org_id = org["id"] if isinstance(org, dict) else org.id
                    system = _sending_system(before, pid)
                    if system is None:
                        raise ImportError_(f"{where(book, sheet, row, 'recipients')}: purpose {pid!r} has no system "
                                           f"to send data to {name!r} from; add the flow by hand")
                    elements = _elements_at(before, system, pid)
                    flow = {"id": _take(f"{system}-to-{org_id}", taken), "from": system, "to": org_id,
                            "elements": elements, "purposes": [pid],
                            "source": f"{book.path.name}: {sheet.name} row {row}",
                            "notes": f"{NEEDS_REVIEW}: recipient added in the record of processing; check the "
                                     "elements it receives and the transfer safeguard"}
                    appends.append((_flow_file(before, system), "flows", flow))
                    applied.changes.append(f"flow {flow['id']}: {system} → {org_id} for {pid} added")
                kept = {n.lower() for _, n, _ in wanted}
                for gone in sorted(had - kept):
                    applied.not_applied.append(f"purpose {pid}: recipient {gone!r} removed in the workbook; "
                                               "edit or remove its flows in the YAML")
    if not edits and not appends:
        return applied
    # in-place edits from the end of each file backwards keep the earlier offsets valid
    for path in {e[0] for e in edits}:
        file_edits = sorted((e for e in edits if e[0] == path), key=lambda e: e[2], reverse=True)
        for _, section, index, key, value in file_edits:
            texts[path] = set_field(texts[path], section, index, key, value)
    for path, section, entry in appends:
        texts[path], _ = append_entry(texts[path], section, entry)
    changed = sorted({e[0] for e in edits} | {a[0] for a in appends})
    after = _validated(root, sources, {p: texts[p] for p in changed}, config)
    for path in changed:
        _replace(path, texts[path])
    applied.files = changed
    applied.diff = compare(before, after)
    return applied


def _take(wanted: str, taken: set[str]) -> str:
    candidate, n = wanted, 2
    while candidate in taken:
        candidate = f"{wanted}-{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _sending_system(result: AuditResult, pid: str) -> str | None:
    inv, view = result.inventory, result.view
    systems = sorted(view.purpose_systems.get(pid, ()))
    own = [s for s in systems if inv.systems[s].operator == inv.controller.id]
    return next(iter(own or systems), None)


def _elements_at(result: AuditResult, system: str, pid: str) -> list[str]:
    inv = result.inventory
    held = set(inv.systems[system].elements) | {e for f in result.view.flows_into(system) for e in f.elements}
    needed = list(inv.purposes[pid].elements)
    return [e for e in needed if e in held] or needed


def _flow_file(result: AuditResult, system: str) -> Path:
    inv = result.inventory
    from collections import Counter

    counts = Counter(inv.origins[f.id].source.path for f in inv.flows.values() if f.from_ == system)
    if not counts:
        counts = Counter(inv.origins[f.id].source.path for f in inv.flows.values())
    if not counts:
        return inv.origins[system].source.path
    return counts.most_common(1)[0][0]


def _validated(root: Path, sources: list[Any], new_texts: dict[Path, str], config: Any) -> AuditResult:
    """Build and audit the inventory as it would be after the edits (files in a scratch copy)."""
    from flowaudit.api import audit

    with tempfile.TemporaryDirectory(prefix=".flowaudit-ropa-") as tmp:
        copies: list[Any] = []
        for s in sources:
            if s.path in new_texts:
                target = Path(tmp) / f"{len(copies):04d}-{s.path.name}"
                target.write_text(new_texts[s.path], encoding="utf-8")
                from flowaudit.inventory.loader import read_file

                candidate, problems = read_file(target)
                if candidate is None:
                    raise InventoryError(problems)
                candidate.path, candidate.display = s.path, s.display
                candidate.relpath, candidate.root = s.relpath, s.root
                copies.append(candidate)
            else:
                copies.append(s)
        inventory = build_inventory(copies)
        return audit(inventory, config=config)


def _replace(path: Path, new_text: str) -> None:
    real = Path(os.path.realpath(path))
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(new_text)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(real, tmp)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["Applied", "Workbook", "apply_ropa", "set_field"]
