"""The inventory: models, loading, validation and the graph view. Imports neither audits nor reports."""

from __future__ import annotations

from pathlib import Path

from .cache import Cache
from .errors import FlowauditError, InventoryError, Problem
from .loader import Parser, read_files
from .validate import Inventory, build_inventory


def load_inventory(path: str | Path, *, parser: Parser = "auto", cache: Cache | None = None) -> Inventory:
    """Read, shape-check and reference-check the inventory at `path` (a file or a directory).

    `parser`: "auto" (ryaml when the `fast` extra is installed, else PyYAML's C loader),
    "pyyaml" or "ryaml"; every reader gives the same inventory. With a `cache` (see
    `inventory.cache`), files unchanged since a run that stored them are not parsed again.
    Raises `InventoryError` listing every problem, each with file, line, column and field.
    """
    inventory = build_inventory(read_files(Path(path), parser=parser, cache=cache))
    if cache is not None:
        # Only the files of an inventory that passed every check are stored: their documents
        # hold nothing JSON would change (a key that is not a string is a shape error).
        for source in inventory.sources:
            if not source.cached and source.cache_key is not None:
                cache.put_document(source.cache_key, source.document)
        if cache.wrote:
            cache.prune()
    # The checked entries are in the inventory now; the parsed documents (a dict per entry) are
    # not read again by an audit or a report: let them go (140 MB of the peak at 200,000 elements).
    for source in inventory.sources:
        source.document = {}
    return inventory


__all__ = ["Cache", "FlowauditError", "Inventory", "InventoryError", "Problem", "load_inventory"]
