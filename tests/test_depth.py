"""Nesting depth is refused by whichever reader reads the file: the fast reader as it builds
(no second pass over the events), the full loader (anchors, a key given twice) before composing."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowaudit.inventory.fastload import TooDeep
from flowaudit.inventory.loader import MAX_DEPTH, _read_fast, read_file


def test_fast_reader_stops_at_the_collection_too_deep() -> None:
    text = "flows:\n  x: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    with pytest.raises(TooDeep) as caught:
        _read_fast(text)
    # the root mapping, `flows`' mapping, then the brackets: the one that passes the limit
    assert (caught.value.mark.line, caught.value.mark.column) == (1, 5 + MAX_DEPTH - 2)
    assert _read_fast("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n") is not None


@pytest.mark.parametrize("prefix", ["a: 1\na: 2\n", "a: &x 1\n"], ids=["duplicate-key", "anchor"])
def test_full_loader_paths_are_guarded(tmp_path: Path, prefix: str) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(prefix + "b: " + "[" * 30_000 + "]" * 30_000 + "\n", encoding="utf-8")
    source, problems = read_file(deep, parser="pyyaml")
    assert source is None
    assert [p.message for p in problems] == [f"nested more than {MAX_DEPTH} levels deep; an inventory needs six"]
