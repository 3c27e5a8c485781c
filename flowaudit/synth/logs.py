"""Synthetic traffic logs with planted drift, for `flowaudit observe` (SPEC §10).

`synthesize` gives every system endpoints (a host name and a /24, or a /64 past 65,536 systems)
and every external organisation a wildcard (`system_endpoints`, `organisation_endpoints`).
`write_logs(inventory, out, rows, seed)` then writes connection logs in which every observable
declared flow has traffic, except the drift planted on purpose:

- undeclared flows (OBS-001): traffic between systems, or from a system to an external
  organisation's wildcard, that no declared flow covers;
- unknown hosts (OBS-002): systems calling hosts no endpoint maps, with a long tail of
  distinct hosts (one log row in a hundred) so that host matching meets scale;
- silent flows (OBS-003): declared flows between two systems left without traffic;
- wrong countries (OBS-004): traffic to a node answered from a country it does not declare.

`planted.json` beside the logs lists what was planted and the findings `observe` must give,
exactly. The rows are generated in DuckDB from a small table of channels (one per flow and per
plant), so that 100 million rows take a minute, not an hour, and the same arguments give the
same rows.
"""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

from flowaudit.inventory.models import endpoint_kind

DOMAIN = "svc.norda.internal"
WRONG_COUNTRIES = ("BR", "SG", "ZA", "IN", "US", "JP")
ROWS_PER_FILE = 5_000_000
START = "2025-01-01 00:00:00"
SPAN_SECONDS = 30 * 24 * 3600  # the logs cover 30 days


def system_endpoints(seq: int, system_id: str) -> list[str]:
    """A host name and an address range per system, from its position (no random draw, so the
    inventory's other contents do not move)."""
    network = f"10.{seq >> 8}.{seq & 255}.0/24" if seq < 65536 else f"fd00:{seq >> 16:x}:{seq & 0xffff:x}::/64"
    return [f"{system_id}.{DOMAIN}", network]


def organisation_endpoints(org_id: str) -> list[str]:
    return [f"*.{org_id}.example"]


