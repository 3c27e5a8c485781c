"""The warm `flowaudit audit`: when nothing the audit reads has changed, its output comes from the cache.

The parse cache (`inventory.cache`) spares a warm run the YAML parsing, but checking the
entries, building the graph and running the rules still cost more than the 0.3 times the C
loader's time that SPEC §7 allows a warm run. So the `audit` command also keeps its whole
output, keyed by everything that output depends on:

- every inventory file (its path relative to the inventory and a hash of its bytes),
- the configuration found for it, the as-of date (today's by default: a new day is a new
  audit), the rules chosen or skipped and the regimes, the format, the inventory's label, the
  working folder, and for a terminal table its width;
- the flowaudit version and a hash of the installed package's own files (code, rulebook,
  templates), so an upgraded, edited or differently configured flowaudit never serves an
  old answer.

A hit writes the stored bytes, the very bytes the cold run wrote, and exits with the code they
imply for this run's `--fail-on`. A miss runs the audit as ever (with the parse cache, so only
changed files are parsed) and stores its output. Only the command uses this: a library call
returns the full result (inventory, view, findings), which the output alone cannot rebuild.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from collections.abc import Iterable
from pathlib import Path

from flowaudit.audits import Severity
from flowaudit.inventory.cache import Cache, digest

RESULT_FORMAT = 1  # bump when what is stored, or how it is keyed, changes
_SEVERITIES = frozenset(s.value for s in Severity)
_PACKAGES = ("flowaudit", "flowaudit.inventory", "flowaudit.audits", "flowaudit.reports", "flowaudit.data")


@functools.cache
def code_fingerprint() -> str:
    """A hash of every file of the installed package (about 150 files, a few milliseconds)."""
    from flowaudit.reports.meta import version

    parts: list[bytes | str] = [str(RESULT_FORMAT), version()]
    for name in _PACKAGES:
        for folder in importlib.import_module(name).__path__:
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
                for file in sorted(files):
                    if file.endswith((".pyc", ".tmp")):
                        continue
                    path = os.path.join(root, file)
                    try:
                        with open(path, "rb") as handle:
                            parts += [os.path.relpath(path, folder), handle.read()]
                    except OSError:
                        parts += [path, "?"]
    return digest(*parts)


# What rich reads from the environment when it draws the terminal table (colour, width, terminal kind)
_TERMINAL_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM", "COLUMNS", "LINES", "TTY_COMPATIBLE",
                 "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "JUPYTER_LINES")


def output_mode(width: int) -> str:
    """How the output is drawn: one finding a line (width 0), or the table for a terminal of
    `width` columns, which also depends on what rich reads from the environment."""
    if not width:
        return "lines"
    return repr((width, [(name, os.environ.get(name)) for name in _TERMINAL_ENV]))


def output_key(path: Path, *, config: object, as_of: dt.date, rules: Iterable[str], skip: Iterable[str],
               regimes: Iterable[str], fmt: str, label: str, mode: str) -> str | None:
    """The key of an audit's output, or None when the inventory cannot be listed or read (the
    audit then runs and reports the problem as ever)."""
    from flowaudit.inventory.errors import InventoryError
    from flowaudit.inventory.loader import discover

    try:
        files = discover(path)
        parts: list[bytes | str] = []
        for file in files:
            parts += [file.relative_to(path).as_posix() if file != path else file.name, digest(file.read_bytes())]
    except (InventoryError, OSError, ValueError):
        return None
    request = repr((str(path), os.getcwd(), repr(config), as_of.isoformat(), tuple(rules), tuple(skip),
                    tuple(regimes), fmt, label, mode))
    return digest("audit", code_fingerprint(), request, *parts)


def cached_output(cache: Cache, key: str) -> tuple[bytes, tuple[str, ...]] | None:
    """(output bytes, severities of the unwaived findings) stored for `key`, or None."""
    found = cache.get_blob("audit", key)
    if found is None:
        return None
    header, payload = found
    severities = header.get("unwaived")
    if not isinstance(severities, list) or not all(s in _SEVERITIES for s in severities):
        return None
    return payload, tuple(severities)


def failing(unwaived: Iterable[str], threshold: Severity) -> bool:
    """Whether findings of these severities fail at `threshold` (as `AuditResult.failing`)."""
    return any(Severity(s).at_least(threshold) for s in unwaived)


def store_output(cache: Cache, key: str, output: bytes, unwaived: Iterable[str]) -> None:
    cache.put_blob("audit", key, {"unwaived": sorted(set(unwaived))}, output)
    if cache.wrote:
        cache.prune()
