"""A long onward chain audits in linear time with a small constant (SPEC §7: 50,000 flows in
under 10 s). The shortcuts it takes are pinned here against the plain answers they replace,
and the per-node work is counted (never timed): asked once per distinct answer, not per flow.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from flowaudit.inventory.loader import SourceFile

# the pattern `SourceFile.id_line` used before it learned to jump from one `id:` to the next
_OLD_ID_LINE = re.compile(r"""(?:^|[{,\s-])id:\s*["']?([a-z0-9][a-z0-9._-]*)["']?\s*(?:[,}#]|$)""", re.MULTILINE)


def _old_id_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    line, last = 1, 0
    for m in _OLD_ID_LINE.finditer(text):
        line += text.count("\n", last, m.start(1))
        last = m.start(1)
        lines.setdefault(m.group(1), line)
    return lines


def _new_id_lines(text: str) -> dict[str, int]:
    source = SourceFile(Path("x.yaml"), "x.yaml", text)
    source.id_line("")
    assert source._id_lines is not None
    return source._id_lines


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["id:", "id: ", "a", "b1", "-", ",", "{", "}", "#", " ", "\n", "'", '"', ":",
                                 "x", "\t", "\u2028", "é"]), max_size=40).map("".join))
def test_id_lines_are_the_old_patterns(text: str) -> None:
    assert _new_id_lines(text) == _old_id_lines(text)


def test_id_lines_of_an_inventory() -> None:
    text = ("organisations:\n- id: a\n  name: A\n- {id: b, name: B}\n-  id:  'c'  # c\nflows:\n"
            "- {from: x, id: d}\n- xid: e\n  tid: f\n- {id: g,id: h}\n")
    assert _new_id_lines(text) == _old_id_lines(text) == {"a": 2, "b": 4, "c": 5, "d": 7, "g": 10}
