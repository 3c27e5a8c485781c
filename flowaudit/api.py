"""The public Python API: load, audit, report. Wires inventory → audits → reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable

from audits import AuditResult, Config, load_config, run_audit
from inventory import Inventory, load_inventory


def load(path: str | Path) -> Inventory:
    """Load and validate an inventory (raises `inventory.InventoryError` with every problem)."""
    return load_inventory(path)


def audit(inventory: Inventory | str | Path, as_of: dt.date | None = None, *, config: Config | None = None,
          rules: Iterable[str] = (), skip: Iterable[str] = ()) -> AuditResult:
    """Run the rule catalogue (or the rules named, by id or family) on the as-of date (today by default)."""
    if not isinstance(inventory, Inventory):
        if config is None:
            config = load_config(inventory)
        inventory = load(inventory)
    return run_audit(inventory, as_of, config=config, only=rules, skip=skip)


def report(inventory: Inventory | str | Path, out_dir: str | Path, as_of: dt.date | None = None, *,
           config: Config | None = None, progress=None) -> list[Path]:
    """Write ropa.xlsx, report.html, findings.json and dataflow.svg to `out_dir`; returns the paths."""
    from reports import write_report

    result = audit(inventory, as_of, config=config)
    return write_report(result, Path(out_dir), progress=progress)
