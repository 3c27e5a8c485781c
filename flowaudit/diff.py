"""`flowaudit diff OLD NEW`: what changed between two inventories, for review.

Each side is a path (a folder or a file) or, when no such path exists, a git revision of the
repository around the current folder (`main`, `origin/main`, `HEAD~1`, a commit id). A
revision's files are exported from its tree into a temporary folder (`git ls-tree` and `git
cat-file`, so `.gitattributes` export rules do not hide files), together with the
`flowaudit.toml`/`pyproject.toml` beside and above the inventory, so each side is audited with
its own configuration.

`--path SUBDIR` names the inventory inside a revision's tree, relative to the repository root
(`flowaudit diff origin/main HEAD --path inventory/`). It applies to revisions only; a path
side is used as given. Without `--path`, a revision compared with a path inside the same
repository takes that path (`flowaudit diff origin/main inventory/` compares `inventory/` in
`origin/main` with the working tree).

The report: entries added, removed and changed (by kind and id; for a change, the fields and
their old and new values), restricted transfers that appear, disappear or change (keyed by
flow id and regime: exporter → importer, countries, mechanism), and findings new and resolved
(keyed by rule and subject id), as text, JSON (stable shape, sorted) or Markdown (a
pull-request comment). Exit 0; 2 when either side is not a valid inventory (the message names
the side); with `--fail-on SEVERITY`, 1 when a new unwaived finding is at or above it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from flowaudit.audits import AuditResult, Severity, load_config
from flowaudit.cliutil import DATE, SEVERITY_CHOICE, atomic_write, guard
from flowaudit.inventory import FlowauditError, Inventory, InventoryError
from flowaudit.inventory.loader import read_files
from flowaudit.inventory.validate import build_inventory

KINDS = ("organisation", "subject", "element", "purpose", "system", "flow", "waiver")
SEVERITY_EMOJI = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}
CONFIG_FILES = ("flowaudit.toml", "pyproject.toml")
MARKDOWN_ROWS = 100  # per table: a pull-request comment holds 65,536 characters
MARKER = "<!-- flowaudit-diff -->"


class SideError(Exception):
    """One side cannot be read; `side` is OLD or NEW."""

    def __init__(self, side: Side | str, lines: list[str]):
        self.side = side
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass
class Side:
    role: str  # OLD or NEW
    spec: str  # as given on the command line
    path: Path  # the inventory on disk (exported, for a revision)
    commit: str | None = None  # the revision's commit id
    subdir: str | None = None  # the inventory's path in the revision's tree
    export_root: Path | None = None  # the temporary folder a revision was exported to

    @property
    def label(self) -> str:
        if self.commit is None:
            return self.spec
        return f"{self.spec} ({self.commit[:12]})"

    def as_dict(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": "git" if self.commit else "path", "commit": self.commit,
                "path": self.subdir if self.commit else self.spec, "label": self.label}


# --- resolving a side: a path or a git revision ------------------------------------------------

def _git(*args: str, cwd: Path | None = None, input_bytes: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=input_bytes, capture_output=True, check=False)
    except FileNotFoundError:
        raise FlowauditError("git is not installed") from None
    if done.returncode != 0:
        raise FlowauditError(done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return done.stdout


def _repository() -> Path | None:
    try:
        return Path(_git("rev-parse", "--show-toplevel").decode().strip())
    except FlowauditError:
        return None


def resolve_side(role: str, spec: str, subdir: str | None, other: str, stack: contextlib.ExitStack) -> Side:
    """A path when `spec` exists, else a git revision exported into a temporary folder."""
    if Path(spec).exists():
        return Side(role, spec, Path(spec))
    top = _repository()
    if top is None:
        raise SideError(role, [f"{role} {spec!r}: no such path, and not in a git repository to read it as a revision"])
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}", cwd=top).decode().strip()
    except FlowauditError:
        raise SideError(role, [f"{role} {spec!r}: neither an existing path nor a git revision of {top}"]) from None
    if subdir is None:
        subdir = _inferred_subdir(top, other)
    subdir = _normalise(subdir)
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flowaudit-diff-")))
    side = Side(role, spec, root / subdir if subdir else root, commit, subdir or ".", root)
    try:
        count = _export(top, commit, subdir, root)
    except FlowauditError as exc:
        raise SideError(side, [f"{role} {side.label}: cannot read the revision: {exc}"]) from None
    if count == 0:
        where = f"'{subdir}'" if subdir else "the repository root"
        raise SideError(side, [f"{role} {side.label}: no inventory files at {where} in that revision"
                               + ("" if subdir else "; name the inventory folder with --path")])
    return side


def _inferred_subdir(top: Path, other: str) -> str:
    """For `diff origin/main inventory/`: the other side's path inside the repository."""
    if not Path(other).exists():
        return ""
    relative = os.path.relpath(os.path.realpath(other), os.path.realpath(top))
    return "" if relative.startswith("..") else relative


