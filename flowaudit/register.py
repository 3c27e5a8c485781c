"""`flowaudit register`: add a flow, a system or an element to an inventory, safely.

An engineer registers a new data flow from the command line; the entry is checked against the
whole inventory before anything is written, written atomically, and then audited:

    flowaudit register flow inventory/ --from crm --to us-analytics --elements email \\
        --purposes analytics --mechanism scc --scc-module c2p

How the entry is written
------------------------
- **Validated first.** Inside the lock the inventory is read afresh, the new entry is appended
  to the target file's section in memory, and that candidate (every file, the target replaced
  by its new text) goes through the real validation: `inventory.loader.read_file` on the exact
  bytes that will be written, then `inventory.validate.build_inventory`. An unknown id, a
  duplicate id or a bad enum value is refused (exit 2, with the validator's "did you mean")
  and the file is left byte-identical.
- **Layout kept.** Only the new entry's text is inserted, after the last line of the section's
  list (or a new section is appended at the end of the file); every other byte of the file is
  kept, comments, key order, quoting and hand-wrapped lists included. A ruamel.yaml round trip
  would re-wrap flow lists such as `elements: [a, b,\\n c]` across the whole file, so ruamel is
  only the fallback for sections it cannot splice (a non-empty inline list `flows: [...]`).
  The result is parsed back and must equal the old document plus the new entry, or nothing is
  written.
- **Atomic.** The new text goes to a hidden temporary file in the same folder (the loader never
  reads hidden files), is flushed and fsynced, keeps the old file's permissions, replaces the
  file with `os.replace`, and the folder is fsynced. A process killed at any point leaves
  either the old file or the new one, never half of one; the next registration removes a
  killed writer's leftover temporary file.
- **Serialised.** One exclusive lock per inventory (`filelock`): `.flowaudit.lock` in an
  inventory folder, `.<file>.lock` beside a one-file inventory. Ids are unique across the
  whole inventory and the target file is chosen by reading every file, so registrations into
  different files of one inventory must not overlap either; a lock per target file would let
  two of them take the same id. Add `.flowaudit.lock` to `.gitignore`.

The target file
---------------
`--file F` (relative to the inventory folder, or a path inside it). Otherwise, for a one-file
inventory, that file. Otherwise a file that already holds entries of that kind: for a flow the
file holding the most flows from the same `from` (teams keep their own files: collection flows,
one team's systems), else the file holding the most flows; for a system or an element the file
holding the most of them (ties: first in the loader's order). Otherwise `flows.yaml`,
`systems.yaml` or `elements.yaml` in the inventory folder, created.

Test hook
---------
`FLOWAUDIT_TEST_PAUSE_BEFORE_REPLACE=SECONDS` makes the writer sleep after the temporary file is
fsynced and before `os.replace`, with the lock held. Tests use it to kill a registration in the
middle of its write; it has no other use.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import yaml

from flowaudit.audits import AuditResult, Finding, Severity, load_config
from flowaudit.cli import DATE, SEVERITY_CHOICE, _guard, _split
from flowaudit.inventory import FlowauditError, Inventory, InventoryError
from flowaudit.inventory.loader import SourceFile, discover, read_file, read_files
from flowaudit.inventory.models import ID_PATTERN
from flowaudit.inventory.validate import build_inventory

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

SECTION_OF_KIND = {"flow": "flows", "system": "systems", "element": "elements"}
LOCK_TIMEOUT_SECONDS = 120.0
PAUSE_ENV = "FLOWAUDIT_TEST_PAUSE_BEFORE_REPLACE"
WIDTH = 100  # wrap inline lists of the new entry like the hand-written ones


# --- the library part: pick the file, splice the entry, validate, write ------------------------

@dataclass
class Registration:
    """What `register_entry` wrote, and the inventory before and after (for the audit)."""

    kind: str
    entry_id: str
    entry: dict[str, Any]
    file: Path
    display: str  # the file as the loader names it
    line: int  # 1-based line of the new entry's first line
    created_file: bool
    inventory: Inventory  # the inventory as written, validated
    before: list[SourceFile] = field(default_factory=list)  # the files as they were, for a before-audit

    def before_inventory(self) -> Inventory | None:
        """The inventory as it was, when it was valid (a registration may also repair one)."""
        try:
            return build_inventory(self.before)
        except InventoryError:
            return None


def register_entry(path: str | Path, kind: str, entry: dict[str, Any], *, file: str | Path | None = None,
                   lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> Registration:
    """Append `entry` (a flow, system or element, as inventory YAML would have it) to the
    inventory at `path`, validated against the whole inventory, atomically, under the lock.

    A flow without an id gets `<from>-to-<to>`, made unique. Raises `InventoryError` (the
    validator's problems) when the inventory with the new entry would be invalid, and
    `FlowauditError` for anything else; in both cases nothing is written.
    """
    from filelock import FileLock, Timeout

    if kind not in SECTION_OF_KIND:
        raise FlowauditError(f"cannot register a {kind!r}; expected one of {', '.join(SECTION_OF_KIND)}")
    root = Path(path)
    if not root.exists():
        raise FlowauditError(f"{root}: no such file or directory")
    section = SECTION_OF_KIND[kind]
    lock_path = root / ".flowaudit.lock" if root.is_dir() else root.parent / f".{root.name}.lock"
    try:
        lock = FileLock(str(lock_path), timeout=lock_timeout)
        lock.acquire()
    except Timeout:
        raise FlowauditError(f"{lock_path}: another registration has held the lock for more than "
                             f"{lock_timeout:.0f} s; try again") from None
    except OSError as exc:
        raise FlowauditError(f"{lock_path}: cannot take the inventory lock: {exc.strerror or exc}") from None
    try:
        # Everything below reads the inventory afresh, inside the lock: a registration that
        # waited for another one sees its entry (no lost update, no duplicate id).
        sources = _read_sources(root)
        target = _target_file(root, sources, kind, entry, file)
        existing = next((s for s in sources if _same(s.path, target)), None)
        entry = _with_id(kind, entry, sources)
        raw = target.read_bytes() if target.exists() else b""
        new_bytes, line = splice(raw, section, entry)
        return _write_validated(root, sources, existing, target, new_bytes, line, kind, entry)
    finally:
        lock.release()


def _read_sources(root: Path) -> list[SourceFile]:
    """The inventory's files as they are now; a malformed one refuses the registration."""
    return read_files(root, [root] if root.is_file() else _discover_or_empty(root))


def _discover_or_empty(root: Path) -> list[Path]:
    try:
        return discover(root)
    except InventoryError:  # a folder with no YAML yet: the first registration creates a file
        return []


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _target_file(root: Path, sources: list[SourceFile], kind: str, entry: dict[str, Any],
                 file: str | Path | None) -> Path:
    if root.is_file():
        if file is not None and not _same(_resolve_file(root.parent, file), root):
            raise FlowauditError(f"--file {file}: the inventory {root} is a single file; register into it, "
                                 "or point PATH at the folder")
        return root
    if file is not None:
        target = _resolve_file(root, file)
        inside = os.path.realpath(target).startswith(os.path.realpath(root) + os.sep)
        relative = Path(os.path.relpath(os.path.realpath(target), os.path.realpath(root)))
        if not inside:
            raise FlowauditError(f"--file {file}: not inside the inventory folder {root}, so the inventory "
                                 "would not read it")
        if target.suffix not in (".yaml", ".yml"):
            raise FlowauditError(f"--file {file}: an inventory file ends in .yaml or .yml")
        if any(part.startswith(".") for part in relative.parts):
            raise FlowauditError(f"--file {file}: hidden files and folders are not read by the inventory")
        if target.exists() and not target.is_file():
            raise FlowauditError(f"--file {file}: not a file")
        return target
    section = SECTION_OF_KIND[kind]

    def entries(source: SourceFile) -> list[Any]:
        value = source.document.get(section)
        return value if isinstance(value, list) else []

    holding = [s for s in sources if entries(s)]
    if holding:
        if kind == "flow":
            same_from = {s.path: sum(1 for e in entries(s) if isinstance(e, dict) and e.get("from") == entry.get("from"))
                         for s in holding}
            best = max(holding, key=lambda s: (same_from[s.path], len(entries(s))))  # first wins ties
        else:
            best = max(holding, key=lambda s: len(entries(s)))
        return best.path
    return root / f"{section}.yaml"


def _resolve_file(root: Path, file: str | Path) -> Path:
    """--file: absolute, or a path that exists or lies inside the inventory folder as given
    from here, or else relative to the inventory folder."""
    given = Path(file)
    if given.is_absolute():
        return given
    here = Path.cwd() / given
    if here.exists() or os.path.realpath(here).startswith(os.path.realpath(root) + os.sep):
        return here
    return root / given


def _all_ids(sources: Iterable[SourceFile]) -> set[str]:
    ids: set[str] = set()
    for source in sources:
        for values in source.document.values():
            if isinstance(values, list):
                ids.update(e["id"] for e in values if isinstance(e, dict) and isinstance(e.get("id"), str))
    return ids


def _with_id(kind: str, entry: dict[str, Any], sources: list[SourceFile]) -> dict[str, Any]:
    if entry.get("id"):
        return entry
    if kind != "flow":
        raise FlowauditError(f"a {kind} needs --id")
    base = f"{entry.get('from')}-to-{entry.get('to')}"
    if not re.match(ID_PATTERN, base):
        base = re.sub(r"[^a-z0-9._-]+", "-", base.lower()).strip("-._") or "flow"
    taken = _all_ids(sources)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return {"id": candidate, **{k: v for k, v in entry.items() if k != "id"}}


def _write_validated(root: Path, sources: list[SourceFile], existing: SourceFile | None, target: Path,
                     new_bytes: bytes, line: int, kind: str, entry: dict[str, Any]) -> Registration:
    real = Path(os.path.realpath(target))  # write through a symlink, don't replace it
    existed = real.exists()
    real.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(real)
    fd, tmp_name = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_bytes)
            handle.flush()
            os.fsync(handle.fileno())
        mode = stat.S_IMODE(real.stat().st_mode) if existed else 0o666 & ~_umask()
        os.chmod(tmp, mode)

        # The real validation, on the exact bytes that are about to replace the file.
        candidate, problems = read_file(tmp)
        if candidate is None:
            raise InventoryError(problems)
        candidate.path = target
        candidate.display = existing.display if existing is not None else _display(target)
        others = [s for s in sources if s is not existing]
        candidates = sorted([*others, candidate], key=lambda s: s.path) if root.is_dir() else [candidate]
        inventory = build_inventory(candidates)

        pause = os.environ.get(PAUSE_ENV)
        if pause:  # test hook: see the module docstring
            time.sleep(float(pause))
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(real.parent)
    return Registration(kind, entry["id"], entry, target, candidate.display, line, not existed, inventory, sources)