class _Plan:
    def __init__(self, inventory: Any, seed: int):
        self.inv = inventory
        self.rng = random.Random(seed)
        self.op = {s.id: s.operator for s in inventory.systems.values()}
        self.systems_of: dict[str, list[str]] = {}
        for s in sorted(inventory.systems.values(), key=lambda s: s.id):
            self.systems_of.setdefault(s.operator, []).append(s.id)
        self.endpoints = {e.id: list(e.endpoints) for e in (*inventory.systems.values(),
                                                           *inventory.organisations.values()) if e.endpoints}

    # hosts --------------------------------------------------------------------------------------

    def host(self, node: str, k: int = 0, *, prefer_ip: bool = False) -> str:
        kinds = [endpoint_kind(e) for e in self.endpoints[node]]
        order = ("cidr", "host", "wildcard") if prefer_ip else ("host", "wildcard", "cidr")
        for wanted in order:
            for kind, value in kinds:
                if kind != wanted:
                    continue
                if kind == "host":
                    return value
                if kind == "wildcard":
                    return f"api{k % 3}.{value}"
                network = ipaddress.ip_network(value)
                return str(network.network_address + 1 + k % max(1, min(network.num_addresses - 2, 200)))
        raise AssertionError(node)

    def target(self, end: str) -> str | None:
        """The node whose endpoints traffic of a flow's end comes from or goes to (as `observe`
        maps it): the end itself, a system's operator, or an organisation's first system."""
        if end in self.endpoints:
            return end
        if end in self.op:
            return self.op[end] if self.op[end] in self.endpoints else None
        if end in self.inv.organisations:
            return next((s for s in self.systems_of.get(end, ()) if s in self.endpoints), None)
        return None

    def declared_countries(self, node: str) -> list[str]:
        inv = self.inv
        if node in inv.systems:
            s = inv.systems[node]
            return sorted(set(s.locations) or {inv.organisations[s.operator].country})
        countries = {inv.organisations[node].country}
        for sid in self.systems_of.get(node, ()):
            countries |= set(inv.systems[sid].locations)
        return sorted(countries)

    def side(self, node: str) -> set[str]:
        """Flow ends whose flows would cover traffic of this observed node."""
        if node in self.op:
            return {node, self.op[node]}
        return {node, *self.systems_of.get(node, ())}

    # the plan -----------------------------------------------------------------------------------

    def build(self, rows: int) -> tuple[list[tuple[str, str, str | None, str | None]], list[tuple[str, int]], dict]:
        inv, rng = self.inv, self.rng
        flows = sorted((f for f in inv.flows.values()
                        if f.from_ not in inv.subjects and f.to not in inv.subjects), key=lambda f: f.id)
        pair_count: dict[frozenset[str], int] = {}
        for f in flows:
            key = frozenset((f.from_, f.to))
            pair_count[key] = pair_count.get(key, 0) + 1
        observable = []
        for f in flows:
            a, b = self.target(f.from_), self.target(f.to)
            if a is not None and b is not None and a != b:
                observable.append((f, a, b))
        systems = sorted(s for s in inv.systems if s in self.endpoints)

        def declared_between(xs: set[str], ys: set[str]) -> bool:
            return any(pair_count.get(frozenset((x, y)), 0) for x in xs for y in ys)

        # silent flows: system to system, and nothing else covers that pair of systems
        candidates = [f for f, a, b in observable
                      if f.from_ in self.op and f.to in self.op and a == f.from_ and b == f.to
                      and sum(pair_count.get(frozenset((x, y)), 0)
                              for x in (f.from_, self.op[f.from_]) for y in (f.to, self.op[f.to])) == 1]
        silent = sorted(rng.sample(candidates, min(len(candidates), max(1, len(observable) // 100))),
                        key=lambda f: f.id)
        silent_ids = {f.id for f in silent}

        channels: list[tuple[str, str, str | None, str | None]] = []  # (source, destination, country, elements)
        for i, (f, a, b) in enumerate(observable):
            if f.id in silent_ids:
                continue
            channels.append((self.host(a, i, prefer_ip=True), self.host(b, i), self.declared_countries(b)[0],
                             ";".join(f.elements) or None))

        # undeclared: system to system, and system to an external organisation
        undeclared: dict[str, set[str]] = {}
        targets = sorted(o.id for o in inv.organisations.values() if o.id in self.endpoints)
        wanted = max(2, len(systems) // 40)
        for attempt in range(200 * wanted):
            if sum(len(v) for v in undeclared.values()) >= wanted or len(systems) < 2:
                break
            a = rng.choice(systems)
            b = rng.choice(targets) if attempt % 3 == 2 and targets else rng.choice(systems)
            if a == b or self.op.get(a) == b or self.op.get(b) == a:
                continue
            if declared_between(self.side(a), self.side(b)) or b in undeclared.get(a, ()):
                continue
            undeclared.setdefault(a, set()).add(b)
            channels.append((self.host(a, attempt, prefer_ip=True), self.host(b, attempt),
                             self.declared_countries(b)[0], None))

        # wrong countries: traffic to a node that is observed anyway, answered from elsewhere
        destinations = sorted({b for f, a, b in observable if f.id not in silent_ids})
        wrong: dict[str, list[str]] = {}
        for b in rng.sample(destinations, min(len(destinations), max(1, len(destinations) // 30))):
            declared = set(self.declared_countries(b))
            country = next(c for c in WRONG_COUNTRIES if c not in declared)
            source = next((a for f, a, bb in observable if bb == b and f.id not in silent_ids))
            wrong[b] = [country]
            channels.append((self.host(source, 7, prefer_ip=True), self.host(b, 7), country, None))

        # unknown hosts: a few named ones per system, and the long tail
        unknown_systems = sorted(rng.sample(systems, min(len(systems), max(1, len(systems) // 25))))
        unknown: dict[str, set[str]] = {}
        for j, s in enumerate(unknown_systems):
            for k in range(1 + j % 3):
                host = f"cdn{k}.tracker{j}.unknown-drift.net"
                unknown.setdefault(s, set()).add(host)
                channels.append((self.host(s, k, prefer_ip=True), host, "US", None))
        tail = min(1_000_000, rows // 100)
        tail_sources = [(s, self.host(s, 3, prefer_ip=True)) for s in unknown_systems]
        if len(channels) + tail > rows:
            raise ValueError(f"--logs {rows} is too few rows for this inventory: at least "
                             f"{(len(channels)) * 100 // 99 + 1} are needed, one per traffic channel")
        per_source: dict[str, int] = {}
        for t in range(tail):
            s = tail_sources[t % len(tail_sources)][0]
            per_source[s] = per_source.get(s, 0) + 1
        expected = {
            "OBS-001": {a: sorted(bs) for a, bs in sorted(undeclared.items())},
            "OBS-002": {s: len(unknown.get(s, ())) + per_source.get(s, 0) for s in unknown_systems},
            "OBS-003": sorted(silent_ids),
            "OBS-004": dict(sorted(wrong.items())),
        }
        manifest = {"rows": rows, "channels": len(channels), "tail_hosts": tail,
                    "unknown_hosts": {s: sorted(h) for s, h in sorted(unknown.items())}, "expected": expected}
        return channels, [(host, i) for i, (_, host) in enumerate(tail_sources)], manifest


def write_logs(inventory_dir: Path, out: Path, rows: int, seed: int = 0,
               formats: tuple[str, ...] = ("parquet",)) -> dict[str, Any]:
    """Write `rows` log rows for the inventory at `inventory_dir` into `out/<format>/`, and
    `out/planted.json`; return the manifest."""
    import duckdb
    import pandas as pd

    from flowaudit.api import load

    plan = _Plan(load(inventory_dir), seed)
    channels, tail_sources, manifest = plan.build(rows)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("channels_df", pd.DataFrame(
            [(i, *c) for i, c in enumerate(channels)], columns=["idx", "source", "destination", "country", "elements"]))
        con.register("tail_df", pd.DataFrame(tail_sources, columns=["source", "idx"]))
        con.execute("CREATE TABLE channels AS SELECT * FROM channels_df")
        con.execute("CREATE TABLE tail_sources AS SELECT * FROM tail_df")
        n_channels, n_tail_sources = len(channels), max(1, len(tail_sources))
        tail = int(manifest["tail_hosts"])
        body = rows - tail
        # rows [0, body): channel r % C; rows [body, rows): the long tail of unknown hosts
        select = f"""
            SELECT TIMESTAMPTZ '{START}+00' + to_seconds(CAST(hash(r.range, {int(seed)}) % {SPAN_SECONDS} AS BIGINT))
                       AS time,
                   c.source, c.destination,
                   CAST(200 + hash(r.range + 1, {int(seed)}) % 50000 AS BIGINT) AS bytes,
                   CAST(1 AS BIGINT) AS count, c.elements, c.country
            FROM range({{lo}}, {{hi}}) r JOIN channels c ON c.idx = r.range % {n_channels}
            WHERE r.range < {body}
            UNION ALL
            SELECT TIMESTAMPTZ '{START}+00' + to_seconds(CAST(hash(r.range, {int(seed)}) % {SPAN_SECONDS} AS BIGINT)),
                   t.source, 't' || CAST(r.range - {body} AS VARCHAR) || '.longtail.unknown-drift.net',
                   CAST(200 + hash(r.range + 1, {int(seed)}) % 5000 AS BIGINT), CAST(1 AS BIGINT), NULL, 'US'
            FROM range({{lo}}, {{hi}}) r JOIN tail_sources t ON t.idx = (r.range - {body}) % {n_tail_sources}
            WHERE r.range >= {body}"""
        files: dict[str, list[str]] = {}
        for fmt in formats:
            folder = out / fmt
            folder.mkdir(exist_ok=True)
            for n, lo in enumerate(range(0, rows, ROWS_PER_FILE)):
                hi = min(rows, lo + ROWS_PER_FILE)
                target = folder / f"traffic-{n:03d}.{ 'jsonl' if fmt == 'jsonl' else fmt}"
                query = select.format(lo=lo, hi=hi)
                if fmt == "csv":
                    query = (f"SELECT strftime(time, '%Y-%m-%dT%H:%M:%SZ') AS time, source, destination, bytes, "
                             f"count, elements, country FROM ({query})")
                option = {"parquet": "FORMAT parquet, COMPRESSION zstd", "csv": "FORMAT csv, HEADER true",
                          "jsonl": "FORMAT json"}[fmt]
                con.execute(f"COPY ({query}) TO '{target}' ({option})")
                files.setdefault(fmt, []).append(str(target.relative_to(out)))
        manifest["files"] = files
    finally:
        con.close()
    (out / "planted.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest
