"""`flowaudit register`: add an organisation, a flow, a system or an element to an inventory,
or change a flow in place, safely.

An engineer registers a new data flow from the command line; the entry is checked against the
whole inventory before anything is written, written atomically, and then audited:

    flowaudit register flow inventory/ --from crm --to us-analytics --elements email \\
        --purposes analytics --mechanism scc --scc-module c2p

How the entry is written
------------------------
- **Validated first.** Inside the lock the inventory is read afresh, the new entry is added to
  the target file's text in memory (`inventory.edit`: pure functions from text to text that
  keep every other byte, comments included), and that candidate goes through the real
  validation: the loader on the exact text that will be written (problems name the real file),
  then `inventory.validate.build_inventory`. An unknown id, a duplicate id or a bad enum value
  is refused (exit 2, with the validator's "did you mean") and the file is left byte-identical.
  An id taken by an entry of any kind is reported once, on the new entry.
- **No second copy of a flow.** A flow with the same from, to and elements as an existing one is
  refused with a hint; `--update` changes the existing one in place (its comments kept).
- **Atomic, and nobody else's edit lost.** The new text goes to a hidden temporary file beside
  the target (named with the writer's process id), fsynced, with the old file's owner, group
  and mode; a read-only file, or one whose owner cannot be kept, is refused. Just before
  `os.replace` the target must still hold the bytes that were read (and the other files their
  size and mtime): when someone saved the file meanwhile, the registration reads and validates
  again (three times at most, then refuses, exit 2). A killed writer leaves the old file whole;
  its leftover temporary file is removed by a later registration once its process is gone.
- **Serialised, through any path.** Two locks (`filelock`), keyed by the *resolved* path: one
  for the inventory (ids are unique across it, and the target is chosen by reading every file)
  and one for the target file (a folder, a symlink and the file itself reach the same one).
  They live in the git directory of the checkout, else in the user's cache directory, never in
  the inventory folder (`flowaudit.inventory_write`).

The target file
---------------
`--file F` (relative to the inventory folder, or a path inside it). Otherwise, for a one-file
inventory, that file. Otherwise a file that already holds entries of that kind: for a flow the
file holding the most flows from the same `from` (teams keep their own files: collection flows,
one team's systems), else the file holding the most flows; for a system or an element the file
holding the most of them (ties: first in the loader's order). Otherwise `organisations.yaml`,
`flows.yaml`, `systems.yaml` or `elements.yaml` in the inventory folder, created.

Test hook
---------
`FLOWAUDIT_TEST_PAUSE_BEFORE_REPLACE=SECONDS` makes the writer sleep after the temporary file is
fsynced and before the unchanged check and `os.replace`, with the locks held. Tests use it to
kill a registration in the middle of its write, or to edit the file meanwhile; it has no other use.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from flowaudit.audits import AuditResult, Finding, Severity, load_config
from flowaudit.cliutil import DATE, SEVERITY_CHOICE
from flowaudit.cliutil import guard as _guard
from flowaudit.cliutil import split_ids as _split
from flowaudit.inventory import FlowauditError, Inventory, InventoryError
from flowaudit.inventory.edit import append_entry, merged, update_entry
from flowaudit.inventory.errors import Problem
from flowaudit.inventory.loader import SourceFile, discover, place_in_inventory, read_file, read_files
from flowaudit.inventory.models import ID_PATTERN, Relation, SccModule, TiaOutcome
from flowaudit.audits.catalogue import check_config, check_waivers
from flowaudit.inventory.validate import build_inventory
from flowaudit.inventory_write import (
    ChangedMeanwhile,
    Stamp,
    check_replaceable,
    create_temporary,
    lock_file,
    locked,
    remove_dead_writers_temporaries,
    replace_file,
    stamp,
)

SECTION_OF_KIND = {"organisation": "organisations", "flow": "flows", "system": "systems", "element": "elements"}
KIND_OF_SECTION = {"organisations": "organisation", "subjects": "subject", "elements": "element",
                   "purposes": "purpose", "systems": "system", "flows": "flow"}
LOCK_TIMEOUT_SECONDS = 120.0
ATTEMPTS = 3  # reads and validations when someone else keeps changing the inventory meanwhile
PAUSE_ENV = "FLOWAUDIT_TEST_PAUSE_BEFORE_REPLACE"


# --- the library part: pick the file, splice the entry, validate, write ------------------------

@dataclass
class Registration:
    """What `register_entry` wrote, and the inventory before and after (for the audit)."""

    kind: str
    entry_id: str
    entry: dict[str, Any]  # as written (for an update: the whole entry after the change)
    file: Path
    display: str  # the file as the loader names it
    line: int  # 1-based line of the entry's first line
    created_file: bool
    inventory: Inventory  # the inventory as written, validated
    before: list[SourceFile] = field(default_factory=list)  # the files as they were, for a before-audit
    updated: bool = False  # an existing entry was changed in place

    def before_inventory(self) -> Inventory | None:
        """The inventory as it was, when it was valid (a registration may also repair one)."""
        try:
            return build_inventory(self.before)
        except InventoryError:
            return None


class DuplicateFlow(FlowauditError):
    """A flow with the same from, to and elements is already in the inventory."""

    def __init__(self, flow_id: str, where: str):
        self.flow_id, self.where = flow_id, where
        super().__init__(f"flow {flow_id!r} ({where}) already carries these elements between these two; "
                         f"to change it, add --update (or give the changes to `register flow --update --id "
                         f"{flow_id}`); for a second flow of its own, give it another --elements set")


def register_entry(path: str | Path, kind: str, entry: dict[str, Any], *, file: str | Path | None = None,
                   update: bool = False, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> Registration:
    """Add `entry` (an organisation, flow, system or element, as inventory YAML would have it) to
    the inventory at `path`, validated against the whole inventory, atomically, under the lock.

    A flow without an id gets `<from>-to-<to>`, made unique; a flow with the same from, to and
    elements as an existing one raises `DuplicateFlow`. With `update`, the existing entry (by id,
    or for a flow by from, to and elements) is changed in place instead: the keys of `entry`
    replace its keys (nested mappings such as `transfer` are merged). Raises `InventoryError`
    (the validator's problems) when the inventory would be invalid, and `FlowauditError` for
    anything else; in both cases nothing is written.
    """
    if kind not in SECTION_OF_KIND:
        raise FlowauditError(f"cannot register a {kind!r}; expected one of {', '.join(SECTION_OF_KIND)}")
    check_text(entry)
    root = Path(path)
    if not root.exists():
        raise FlowauditError(f"{root}: no such file or directory")
    changed: Path | None = None
    with locked(lock_file(root, "inventory"), lock_timeout):
        # Everything below reads the inventory afresh, inside the lock: a registration that
        # waited for another one sees its entry (no lost update, no duplicate id).
        for _ in range(ATTEMPTS):
            try:
                return _register_once(root, kind, entry, file, update, lock_timeout)
            except ChangedMeanwhile as exc:  # someone edited the inventory by hand meanwhile
                changed = exc.path
    raise FlowauditError(f"{_display(changed or root)} was changed by someone else while this registration "
                         f"validated it ({ATTEMPTS} times); nothing was written; try again")


def _register_once(root: Path, kind: str, entry: dict[str, Any], file: str | Path | None, update: bool,
                   lock_timeout: float) -> Registration:
    files = [root] if root.is_file() else _discover_or_empty(root)
    # Stamped before they are read: a replace that lands in between shows as a change below
    # (and the registration starts again), never as a stale id that the fresh file then refuses.
    before = {file: stamp(file) for file in files}
    sources = read_files(root, files)
    stamps = {s.path: before[s.path] for s in sources}
    section = SECTION_OF_KIND[kind]
    if update:
        holder, old_entry = _entry_to_update(sources, kind, entry, file)
        target, entry_id = holder.path, old_entry["id"]
        changes = {k: v for k, v in entry.items() if k != "id"}
    else:
        if kind == "flow":
            _refuse_duplicate_flow(sources, entry)
        target = _target_file(root, sources, kind, entry, file)
        entry = _with_id(kind, entry, sources)
        entry_id = entry["id"]
    existing = next((s for s in sources if _same(s.path, target)), None)
    display = existing.display if existing is not None else _display(target)
    real = Path(os.path.realpath(target))  # write through a symlink, don't replace it
    with locked(lock_file(real, "file"), lock_timeout):
        raw = real.read_bytes() if real.exists() else None
        if existing is not None and stamp(existing.path) != stamps[existing.path]:
            raise ChangedMeanwhile(real)
        text = _decode(raw or b"", display)
        if update:
            new_text, line = update_entry(text, section, entry_id, changes)
            entry = merged(old_entry, changes)
        else:
            new_text, line = append_entry(text, section, entry)
            _refuse_taken_id(sources, kind, entry_id, display, line)
        others = {s.path: stamps[s.path] for s in sources if s is not existing}
        inventory, candidate = _validated(root, sources, existing, target, display, new_text)
        _write(real, raw, new_text.encode("utf-8"), others, display)
    return Registration(kind, entry_id, entry, target, candidate.display, line, raw is None, inventory,
                        sources, updated=update)


def check_text(value: Any, where: str = "") -> None:
    """Refuse text that is not Unicode (bytes that were not UTF-8 on the command line arrive as
    lone surrogates and could not be written)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise FlowauditError(f"{where or 'value'}: {raw!r} is not valid UTF-8 text") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where)
            check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_text(item, f"{where}[{i}]")