def _normalise(subdir: str) -> str:
    parts = [p for p in Path(subdir).as_posix().split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts) or Path(subdir).is_absolute():
        raise FlowauditError(f"--path {subdir!r}: a folder relative to the repository root")
    return "/".join(parts)


def _export(top: Path, commit: str, subdir: str, root: Path) -> int:
    """Write the revision's inventory files under `subdir` (and the configuration files beside
    and above it) into `root`; return how many inventory files there are."""
    listing = _git("ls-tree", "-r", "-z", "--full-tree", commit, *(["--", subdir] if subdir else []), cwd=top)
    wanted: dict[str, str] = {}  # path -> blob id
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, name = record.split(b"\t", 1)
        mode, kind, oid = meta.decode().split()
        path = name.decode("utf-8", "surrogateescape")
        if kind != "blob" or mode not in ("100644", "100755"):
            continue  # symlinks and submodules are not inventory files
        if path == subdir or path.endswith((".yaml", ".yml")):
            wanted[path] = oid
    count = len(wanted)
    # the configuration each side is audited with: flowaudit.toml / pyproject.toml upwards
    folders = [p.as_posix() for p in Path(subdir).parents] if subdir else ["."]
    if subdir and not any(p == subdir for p in wanted):  # subdir is a folder: start in it
        folders.insert(0, subdir)
    candidates = [f"{d}/{name}" if d != "." else name for d in folders for name in CONFIG_FILES]
    configs = _git("ls-tree", "-z", "--full-tree", commit, "--", *candidates, cwd=top)
    for record in configs.split(b"\0"):
        if record:
            meta, name = record.split(b"\t", 1)
            mode, kind, oid = meta.decode().split()
            if kind == "blob" and mode in ("100644", "100755"):
                wanted[name.decode("utf-8", "surrogateescape")] = oid
    if wanted:
        _write_blobs(top, wanted, root)
    (root / ".git").mkdir(exist_ok=True)  # load_config stops here, not in the temp folder's parents
    return count


def _write_blobs(top: Path, wanted: dict[str, str], root: Path) -> None:
    paths = sorted(wanted)
    out = _git("cat-file", "--batch", cwd=top, input_bytes="".join(wanted[p] + "\n" for p in paths).encode())
    position = 0
    real_root = os.path.realpath(root)
    for path in paths:
        end = out.index(b"\n", position)
        header = out[position:end].decode().split()
        if len(header) != 3 or header[1] != "blob":
            raise FlowauditError(f"git cat-file: unexpected answer for {path}: {' '.join(header)}")
        size = int(header[2])
        data = out[end + 1:end + 1 + size]
        position = end + 1 + size + 1  # content, then a newline
        target = root / path
        if not os.path.realpath(target).startswith(real_root + os.sep):
            raise FlowauditError(f"refusing to write {path!r} outside the export folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# --- loading and auditing a side ---------------------------------------------------------------

def audit_side(side: Side, as_of: dt.date | None) -> AuditResult:
    """Load, validate and audit one side; a revision's files are named by their path in the tree."""
    from flowaudit.api import audit

    try:
        sources = read_files(side.path)
        if side.export_root is not None:
            for source in sources:
                source.display = source.relpath = _tree_path(side, str(source.path))  # its path in the tree
        inventory = build_inventory(sources)
        config = load_config(side.path)
    except InventoryError as exc:
        problems = [str(dataclasses.replace(p, file=_tree_path(side, p.file))) for p in exc.problems]
        count = len(problems)
        hint = (["hint: the whole repository was read; name the inventory folder with --path"]
                if side.commit is not None and side.subdir == "." else [])
        raise SideError(side, [(f"{side.role} {side.label}: not a valid inventory "
                               f"({count} problem{'s' if count != 1 else ''}):"), *problems, *hint]) from None
    except FlowauditError as exc:
        raise SideError(side, [f"{side.role} {side.label}: {exc}"]) from None
    return audit(inventory, as_of, config=config)


def _tree_path(side: Side, file: str) -> str:
    if side.export_root is None:
        return file
    try:
        return Path(file).resolve().relative_to(side.export_root.resolve()).as_posix()
    except ValueError:
        return file


# --- comparing ---------------------------------------------------------------------------------

def _entries(inv: Inventory) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    tables = (("organisation", inv.organisations), ("subject", inv.subjects), ("element", inv.elements),
              ("purpose", inv.purposes), ("system", inv.systems), ("flow", inv.flows))
    for kind, table in tables:
        for entry_id, entry in table.items():
            found[(kind, entry_id)] = entry.model_dump(mode="json", by_alias=True)
    for waiver in inv.waivers:
        found[("waiver", f"{waiver.rule}:{waiver.subject}")] = waiver.model_dump(mode="json", by_alias=True)
    return found


def _entry_order(key: tuple[str, str]) -> tuple[int, str]:
    return KINDS.index(key[0]), key[1]


def _party(org: Any) -> dict[str, str]:
    return {"id": org.id, "name": org.name, "country": org.country}


def _transfers(result: AuditResult) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for t in result.view.transfers():
        transfer = t.flow.transfer
        scc = transfer.scc if transfer is not None else None
        tia = transfer.tia if transfer is not None else None
        found[(t.flow.id, t.regime)] = {
            "flow": t.flow.id,
            "regime": t.regime,
            "exporter": _party(t.exporter),
            "importer": _party(t.importer),
            "origin_countries": sorted(t.origin_countries),
            "countries": list(t.destination_countries),
            "mechanism": _plain(t.mechanism),
            "scc_module": scc.module.value if scc is not None and scc.module is not None else None,
            "scc": ({"module": _plain(scc.module), "version": scc.version, "signed": _plain(scc.signed)}
                    if scc is not None else None),
            "tia": {"date": _plain(tia.date), "outcome": _plain(tia.outcome)} if tia is not None else None,
            "measures": list(transfer.measures) if transfer is not None else [],
            "first_hop": t.first_hop,
            "adequate": t.adequate,
            "elements": sorted(e.id for e in t.elements),
        }
    return found


def _plain(value: Any) -> Any:
    """An enum, a date, or a list of them, as the JSON report writes it."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)


# What makes a restricted transfer "changed": its parties, route, and what safeguards it
# (mechanism, SCC, TIA, supplementary measures).
_TRANSFER_FIELDS = ("exporter", "importer", "countries", "mechanism", "scc", "tia", "measures", "first_hop",
                    "adequate", "elements")
_EMPTY: tuple[Any, ...] = (None, [], {}, False, "")


def _changes(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...] | None = None,
             prefix: str = "") -> list[dict[str, Any]]:
    """Field-level changes, nested mappings followed down (`transfer.tia.date`). A mapping that
    appears or disappears as a whole lists its non-empty fields, not its defaults."""
    keys = fields if fields is not None else sorted(set(old) | set(new))
    found: list[dict[str, Any]] = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            found.extend(_changes(a, b, prefix=name + "."))
        elif (isinstance(a, dict) and b is None) or (a is None and isinstance(b, dict)):
            whole = _changes(a or {}, b or {}, prefix=name + ".")
            found.extend(c for c in whole if not (c["old"] in _EMPTY and c["new"] in _EMPTY))
        else:
            found.append({"field": name, "old": a, "new": b})
    return found


def compare(old: AuditResult, new: AuditResult, old_side: Side | None = None, new_side: Side | None = None
            ) -> dict[str, Any]:
    """The difference between two audited inventories, in the documented JSON shape."""
    from flowaudit import __version__

    before, after = _entries(old.inventory), _entries(new.inventory)
    added = [{"kind": k, "id": i} for k, i in sorted(after.keys() - before.keys(), key=_entry_order)]
    removed = [{"kind": k, "id": i} for k, i in sorted(before.keys() - after.keys(), key=_entry_order)]
    changed = []
    for key in sorted(before.keys() & after.keys(), key=_entry_order):
        diffs = _changes(before[key], after[key])
        if diffs:
            changed.append({"kind": key[0], "id": key[1], "fields": [d["field"] for d in diffs], "changes": diffs})

    t_old, t_new = _transfers(old), _transfers(new)
    t_added = [t_new[k] for k in sorted(t_new.keys() - t_old.keys())]
    t_removed = [t_old[k] for k in sorted(t_old.keys() - t_new.keys())]
    t_changed = []
    for key in sorted(t_old.keys() & t_new.keys()):
        diffs = _changes(t_old[key], t_new[key], _TRANSFER_FIELDS)
        if diffs:
            t_changed.append({**t_new[key], "fields": [d["field"] for d in diffs], "changes": diffs})

    f_old = {f.sort_key: f for f in old.findings}
    f_new = {f.sort_key: f for f in new.findings}
    f_added = [f_new[k].as_dict() for k in sorted(f_new.keys() - f_old.keys())]
    f_resolved = [f_old[k].as_dict() for k in sorted(f_old.keys() - f_new.keys())]
    f_changed = []
    for key in sorted(f_old.keys() & f_new.keys()):
        a, b = f_old[key], f_new[key]
        diffs = [{"field": name, "old": x, "new": y} for name, x, y in
                 (("severity", a.severity.value, b.severity.value), ("waived", a.waived, b.waived)) if x != y]
        if diffs:
            f_changed.append({**b.as_dict(), "fields": [d["field"] for d in diffs], "changes": diffs})
    by_severity = {s.value: 0 for s in Severity}
    for f in f_added:
        by_severity[f["severity"]] += 1

    return {
        "tool": "flowaudit",
        "version": __version__,
        "as_of": new.as_of.isoformat(),
        "old": old_side.as_dict() if old_side else None,
        "new": new_side.as_dict() if new_side else None,
        "summary": {
            "entries": {"added": len(added), "removed": len(removed), "changed": len(changed)},
            "transfers": {"added": len(t_added), "removed": len(t_removed), "changed": len(t_changed),
                          "old": len(t_old), "new": len(t_new)},
            "findings": {"new": len(f_added), "resolved": len(f_resolved), "changed": len(f_changed),
                         "new_by_severity": by_severity, "old": len(old.findings), "now": len(new.findings)},
        },
        "entries": {"added": added, "removed": removed, "changed": changed},
        "transfers": {"added": t_added, "removed": t_removed, "changed": t_changed},
        "findings": {"new": f_added, "resolved": f_resolved, "changed": f_changed},
    }


def new_failing(report: dict[str, Any], threshold: Severity) -> list[dict[str, Any]]:
    """New unwaived findings at or above `threshold` (what --fail-on counts)."""
    return [f for f in report["findings"]["new"] if not f["waived"] and Severity(f["severity"]).at_least(threshold)]


# --- rendering ---------------------------------------------------------------------------------

def _regime(regime: str) -> str:
    from flowaudit.audits.rulebook import default_rulebook

    return default_rulebook().regime_short_name(regime)


def _route(t: dict[str, Any]) -> str:
    e, i = t["exporter"], t["importer"]
    return f"{e['name']} ({e['country']}) → {i['name']} ({i['country']})"


def _value(value: Any, limit: int = 80) -> str:
    """A changed value as people read it: `2025-02-01`, `[a, b]`, `none`."""
    if value is None:
        return "none"
    if isinstance(value, list):
        text = "[" + ", ".join(_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {_value(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _change_line(change: dict[str, Any]) -> str:
    return f"{change['field']}: {_value(change['old'])} → {_value(change['new'])}"


def _change_text(changes: list[dict[str, Any]]) -> str:
    return "; ".join(_change_line(c) for c in changes)


def _where(f: dict[str, Any]) -> str:
    loc = f.get("location")
    if not loc:
        return ""
    return f"{loc['file']}:{loc['line']}" if loc.get("line") else loc["file"]


def _title(report: dict[str, Any]) -> str:
    old, new = report.get("old") or {}, report.get("new") or {}
    paths = {s.get("path") for s in (old, new) if s.get("kind") == "git"}
    within = f" [{', '.join(sorted(p for p in paths if p))}]" if paths else ""
    return f"{old.get('label', 'OLD')} → {new.get('label', 'NEW')}{within}"


def _markdown_title(report: dict[str, Any]) -> str:
    def side(info: dict[str, Any] | None, role: str) -> str:
        if not info:
            return role
        text = _code(info["spec"])
        return text + (f" ({info['commit'][:12]})" if info.get("commit") else "")

    old, new = report.get("old"), report.get("new")
    paths = sorted({s["path"] for s in (old, new) if s and s.get("kind") == "git" and s.get("path")})
    return f"{side(old, 'OLD')} → {side(new, 'NEW')}" + (f" in {', '.join(map(_code, paths))}" if paths else "")


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render_text(report: dict[str, Any]) -> str:
    s = report["summary"]
    lines = [f"flowaudit diff {_title(report)}, as of {report['as_of']}"]
    e = s["entries"]
    lines.append(f"Entries: {e['added']} added, {e['removed']} removed, {e['changed']} changed")
    for item in report["entries"]["added"]:
        lines.append(f"  + {item['kind']} {item['id']}")
    for item in report["entries"]["removed"]:
        lines.append(f"  - {item['kind']} {item['id']}")
    for item in report["entries"]["changed"]:
        lines.append(f"  ~ {item['kind']} {item['id']}:")
        lines.extend(f"      {_change_line(c)}" for c in item["changes"])
    t = s["transfers"]
    lines.append(f"Restricted transfers: {t['added']} added, {t['removed']} removed, {t['changed']} changed "
                 f"({t['old']} → {t['new']})")
    for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
        for item in report["transfers"][key]:
            line = (f"  {sign} flow {item['flow']} [{_regime(item['regime'])}] {_route(item)}, to "
                    f"{', '.join(item['countries'])}, mechanism {item['mechanism'] or 'none'}")
            lines.append(line + (":" if key == "changed" else ""))
            if key == "changed":
                lines.extend(f"      {_change_line(c)}" for c in item["changes"])
    f = s["findings"]
    severities = ", ".join(f"{n} {sev}" for sev, n in f["new_by_severity"].items() if n)
    lines.append(f"Findings: {f['new']} new{f' ({severities})' if severities else ''}, {f['resolved']} resolved, "
                 f"{f['changed']} changed ({f['old']} → {f['now']})")
    for sign, key in (("+", "new"), ("-", "resolved"), ("~", "changed")):
        for item in _by_severity(report["findings"][key]):
            where = _where(item)
            extra = f": {_change_text(item['changes'])}" if key == "changed" else ""
            waived = " (waived)" if item["waived"] else ""
            at = f"  [{where}]" if where else ""
            lines.append(f"  {sign} {item['severity'].upper()} {item['rule']} {item['subject']['kind']} "
                         f"{item['subject']['id']}{waived}: {item['message']}{extra}{at}")
    return "\n".join(lines) + "\n"


def _by_severity(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most severe first for people to read (the JSON keeps rule, subject order)."""
    return sorted(findings, key=lambda f: (-Severity(f["severity"]).rank, f["rule"], f["subject"]["id"]))


def _cell(value: Any) -> str:
    """Inventory text in a Markdown table cell: no HTML, no table breaks, no emphasis surprises."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    for char, escaped in (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"),
                          ("*", "\\*"), ("_", "\\_"), ("`", "\\`"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(char, escaped)
    return text


def _md_changes(changes: list[dict[str, Any]]) -> str:
    """Field-level changes in one table cell, one per line."""
    return "<br>".join(f"{_code(c['field'])}: {_cell(_value(c['old']))} → {_cell(_value(c['new']))}"
                       for c in changes)


def _code(ident: str) -> str:
    return f"`{ident.replace('`', '')}`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows[:MARKDOWN_ROWS]:
        out.append("| " + " | ".join(row) + " |")
    if len(rows) > MARKDOWN_ROWS:
        out.append(f"\n… and {len(rows) - MARKDOWN_ROWS} more (see `--format json`)")
    return out


def render_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    f, t, e = s["findings"], s["transfers"], s["entries"]
    out = [MARKER, f"## flowaudit: {_markdown_title(report)}", ""]
    severities = " ".join(f"{SEVERITY_EMOJI[sev]} {n} {sev}" for sev, n in f["new_by_severity"].items() if n)
    out.append(f"**{f['new']} new finding{'s' if f['new'] != 1 else ''}**" + (f" ({severities})" if severities else "")
               + f" · **{f['resolved']} resolved** · restricted transfers: {t['added']} added, {t['removed']} removed, "
               f"{t['changed']} changed · entries: {e['added']} added, {e['removed']} removed, {e['changed']} changed")
    if not any((f["new"], f["resolved"], f["changed"], t["added"], t["removed"], t["changed"],
                e["added"], e["removed"], e["changed"])):
        out += ["", "No change to the inventory's entries, transfers or findings."]

    def finding_rows(items: list[dict[str, Any]], changed: bool = False) -> list[list[str]]:
        rows = []
        for item in items:
            sev = item["severity"]
            label = f"{SEVERITY_EMOJI[sev]} {sev}" + (" (waived)" if item["waived"] else "")
            message = _cell(item["message"]) + (f" — {_cell(_change_text(item['changes']))}" if changed else "")
            rows.append([label, item["rule"], f"{item['subject']['kind']} {_code(item['subject']['id'])}", message,
                         _code(_where(item)) if _where(item) else "", _cell(item["remediation"])])
        return rows

    header = ["Severity", "Rule", "Subject", "Finding", "Where", "What to do"]
    for key, title, changed in (("new", "New findings", False), ("resolved", "Resolved findings", False),
                                ("changed", "Findings that changed", True)):
        items = _by_severity(report["findings"][key])
        if items:
            out += ["", f"### {title} ({len(items)})", "", *_table(header, finding_rows(items, changed))]

    rows = []
    for key, label in (("added", "➕ added"), ("removed", "➖ removed"), ("changed", "✏️ changed")):
        for item in report["transfers"][key]:
            mechanism = item["mechanism"] or "**none**"
            if item["scc_module"]:
                mechanism += f" ({item['scc_module']})"
            what = label + (f": {_md_changes(item['changes'])}" if key == "changed" else "")
            rows.append([what, _code(item["flow"]), _regime(item["regime"]), _cell(_route(item)),
                         ", ".join(item["countries"]), mechanism])
    if rows:
        out += ["", f"### Restricted transfers ({len(rows)})", ""]
        out += _table(["Change", "Flow", "Regime", "Exporter → importer", "Countries", "Mechanism"], rows)

    rows = []
    for key, label in (("added", "➕ added"), ("removed", "➖ removed"), ("changed", "✏️ changed")):
        for item in report["entries"][key]:
            fields = _md_changes(item["changes"]) if key == "changed" else ""
            rows.append([label, item["kind"], _code(item["id"]), fields])
    if rows:
        out += ["", f"### Inventory entries ({len(rows)})", "", *_table(["Change", "Kind", "Id", "Fields"], rows)]
    out += ["", f"<sub>flowaudit {report['version']} · law as of {report['as_of']}</sub>"]
    return "\n".join(out) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}


# --- the command -------------------------------------------------------------------------------

@click.command()
@click.argument("old")
@click.argument("new")
@click.option("--path", "subdir", metavar="SUBDIR",
              help="The inventory inside a git revision's tree, relative to the repository root "
                   "[default: the other side's path when it is in the repository, else the root].")
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True)
@click.option("--as-of", type=DATE, help="Audit both sides under the law as it stood on DATE (default today).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--fail-on", type=SEVERITY_CHOICE, default=None,
              help="Exit 1 when a NEW unwaived finding is at or above this severity [default: always exit 0].")
@guard
def diff(old: str, new: str, subdir: str | None, fmt: str, as_of: dt.date | None, output: Path | None,
         fail_on: str | None) -> None:
    """What changed from OLD to NEW: entries, restricted transfers, findings new and resolved.

    OLD and NEW are paths (a folder or a file) or, when no such path exists, git revisions
    (`flowaudit diff origin/main HEAD --path inventory/`). Exit 0; 2 when a side is not a
    valid inventory (the message names the side).
    """
    as_of = as_of or dt.date.today()
    with contextlib.ExitStack() as stack:
        try:
            old_side = resolve_side("OLD", old, subdir, new, stack)
            new_side = resolve_side("NEW", new, subdir, old, stack)
            old_result = audit_side(old_side, as_of)
            new_result = audit_side(new_side, as_of)
        except SideError as exc:
            for line in exc.lines:
                click.echo(line, err=True)
            sys.exit(2)
        report = compare(old_result, new_result, old_side, new_side)
    text = RENDERERS[fmt](report)
    if output:
        atomic_write(output, text)
    else:
        click.echo(text, nl=False)
    if fail_on and new_failing(report, Severity(fail_on)):
        sys.exit(1)