def _remove_stale_temporaries(real: Path) -> None:
    """A writer killed before `os.replace` leaves its hidden temporary file; with the lock held,
    any such file is a leftover (the loader never reads it, but it need not stay)."""
    pattern = re.compile(rf"^\.{re.escape(real.name)}\.[A-Za-z0-9_]+\.tmp$")
    for leftover in real.parent.glob(f".{real.name}.*.tmp"):
        if pattern.match(leftover.name):
            leftover.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- splicing the entry into the file's text ----------------------------------------------------

def splice(raw: bytes, section: str, entry: dict[str, Any]) -> tuple[bytes, int]:
    """The file's new bytes with `entry` appended to `section`, and the 1-based line where the
    entry starts. Every other byte is kept; the result is checked by parsing it back."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowauditError(f"cannot edit: not valid UTF-8 (byte {exc.start})") from None
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom):]
    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        old_doc = yaml.load(text, Loader=_Loader) if text.strip() else None
    except yaml.YAMLError as exc:
        raise FlowauditError(f"cannot edit a file that is not valid YAML: {exc}") from None
    if old_doc is None:
        old_doc = {}
    if not isinstance(old_doc, dict):
        raise FlowauditError("cannot edit: the file is not a mapping of sections")
    current = old_doc.get(section)
    if current is not None and not isinstance(current, list):
        raise FlowauditError(f"cannot edit: {section} is not a list")
    expected = copy.deepcopy(old_doc)
    expected[section] = [*(current or []), _plain(entry)]

    attempts = []
    try:
        attempts.append(_splice_text(text, section, entry, newline))
    except _CannotSplice:
        pass
    for new_text, offset in attempts:
        if _parses_to(new_text, expected):
            return (bom + new_text).encode("utf-8"), new_text.count("\n", 0, offset) + 1
    # A section written inline (`flows: [...]`): ruamel round trip, which may re-wrap lines.
    new_text = _ruamel_append(text, section, entry)
    if _parses_to(new_text, expected):
        index = new_text.rfind(f"id: {_scalar(entry['id'])}")
        return (bom + new_text).encode("utf-8"), new_text.count("\n", 0, max(index, 0)) + 1
    raise FlowauditError("cannot append the entry to this file without changing the rest of it; "
                         "add it by hand, or use --file to register it into another file")


class _CannotSplice(Exception):
    pass


def _parses_to(text: str, expected: dict[str, Any]) -> bool:
    try:
        return yaml.load(text, Loader=_Loader) == expected
    except yaml.YAMLError:
        return False


def _plain(value: Any) -> Any:
    """The entry as PyYAML reads it back."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _splice_text(text: str, section: str, entry: dict[str, Any], newline: str) -> tuple[str, int]:
    """(new text, offset where the entry starts)."""
    try:
        root = yaml.compose(text, Loader=_Loader) if text.strip() else None
    except yaml.YAMLError:
        raise _CannotSplice from None
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise _CannotSplice
    pairs = root.value if root is not None else []
    dash_col, key_col = _layout(pairs)
    for key, value in pairs:
        if key.value != section:
            continue
        if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
            item = value.value[0]
            dash_col = value.start_mark.column
            key_col = item.start_mark.column if not getattr(item, "flow_style", False) else dash_col + 2
            if isinstance(item, yaml.MappingNode) and item.flow_style:
                key_col = dash_col + 2
            offset = _line_end_after(text, _content_end(value.value[-1]))
            block = _render_entry(entry, dash_col, key_col, newline)
            prefix = text[:offset]
            if offset == len(text) and not text.endswith(("\n", "\r")):
                prefix += newline
            return prefix + block + text[offset:], len(prefix)
        empty = (isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null") or (
            isinstance(value, yaml.SequenceNode) and not value.value)
        if not empty:
            raise _CannotSplice
        # `flows:`, `flows: ~` or `flows: []`: drop the empty value, put the list under the key
        colon = text.find(":", key.end_mark.index)
        line_end = _line_end_after(text, key.end_mark)
        start, end = value.start_mark.index, value.end_mark.index
        if end > start and not (colon < start and end <= line_end):
            raise _CannotSplice  # the empty value sits on a line of its own
        if end == start:  # `flows:` with nothing after it: keep the line as it is
            prefix = text[:line_end] if text[:line_end].endswith("\n") else text[:line_end] + newline
        else:  # drop the `~` or `[]`, keep the comment after it
            rest = (text[colon + 1:start] + text[end:line_end]).rstrip("\r\n")
            prefix = text[:colon + 1] + (rest if rest.strip() else "") + newline
        return prefix + _render_entry(entry, dash_col, key_col, newline) + text[line_end:], len(prefix)
    # no such section: add it at the end of the file
    prefix = text
    if prefix and not prefix.endswith(("\n", "\r")):
        prefix += newline
    if prefix.strip():
        prefix += newline
    prefix += f"{section}:{newline}"
    return prefix + _render_entry(entry, dash_col, key_col, newline), len(prefix)


def _layout(pairs: list[tuple[yaml.Node, yaml.Node]]) -> tuple[int, int]:
    """The columns of '-' and of the first key of list items elsewhere in the file (2, 4 by default)."""
    for _, value in pairs:
        if isinstance(value, yaml.SequenceNode) and value.value and not value.flow_style:
            item = value.value[0]
            dash = value.start_mark.column
            if isinstance(item, yaml.MappingNode) and not item.flow_style:
                return dash, item.start_mark.column
            return dash, dash + 2
    return 2, 4


def _content_end(node: yaml.Node) -> yaml.Mark:
    """Where the last character of a list item's content is. A block collection's own end mark
    lies past the comments that follow it, so descend to its last value; inline collections and
    scalars end where their text ends."""
    while True:
        if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
            key, value = node.value[-1]
            if isinstance(value, yaml.ScalarNode) and value.value == "" and value.tag.endswith(":null") \
                    and value.start_mark.index == value.end_mark.index:
                return key.end_mark  # `key:` with no value
            node = value
        elif isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
            node = node.value[-1]
        else:
            return node.end_mark


def _line_end_after(text: str, mark: yaml.Mark) -> int:
    """Offset just past the line break of the line holding `mark` (a block scalar ends at the
    start of the line after it: that line is not part of it)."""
    if mark.column == 0 and mark.index > 0:
        return mark.index
    newline = text.find("\n", mark.index)
    return len(text) if newline < 0 else newline + 1


