"""Reading inventory files: one YAML file or every *.yaml/*.yml below a directory.

Speed matters (SPEC §7): documents are read with PyYAML's C loader and no per-node line
bookkeeping. Lines are looked up lazily, only for entries that something reports: a regular
expression finds `id:` lines for findings, and a composed node tree (with marks) locates the
exact field of a validation error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InventoryError, Problem

try:  # PyYAML built with libyaml
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python fallback
    _Loader = yaml.SafeLoader

# The fast path: ryaml (Rust, YAML 1.2) parses about six times faster than PyYAML's C loader,
# whose Python-side composition dominates loading. Files that use anchors, aliases or tags,
# and files ryaml rejects, go through PyYAML, which also gives every error its line and column.
# FLOWAUDIT_YAML=pyyaml forces PyYAML throughout (the benchmark uses it for comparison).
try:
    import ryaml as _ryaml
except ImportError:  # pragma: no cover - optional speed-up
    _ryaml = None
if os.environ.get("FLOWAUDIT_YAML", "").lower() == "pyyaml":
    _ryaml = None
_NEEDS_PYYAML = re.compile(r"[&*]|(?:^|[\s,\[{:-])!", re.M)
_RYAML_AT = re.compile(r"at line (\d+) column (\d+)")

MAX_FILE_BYTES = 256 * 1024 * 1024
_ID_LINE = re.compile(r"""(?:^|[{,\s-])id:\s*["']?([a-z0-9][a-z0-9._-]*)["']?\s*(?:[,}#]|$)""", re.M)


@dataclass
class SourceFile:
    """One inventory file, its parsed document and what is needed to locate things in it."""

    path: Path
    display: str
    text: str
    document: dict[str, Any] = field(default_factory=dict)
    _root: yaml.Node | None = None
    _id_lines: dict[str, int] | None = None

    def root(self) -> yaml.Node | None:
        if self._root is None:
            try:
                self._root = yaml.compose(self.text, Loader=_Loader)
            except yaml.YAMLError:
                return None
        return self._root

    def locate(self, path: tuple[Any, ...]) -> tuple[int | None, int | None]:
        """1-based (line, column) of `path` (section, index, field, ...) in this file.

        Falls back to the closest enclosing node that exists (a missing field points at
        its entry). For the last key of the path, the key itself is pointed at.
        """
        node = self.root()
        if node is None:
            return None, None
        mark = node.start_mark
        for step in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == step:
                        mark, node = key.start_mark, value
                        break
                else:
                    break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1

    def id_line(self, entry_id: str) -> int | None:
        """Line of the `id:` key of an entry, found by a text scan (cheap, done once per file)."""
        if self._id_lines is None:
            lines: dict[str, int] = {}
            text, line, last = self.text, 1, 0
            for m in _ID_LINE.finditer(text):
                line += text.count("\n", last, m.start(1))
                last = m.start(1)
                lines.setdefault(m.group(1), line)
            self._id_lines = lines
        return self._id_lines.get(entry_id)


def discover(path: Path) -> list[Path]:
    """The inventory files at `path`, in a stable order."""
    if not path.exists():
        raise InventoryError([Problem(str(path), None, None, "", "no such file or directory")])
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise InventoryError([Problem(str(path), None, None, "", "no *.yaml or *.yml files in this directory")])
    return files


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _line_col_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return line, col


def _aliases(root: yaml.Node) -> yaml.Node | None:
    """The first node reached twice (an alias), walking each node once: linear even for a bomb."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return node
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def read_file(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    """Parse one file. Anchors and aliases are refused: they make YAML bombs possible and
    an inventory is clearer without them."""
    display = _display(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(display, None, None, "", f"file is {size // 2**20} MiB; the limit is "
                                  f"{MAX_FILE_BYTES // 2**20} MiB: split it into several files")]
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(display, None, None, "", f"cannot read: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(data, exc.start)
        return None, [Problem(display, line, col, "", f"not valid UTF-8 (byte 0x{data[exc.start]:02x})")]
    if text.startswith("\ufeff"):
        text = text[1:]
    source = SourceFile(path, display, text)
    if _ryaml is not None and not _NEEDS_PYYAML.search(text):
        try:
            document = _ryaml.loads(text)
        except Exception as exc:  # ryaml's own error types; PyYAML below locates the problem
            fast_error: Exception | None = exc
        else:
            fast_error = None
        if fast_error is None:
            return _as_source(source, document)
    else:
        fast_error = None
    try:
        if "&" in text or "*" in text:
            root = yaml.compose(text, Loader=_Loader)
            source._root = root
            if root is not None:
                alias = _aliases(root)
                if alias is not None:
                    m = alias.start_mark
                    return None, [Problem(display, m.line + 1, m.column + 1, "",
                                          "YAML anchors and aliases (&name, *name, <<) are not allowed in an "
                                          "inventory; write the values out")]
                document = _Loader(text).construct_document(root)
            else:
                document = None
        else:
            document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        message = " ".join(x for x in (exc.context, exc.problem) if x) or "malformed YAML"
        if m is None:
            return None, [Problem(display, None, None, "", message)]
        return None, [Problem(display, m.line + 1, m.column + 1, "", f"malformed YAML: {message}")]
    except yaml.YAMLError as exc:
        return None, [Problem(display, None, None, "", f"malformed YAML: {exc}")]
    except RecursionError:
        return None, [Problem(display, None, None, "", "malformed YAML: nested too deeply")]
    if fast_error is not None:
        # PyYAML accepts what ryaml refused (e.g. a key given twice in one mapping)
        found = _RYAML_AT.search(str(fast_error))
        line, col = (int(found.group(1)), int(found.group(2))) if found else (None, None)
        message = _RYAML_AT.sub("", str(fast_error).split("\n")[0]).strip().rstrip(",")
        return None, [Problem(display, line, col, "", f"malformed YAML: {message}")]
    return _as_source(source, document)


def _as_source(source: SourceFile, document: Any) -> tuple[SourceFile | None, list[Problem]]:
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return None, [Problem(source.display, 1, 1, "", "expected a mapping of sections (organisations, subjects, "
                              f"elements, purposes, systems, flows, waivers), found a {_type_name(document)}")]
    source.document = document
    return source, []


def _type_name(value: object) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(value), type(value).__name__)


def read_files(path: Path) -> list[SourceFile]:
    """Parse every inventory file at `path`; all problems are collected before raising."""
    problems: list[Problem] = []
    sources: list[SourceFile] = []
    for file in discover(path):
        source, found = read_file(file)
        problems.extend(found)
        if source is not None:
            sources.append(source)
    if problems:
        raise InventoryError(problems)
    return sources
