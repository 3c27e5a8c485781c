"""The inventory: models, loading, validation and the graph view. Imports neither audits nor reports."""

from __future__ import annotations

from pathlib import Path

from .errors import FlowauditError, InventoryError, Problem
from .loader import read_files
from .validate import Inventory, build_inventory


def load_inventory(path: str | Path) -> Inventory:
    """Read, shape-check and reference-check the inventory at `path` (a file or a directory).

    Raises `InventoryError` listing every problem, each with file, line, column and field.
    """
    return build_inventory(read_files(Path(path)))


__all__ = ["FlowauditError", "Inventory", "InventoryError", "Problem", "load_inventory"]
