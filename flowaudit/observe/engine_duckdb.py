"""The default engine: DuckDB, embedded. The logs are read where they lie (read_parquet,
read_csv, read_json over the file lists), aggregated in one streaming pass to one row per
(source, destination, country, elements), and only the distinct hosts are matched against the
inventory's endpoints, with joins in the database: exact names, wildcard suffixes (each host's
parent domains joined to the wildcard table) and CIDR ranges (each address's leading bits joined
to the ranges' prefixes, one equi-join per prefix length present, IPv4 and IPv6). Memory is
bounded by DuckDB's memory limit; what does not fit spills to the temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from .aggregates import (
    TOP_HOSTS,
    TOP_UNKNOWN,
    Aggregates,
    Country,
    Pair,
    Problem,
    Unknown,
    UnknownHost,
    Usage,
    split_elements,
)
from .endpoints import EndpointTables
from .sources import OPTIONAL, REQUIRED, LogError, LogFiles

FILE_COLUMN = "__flowaudit_file"


@dataclass(frozen=True)
class DuckDBSettings:
    memory_limit: str = "2GB"
    threads: int | None = None  # default: every core
    temp_directory: str | None = None  # default: a fresh folder under the system's temporary folder


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _files(files: list[str]) -> str:
    return "[" + ", ".join(_lit(f) for f in files) + "]"


def check_columns(con: Any, logs: LogFiles, mapping: dict[str, str]) -> None:
    """Every file can be read and has the required columns (under their mapped names). Both
    engines run this first, so that a bad file gives the same message whichever engine runs."""
    import duckdb

    want = {ours: mapping.get(ours, ours) for ours in REQUIRED}
    for fmt, files in logs.by_format.items():
        per_file: dict[str, set[str]] = {}
        if fmt == "parquet":
            for file in files:
                try:
                    rows = con.execute(f"SELECT name FROM parquet_schema({_lit(file)})").fetchall()
                except duckdb.Error as exc:
                    raise LogError(f"{file}: cannot read as Parquet: {_first_line(exc)}") from exc
                per_file[file] = {name for (name,) in rows}
        else:
            for file in files[:1000]:  # sniffing every one of thousands of files would cost more than the read
                try:
                    described = con.execute(f"DESCRIBE SELECT * FROM {_reader(fmt, [file])}").fetchall()
                except duckdb.Error as exc:
                    raise LogError(f"{file}: cannot read as {fmt.upper()}: {_first_line(exc)}") from exc
                per_file[file] = {row[0] for row in described}
        for file, names in per_file.items():
            missing = [ours + (f" (mapped to {theirs!r})" if theirs != ours else "")
                       for ours, theirs in want.items() if theirs not in names]
            if missing:
                shown = ", ".join(sorted(n for n in names if n != FILE_COLUMN)[:12]) or "none"
                raise LogError(f"{file}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                               f"the file has: {shown} (use --map NAME=COLUMN for other names)")


def _reader(fmt: str, files: list[str]) -> str:
    if fmt == "parquet":
        return f"read_parquet({_files(files)}, union_by_name = true, filename = {_lit(FILE_COLUMN)})"
    if fmt == "csv":
        return (f"read_csv({_files(files)}, header = true, all_varchar = true, union_by_name = true, "
                f"filename = {_lit(FILE_COLUMN)})")
    return (f"read_json({_files(files)}, format = 'newline_delimited', union_by_name = true, "
            f"filename = {_lit(FILE_COLUMN)})")


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
           "FLOAT", "DOUBLE", "DECIMAL")


def _time_expr(col: str, dtype: str) -> str:
    """Unix microseconds; NULL when the value is not a timestamp. Numbers are Unix seconds
    (milliseconds when above 10^11, a date after the year 5000 in seconds)."""
    if dtype.startswith("TIMESTAMP") or dtype == "DATE":
        return f"epoch_us(CAST({col} AS TIMESTAMPTZ))"
    if dtype.startswith(NUMERIC):
        return _epoch(col)
    text = f"trim(CAST({col} AS VARCHAR))"
    return (f"CASE WHEN regexp_full_match({text}, '-?[0-9]+(\\.[0-9]+)?') THEN {_epoch(f'try_cast({text} AS DOUBLE)')} "
            f"ELSE epoch_us(try_cast({text} AS TIMESTAMPTZ)) END")


def _epoch(value: str) -> str:
    return f"CAST(round(CASE WHEN abs({value}) >= 1e11 THEN {value} * 1000 ELSE {value} * 1000000 END) AS BIGINT)"


def _number_expr(col: str, dtype: str) -> str:
    if dtype.startswith(NUMERIC):
        return f"CAST(round({col}) AS BIGINT)"
    return f"try_cast(trim(CAST({col} AS VARCHAR)) AS BIGINT)"


def _text_expr(col: str, dtype: str) -> str:
    if dtype.endswith("[]"):
        return f"array_to_string({col}, ';')"
    return f"CAST({col} AS VARCHAR)"


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, settings: DuckDBSettings | None = None):
        self.settings = settings or DuckDBSettings()

    def aggregate(self, logs: LogFiles, mapping: dict[str, str], tables: EndpointTables,
                  since_us: int | None, until_us: int | None) -> Aggregates:
        import duckdb

        temp = self.settings.temp_directory or tempfile.mkdtemp(prefix="flowaudit-duckdb-")
        con = duckdb.connect(":memory:", config={"allow_unsigned_extensions": False})
        try:
            con.execute(f"SET memory_limit = {_lit(self.settings.memory_limit)}")
            con.execute(f"SET temp_directory = {_lit(temp)}")
            con.execute(f"SET threads = {int(self.settings.threads or os.cpu_count() or 1)}")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET TimeZone = 'UTC'")
            check_columns(con, logs, mapping)
            return _Run(con, logs, mapping, tables, since_us, until_us).run()
        except duckdb.Error as exc:
            raise LogError(f"cannot read the logs: {_first_line(exc)}") from exc
        finally:
            con.close()
            if self.settings.temp_directory is None:
                shutil.rmtree(temp, ignore_errors=True)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Run:
    def __init__(self, con: Any, logs: LogFiles, mapping: dict[str, str], tables: EndpointTables,
                 since_us: int | None, until_us: int | None):
        self.con, self.logs, self.mapping, self.tables = con, logs, mapping, tables
        self.since_us, self.until_us = since_us, until_us

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        return self.con.execute(query).fetchall()

    # --- reading -----------------------------------------------------------------------------

    def _types(self, fmt: str, files: list[str]) -> dict[str, str]:
        import duckdb

        try:
            described = self.sql(f"DESCRIBE SELECT * FROM {_reader(fmt, files)}")
        except duckdb.Error as exc:
            raise LogError(f"cannot read {fmt.upper()} logs: {_first_line(exc)}") from exc
        return {row[0]: row[1] for row in described}

    def _select(self, fmt: str, files: list[str]) -> str:
        types = self._types(fmt, files)
        col = {ours: _q(self.mapping.get(ours, ours)) for ours in (*REQUIRED, *OPTIONAL)}
        has = {ours: self.mapping.get(ours, ours) in types for ours in OPTIONAL}
        dtype = {ours: types.get(self.mapping.get(ours, ours), "VARCHAR") for ours in col}
        t = _time_expr(col["time"], dtype["time"])
        nbytes = _number_expr(col["bytes"], dtype["bytes"]) if has["bytes"] else "NULL::BIGINT"
        count = _number_expr(col["count"], dtype["count"]) if has["count"] else "NULL::BIGINT"
        problem = [f"WHEN {col['time']} IS NULL THEN 'missing time'", "WHEN t IS NULL THEN 'bad timestamp'"]
        if has["bytes"]:
            problem.append(f"WHEN {col['bytes']} IS NOT NULL AND nbytes IS NULL THEN 'bad bytes'")
        if has["count"]:
            problem.append(f"WHEN {col['count']} IS NOT NULL AND cnt IS NULL THEN 'bad count'")
        elements = _text_expr(col["elements"], dtype["elements"]) if has["elements"] else "NULL::VARCHAR"
        country = f"nullif(upper(trim(CAST({col['country']} AS VARCHAR))), '')" if has["country"] else "NULL::VARCHAR"
        return f"""
            SELECT CAST({col['source']} AS VARCHAR) AS source, CAST({col['destination']} AS VARCHAR) AS destination,
                   t, coalesce(nbytes, 0) AS nbytes, coalesce(cnt, 1) AS cnt,
                   {elements} AS elements,
                   {country} AS country,
                   CASE {' '.join(problem)} ELSE NULL END AS problem,
                   CAST({col['time']} AS VARCHAR) AS time_text, {_q(FILE_COLUMN)} AS file
            FROM (SELECT *, {t} AS t, {nbytes} AS nbytes, {count} AS cnt FROM {_reader(fmt, files)})"""

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> Aggregates:
        logs = " UNION ALL ".join(self._select(fmt, files) for fmt, files in self.logs.by_format.items())
        self.con.execute(f"CREATE TEMP VIEW logs AS {logs}")
        window = []
        if self.since_us is not None:
            window.append(f"t >= {int(self.since_us)}")
        if self.until_us is not None:
            window.append(f"t < {int(self.until_us)}")
        keep = f"problem IS NOT NULL OR ({' AND '.join(window)})" if window else "TRUE"
        # one streaming pass over the logs: everything after reads this table
        self.con.execute(f"""
            CREATE TEMP TABLE agg AS
            SELECT source, destination, country, elements, problem,
                   count(*) AS nrows, sum(cnt) AS cnt, sum(nbytes) AS nbytes, min(t) AS first, max(t) AS last
            FROM logs WHERE {keep}
            GROUP BY ALL""")
        out = Aggregates()
        problems = self.sql("SELECT problem, sum(nrows) FROM agg WHERE problem IS NOT NULL GROUP BY 1 ORDER BY 1")
        if problems:
            self._raise_problems(problems)
        row = self.sql("""SELECT sum(nrows), sum(cnt), sum(nbytes), min(first), max(last),
                                 sum(nrows) FILTER (WHERE source IS NULL OR destination IS NULL)
                          FROM agg""")[0]
        out.rows, out.connections, out.bytes = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
        out.first_us, out.last_us, out.ignored = row[3], row[4], int(row[5] or 0)
        self._map_hosts()
        out.hosts, out.mapped_hosts = self.sql("SELECT count(*), count(node) FROM host_map")[0]
        self.con.execute("""
            CREATE TEMP TABLE m AS
            SELECT s.node AS src, d.node AS dst, d.host AS dst_host, a.country, a.elements,
                   a.cnt, a.nbytes, a.first, a.last
            FROM agg a JOIN host_map s ON a.source = s.raw JOIN host_map d ON a.destination = d.raw
            WHERE s.node IS NOT NULL""")
        out.pairs = self._pairs()
        out.unknown = self._unknown()
        out.countries = self._countries()
        return out

    def _raise_problems(self, problems: list[tuple[str, int]]) -> None:
        examples = self.sql("SELECT problem, file, time_text FROM logs WHERE problem IS NOT NULL LIMIT 3")
        found = [Problem(p, f, e, 0) for p, f, e in examples]
        counts = ", ".join(f"{n} row{'s' if n != 1 else ''} with {p}" for p, n in problems)
        lines = [f"{p.file}: {p.problem}" + (f" {p.example!r}" if p.example is not None and "time" in p.problem else "")
                 for p in found]
        raise LogError("; ".join(lines) + f" ({counts} in all; times must be ISO 8601 or Unix seconds)")

    def _map_hosts(self) -> None:
        """host_map(raw, host, node): every distinct source and destination, normalised (lower
        case, no scheme, path, port or trailing dot) and matched to its node, in SQL."""
        con = self.con
        con.execute("""
            CREATE TEMP TABLE hosts AS
            WITH raw AS (SELECT source AS raw FROM agg WHERE source IS NOT NULL
                         UNION SELECT destination FROM agg WHERE destination IS NOT NULL),
            a AS (SELECT raw, split_part(regexp_replace(lower(trim(raw)), '^[a-z][a-z0-9+.-]*://', ''), '/', 1) AS h
                  FROM raw)
            SELECT raw, rtrim(CASE WHEN h LIKE '[%' THEN regexp_extract(h, '^\\[([^\\]]*)\\]', 1)
                                   WHEN h LIKE '%:%' AND h NOT LIKE '%:%:%' THEN split_part(h, ':', 1)
                                   ELSE h END, '.') AS host
            FROM a""")
        import pandas as pd

        con.register("ep_hosts", pd.DataFrame(self.tables.hosts, columns=["host", "node"], dtype="object"))
        con.register("ep_suffixes", pd.DataFrame(self.tables.suffixes, columns=["suffix", "node"], dtype="object"))
        con.register("ep_networks", pd.DataFrame(
            [(f, int(n), b, node) for f, n, b, node in self.tables.networks] or None,
            columns=["family", "plen", "bits", "node"]).astype({"plen": "int64"}))
        con.register("ep_lengths", pd.DataFrame(self.tables.prefix_lengths or None, columns=["family", "plen"])
                     .astype({"plen": "int64"}))
        con.execute("""
            CREATE TEMP TABLE ips AS
            WITH v4 AS (
                SELECT raw, string_split(host, '.') AS o FROM hosts
                WHERE regexp_full_match(host, '[0-9]{1,3}(\\.[0-9]{1,3}){3}')),
            v4b AS (
                SELECT raw, 'v4' AS family,
                       lpad(bin(CAST(o[1] AS BIGINT) * 16777216 + CAST(o[2] AS BIGINT) * 65536
                                + CAST(o[3] AS BIGINT) * 256 + CAST(o[4] AS BIGINT)), 32, '0') AS bits
                FROM v4 WHERE list_max(list_transform(o, lambda x: CAST(x AS INTEGER))) <= 255),
            v6 AS (
                SELECT raw, CASE WHEN host LIKE '%::%' THEN split_part(host, '::', 1) ELSE host END AS l,
                            CASE WHEN host LIKE '%::%' THEN split_part(host, '::', 2) ELSE '' END AS r,
                            host LIKE '%::%' AS gap
                FROM hosts
                WHERE host LIKE '%:%' AND regexp_full_match(host, '[0-9a-f:]+') AND host NOT LIKE '%::%::%'
                      AND host NOT LIKE '%:::%'),
            v6g AS (
                SELECT raw, gap, CASE WHEN l = '' THEN []::VARCHAR[] ELSE string_split(l, ':') END AS lg,
                                 CASE WHEN r = '' THEN []::VARCHAR[] ELSE string_split(r, ':') END AS rg
                FROM v6),
            v6x AS (
                SELECT raw, list_concat(lg, list_transform(range(8 - len(lg) - len(rg)), lambda x: '0'), rg) AS g
                FROM v6g WHERE (gap AND len(lg) + len(rg) < 8) OR (NOT gap AND len(lg) = 8)),
            v6h AS (
                SELECT raw, array_to_string(list_transform(g, lambda x: lpad(x, 4, '0')), '') AS hex
                FROM v6x WHERE list_bool_and(list_transform(g, lambda x: length(x) BETWEEN 1 AND 4))),
            v6b AS (
                SELECT raw, 'v6' AS family,
                       lpad(bin(CAST('0x' || substr(hex, 1, 16) AS UBIGINT)), 64, '0')
                       || lpad(bin(CAST('0x' || substr(hex, 17, 16) AS UBIGINT)), 64, '0') AS bits
                FROM v6h)
            SELECT * FROM v4b UNION ALL SELECT * FROM v6b""")
        con.execute("""
            CREATE TEMP TABLE host_map AS
            WITH exact AS (
                SELECT h.raw, e.node FROM hosts h JOIN ep_hosts e ON h.host = e.host),
            labels AS (
                SELECT raw, string_split(host, '.') AS parts FROM hosts
                WHERE raw NOT IN (SELECT raw FROM ips) AND host LIKE '%.%'),
            suffixes AS (
                SELECT raw, array_to_string(parts[i:], '.') AS suffix
                FROM (SELECT raw, parts, unnest(range(2, len(parts) + 1)) AS i FROM labels)),
            wild AS (
                SELECT s.raw, e.node FROM suffixes s JOIN ep_suffixes e ON s.suffix = e.suffix
                QUALIFY row_number() OVER (PARTITION BY s.raw ORDER BY length(s.suffix) DESC) = 1),
            cidr AS (
                SELECT i.raw, n.node
                FROM ips i JOIN ep_lengths l ON i.family = l.family
                     JOIN ep_networks n
                       ON n.family = l.family AND n.plen = l.plen AND n.bits = substr(i.bits, 1, l.plen)
                QUALIFY row_number() OVER (PARTITION BY i.raw ORDER BY n.plen DESC) = 1)
            SELECT h.raw, h.host, coalesce(exact.node, wild.node, cidr.node) AS node
            FROM hosts h LEFT JOIN exact USING (raw) LEFT JOIN wild USING (raw) LEFT JOIN cidr USING (raw)""")

    def _pairs(self) -> list[Pair]:
        rows = self.sql("""
            SELECT src, dst, sum(cnt), sum(nbytes), min(first), max(last),
                   list(DISTINCT elements) FILTER (WHERE elements IS NOT NULL)
            FROM m WHERE dst IS NOT NULL AND src <> dst GROUP BY src, dst""")
        hosts = self._top_hosts("src, dst", "dst IS NOT NULL AND src <> dst")
        return [Pair(s, d, Usage(int(c), int(b), f, la), hosts.get((s, d), ()), split_elements(el or []))
                for s, d, c, b, f, la, el in rows]

    def _top_hosts(self, keys: str, where: str) -> dict[tuple[str, ...], tuple[str, ...]]:
        rows = self.sql(f"""
            SELECT {keys}, dst_host FROM (
                SELECT {keys}, dst_host, sum(cnt) AS c FROM m WHERE {where} GROUP BY {keys}, dst_host
                QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY c DESC, dst_host) <= {TOP_HOSTS})
            ORDER BY {keys}, c DESC, dst_host""")
        out: dict[tuple[str, ...], list[str]] = {}
        for *key, host in rows:
            out.setdefault(tuple(key), []).append(host)
        return {k: tuple(v) for k, v in out.items()}

    def _unknown(self) -> list[Unknown]:
        self.con.execute("""
            CREATE TEMP TABLE unknown AS
            SELECT src, dst_host AS host, sum(cnt) AS c, sum(nbytes) AS b, min(first) AS f, max(last) AS l
            FROM m WHERE dst IS NULL GROUP BY src, dst_host""")
        totals = self.sql("SELECT src, count(*), sum(c), sum(b), min(f), max(l) FROM unknown GROUP BY src")
        top: dict[str, list[UnknownHost]] = {}
        for src, host, c, b, f, la in self.sql(f"""
                SELECT src, host, c, b, f, l FROM unknown
                QUALIFY row_number() OVER (PARTITION BY src ORDER BY b DESC, c DESC, host) <= {TOP_UNKNOWN}
                ORDER BY src, b DESC, c DESC, host"""):
            top.setdefault(src, []).append(UnknownHost(host, Usage(int(c), int(b), f, la)))
        return [Unknown(s, int(n), Usage(int(c), int(b), f, la), tuple(top.get(s, ())))
                for s, n, c, b, f, la in totals]

    def _countries(self) -> list[Country]:
        rows = self.sql("""
            SELECT dst, country, sum(cnt), sum(nbytes), min(first), max(last)
            FROM m WHERE dst IS NOT NULL AND country IS NOT NULL GROUP BY dst, country""")
        hosts = self._top_hosts("dst, country", "dst IS NOT NULL AND country IS NOT NULL")
        return [Country(d, c, Usage(int(n), int(b), f, la), hosts.get((d, c), ())) for d, c, n, b, f, la in rows]