def _render_entry(entry: dict[str, Any], dash_col: int, key_col: int, newline: str) -> str:
    """The entry as a block list item, inline lists and small mappings like the hand-written ones."""
    lines: list[str] = []

    def emit(mapping: dict[str, Any], indent: int, first: str | None) -> None:
        for i, (key, value) in enumerate(mapping.items()):
            lead = first if (i == 0 and first is not None) else " " * indent
            head = f"{lead}{_scalar(key)}:"
            if isinstance(value, dict):
                inline = _inline(value)
                if inline is not None and len(head) + 1 + len(inline) <= WIDTH:
                    lines.append(f"{head} {inline}")
                else:
                    lines.append(head)
                    emit(value, indent + 2, None)
            elif isinstance(value, (list, tuple)):
                lines.extend(_wrap_list(head + " ", [_scalar(v) for v in value]))
            else:
                lines.append(f"{head} {_scalar(value)}")

    emit(entry, key_col, " " * dash_col + "-" + " " * max(1, key_col - dash_col - 1))
    return "".join(line + newline for line in lines)


def _inline(mapping: dict[str, Any]) -> str | None:
    parts = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            return None
        if isinstance(value, (list, tuple)):
            parts.append(f"{_scalar(key)}: [{', '.join(_scalar(v) for v in value)}]")
        else:
            parts.append(f"{_scalar(key)}: {_scalar(value)}")
    return "{" + ", ".join(parts) + "}"


