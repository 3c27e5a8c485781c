"""The tool's name and version, from the installed distribution's metadata (never by importing
`flowaudit`, which sits above the reports)."""

from __future__ import annotations

from functools import cache
from importlib import metadata


@cache
def version() -> str:
    try:
        return metadata.version("flowaudit")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
