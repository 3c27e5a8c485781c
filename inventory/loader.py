"""Reading inventory files: one YAML file or every *.yaml/*.yml below a directory.

Speed matters (SPEC §7): documents are read with PyYAML's C loader and no per-node line
bookkeeping, a block-style file (most inventories) by a line reader first (`blockread`). Lines
are looked up lazily, only for entries that something reports: a regular expression finds `id:`
lines for findings, and a composed node tree (with marks) locates the exact field of a
validation error.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import yaml

from .cache import Cache
from .errors import FlowauditError, InventoryError, Problem
from .blockread import ID_LINE, IdLines, id_key_after, make_line_reader
from .fastload import TooDeep, Unsupported, make_reader

try:  # PyYAML built with libyaml
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python fallback
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader, strict where an inventory needs it and lenient where the model
    check says it better: a key given twice in one mapping is an error (YAML requires unique
    keys; PyYAML would keep the last silently, as ryaml does not), and a scalar that looks like
    a date, number or boolean but is not one (`2023-13-45`, `!!int many`) stays a string, so
    that the model reports it against its field instead of the constructor failing unlocated."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if len(mapping) != len(node.value):  # O(1) on the normal path
            self._duplicate_key(node)
        return mapping

    def _duplicate_key(self, node: yaml.MappingNode) -> None:
        first: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node)
            try:
                earlier = first.setdefault(key, key_node)
            except TypeError:  # unhashable: the base class has said so already
                continue
            if earlier is not key_node:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in this mapping (first on line "
                    f"{earlier.start_mark.line + 1}); keep one", key_node.start_mark)

    def _lenient(name: str):  # type: ignore[no-untyped-def]  # a helper of the class body, deleted below
        strict = getattr(_BaseLoader, name)

        def construct(self, node):  # type: ignore[no-untyped-def]
            try:
                return strict(self, node)
            except (ValueError, KeyError, AttributeError, OverflowError):
                return self.construct_scalar(node)

        return construct

    construct_yaml_timestamp = _lenient("construct_yaml_timestamp")
    construct_yaml_float = _lenient("construct_yaml_float")
    construct_yaml_bool = _lenient("construct_yaml_bool")
    del _lenient


for _kind in ("timestamp", "float", "bool"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_kind}", getattr(_Loader, f"construct_yaml_{_kind}"))

# Read as YAML 1.2 reads, like the ryaml fast path: only true/false are booleans (YAML 1.1 also
# reads yes, no, on, off, so `country: NO` would be false) and dates stay strings (the models
# parse them). The meaning of a file never depends on which parser read it.
# Numbers likewise: 1e3 and 0o17 are numbers, 007, 1_000, 1:20 stay strings, and YAML 1.1's
# `=` (value) and `<<` (merge; aliases are refused anyway) are plain strings, as ryaml reads them.
_BOOL, _TIMESTAMP = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"
_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_YAML_11_ONLY = (_BOOL, _TIMESTAMP, _INT, _FLOAT, "tag:yaml.org,2002:value", "tag:yaml.org,2002:merge")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML_11_ONLY]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(
    r"^[-+]?(?:0|[1-9][0-9]*|0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(_FLOAT, re.compile(
    r"^(?:[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))


# The integers every reader holds: ryaml (the optional fast reader) reads a wider literal as text
# (hex) or refuses the file (decimal), so PyYAML, the reference, keeps it as text too and the model
# reports it against its field ("expected a whole number").
_INT_RANGE = range(-(2**63), 2**64)


def _construct_int(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> int | str:
    text = loader.construct_scalar(node)
    try:
        value = int(text, 0)  # 0x.., 0o.., 0b.. as YAML 1.2 writes them
    except ValueError:  # an explicit `!!int many`: the model reports it against its field
        return text
    return value if value in _INT_RANGE else text


_Loader.add_constructor(_INT, _construct_int)


def _construct_float(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> float | str:
    """A float as YAML 1.2 reads it; a literal too large for a double (`1e400`) stays a string,
    as ryaml reads it, so the file means the same whichever reader takes it (and the model
    reports it against its field rather than silently reading infinity)."""
    text = loader.construct_scalar(node)
    try:
        value = float(text.replace("_", "")) if not text.lstrip("+-").startswith(".") else \
            yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)
    except ValueError:
        return text
    if value in (float("inf"), float("-inf")) and "inf" not in text.lower():
        return text
    return value


_Loader.add_constructor(_FLOAT, _construct_float)

# The optional fast path (`pip install flowaudit[fast]`): ryaml (Rust, YAML 1.2) parses several
# times faster than PyYAML's C loader, whose Python-side composition dominates loading. Files
# that use anchors, aliases or tags, and files ryaml rejects, go through PyYAML, which also gives
# every error its line and column. The reader is chosen per call (`parser=`), never by the
# environment: "auto" uses ryaml when it is installed, "pyyaml" never does.
_ryaml: ModuleType | None
try:
    import ryaml as _ryaml
except ImportError:  # the default install: PyYAML's C loader throughout
    _ryaml = None
Parser = Literal["auto", "pyyaml", "ryaml"]
PARSERS: tuple[str, ...] = ("auto", "pyyaml", "ryaml")


def _fast_reader(parser: str) -> ModuleType | None:
    """The ryaml module to use for `parser`, or None for PyYAML only."""
    if parser == "pyyaml":
        return None
    if parser == "ryaml":
        if _ryaml is None:
            raise FlowauditError("parser 'ryaml' is not installed: pip install 'flowaudit[fast]'")
        return _ryaml
    if parser != "auto":
        raise FlowauditError(f"unknown parser {parser!r}; expected one of {', '.join(PARSERS)}")
    return _ryaml
# An anchor, alias or tag is a token: after a line start, a space or a flow indicator. Quoted text
# can match too ("a *b"): that file merely takes the slower PyYAML path. (ryaml would also stop an
# alias bomb, "repetition limit exceeded", so a miss here is never unsafe.)
_NODE_PROPERTY = re.compile(r"(?:^|[\s\[{,])[&*!]\S", re.MULTILINE)


def _needs_pyyaml(text: str) -> bool:
    # substring tests run at C speed; the regular expression only when one of them hits
    if "&" not in text and "*" not in text and "!" not in text:
        return False
    return _NODE_PROPERTY.search(text) is not None

MAX_FILE_BYTES = 256 * 1024 * 1024
# An inventory nests six levels (file, section, entry, transfer, scc, value). libyaml's composer
# recurses in C and crashes the interpreter near 20,000 levels, and ryaml refuses past ~128.
MAX_DEPTH = 100
_DEPTH_CHECK_ABOVE = 10_000
_read_fast = make_reader(_Loader, MAX_DEPTH)  # the same answers, built without SafeConstructor's overhead
_read_lines = make_line_reader(_Loader, MAX_DEPTH)  # the same again, for block-style files, line by line


@dataclass
class SourceFile:
    """One inventory file, its parsed document and what is needed to locate things in it.

    `display` names it in error messages, as the user can open it (relative to the working folder
    where possible); `relpath` names it in outputs, relative to the inventory's root, and `root` is
    the root's own name (SPEC §5): the same bytes from any working folder, whether the inventory was
    named by a relative or an absolute path or through a symbolic link."""

    path: Path
    display: str
    _text: str | bytes  # the file's text; once `pack`ed, its UTF-8 compressed (see `text`)
    document: dict[str, Any] = field(default_factory=dict)
    relpath: str = ""
    root: str = ""
    _root: yaml.Node | None = None
    _id_lines: dict[str, int] | None = None
    cache_key: str | None = None  # the parse cache's key for this file's bytes
    cached: bool = False  # the document came from the parse cache

    def __post_init__(self) -> None:
        if not self.relpath:
            self.relpath = self.path.name

    @property
    def text(self) -> str:
        """The file's text (BOM removed), as it was read."""
        text = self._text
        return text if isinstance(text, str) else zlib.decompress(text).decode("utf-8")

    def pack(self) -> None:
        """Keep the text compressed (a tenth of its size) until a problem or a finding needs a
        line in it: the texts of 1,000,000 flows are 270 MB, their entries already checked."""
        if isinstance(self._text, str):
            self._text = zlib.compress(self._text.encode("utf-8"), 1)

    def node(self) -> yaml.Node | None:
        """The composed node tree (with marks), built on first use."""
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
        node = self.node()
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
            text, line, last, end = self.text, 1, 0, 0
            for m in ID_LINE.finditer(text):
                start = m.start()
                if start:
                    # `^` holds after any line break; the other prefixes are a character that a
                    # match including its prefix would take, so not one the previous match took
                    before = text[start - 1]
                    if before != "\n" and not (start > end and id_key_after(before)):
                        continue
                end = m.end()
                line += text.count("\n", last, m.start(1))
                last = m.start(1)
                lines.setdefault(m.group(1), line)
            self._id_lines = lines
        return self._id_lines.get(entry_id)


