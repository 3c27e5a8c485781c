"""Edit an inventory file's text: add an entry to a section, or change one in place.

Pure functions from text to text (no files, no locks: `flowaudit register` does those), so a
newcomer can read and test the YAML work on its own.

- **Appending keeps every byte.** Only the new entry's text is inserted, after the last line of
  the section's list (or a new section is added at the end of the file); comments, key order,
  quoting and hand-wrapped lists stay as they are. A ruamel.yaml round trip would re-wrap flow
  lists such as `elements: [a, b,\n c]` across the whole file, so ruamel is only the fallback
  for sections the splice cannot handle (a non-empty inline list `flows: [...]`).
- **Changing an entry touches only that entry.** Its lines are cut out, edited with a
  ruamel.yaml round trip (which keeps the comments inside the entry), and put back; the rest of
  the file is kept byte for byte.
- **Checked.** Every result is parsed back and must equal the old document plus the change, or
  `FlowauditError` is raised and the caller writes nothing.
- **Quoted for both parsers.** New scalars are quoted wherever YAML 1.1 (PyYAML) or YAML 1.2
  (ryaml) would read them as something else (`on`, `yes`, `NO`, `0o17`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
from typing import Any

import yaml
from flowaudit.inventory.errors import FlowauditError

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

__all__ = ["append_entry", "find_entry", "update_entry"]

WIDTH = 100  # wrap inline lists of a new entry like the hand-written ones


def _open(text: str) -> tuple[str, str, str, dict[str, Any]]:
    """(text without BOM, the BOM, the newline in use, the parsed document)."""
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
    return text, bom, newline, old_doc


def append_entry(text: str, section: str, entry: dict[str, Any]) -> tuple[str, int]:
    """`text` with `entry` appended to `section`, and the 1-based line where the entry starts.

    Every other character is kept; the result is checked by parsing it back, and
    `FlowauditError` is raised when the entry cannot be added without changing the rest."""
    text, bom, newline, old_doc = _open(text)
    current = old_doc.get(section)
    if current is not None and not isinstance(current, list):
        raise FlowauditError(f"cannot edit: {section} is not a list")
    expected = copy.deepcopy(old_doc)
    expected[section] = [*(current or []), _plain(entry)]

    attempts = []
    with contextlib.suppress(_CannotSplice):
        attempts.append(_splice_text(text, section, entry, newline))
    for new_text, offset in attempts:
        if _parses_to(new_text, expected):
            return bom + new_text, new_text.count("\n", 0, offset) + 1
    # A section written inline (`flows: [...]`): ruamel round trip, which may re-wrap lines.
    new_text = _ruamel_append(text, section, entry)
    if _parses_to(new_text, expected):
        index = new_text.rfind(f"id: {_scalar(entry['id'])}")
        return bom + new_text, new_text.count("\n", 0, max(index, 0)) + 1
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
    except Exception:  # broad on purpose: ryaml raises its own error types; any means "quote it"
        return False


def _ruamel_append(text: str, section: str, entry: dict[str, Any]) -> str:
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


# --- changing an entry in place ----------------------------------------------------------------

def merged(old: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`old` with `changes` applied: nested mappings are merged key by key, anything else replaced."""
    out = dict(old)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def find_entry(text: str, section: str, entry_id: str) -> int | None:
    """The 1-based line of the entry of `section` whose id is `entry_id`, if the file holds it."""
    text = text.removeprefix("\ufeff")
    located = _locate_item(text, section, entry_id)
    return None if located is None else text.count("\n", 0, located[0]) + 1