def _decode(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FlowauditError(f"{display}: cannot edit: not valid UTF-8 (byte {exc.start})") from None


def _discover_or_empty(root: Path) -> list[Path]:
    try:
        return discover(root)
    except InventoryError:  # a folder with no YAML yet: the first registration creates a file
        return []


def _same(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _entries(source: SourceFile, section: str) -> list[Any]:
    value = source.document.get(section)
    return value if isinstance(value, list) else []


def _where(source: SourceFile, section: str, index: int) -> str:
    line = source.locate((section, index, "id"))[0]
    return f"{source.display}:{line}" if line else source.display


def _same_flow(a: dict[str, Any], b: dict[str, Any]) -> bool:
    elements_a, elements_b = a.get("elements"), b.get("elements")
    return (a.get("from") == b.get("from") and a.get("to") == b.get("to")
            and isinstance(elements_a, list) and isinstance(elements_b, list)
            and sorted(map(str, elements_a)) == sorted(map(str, elements_b)))


def _refuse_duplicate_flow(sources: list[SourceFile], entry: dict[str, Any]) -> None:
    for source in sources:
        for i, other in enumerate(_entries(source, "flows")):
            if isinstance(other, dict) and _same_flow(other, entry) and isinstance(other.get("id"), str):
                raise DuplicateFlow(other["id"], _where(source, "flows", i))


def _entry_to_update(sources: list[SourceFile], kind: str, entry: dict[str, Any],
                     file: str | Path | None) -> tuple[SourceFile, dict[str, Any]]:
    section = SECTION_OF_KIND[kind]
    found = []
    for source in sources:
        for other in _entries(source, section):
            if not isinstance(other, dict):
                continue
            if entry.get("id") is not None:
                hit = other.get("id") == entry["id"]
            else:
                hit = kind == "flow" and _same_flow(other, entry)
            if hit:
                found.append((source, other))
    if file is not None:
        raise FlowauditError("--update changes the entry where it is; --file does not go with it")
    if not found:
        what = (f"id {entry['id']!r}" if entry.get("id") is not None
                else f"from {entry.get('from')!r} to {entry.get('to')!r} with these elements")
        raise FlowauditError(f"--update: no {kind} with {what} to change; without --update it is added")
    if len(found) > 1:
        ids = ", ".join(repr(e.get("id")) for _, e in found)
        raise FlowauditError(f"--update: several flows match ({ids}); name the one to change with --id")
    return found[0]


def _refuse_taken_id(sources: list[SourceFile], kind: str, entry_id: str, display: str, line: int) -> None:
    """An id is unique across the inventory: say so once, on the new entry (the validator would
    blame whichever of the two it reads first, and then every reference to it)."""
    for source in sources:
        for section, other_kind in KIND_OF_SECTION.items():
            for i, other in enumerate(_entries(source, section)):
                if isinstance(other, dict) and other.get("id") == entry_id:
                    raise InventoryError([Problem(display, line, None, "id", (
                        f"{kind} {entry_id!r}: the id is already used by the {other_kind} at "
                        f"{_where(source, section, i)}; ids are unique across the inventory, choose another"))])


def _target_file(root: Path, sources: list[SourceFile], kind: str, entry: dict[str, Any],
                 file: str | Path | None) -> Path:
    if root.is_file():
        if file is not None and not _same(_resolve_file(root.parent, file), root):
            raise FlowauditError(f"--file {file}: the inventory {root} is a single file; register into it, "
                                 "or point PATH at the folder")
        return root
    if file is not None:
        return _checked_file_option(root, file)
    section = SECTION_OF_KIND[kind]
    holding = [s for s in sources if _entries(s, section)]
    if holding:
        if kind == "flow":
            same_from = {s.path: sum(1 for e in _entries(s, section)
                                     if isinstance(e, dict) and e.get("from") == entry.get("from"))
                         for s in holding}
            best = max(holding, key=lambda s: (same_from[s.path], len(_entries(s, section))))  # first wins ties
        else:
            best = max(holding, key=lambda s: len(_entries(s, section)))
        return best.path
    return root / f"{section}.yaml"


def _checked_file_option(root: Path, file: str | Path) -> Path:
    target = _resolve_file(root, file)
    inside = os.path.realpath(target).startswith(os.path.realpath(root) + os.sep)
    relative = Path(os.path.relpath(os.path.realpath(target), os.path.realpath(root)))
    if not inside:
        raise FlowauditError(f"--file {file}: not inside the inventory folder {root}, so the inventory "
                             "would not read it")
    if target.suffix.lower() not in (".yaml", ".yml"):
        raise FlowauditError(f"--file {file}: an inventory file ends in .yaml or .yml")
    if any(part.startswith(".") for part in relative.parts):
        raise FlowauditError(f"--file {file}: hidden files and folders are not read by the inventory")
    if target.exists() and not target.is_file():
        raise FlowauditError(f"--file {file}: not a file")
    return target


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


def _validated(root: Path, sources: list[SourceFile], existing: SourceFile | None, target: Path, display: str,
               new_text: str) -> tuple[Inventory, SourceFile]:
    """The real validation, through the loader, of the exact text that is about to be written;
    problems name the real file (its temporary twin is never shown)."""
    candidate, problems = parse_text(new_text, target, display)
    if candidate is None:
        raise InventoryError(problems)
    others = [s for s in sources if s is not existing]
    candidates = sorted([*others, candidate], key=lambda s: s.path) if root.is_dir() else [candidate]
    if existing is not None:
        candidate.relpath, candidate.root = existing.relpath, existing.root
    else:
        place_in_inventory(candidate, target, root)
    inventory = build_inventory(candidates)
    check_waivers(inventory)  # the audit that follows would refuse it after writing
    return inventory, candidate


def parse_text(text: str, path: Path, display: str) -> tuple[SourceFile | None, list[Problem]]:
    """What the loader makes of `text` as the file `path` (shown as `display`)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="flowaudit-register-") as folder:
        twin = Path(folder) / (path.name if path.suffix.lower() in (".yaml", ".yml") else "entry.yaml")
        twin.write_bytes(text.encode("utf-8"))
        source, problems = read_file(twin)
    problems = [Problem(display, p.line, p.col, p.field, p.message) for p in problems]
    if source is not None:
        source.path, source.display = path, display
    return source, problems


def _write(real: Path, raw: bytes | None, data: bytes, others: dict[Path, Stamp | None], display: str) -> None:
    """Replace `real` atomically, keeping owner, group and mode, unless someone changed it (or
    another inventory file) since it was read."""
    like = check_replaceable(real, display) if raw is not None else None
    real.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_writers_temporaries(real)
    tmp = create_temporary(real, data, like, display)
    pause = os.environ.get(PAUSE_ENV)
    if pause:  # test hook: see the module docstring
        time.sleep(float(pause))
    replace_file(tmp, real, raw, others)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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

EXIT_STATUS = """\b
Exit status:
  0  written; no finding concerning the entry at or above --fail-on
  1  written, and a finding concerning the entry is at or above --fail-on
     (the entry IS in the file: "written" is printed before the findings)
  2  refused: nothing was written"""

SCC_VERSION_ASSUMED = 2021  # the only SCCs with modules (Commission Implementing Decision (EU) 2021/914)


def _list_option(name: str, help_text: str, required: bool = False, metavar: str = "ID[,ID…]"):  # type: ignore[no-untyped-def]
    return click.option(name, multiple=True, required=required, metavar=metavar,
                        help=help_text + " Comma-separated or repeated.")


def _common(func):  # type: ignore[no-untyped-def]
    """Options every registration takes."""
    func = click.option("--fail-on", type=SEVERITY_CHOICE, default=None,
                        help="Exit 1 (after writing) when a finding concerning the entry is at or above this "
                             "severity [default: the config's fail_on, high].")(func)
    func = click.option("--as-of", type=DATE, help="Audit the law as it stood on DATE (default today).")(func)
    func = click.option("--notes", help="Free-text notes on the entry.")(func)
    func = click.option("--source", "source_text", metavar="TEXT",
                        help="Where the fact comes from (e.g. 'DPA with Acme, §4').")(func)
    func = click.option("--file", "target", metavar="FILE",
                        help="The inventory file to add it to (relative to the inventory folder). "
                             "Default: the file already holding such entries; see `register --help`.")(func)
    return func


@click.group(epilog=EXIT_STATUS)
def register() -> None:
    """Add an organisation, flow, system or element to the inventory at PATH.

    The entry is validated against the whole inventory before anything is written (exit 2 and
    nothing written when it is refused), appended to its section keeping every comment and line
    of the file, written atomically under a lock (kept in the git directory or the user's cache,
    never in the inventory folder), and audited: "written …" is printed, then the findings that
    concern the entry with what to do. Exit 1 then means the entry was written AND a finding
    concerning it is at or above --fail-on.

    The file: --file, else the file already holding entries of that kind (for a flow, the one
    holding the most flows from the same --from, else the most flows), else organisations.yaml,
    flows.yaml, systems.yaml or elements.yaml in the inventory folder.

    A flow with the same --from, --to and --elements as an existing one is refused;
    `register flow --update` changes the existing one in place.
    """


@register.command("flow", epilog=EXIT_STATUS)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--from", "from_", metavar="ID", help="Where the data comes from: a subject, system or organisation.")
@click.option("--to", metavar="ID", help="Where it goes: a system or organisation.")
@_list_option("--elements", "The personal-data elements it carries.")
@_list_option("--purposes", "The purposes it serves.")
@_list_option("--mechanism", "Transfer mechanism(s): scc, adequacy, bcr, idta, uk-addendum, derogation, …",
              metavar="NAME[,NAME…]")
@click.option("--scc-module", type=click.Choice([m.value for m in SccModule]),
              help="SCC module (implies --mechanism scc; --scc-version 2021 unless given).")
@click.option("--scc-version", type=click.Choice(["2021", "2010", "2004", "2001"]), metavar="YEAR",
              help="SCC version: 2021, 2010, 2004 or 2001.")
@click.option("--scc-signed", type=DATE, help="When the SCCs were signed (YYYY-MM-DD).")
@click.option("--tia-date", type=DATE, help="When the transfer impact assessment was done (YYYY-MM-DD).")
@click.option("--tia-outcome", type=click.Choice([o.value for o in TiaOutcome]), help="Its outcome.")
@_list_option("--measures", "Supplementary measures (encryption-in-transit, pseudonymisation, …).",
              metavar="NAME[,NAME…]")
@click.option("--frequency", metavar="F", help="continuous (default), periodic or occasional.")
@click.option("--volume", type=click.IntRange(min=0), help="Data subjects per year.")
@click.option("--id", "entry_id", metavar="ID", help="The flow's id [default: <from>-to-<to>, made unique]; "
              "with --update, the flow to change.")
@click.option("--update", is_flag=True, help="Change the existing flow (the one with --id, or with the same "
              "--from, --to and --elements) in place: the options given replace its values, the rest stays.")
@_common
@_guard
def register_flow(path: Path, from_: str | None, to: str | None, elements: tuple[str, ...],
                  purposes: tuple[str, ...], mechanism: tuple[str, ...], scc_module: str | None,
                  scc_version: str | None, scc_signed: dt.date | None, tia_date: dt.date | None,
                  tia_outcome: str | None, measures: tuple[str, ...], frequency: str | None, volume: int | None,
                  entry_id: str | None, update: bool, target: str | None, source_text: str | None,
                  notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    """Add a data flow (an edge from --from to --to), or change one with --update."""
    if not update:
        missing = [name for name, value in (("--from", from_), ("--to", to), ("--elements", elements),
                                            ("--purposes", purposes)) if not value]
        if missing:
            raise click.UsageError(f"missing {', '.join(missing)} (all four are needed to add a flow)")
    elif entry_id is None and not (from_ and to and elements):
        raise click.UsageError("--update needs the flow's --id, or its --from, --to and --elements")
    entry: dict[str, Any] = {"id": entry_id}
    for key, value in (("from", from_), ("to", to), ("elements", _split(elements)),
                       ("purposes", _split(purposes)), ("frequency", frequency), ("volume", volume)):
        if value is not None and value != []:
            entry[key] = value
    transfer = _transfer_block(_split(mechanism), scc_module, scc_version, scc_signed, tia_date, tia_outcome,
                               _split(measures))
    if transfer:
        entry["transfer"] = transfer
    _run(path, "flow", entry, target, source_text, notes, as_of, fail_on, update=update)


def _transfer_block(mechanisms: list[str], scc_module: str | None, scc_version: str | None,
                    scc_signed: dt.date | None, tia_date: dt.date | None, tia_outcome: str | None,
                    measures: list[str]) -> dict[str, Any]:
    version = int(scc_version) if scc_version is not None else None
    if scc_module is not None and version is None:
        version = SCC_VERSION_ASSUMED
        click.echo(f"note: --scc-module without --scc-version: assumed {SCC_VERSION_ASSUMED} (the only SCCs "
                   "with modules, Decision (EU) 2021/914); give --scc-version otherwise", err=True)
    scc: dict[str, Any] = {k: v for k, v in (("module", scc_module), ("version", version), ("signed", scc_signed))
                           if v is not None}
    if scc:
        if not mechanisms:
            mechanisms = ["scc"]
        elif not {"scc", "uk-addendum"} & set(mechanisms):
            raise click.UsageError(f"--scc-module/--scc-version/--scc-signed go with --mechanism scc or "
                                   f"uk-addendum, not {', '.join(mechanisms)}")
    transfer: dict[str, Any] = {}
    if mechanisms:
        transfer["mechanism"] = mechanisms[0] if len(mechanisms) == 1 else mechanisms
    if scc:
        transfer["scc"] = scc
    tia = {k: v for k, v in (("date", tia_date), ("outcome", tia_outcome)) if v is not None}
    if tia:
        transfer["tia"] = tia
    if measures:
        transfer["measures"] = measures
    return transfer


@register.command("organisation", epilog=EXIT_STATUS)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--id", "entry_id", required=True, metavar="ID", help="The organisation's id.")
@click.option("--name", required=True, help="Its legal name.")
@click.option("--country", required=True, metavar="CC", help="Where it is established (ISO 3166-1 alpha-2).")
@click.option("--relation", required=True, type=click.Choice([r.value for r in Relation]),
              help="What it is to you: processor, sub-processor, joint-controller, affiliate, partner, …")
@click.option("--contact", help="Privacy contact (address or e-mail).")
@click.option("--dpa-signed", type=DATE, help="When the Art. 28 data processing agreement was signed.")
@click.option("--arrangement-signed", type=DATE, help="When the Art. 26 joint-controller arrangement was signed.")
@_list_option("--subprocessors", "Its sub-processors (organisation ids).")
@_list_option("--certifications", "Certifications it holds (eu-us-dpf, uk-us-extension, …).", metavar="NAME[,NAME…]")
@click.option("--bcr-group", metavar="NAME", help="The binding corporate rules it is bound by.")
@click.option("--public-body", is_flag=True, default=None, help="It is a public authority or body.")
@_common
@_guard
def register_organisation(path: Path, entry_id: str, name: str, country: str, relation: str, contact: str | None,
                          dpa_signed: dt.date | None, arrangement_signed: dt.date | None,
                          subprocessors: tuple[str, ...], certifications: tuple[str, ...], bcr_group: str | None,
                          public_body: bool | None, target: str | None, source_text: str | None,
                          notes: str | None, as_of: dt.date | None, fail_on: str | None) -> None:
    """Add an organisation (a processor, partner, affiliate, authority, …)."""
    entry: dict[str, Any] = {"id": entry_id, "name": name, "country": country.upper(), "relation": relation}
    for key, value in (("contact", contact), ("dpa", dpa_signed and {"signed": dpa_signed}),
                       ("arrangement", arrangement_signed and {"signed": arrangement_signed}),
                       ("subprocessors", _split(subprocessors)), ("certifications", _split(certifications)),
                       ("bcr_group", bcr_group), ("public_body", public_body)):
        if value:
            entry[key] = value
    _run(path, "organisation", entry, target, source_text, notes, as_of, fail_on)


@register.command("system", epilog=EXIT_STATUS)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--id", "entry_id", required=True, metavar="ID", help="The system's id.")
@click.option("--name", required=True, help="Its name.")
@click.option("--operator", required=True, metavar="ORG", help="The organisation that operates it "
              "(add one with `register organisation`).")
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


@register.command("element", epilog=EXIT_STATUS)
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
         notes: str | None, as_of: dt.date | None, fail_on: str | None, *, update: bool = False) -> None:
    from flowaudit.api import audit

    if source_text:
        entry["source"] = source_text
    if notes:
        entry["notes"] = notes
    if entry.get("id") is None:
        entry.pop("id", None)
    config = load_config(path)  # before writing: a broken config refuses the registration
    check_config(config)
    try:
        registration = register_entry(path, kind, entry, file=target, update=update)
    except InventoryError as exc:
        _explain_refusal(path, kind, entry, exc)
        sys.exit(2)
    except FlowauditError as exc:
        raise FlowauditError(f"refused: {exc}") from None
    _print_written(registration)

    after = audit(registration.inventory, as_of, config=config)
    before_inventory = registration.before_inventory()
    before = audit(before_inventory, as_of, config=config) if before_inventory is not None else None
    concerns = findings_concerning(registration, after, before)
    threshold = Severity(fail_on) if fail_on else config.fail_on
    failing = [c for c in concerns if not c.finding.waived and c.finding.severity.at_least(threshold)]
    if not concerns:
        click.echo(f"No findings concern {kind} {registration.entry_id!r} (as of {after.as_of}).")
    else:
        one = len(concerns) == 1
        click.echo(f"{len(concerns)} finding{'' if one else 's'} concern{'s' if one else ''} "
                   f"{kind} {registration.entry_id!r} (as of {after.as_of}):")
        for concern in sorted(concerns, key=lambda c: (-c.finding.severity.rank, c.finding.sort_key)):
            _print_concern(concern)
    if failing:
        click.echo(f"\n{len(failing)} at or above {threshold.value}: exit 1 ({kind} {registration.entry_id!r} "
                   "is written; fix the findings or waive them)")
    sys.exit(1 if failing else 0)


def _print_written(registration: Registration) -> None:
    entry, kind = registration.entry, registration.kind
    verb = "updated" if registration.updated else "written"
    click.echo(f"{verb}: {registration.display}:{registration.line}: {kind} {registration.entry_id!r}"
               + (f" ({entry['from']} → {entry['to']})" if kind == "flow" else "")
               + (" (new file)" if registration.created_file else ""))


def _explain_refusal(path: Path, kind: str, entry: dict[str, Any], exc: InventoryError) -> None:
    from flowaudit.inventory import load_inventory

    try:
        load_inventory(path)
    except InventoryError:
        click.echo("refused: the inventory is invalid already; fix these problems first (or register "
                   "what it is missing):", err=True)
    else:
        click.echo(f"refused: with this {kind} the inventory would be invalid (lines are those the file "
                   "would have had):", err=True)
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    if kind == "system" and any(p.field == "operator" and "unknown" in p.message for p in exc.problems):
        click.echo(f"hint: add the organisation first: flowaudit register organisation {path} "
                   f"--id {entry['operator']} --name NAME --country CC --relation processor "
                   "(or affiliate, partner, …)", err=True)
    count = len(exc.problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''}; nothing was written", err=True)


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
