"""Errors of the inventory layer: every problem names file, line, column and field.

The library raises `InventoryError`; only the CLI turns it into a message and an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the inventory, located as precisely as we know."""

    file: str
    line: int | None
    col: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class InventoryError(Exception):
    """The inventory cannot be used as it is; `problems` lists everything found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.col or 0, p.field, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class FlowauditError(Exception):
    """A usage error outside the inventory (bad option, unknown element in a query, ...)."""
