"""What an engine hands back: small aggregates of the traffic, the same shape from DuckDB and
from Spark, from which `findings` decides. Times are Unix microseconds (UTC)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

TOP_HOSTS = 5  # example hosts per node pair or country
TOP_UNKNOWN = 10  # unknown hosts per system, by volume


@dataclass(frozen=True)
class Usage:
    count: int
    bytes: int
    first_us: int
    last_us: int

    def as_details(self) -> dict[str, Any]:
        return {"connections": self.count, "bytes": self.bytes, "first_seen": iso(self.first_us),
                "last_seen": iso(self.last_us)}


@dataclass(frozen=True)
class Pair:
    """Traffic between two mapped nodes (source node opened the connections)."""

    source: str
    destination: str
    usage: Usage
    hosts: tuple[str, ...]  # example destination hosts, most connections first
    elements: tuple[str, ...]  # elements the logs name, sorted


@dataclass(frozen=True)
class UnknownHost:
    host: str
    usage: Usage


@dataclass(frozen=True)
class Unknown:
    """A mapped source's traffic to hosts that map to nothing."""

    source: str
    hosts_total: int
    usage: Usage
    top: tuple[UnknownHost, ...]  # by bytes, then connections, then host


@dataclass(frozen=True)
class Country:
    """Traffic to a mapped node that the logs place in a country."""

    destination: str
    country: str
    usage: Usage
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    problem: str  # what is wrong: bad timestamp, missing time, bad bytes, bad count
    file: str
    example: str | None
    rows: int


@dataclass
class Aggregates:
    rows: int = 0  # log rows in the window
    connections: int = 0
    bytes: int = 0
    first_us: int | None = None
    last_us: int | None = None
    ignored: int = 0  # rows without a source or destination
    hosts: int = 0  # distinct hosts seen
    mapped_hosts: int = 0
    pairs: list[Pair] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    countries: list[Country] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def normalised(self) -> dict[str, Any]:
        """A canonical, order-independent form (for comparing engines)."""
        data = asdict(self)
        for key in ("pairs", "unknown", "countries", "problems"):
            data[key] = sorted(data[key], key=repr)
        return data


def iso(us: int | None) -> str | None:
    if us is None:
        return None
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return moment.isoformat().replace("+00:00", "Z")


def split_elements(raw: list[str | None]) -> tuple[str, ...]:
    """Elements columns hold ids separated by ';', ',', '|' or spaces (or a list, joined with ';')."""
    import re

    out: set[str] = set()
    for value in raw:
        if value:
            out.update(p for p in re.split(r"[;,|\s]+", value.strip("[]")) if p)
    return tuple(sorted(out))
