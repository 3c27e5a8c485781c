"""Memory that grows with the inventory (SPEC §7: 1,000,000 flows under 4 GB; issue 9 item 8).

The full-size figure is measured by benchmarks/bench.py; these count what it depends on, cheaply
and without timing: a file's parsed document lives only until its entries are checked (the
documents of every file beside every entry doubled the peak), entries share what they can (one
frozen fields-set per combination of fields set, one string object per text per file, the
file's text compressed), and a parse-cache entry is written only for an inventory that passes.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE

import flowaudit.inventory as inventory_package
from flowaudit.inventory import InventoryError, load_inventory
from flowaudit.inventory.cache import Cache
from flowaudit.inventory.loader import SourceFile
from flowaudit.inventory.validate import Inventory


def _load_counting(monkeypatch: pytest.MonkeyPatch, path: Path, cache: Cache | None) -> tuple[Inventory, int]:
    """Load `path`, counting the most parsed documents alive at once (a file's document is
    alive until it is emptied)."""
    read = inventory_package.read_file
    returned: list[SourceFile] = []
    most = 0

    def counting(*args: Any, **kwargs: Any) -> tuple[SourceFile | None, list[Any]]:
        nonlocal most
        source, problems = read(*args, **kwargs)
        if source is not None:
            returned.append(source)
        most = max(most, sum(1 for s in returned if s.document))
        return source, problems

    monkeypatch.setattr(inventory_package, "read_file", counting)
    monkeypatch.setattr(inventory_package, "KEEP_TEXTS", 0)  # every file's text past the limit
    inv = load_inventory(path, cache=cache)
    monkeypatch.undo()
    assert len(returned) == len(inv.sources) > 1
    return inv, most


@pytest.mark.parametrize("cached", [False, True], ids=["parsed", "from-the-parse-cache"])
def test_one_parsed_document_at_a_time_and_entries_share_what_they_can(
        cached: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache.open(tmp_path / "cache") if cached else None
    if cache is not None:
        load_inventory(EXAMPLE, cache=cache)  # fills it
    inv, most = _load_counting(monkeypatch, EXAMPLE, cache)
    assert most == 1
    assert all(s.cached for s in inv.sources) == cached
    assert all(not s.document for s in inv.sources)

    # past `KEEP_TEXTS` characters the text is kept compressed, and read back whole when a line is wanted
    for source in inv.sources:
        assert isinstance(source._text, bytes) and len(source._text) < len(source.path.read_bytes())
        assert source.text == source.path.read_text(encoding="utf-8").removeprefix("\ufeff")
    flow = next(iter(inv.flows.values()))
    file, line = inv.location(flow.id) or ("", None)
    lines = (EXAMPLE / file).read_text(encoding="utf-8").splitlines()
    assert line is not None and f"id: {flow.id}" in lines[line - 1]

    # one fields-set object per combination of fields set
    entries = [*inv.flows.values(), *inv.systems.values(), *inv.purposes.values(), *inv.elements.values()]
    combinations = {(type(e), frozenset(e.model_fields_set)) for e in entries}
    assert len({id(e.model_fields_set) for e in entries}) <= len(combinations) < len(entries)

    # one string object per text in a file: the ids a file's flows name recur, their objects do not
    per_file: dict[str, list[str]] = defaultdict(list)
    for f in inv.flows.values():
        per_file[inv.origins[f.id].source.relpath] += [f.from_, f.to, *f.elements, *f.purposes]
    for names in per_file.values():
        assert len({id(n) for n in names}) == len(set(names)) < len(names)


def test_texts_under_the_limit_are_kept_as_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compressing a text costs more time than its memory is worth until the texts are large:
    the first files' stay as read, up to `KEEP_TEXTS` characters in all, and the rest are packed."""
    inv = load_inventory(EXAMPLE)
    assert all(isinstance(s._text, str) for s in inv.sources)
    first = inv.sources[0]
    monkeypatch.setattr(inventory_package, "KEEP_TEXTS", len(first.text))
    inv = load_inventory(EXAMPLE)
    assert isinstance(inv.sources[0]._text, str)
    assert all(isinstance(s._text, bytes) for s in inv.sources[1:])
    for source in inv.sources:
        assert source.text == source.path.read_text(encoding="utf-8").removeprefix("\ufeff")


def test_a_changed_entry_gets_a_fields_set_of_its_own() -> None:
    inv = load_inventory(EXAMPLE)
    by_set: dict[int, list[Any]] = defaultdict(list)
    for f in inv.flows.values():
        by_set[id(f.model_fields_set)].append(f)
    first, second, *_ = max(by_set.values(), key=len)
    assert "volume" not in first.model_fields_set
    first.volume = 10
    assert "volume" in first.model_fields_set and "volume" not in second.model_fields_set
    copy = second.model_copy(update={"volume": 5})
    assert "volume" in copy.model_fields_set and copy.volume == 5
    assert "volume" not in second.model_fields_set


def test_a_failing_inventory_leaves_no_parse_entry_nor_temporary_file(tmp_path: Path) -> None:
    inventory = tmp_path / "inv"
    shutil.copytree(EXAMPLE, inventory)
    (inventory / "zz-broken.yaml").write_text("flows:\n  - {id: x, from: nobody, to: nowhere}\n")
    cache = Cache.open(tmp_path / "cache")
    assert cache is not None
    with pytest.raises(InventoryError):
        load_inventory(inventory, cache=cache)
    assert not (tmp_path / "cache" / "parse").exists() or not any((tmp_path / "cache" / "parse").iterdir())
    (inventory / "zz-broken.yaml").unlink()
    load_inventory(inventory, cache=cache)
    assert len(list((tmp_path / "cache" / "parse").iterdir())) == len(list(EXAMPLE.glob("*.yaml")))
