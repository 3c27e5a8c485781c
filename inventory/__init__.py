"""The inventory: models, loading, validation and the graph view. Imports neither audits nor reports."""

from __future__ import annotations

from pathlib import Path

from .errors import FlowauditError, InventoryError, Problem
from .loader import Parser, read_files
from .validate import Inventory, build_inventory


def load_inventory(path: str | Path, *, parser: Parser = "auto") -> Inventory:
    """Read, shape-check and reference-check the inventory at `path` (a file or a directory).

    `parser`: "auto" (ryaml when the `fast` extra is installed, else PyYAML's C loader),
    "pyyaml" or "ryaml"; every reader gives the same inventory. Raises `InventoryError` listing
    every problem, each with file, line, column and field.
    """
    inventory = build_inventory(read_files(Path(path), parser=parser))
    # The checked entries are in the inventory now; the parsed documents (a dict per entry) are
    # not read again by an audit or a report: let them go (140 MB of the peak at 200,000 elements).
    for source in inventory.sources:
        source.document = {}
    return inventory


__all__ = ["FlowauditError", "Inventory", "InventoryError", "Problem", "load_inventory"]