def _wrap_list(head: str, items: list[str]) -> list[str]:
    if not items:
        return [head + "[]"]
    lines, current = [], head + "[" + items[0]
    hang = " " * (len(head) + 1)
    for item in items[1:]:
        if len(current) + 2 + len(item) + 1 > WIDTH and current.strip() not in ("", "["):
            lines.append(current + ",")
            current = hang + item
        else:
            current += ", " + item
    lines.append(current + "]")
    return lines


def _scalar(value: Any) -> str:
    """A scalar as YAML 1.1 (PyYAML) reads it back, quoted where needed, valid inside [...]."""
    if isinstance(value, str) and (any(c in value for c in "\n\r\t") or not value.isprintable()):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    if isinstance(value, dt.date):
        return value.isoformat()
    dumped = yaml.safe_dump([value], default_flow_style=True, width=1 << 30, allow_unicode=True).strip()[1:-1]
    if isinstance(value, str) and not _reads_back(dumped, value):
        return json.dumps(value, ensure_ascii=False)
    return dumped


def _reads_back(text: str, value: str) -> bool:
    """The loader may read with ryaml (YAML 1.2) as well as PyYAML (1.1): `0o17` is a number
    to the one and a string to the other. Quote whatever either would not read as `value`."""
    try:
        import ryaml
    except ImportError:
        return True
    try:
        return ryaml.loads(f"[{text}]") == [value]
    except Exception:  # noqa: BLE001 - ryaml raises its own error types; any of them means "quote it"
        return False