YAML_SUFFIXES = (".yaml", ".yml")


def discover(path: Path) -> list[Path]:
    """The inventory files at `path`, in a stable order. Nothing is skipped silently: symlinked
    folders are followed (each real folder once, so a loop ends), suffixes are matched in any
    case (`.YAML`), and a folder that cannot be read, a broken symlink or a FIFO named `*.yaml`
    is an error. Hidden files and folders (`.git`, `.cache`) are not part of an inventory."""
    try:
        st = path.stat()
    except FileNotFoundError:
        kind = "broken symbolic link" if path.is_symlink() else "no such file or directory"
        raise InventoryError([Problem(str(path), None, None, "", kind)]) from None
    except OSError as exc:
        raise InventoryError([Problem(str(path), None, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    if stat.S_ISREG(st.st_mode):
        return [path]
    if not stat.S_ISDIR(st.st_mode):
        raise InventoryError([Problem(str(path), None, None, "", "not a regular file or a folder")])
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[tuple[int, int]] = set()
    pending = [path]
    while pending:
        folder = pending.pop()
        try:
            key = (folder.stat().st_dev, folder.stat().st_ino)
        except OSError as exc:
            problems.append(Problem(str(folder), None, None, "", f"cannot read this folder: {exc.strerror or exc}"))
            continue
        if key in seen:
            continue  # a symlink back into a folder already read
        seen.add(key)
        try:
            with os.scandir(folder) as entries:
                listing = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(str(folder), None, None, "", f"cannot read this folder: {exc.strerror or exc}"))
            continue
        for entry in listing:
            if entry.name.startswith("."):
                continue
            child = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                pending.append(child)
                continue
            if not entry.name.lower().endswith(YAML_SUFFIXES):
                continue
            try:
                mode = os.stat(child).st_mode
            except FileNotFoundError:
                problems.append(Problem(str(child), None, None, "", "broken symbolic link"))
                continue
            except OSError as exc:
                problems.append(Problem(str(child), None, None, "", f"cannot read: {exc.strerror or exc}"))
                continue
            if not stat.S_ISREG(mode):
                problems.append(Problem(str(child), None, None, "", "not a regular file (a FIFO, socket or device)"))
                continue
            files.append(child)
    if problems:
        raise InventoryError(problems)
    if not files:
        raise InventoryError([Problem(str(path), None, None, "", "no *.yaml or *.yml files in this directory")])
    return sorted(files, key=lambda p: p.relative_to(path).as_posix())


def place_in_inventory(source: SourceFile, file: Path, root: Path) -> None:
    """Name `source` (read from `file`) relative to the inventory at `root`: a folder, or one file."""
    top = Path(os.path.realpath(root))
    source.root = top.name
    if root == file or not top.is_dir():
        source.relpath = top.name if root == file else file.name
        return
    try:
        source.relpath = file.relative_to(root).as_posix()  # as discovered: symlinked folders by their link
    except ValueError:
        try:
            source.relpath = Path(os.path.realpath(file)).relative_to(top).as_posix()
        except ValueError:  # a file outside the root (named on its own): its name
            source.relpath = file.name


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


def _too_deep(text: str) -> yaml.Event | None:
    """The event that opens a collection nested deeper than MAX_DEPTH, if any.

    A level of nesting needs an opening bracket or (block style) at most two more columns, so
    brackets plus twice the longest line bound the depth; only a file above that bound (never an
    ordinary inventory file) pays for a pass over the parser's events, stopped at the culprit.
    """
    if text.count("[") + text.count("{") + 2 * max(map(len, text.split("\n"))) <= _DEPTH_CHECK_ABOVE:
        return None
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return event
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # newer libyaml stops deep nesting itself, scanning ahead of the events we count
        if "nesting depth" in str(exc) and exc.problem_mark is not None:
            return yaml.Event(exc.problem_mark, exc.problem_mark)
        raise
    return None


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _shallow_flow(data: bytes) -> bool:
    """False when the file may nest flow collections deeply: ryaml's scanner takes time quadratic
    in that depth (60,000 brackets: 18 s) before refusing it, so such a file goes to PyYAML, whose
    depth check stops at the culprit. Free for an ordinary file (few brackets); above that the
    brackets are balanced at C speed (50 ms for 26 MB). Quoted brackets can fool this estimate:
    ryaml is then slow, never wrong."""
    if data.count(b"[") + data.count(b"{") <= _DEPTH_CHECK_ABOVE:
        return True
    brackets = data.translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) <= MAX_DEPTH


def read_file(path: Path, *, parser: Parser = "auto", cache: Cache | None = None,
              ) -> tuple[SourceFile | None, list[Problem]]:
    """Parse one file. Anchors and aliases are refused: they make YAML bombs possible and
    an inventory is clearer without them. With a `cache`, a file parsed before (same bytes) is
    not parsed again; its text is kept all the same, so problems are located exactly as ever."""
    fast = _fast_reader(parser)
    display = _display(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(display, None, None, "", f"file is {_size(size)}; the limit is "
                                  f"{_size(MAX_FILE_BYTES)}: split it into several files")]
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(display, None, None, "", f"cannot read: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(data, exc.start)
        return None, [Problem(display, line, col, "", f"not valid UTF-8 (byte 0x{data[exc.start]:02x})")]
    text = text.removeprefix("\ufeff")
    source = SourceFile(path, display, text)
    if cache is not None:
        source.cache_key = cache.parse_key(data)
        document = cache.get_document(source.cache_key)
        if document is not None:
            source.cached = True
            return _as_source(source, _share_strings(document))
    if fast is not None and not _needs_pyyaml(text) and _shallow_flow(data):
        try:
            return _as_source(source, _share_strings(fast.loads(text)))
        except Exception:  # ryaml's own error types
            # PyYAML, the reference, decides below: it reports the problem with its line and column,
            # or reads what ryaml refused (an integer past 64 bits) as it reads it without ryaml
            pass
    try:  # most inventory files: a few regular expressions a distinct line, no parser events
        ids = IdLines()
        document = _read_lines(text, ids)
        if ids.complete:  # where each entry's `id:` is, as the scan in `id_line` would find it
            source._id_lines = ids.lines
        return _as_source(source, document)
    except Unsupported:  # outside the block-style subset: the event reader or the full loader decides
        pass
    try:
        # the full loader composes recursively: a file it reads is checked for depth first; the
        # fast reader checks as it goes, without a second pass over the events
        if "&" in text or "*" in text:
            deep = _too_deep(text)
            if deep is not None:
                return None, [_deep(display, deep.start_mark)]
            root = yaml.compose(text, Loader=_Loader)
            # the node tree is not kept: `SourceFile.node` composes it again for the rare file that
            # has a problem to locate (organisations.yaml at 100,000 flows: 12 MB of nodes)
            if root is not None:
                alias = _aliases(root)
                if alias is not None:
                    m = alias.start_mark
                    return None, [Problem(display, m.line + 1, m.column + 1, "",
                                          "YAML anchors and aliases (&name, *name, <<) are not allowed in an "
                                          "inventory; write the values out")]
                document = _share_strings(_Loader(text).construct_document(root))
            else:
                document = None
        else:
            try:
                document = _read_fast(text)
            except TooDeep as exc:
                return None, [_deep(display, exc.mark)]
            except Unsupported:  # a key given twice, an unhashable key: the full loader says where
                deep = _too_deep(text)
                if deep is not None:
                    return None, [_deep(display, deep.start_mark)]
                document = _share_strings(yaml.load(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        m = exc.problem_mark or exc.context_mark
        message = " ".join(x for x in (exc.context, exc.problem) if x) or "malformed YAML"
        if m is None:
            return None, [Problem(display, None, None, "", message)]
        return None, [Problem(display, m.line + 1, m.column + 1, "", f"malformed YAML: {message}")]
    except yaml.reader.ReaderError as exc:  # a control character, located by its offset
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return None, [Problem(display, line, col, "", f"malformed YAML: {exc.reason} (U+{code:04X})")]
    except yaml.YAMLError as exc:
        return None, [Problem(display, None, None, "", f"malformed YAML: {exc}")]
    except RecursionError:
        return None, [Problem(display, None, None, "", "malformed YAML: nested too deeply")]
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:  # an odd explicit tag
        return None, [Problem(display, None, None, "", f"malformed YAML: cannot construct a value ({exc})")]
    return _as_source(source, document)


def _share_strings(document: Any) -> Any:
    """`document` with one object for each text however often it occurs, as the fast reader
    builds it (the JSON decoder, ryaml and PyYAML's constructor make a new object for every
    string value, and the checked entries keep them: a third of their memory)."""
    if type(document) is not dict and type(document) is not list:
        return document
    memo: dict[str, str] = {}
    strings = memo.setdefault
    pending = [document]
    while pending:
        node = pending.pop()
        if type(node) is dict:
            for key, value in node.items():
                if type(value) is str:
                    node[key] = strings(value, value)
                elif type(value) is dict or type(value) is list:
                    pending.append(value)
        else:
            for index, value in enumerate(node):
                if type(value) is str:
                    node[index] = strings(value, value)
                elif type(value) is dict or type(value) is list:
                    pending.append(value)
    return document


def _deep(display: str, mark: Any) -> Problem:
    return Problem(display, mark.line + 1 if mark else None, mark.column + 1 if mark else None, "",
                   f"nested more than {MAX_DEPTH} levels deep; an inventory needs six")


def _as_source(source: SourceFile, document: Any) -> tuple[SourceFile | None, list[Problem]]:
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return None, [Problem(source.display, 1, 1, "", "expected a mapping of sections (organisations, subjects, "
                              f"elements, purposes, systems, flows, waivers), found a {_type_name(document)}")]
    source.document = document
    return source, []


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _type_name(value: object) -> str:
    names = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(value), type(value).__name__)


def read_files(path: Path, files: list[Path] | None = None, *, parser: Parser = "auto",
               cache: Cache | None = None) -> list[SourceFile]:
    """Parse every inventory file at `path` (or the `files` given), taking unchanged ones from
    `cache`; all problems are collected before raising."""
    problems: list[Problem] = []
    sources: list[SourceFile] = []
    for file in discover(path) if files is None else files:
        source, found = read_file(file, parser=parser, cache=cache)
        problems.extend(found)
        if source is not None:
            place_in_inventory(source, file, path)
            sources.append(source)
    if problems:
        raise InventoryError(problems)
    return sources
