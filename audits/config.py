"""Audit configuration: `[tool.flowaudit]` in a pyproject.toml, or a flowaudit.toml, beside the inventory.

    [tool.flowaudit]
    fail_on = "high"
    skip = ["TPX-004"]

    [tool.flowaudit.severity]
    "MIN-001" = "low"

    [tool.flowaudit.limits]
    max_external_organisations = 5   # TPX-004
    max_countries = 3                # TPX-004
    tia_max_age_months = 24          # TRF-004 (default: the rulebook's, data/rulebook/gdpr/scc.yaml)
    large_scale_subjects = 100000    # DPIA screening and PUR-003: WP248's "large scale"

A flowaudit.toml holds the same keys at its top level.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowaudit.inventory.errors import FlowauditError

from .findings import Severity

DEFAULT_LIMITS = {"max_external_organisations": 5, "max_countries": 3,
                  "large_scale_subjects": 100_000}
# Limits a configuration may set; tia_max_age_months defaults to the rulebook's (one source).
LIMIT_NAMES = (*DEFAULT_LIMITS, "tia_max_age_months")


@dataclass
class Config:
    severity: dict[str, Severity] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    skip: tuple[str, ...] = ()
    fail_on: Severity = Severity.HIGH
    source: str | None = None

    def limit(self, name: str) -> int:
        return self.limits[name]


def load_config(inventory_path: str | Path | None) -> Config:
    """The first flowaudit.toml or pyproject.toml with [tool.flowaudit] found from the
    inventory's folder upwards; defaults when there is none. A configuration of the wrong
    shape or encoding raises `FlowauditError` naming the file (exit 2, never a traceback)."""
    if inventory_path is None:
        return Config()
    start = Path(inventory_path).resolve()
    folder = start if start.is_dir() else start.parent
    for directory in (folder, *folder.parents):
        own = directory / "flowaudit.toml"
        if own.is_file():
            return _parse(_read_toml(own), own)
        project = directory / "pyproject.toml"
        if project.is_file():
            tool = _read_toml(project).get("tool", {})
            if not isinstance(tool, dict):
                raise FlowauditError(f"{project}: [tool] must be a table")
            table = tool.get("flowaudit")
            if table is not None:
                if not isinstance(table, dict):
                    raise FlowauditError(f"{project}: [tool.flowaudit] must be a table")
                return _parse(table, project)
        if (directory / ".git").exists():
            break
    return Config()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except UnicodeDecodeError as exc:
        raise FlowauditError(f"{path}: not valid UTF-8 (byte {exc.start}); TOML files are UTF-8") from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FlowauditError(f"{path}: cannot read configuration: {exc}") from exc


def _severity(value: object, what: str, path: Path) -> Severity:
    try:
        return Severity(value) if isinstance(value, str) else Severity("")
    except ValueError:
        raise FlowauditError(f"{path}: {what} must be one of {', '.join(s.value for s in Severity)}, "
                             f"not {value!r}") from None


def _parse(table: dict[str, Any], path: Path) -> Config:
    config = Config(source=str(path))
    unknown = set(table) - {"severity", "limits", "skip", "fail_on"}
    if unknown:
        raise FlowauditError(f"{path}: unknown [tool.flowaudit] keys {sorted(unknown)}; "
                             "expected severity, limits, skip, fail_on")
    severity = table.get("severity") or {}
    if not isinstance(severity, dict):
        raise FlowauditError(f"{path}: severity must be a table of rule id = severity")
    for rule_id, value in severity.items():
        config.severity[str(rule_id)] = _severity(value, f"severity of {rule_id}", path)
    if "fail_on" in table:
        config.fail_on = _severity(table["fail_on"], "fail_on", path)
    limits = table.get("limits") or {}
    if not isinstance(limits, dict):
        raise FlowauditError(f"{path}: limits must be a table of name = number")
    for name, value in limits.items():
        if name not in LIMIT_NAMES:
            raise FlowauditError(f"{path}: unknown limit {name!r}; expected one of {sorted(LIMIT_NAMES)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FlowauditError(f"{path}: limit {name} must be a non-negative integer")
        config.limits[name] = value
    skip = table.get("skip") or []
    if not isinstance(skip, list) or not all(isinstance(s, str) for s in skip):
        raise FlowauditError(f"{path}: skip must be a list of rule ids")
    config.skip = tuple(skip)
    return config

