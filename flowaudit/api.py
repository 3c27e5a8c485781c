"""The public Python API: load, audit, report, frames. Wires inventory → audits → reports.

A library keeps to itself: these functions may run many times in one process (a notebook) and
leave no process-wide state behind: no garbage-collector tuning, no environment variables, no
umask. Everything a run needs is a parameter, and everything it computes hangs off its result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeAlias

from flowaudit.audits import AuditResult, Config, Rulebook, load_config, run_audit
from flowaudit.inventory import Inventory, load_inventory
from flowaudit.inventory.cache import Cache, resolve
from flowaudit.inventory.loader import Parser

CacheChoice: TypeAlias = bool | str | Path | Cache | None


def load(path: str | Path, *, parser: Parser = "auto", cache: CacheChoice = False) -> Inventory:
    """Load and validate an inventory (raises `inventory.InventoryError` with every problem).

    `parser`: "auto" (ryaml when `flowaudit[fast]` is installed, else PyYAML's C loader),
    "pyyaml" or "ryaml"; each gives the same inventory.

    `cache`: the parse cache (files unchanged since a cached run are not parsed again). Off by
    default for the library: writing up to a gigabyte into the user's cache folder is an effect
    outside the call that a notebook should ask for, not get. `True` uses the user's cache
    folder (platformdirs; where the `flowaudit` command keeps it), a path uses that folder. The
    answer is the same with or without it."""
    return load_inventory(path, parser=parser, cache=resolve(cache))


def audit(inventory: Inventory | str | Path, as_of: dt.date | None = None, *, config: Config | None = None,
          rules: Iterable[str] = (), skip: Iterable[str] = (), regimes: Iterable[str] = (),
          rulebook: Rulebook | None = None, parser: Parser = "auto", cache: CacheChoice = False) -> AuditResult:
    """Run the rule catalogue (or the rules named, by id or family) on the as-of date (today by
    default); with `regimes`, only for those regimes (their transfers and their own rules). The
    shipped rulebook unless another is given; the result carries the rulebook it ran with.
    `parser` and `cache` as for `load` (when given a path)."""
    if not isinstance(inventory, Inventory):
        if config is None:
            config = load_config(inventory)
        inventory = load(inventory, parser=parser, cache=cache)
    return run_audit(inventory, as_of, config=config, rulebook=rulebook, only=rules, skip=skip, regimes=regimes)


def report(inventory: Inventory | str | Path, out_dir: str | Path, as_of: dt.date | None = None, *,
           config: Config | None = None, progress: Callable[[str], None] | None = None,
           regimes: Iterable[str] = (), rulebook: Rulebook | None = None, parser: Parser = "auto",
           cache: CacheChoice = False) -> list[Path]:
    """Write ropa.xlsx, report.html, findings.json and dataflow.svg to `out_dir`; returns the paths.
    `parser` and `cache` as for `load`."""
    from flowaudit.reports import write_report

    result = audit(inventory, as_of, config=config, regimes=regimes, rulebook=rulebook, parser=parser, cache=cache)
    return write_report(result, Path(out_dir), progress=progress)


def frames(result: AuditResult) -> dict[str, Any]:
    """The flows, transfers, findings, exposure and Art. 30 record tables as pandas DataFrames
    (see `flowaudit.interop.frames`)."""
    from flowaudit.interop.frames import frames as tables

    return tables(result)
