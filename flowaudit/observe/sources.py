"""Where the logs are: files, folders or globs of CSV, JSON-lines and Parquet files, and the
mapping of their column names onto the ones `observe` reads."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from flowaudit.inventory.errors import FlowauditError

REQUIRED = ("time", "source", "destination")
OPTIONAL = ("bytes", "count", "elements", "country")
COLUMNS = REQUIRED + OPTIONAL

FORMATS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".tsv": "csv", ".csv.gz": "csv", ".tsv.gz": "csv",
    ".jsonl": "json", ".ndjson": "json", ".json": "json", ".jsonl.gz": "json", ".ndjson.gz": "json",
    ".json.gz": "json",
}


class LogError(FlowauditError):
    """Logs that cannot be read as observed traffic: the message names the file and the problem."""


def format_of(path: str) -> str | None:
    name = path.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    return None


@dataclass
class LogFiles:
    """The log files found, by format, in a stable order."""

    by_format: dict[str, list[str]] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return [f for files in self.by_format.values() for f in files]


def find_logs(arguments: list[str]) -> LogFiles:
    """Expand files, folders (recursively) and globs; every argument must name at least one
    log file, and every file must be readable."""
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    for argument in arguments:
        if glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise LogError(f"{argument}: no file matches this pattern")
        else:
            matches = [argument]
        files: list[str] = []
        for match in matches:
            path = Path(match)
            if path.is_dir():
                inside = sorted(str(p) for p in path.rglob("*")
                                if p.is_file() and format_of(p.name) and not p.name.startswith((".", "_")))
                if not inside and not glob.has_magic(argument):
                    raise LogError(f"{match}: the folder holds no log files (.parquet, .csv, .jsonl, .ndjson, "
                                   ".json, optionally .gz)")
                files.extend(inside)
            elif path.exists():
                if format_of(path.name) is None:
                    if glob.has_magic(argument):
                        continue
                    raise LogError(f"{match}: unknown log format; expected .parquet, .csv, .tsv, .jsonl, "
                                   ".ndjson or .json (optionally .gz)")
                files.append(str(path))
            else:
                raise LogError(f"{match}: no such file or folder")
        if not files:
            raise LogError(f"{argument}: no log files found")
        for name in files:
            if not os.access(name, os.R_OK):
                raise LogError(f"{name}: cannot read the file (permission denied)")
            key = os.path.realpath(name)
            if key in seen:
                continue
            seen.add(key)
            found.setdefault(format_of(name) or "", []).append(name)
    return LogFiles({fmt: found[fmt] for fmt in ("parquet", "csv", "json") if fmt in found})


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`--map time=ts,source=src` → {"time": "ts", "source": "src"}: our name → the logs' name."""
    mapping: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            ours, sep, theirs = part.partition("=")
            ours, theirs = ours.strip(), theirs.strip()
            if not sep or not theirs:
                raise FlowauditError(f"--map {part!r}: expected NAME=COLUMN, e.g. time=ts")
            if ours not in COLUMNS:
                raise FlowauditError(f"--map {part!r}: {ours!r} is not one of {', '.join(COLUMNS)}")
            mapping[ours] = theirs
    return mapping
