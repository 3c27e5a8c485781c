"""The public Python API: load, audit, report, frames. Wires inventory → audits → reports.

A library keeps to itself: these functions may run many times in one process (a notebook) and
leave no process-wide state behind: no garbage-collector tuning, no environment variables, no
umask. Everything a run needs is a parameter, and everything it computes hangs off its result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flowaudit.audits import AuditResult, Config, Rulebook, load_config, run_audit
from flowaudit.inventory import Inventory, load_inventory
from flowaudit.inventory.loader import Parser


def load(path: str | Path, *, parser: Parser = "auto") -> Inventory:
    """Load and validate an inventory (raises `inventory.InventoryError` with every problem).

    `parser`: "auto" (ryaml when `flowaudit[fast]` is installed, else PyYAML's C loader),
    "pyyaml" or "ryaml"; each gives the same inventory."""
    return load_inventory(path, parser=parser)


def audit(inventory: Inventory | str | Path, as_of: dt.date | None = None, *, config: Config | None = None,
          rules: Iterable[str] = (), skip: Iterable[str] = (), regimes: Iterable[str] = (),
          rulebook: Rulebook | None = None, parser: Parser = "auto") -> AuditResult:
    """Run the rule catalogue (or the rules named, by id or family) on the as-of date (today by
    default); with `regimes`, only for those regimes (their transfers and their own rules). The
    shipped rulebook unless another is given; the result carries the rulebook it ran with."""
    if not isinstance(inventory, Inventory):
        if config is None:
            config = load_config(inventory)
        inventory = load(inventory, parser=parser)
    return run_audit(inventory, as_of, config=config, rulebook=rulebook, only=rules, skip=skip, regimes=regimes)


def report(inventory: Inventory | str | Path, out_dir: str | Path, as_of: dt.date | None = None, *,
           config: Config | None = None, progress: Callable[[str], None] | None = None,
           regimes: Iterable[str] = (), rulebook: Rulebook | None = None, parser: Parser = "auto") -> list[Path]:
    """Write ropa.xlsx, report.html, findings.json and dataflow.svg to `out_dir`; returns the paths."""
    from flowaudit.reports import write_report

    result = audit(inventory, as_of, config=config, regimes=regimes, rulebook=rulebook, parser=parser)
    return write_report(result, Path(out_dir), progress=progress)


def frames(result: AuditResult) -> dict[str, Any]:
    """The flows, transfers, findings, exposure and Art. 30 record tables as pandas DataFrames
    (see `flowaudit.interop.frames`)."""
    from flowaudit.interop.frames import frames as tables

    return tables(result)