def _ruamel_append(text: str, section: str, entry: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML

    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 4096
    yml.indent(mapping=2, sequence=4, offset=2)
    doc = yml.load(text) if text.strip() else None
    if doc is None:
        doc = yml.load("{}")
    # the entry as the splice would write it, so its quoting is YAML 1.1 safe
    item = yml.load(_render_entry(entry, 0, 2, "\n"))[0]
    if doc.get(section) is None:
        doc[section] = yml.load("[]")
        doc[section].fa.set_block_style()
    doc[section].fa.set_block_style()
    doc[section].append(item)
    out = io.StringIO()
    yml.dump(doc, out)
    return out.getvalue()


# --- which findings concern the new entry ------------------------------------------------------

@dataclass
class Concern:
    finding: Finding
    new: bool  # the registration made it appear


def findings_concerning(registration: Registration, after: AuditResult, before: AuditResult | None) -> list[Concern]:
    """Findings on the new entry, findings the registration made appear (on the organisations,
    elements, purposes it touches), and findings whose message or details name it."""
    new_id = registration.entry_id
    old = {(f.rule, f.subject_id) for f in before.findings} if before is not None else None
    token = re.compile(rf"(?<![a-z0-9._-]){re.escape(new_id)}(?![a-z0-9_-]|\.[a-z0-9])")
    found = []
    for f in after.findings:
        appeared = old is not None and (f.rule, f.subject_id) not in old
        if f.subject_id == new_id or appeared or token.search(f.message) or _names(f.details, new_id):
            found.append(Concern(f, appeared or (old is None and f.subject_id == new_id)))
    return found


def _names(value: Any, ident: str) -> bool:
    if isinstance(value, str):
        return value == ident
    if isinstance(value, dict):
        return any(_names(v, ident) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_names(v, ident) for v in value)
    return False


# --- the commands ------------------------------------------------------------------------------

_SEVERITY_STYLE: dict[str, dict[str, Any]] = {  # keyword arguments of click.style
    "critical": {"fg": "white", "bg": "red", "bold": True}, "high": {"fg": "red", "bold": True},
    "medium": {"fg": "yellow"}, "low": {"fg": "cyan"}, "info": {"dim": True}}


def _list_option(name: str, help_text: str, required: bool = False):  # type: ignore[no-untyped-def]
    return click.option(name, multiple=True, required=required, metavar="ID[,ID…]",
                        help=help_text + " Comma-separated or repeated.")


def _common(func):  # type: ignore[no-untyped-def]
    """Options every registration takes."""
    func = click.option("--fail-on", type=SEVERITY_CHOICE, default=None,
                        help="Exit 1 when a finding concerning the new entry is at or above this severity "
                             "[default: the config's fail_on, high].")(func)
    func = click.option("--as-of", type=DATE, help="Audit the law as it stood on DATE (default today).")(func)
    func = click.option("--notes", help="Free-text notes on the entry.")(func)
    func = click.option("--source", "source_text", metavar="TEXT",
                        help="Where the fact comes from (e.g. 'DPA with Acme, §4').")(func)
    func = click.option("--file", "target", metavar="FILE",
                        help="The inventory file to add it to (relative to the inventory folder). "
                             "Default: the file already holding such entries; see `register --help`.")(func)
    return func


@click.group()
def register() -> None:
    """Add a flow, system or element to the inventory at PATH.

    The entry is validated against the whole inventory before anything is written (exit 2 and
    nothing written when it is refused), appended to its section keeping every comment and line
    of the file, written atomically under a lock (.flowaudit.lock in the inventory folder), and
    audited: the findings that concern it are printed with what to do (exit 1 when one is at or
    above --fail-on, else 0).

    The file: --file, else the file already holding entries of that kind (for a flow, the one
    holding the most flows from the same --from, else the most flows), else flows.yaml,
    systems.yaml or elements.yaml in the inventory folder.
    """


@register.command("flow")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--from", "from_", required=True, metavar="ID", help="Where the data comes from: a subject, system or organisation.")
@click.option("--to", required=True, metavar="ID", help="Where it goes: a system or organisation.")
@_list_option("--elements", "The personal-data elements it carries.", required=True)
@_list_option("--purposes", "The purposes it serves.", required=True)
@click.option("--mechanism", metavar="NAME", help="Transfer mechanism (scc, adequacy, bcr, idta, …).")
@click.option("--scc-module", metavar="MODULE", help="SCC module: c2c, c2p, p2p or p2c (implies --mechanism scc).")
@click.option("--scc-version", type=int, metavar="YEAR", help="SCC version: 2021, 2010, 2004 or 2001.")
@click.option("--frequency", metavar="F", help="continuous (default), periodic or occasional.")
@click.option("--volume", type=click.IntRange(min=0), help="Data subjects per year.")
@click.option("--id", "entry_id", metavar="ID", help="The flow's id [default: <from>-to-<to>, made unique].")
@_common
@_guard
def register_flow(path: Path, from_: str, to: str, elements: tuple[str, ...], purposes: tuple[str, ...],
                  mechanism: str | None, scc_module: str | None, scc_version: int | None, frequency: str | None,
                  volume: int | None, entry_id: str | None, target: str | None, source_text: str | None,
                  notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    """Add a data flow (an edge from --from to --to)."""
    entry: dict[str, Any] = {"id": entry_id, "from": from_, "to": to, "elements": _split(elements),
                             "purposes": _split(purposes)}
    if frequency is not None:
        entry["frequency"] = frequency
    if volume is not None:
        entry["volume"] = volume
    if scc_module is not None or scc_version is not None:
        if mechanism is None:
            mechanism = "scc"
        elif mechanism not in ("scc", "uk-addendum"):
            raise click.UsageError(f"--scc-module/--scc-version go with --mechanism scc, not {mechanism!r}")
    if mechanism is not None:
        transfer: dict[str, Any] = {"mechanism": mechanism}
        scc = {k: v for k, v in (("module", scc_module), ("version", scc_version)) if v is not None}
        if scc:
            transfer["scc"] = scc
        entry["transfer"] = transfer
    _run(path, "flow", entry, target, source_text, notes, as_of, fail_on)


@register.command("system")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--id", "entry_id", required=True, metavar="ID", help="The system's id.")
@click.option("--name", required=True, help="Its name.")
@click.option("--operator", required=True, metavar="ORG", help="The organisation that operates it.")
@_list_option("--locations", "Countries where data is stored or processed (ISO 3166-1 alpha-2) "
              "[default: the operator's country].")
@_list_option("--elements", "The elements it stores.")
@_list_option("--security", "Security measures (tls, encryption-at-rest, password-hashing, …).")
@_common
@_guard
def register_system(path: Path, entry_id: str, name: str, operator: str, locations: tuple[str, ...],
                    elements: tuple[str, ...], security: tuple[str, ...], target: str | None,
                    source_text: str | None, notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    """Add a system (where personal data is stored or processed)."""
    entry: dict[str, Any] = {"id": entry_id, "name": name, "operator": operator}
    for key, values in (("locations", locations), ("elements", elements), ("security", security)):
        if values:
            entry[key] = _split(values)
    _run(path, "system", entry, target, source_text, notes, as_of, fail_on)


@register.command("element")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--id", "entry_id", required=True, metavar="ID", help="The element's id.")
@click.option("--name", required=True, help="Its name.")
@click.option("--category", required=True, metavar="CATEGORY",
              help="identity, contact, account, credentials, online-identifier, device, location, behavioural, "
                   "content, demographic, professional, financial, criminal, special:health, …")
@_list_option("--subjects", "The data-subject categories it is about.")
@click.option("--identifier", metavar="KIND", help="direct, quasi or none [default: from the category].")
@click.option("--state", metavar="STATE", help="identified (default), pseudonymised or anonymised.")
@_common
@_guard
def register_element(path: Path, entry_id: str, name: str, category: str, subjects: tuple[str, ...],
                     identifier: str | None, state: str | None, target: str | None, source_text: str | None,
                     notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    """Add a personal-data element."""
    entry: dict[str, Any] = {"id": entry_id, "name": name, "category": category}
    if subjects:
        entry["subjects"] = _split(subjects)
    if identifier is not None:
        entry["identifier"] = identifier
    if state is not None:
        entry["state"] = state
    _run(path, "element", entry, target, source_text, notes, as_of, fail_on)


def _run(path: Path, kind: str, entry: dict[str, Any], target: str | None, source_text: str | None,
         notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    from flowaudit.api import audit

    if source_text:
        entry["source"] = source_text
    if notes:
        entry["notes"] = notes
    if entry.get("id") is None:
        entry.pop("id", None)
    config = load_config(path)  # before writing: a broken config refuses the registration
    try:
        registration = register_entry(path, kind, entry, file=target)
    except InventoryError:
        from flowaudit.inventory import load_inventory

        try:
            load_inventory(path)
        except InventoryError:
            click.echo("refused: the inventory is invalid already; fix these problems first (or register "
                       "what it is missing):", err=True)
        else:
            click.echo(f"refused: with this {kind} the inventory would be invalid (lines are those the file "
                       "would have had):", err=True)
        raise
    click.echo(f"wrote {registration.display}:{registration.line}: {kind} {registration.entry_id!r}"
               + (f" ({entry['from']} → {entry['to']})" if kind == "flow" else "")
               + (" (new file)" if registration.created_file else ""))

    after = audit(registration.inventory, as_of, config=config)
    before_inventory = registration.before_inventory()
    before = audit(before_inventory, as_of, config=config) if before_inventory is not None else None
    concerns = findings_concerning(registration, after, before)
    threshold = Severity(fail_on) if fail_on else config.fail_on
    failing = [c for c in concerns if not c.finding.waived and c.finding.severity.at_least(threshold)]
    if not concerns:
        click.echo(f"No findings concern {kind} {registration.entry_id!r} (as of {after.as_of}).")
    else:
        click.echo(f"{len(concerns)} finding{'s' if len(concerns) != 1 else ''} concern{'s' if len(concerns) == 1 else ''} "
                   f"{kind} {registration.entry_id!r} (as of {after.as_of}):")
        for concern in sorted(concerns, key=lambda c: (-c.finding.severity.rank, c.finding.sort_key)):
            _print_concern(concern)
    if failing:
        click.echo(f"{len(failing)} at or above {threshold.value}: exit 1")
    sys.exit(1 if failing else 0)


def _print_concern(concern: Concern) -> None:
    f = concern.finding
    label = click.style(f" {f.severity.value.upper()} ", **_SEVERITY_STYLE[f.severity.value])
    status = " (waived)" if f.waived else ""
    newly = " [new]" if concern.new else ""
    click.echo(f"\n{label} {f.rule} {f.subject_kind} {f.subject_id}{newly}{status}: {f.message}")
    if f.location is not None:
        click.echo(f"    where: {f.location[0]}:{f.location[1]}")
    click.echo(f"    law:   {'; '.join(f.legal)}")
    click.echo(f"    to do: {f.remediation}")
    module = f.details.get("scc_module") or (f.details.get("expected") if f.rule == "TRF-003" else None)
    if isinstance(module, list):
        module = ", ".join(str(m) for m in module)
    if module and f.rule in ("TRF-001", "TRF-003", "TRF-007"):
        click.echo(f"    SCC module for these roles: {module}; in the flow:")
        click.echo(f"      transfer: {{mechanism: scc, scc: {{module: {module}, version: 2021}}}}")
    if f.waived and f.waiver is not None:
        click.echo(f"    waived until {f.waiver.expires} ({f.waiver.reason}, approved by {f.waiver.approved_by})")