def update_entry(text: str, section: str, entry_id: str, changes: dict[str, Any]) -> tuple[str, int]:
    """`text` with the entry `entry_id` of `section` changed by `changes` (see `merged`), and
    the 1-based line where the entry starts. Only that entry's lines change; comments inside it
    are kept (ruamel.yaml round trip of the entry alone)."""
    text, bom, newline, old_doc = _open(text)
    items = old_doc.get(section)
    index = next((i for i, e in enumerate(items or []) if isinstance(e, dict) and e.get("id") == entry_id), None)
    if not isinstance(items, list) or index is None:
        raise FlowauditError(f"cannot edit: no entry {entry_id!r} in {section}")
    expected = copy.deepcopy(old_doc)
    expected[section][index] = merged(items[index], _plain(changes))

    located = _locate_item(text, section, entry_id)
    if located is not None:
        start, end = located
        new_item = _ruamel_update(text[start:end], changes, newline)
        new_text = text[:start] + new_item + text[end:]
        if _parses_to(new_text, expected):
            return bom + new_text, new_text.count("\n", 0, start) + 1
    # An entry written inline inside an inline list: a round trip of the whole file.
    new_text = _ruamel_update(text, changes, newline, section=section, index=index)
    if _parses_to(new_text, expected):
        at = new_text.find(f"id: {_scalar(entry_id)}")
        return bom + new_text, new_text.count("\n", 0, max(at, 0)) + 1
    raise FlowauditError(f"cannot change {entry_id!r} in this file without changing the rest of it; "
                         "edit it by hand")


def _locate_item(text: str, section: str, entry_id: str) -> tuple[int, int] | None:
    """(start, end) offsets of the whole lines holding a block list item of `section` whose id
    is `entry_id`; None when it is not a block item of its own lines."""
    try:
        root = yaml.compose(text, Loader=_Loader) if text.strip() else None
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value != section or not isinstance(value, yaml.SequenceNode) or value.flow_style:
            continue
        for i, item in enumerate(value.value):
            if not isinstance(item, yaml.MappingNode):
                continue
            ids = [v.value for k, v in item.value if k.value == "id" and isinstance(v, yaml.ScalarNode)]
            if ids != [entry_id]:
                continue
            start = text.rfind("\n", 0, item.start_mark.index) + 1
            if text[start:item.start_mark.index].strip() not in ("-", ""):
                return None  # something else shares the item's first line
            if i + 1 < len(value.value):
                following = value.value[i + 1]
                if following.start_mark.line == _content_end(item).line:
                    return None
            return start, _line_end_after(text, _content_end(item))
    return None


def _ruamel_update(text: str, changes: dict[str, Any], newline: str, *, section: str | None = None,
                   index: int = 0) -> str:
    """Apply `changes` to a YAML text holding one list item (or, with `section`, to item `index`
    of that section of a whole file), keeping its comments."""
    from ruamel.yaml import YAML

    yml = YAML()
    yml.preserve_quotes = True
    yml.width = 4096
    dash, key = _item_columns(text) if section is None else (2, 4)
    yml.indent(mapping=2, sequence=max(key, dash + 2), offset=dash)
    doc = yml.load(text)
    item = doc[index] if section is None else doc[section][index]
    # the changes as the splice would write them, so their quoting is safe for both parsers
    rendered = yml.load(_render_entry(changes, 0, 2, "\n"))[0]
    _merge_into(item, rendered)
    out = io.StringIO()
    yml.dump(doc, out)
    result = out.getvalue()
    if section is None and not text.endswith("\n"):
        result = result.rstrip("\n")
    return result.replace("\r\n", "\n").replace("\n", newline)


def _item_columns(text: str) -> tuple[int, int]:
    """Columns of the dash and of the first key of the list item that `text` starts with."""
    first = text.split("\n", 1)[0]
    dash = len(first) - len(first.lstrip(" "))
    after = first[dash + 1:]
    return dash, dash + 1 + (len(after) - len(after.lstrip(" ")))


def _merge_into(target: Any, changes: Any) -> None:
    for key, value in changes.items():
        if hasattr(value, "items") and hasattr(target.get(key), "items"):
            _merge_into(target[key], value)
        else:
            target[key] = value
