"""The Spark engine, for logs that outgrow one machine: the same aggregation as the DuckDB
engine, written with the PySpark DataFrame API, on an existing cluster (`--spark-master`, or
the usual Spark configuration: spark-defaults.conf, spark-submit) or in local mode. The logs
are read by Spark's own readers; only the small aggregates come back to the driver.

Install with `pip install 'flowaudit[spark]'` and a Java runtime (17 or later).
"""

from __future__ import annotations

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


def _delimiter(path: str) -> str:
    """CSV or TSV: Spark does not sniff; read the header line."""
    import gzip

    opener: Any = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
    except OSError as exc:
        raise LogError(f"{path}: cannot read: {exc}") from exc
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: (counts[d], d == ","))


class SparkEngine:
    name = "spark"

    def __init__(self, master: str | None = None, session: Any = None, app_name: str = "flowaudit observe"):
        self.master, self.session, self.app_name = master, session, app_name

    def _spark(self) -> Any:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise LogError("--engine spark needs PySpark and a Java runtime: pip install 'flowaudit[spark]'") from exc
        if self.session is not None:
            return self.session
        import os

        builder = SparkSession.builder.appName(self.app_name).config("spark.ui.showConsoleProgress", "false")
        if self.master:
            builder = builder.master(self.master)
        if not self.master or self.master.startswith("local"):
            # one machine: a few shuffle partitions, not the cluster default of 200 (each a task)
            cores = os.cpu_count() or 1
            builder = (builder.config("spark.sql.shuffle.partitions", str(max(4, 2 * cores)))
                       .config("spark.ui.enabled", "false"))
        try:
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
            return session
        except Exception as exc:
            message = str(exc).strip()
            raise LogError(f"cannot start Spark: {message.splitlines()[0] if message else exc}") from exc

    def aggregate(self, logs: LogFiles, mapping: dict[str, str], tables: EndpointTables,
                  since_us: int | None, until_us: int | None) -> Aggregates:
        import duckdb

        from .engine_duckdb import check_columns

        with duckdb.connect(":memory:") as con:  # the same per-file checks, and messages, as the default engine
            check_columns(con, logs, mapping)
        spark = self._spark()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        spark.conf.set("spark.sql.ansi.enabled", "false")
        try:
            return _SparkRun(spark, logs, mapping, tables, since_us, until_us).run()
        except LogError:
            raise
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LogError(f"cannot read the logs with Spark: {first}") from exc


class _SparkRun:
    def __init__(self, spark: Any, logs: LogFiles, mapping: dict[str, str], tables: EndpointTables,
                 since_us: int | None, until_us: int | None):
        self.spark, self.logs, self.mapping, self.tables = spark, logs, mapping, tables
        self.since_us, self.until_us = since_us, until_us

    # --- reading -----------------------------------------------------------------------------

    def _frames(self, fmt: str, files: list[str]) -> list[Any]:
        reader = self.spark.read
        if fmt == "parquet":
            return [reader.option("mergeSchema", "true").parquet(*files)]
        if fmt == "json":
            return [reader.json(files)]
        by_delimiter: dict[str, list[str]] = {}
        for file in files:
            by_delimiter.setdefault(_delimiter(file), []).append(file)
        return [reader.option("header", "true").option("inferSchema", "false").option("sep", sep).csv(group)
                for sep, group in sorted(by_delimiter.items())]

    def _select(self, df: Any) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        types = {field.name: field.dataType for field in df.schema.fields}
        name = {ours: self.mapping.get(ours, ours) for ours in (*REQUIRED, *OPTIONAL)}
        has = {ours: name[ours] in types for ours in OPTIONAL}
        col = {ours: F.col(f"`{name[ours]}`") for ours in name}
        numeric = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)

        def epoch(value: Any) -> Any:
            return F.round(F.when(F.abs(value) >= 1e11, value * 1000).otherwise(value * 1000000)).cast("long")

        time_type = types[name["time"]]
        if isinstance(time_type, (T.TimestampType, T.TimestampNTZType, T.DateType)):
            t = F.unix_micros(col["time"].cast("timestamp"))
        elif isinstance(time_type, numeric):
            t = epoch(col["time"].cast("double"))
        else:
            text = F.trim(col["time"].cast("string"))
            t = (F.when(text.rlike(r"^-?[0-9]+(\.[0-9]+)?$"), epoch(F.expr("try_cast(__t AS DOUBLE)")))
                 .otherwise(F.unix_micros(F.expr("try_cast(__t AS TIMESTAMP)"))))
            df = df.withColumn("__t", text)

        def number(ours: str) -> Any:
            if not has[ours]:
                return F.lit(None).cast("long")
            if isinstance(types[name[ours]], numeric):
                return F.round(col[ours].cast("double")).cast("long")
            return F.expr(f"try_cast(trim(CAST(`{name[ours]}` AS STRING)) AS BIGINT)")

        if has["elements"]:
            etype = types[name["elements"]]
            elements = (F.concat_ws(";", col["elements"]) if isinstance(etype, T.ArrayType)
                        else col["elements"].cast("string"))
        else:
            elements = F.lit(None).cast("string")
        if has["country"]:
            upper = F.upper(F.trim(col["country"].cast("string")))
            country = F.when(upper != "", upper)
        else:
            country = F.lit(None).cast("string")
        df = df.select(
            col["source"].cast("string").alias("source"), col["destination"].cast("string").alias("destination"),
            t.alias("t"), number("bytes").alias("nbytes_raw"), number("count").alias("cnt_raw"),
            elements.alias("elements"), country.alias("country"), col["time"].cast("string").alias("time_text"),
            (col["bytes"] if has["bytes"] else F.lit(None)).alias("bytes_in"),
            (col["count"] if has["count"] else F.lit(None)).alias("count_in"),
            F.col("_metadata.file_path").alias("file"))
        problem = (F.when(F.col("time_text").isNull(), "missing time")
                   .when(F.col("t").isNull(), "bad timestamp")
                   .when(F.col("bytes_in").isNotNull() & F.col("nbytes_raw").isNull(), "bad bytes")
                   .when(F.col("count_in").isNotNull() & F.col("cnt_raw").isNull(), "bad count"))
        return df.select("source", "destination", "t", F.coalesce("nbytes_raw", F.lit(0)).alias("nbytes"),
                         F.coalesce("cnt_raw", F.lit(1)).alias("cnt"), "elements", "country",
                         problem.alias("problem"), "time_text", "file")

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> Aggregates:
        from functools import reduce

        from pyspark.sql import functions as F

        frames = [self._select(df) for fmt, files in self.logs.by_format.items() for df in self._frames(fmt, files)]
        logs = reduce(lambda a, b: a.unionByName(b), frames)
        keep = F.lit(True)
        if self.since_us is not None:
            keep = keep & (F.col("t") >= F.lit(int(self.since_us)))
        if self.until_us is not None:
            keep = keep & (F.col("t") < F.lit(int(self.until_us)))
        agg = (logs.where(F.col("problem").isNotNull() | keep)
               .groupBy("source", "destination", "country", "elements", "problem")
               .agg(F.count(F.lit(1)).alias("nrows"), F.sum("cnt").alias("cnt"), F.sum("nbytes").alias("nbytes"),
                    F.min("t").alias("first"), F.max("t").alias("last"))
               .persist())
        try:
            return self._aggregate(logs, agg)
        finally:
            agg.unpersist()

    def _aggregate(self, logs: Any, agg: Any) -> Aggregates:
        from pyspark.sql import functions as F

        problems = (agg.where(F.col("problem").isNotNull()).groupBy("problem").agg(F.sum("nrows").alias("n"))
                    .orderBy("problem").collect())
        if problems:
            examples = (logs.where(F.col("problem").isNotNull()).select("problem", "file", "time_text")
                        .limit(3).collect())
            found = [Problem(r["problem"], _local(r["file"]), r["time_text"], 0) for r in examples]
            counts = ", ".join(f"{r['n']} row{'s' if r['n'] != 1 else ''} with {r['problem']}" for r in problems)
            lines = [f"{p.file}: {p.problem}" + (f" {p.example!r}" if p.example is not None and "time" in p.problem
                                                   else "") for p in found]
            raise LogError("; ".join(lines) + f" ({counts} in all; times must be ISO 8601 or Unix seconds)")
        out = Aggregates()
        unmapped = F.col("source").isNull() | F.col("destination").isNull()
        row = agg.agg(F.sum("nrows"), F.sum("cnt"), F.sum("nbytes"), F.min("first"), F.max("last"),
                      F.sum(F.when(unmapped, F.col("nrows")))).collect()[0]
        out.rows, out.connections, out.bytes = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
        out.first_us, out.last_us, out.ignored = row[3], row[4], int(row[5] or 0)
        host_map = self._map_hosts(agg).persist()
        try:
            stats = host_map.agg(F.count(F.lit(1)), F.count("node")).collect()[0]
            out.hosts, out.mapped_hosts = int(stats[0]), int(stats[1])
            s = host_map.select(F.col("raw").alias("s_raw"), F.col("node").alias("src")).where(F.col("src").isNotNull())
            d = host_map.select(F.col("raw").alias("d_raw"), F.col("node").alias("dst"),
                                F.col("host").alias("dst_host"))
            m = (agg.join(s, agg["source"] == s["s_raw"]).join(d, agg["destination"] == d["d_raw"])
                 .select("src", "dst", "dst_host", "country", "elements", "cnt", "nbytes", "first", "last")
                 .persist())
            try:
                out.pairs = self._pairs(m)
                out.unknown = self._unknown(m)
                out.countries = self._countries(m)
            finally:
                m.unpersist()
        finally:
            host_map.unpersist()
        return out

    def _map_hosts(self, agg: Any) -> Any:
        from pyspark.sql import Window
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        spark = self.spark
        raw = (agg.where(F.col("source").isNotNull()).select(F.col("source").alias("raw"))
               .union(agg.where(F.col("destination").isNotNull()).select(F.col("destination").alias("raw")))
               .distinct())
        a = F.substring_index(F.regexp_replace(F.lower(F.trim("raw")), r"^[a-z][a-z0-9+.-]*://", ""), "/", 1)
        hosts = raw.withColumn("a", a).withColumn("h", F.expr(
            r"""trim(TRAILING '.' FROM CASE WHEN a LIKE '[%' THEN regexp_extract(a, '^\\[([^\\]]*)\\]', 1)
                                          WHEN a LIKE '%:%' AND a NOT LIKE '%:%:%' THEN substring_index(a, ':', 1)
                                          ELSE a END)""")).select("raw", F.col("h").alias("host"))
        hosts = hosts.persist()
        string = T.StringType()
        ep_hosts = spark.createDataFrame(self.tables.hosts, T.StructType(
            [T.StructField("ep_host", string), T.StructField("node", string)]))
        ep_suffixes = spark.createDataFrame(self.tables.suffixes, T.StructType(
            [T.StructField("suffix", string), T.StructField("node", string)]))
        ep_networks = spark.createDataFrame(self.tables.networks, T.StructType(
            [T.StructField("family", string), T.StructField("plen", T.IntegerType()),
             T.StructField("bits", string), T.StructField("node", string)]))
        ep_lengths = spark.createDataFrame(self.tables.prefix_lengths, T.StructType(
            [T.StructField("l_family", string), T.StructField("l_plen", T.IntegerType())]))

        v4 = (hosts.where(F.col("host").rlike(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"))
              .withColumn("o", F.split("host", r"\."))
              .where(F.expr("array_max(transform(o, x -> CAST(x AS INT))) <= 255"))
              .select("raw", F.lit("v4").alias("family"), F.expr(
                  "lpad(conv(CAST(CAST(o[0] AS BIGINT) * 16777216 + CAST(o[1] AS BIGINT) * 65536 "
                  "+ CAST(o[2] AS BIGINT) * 256 + CAST(o[3] AS BIGINT) AS STRING), 10, 2), 32, '0')").alias("bits")))
        v6 = (hosts.where(F.col("host").like("%:%") & F.col("host").rlike("^[0-9a-f:]+$")
                          & ~F.col("host").like("%::%::%") & ~F.col("host").like("%:::%"))
              .withColumn("gap", F.col("host").like("%::%"))
              .withColumn("l", F.expr("CASE WHEN gap THEN substring_index(host, '::', 1) ELSE host END"))
              .withColumn("r", F.expr("CASE WHEN gap THEN substring_index(host, '::', -1) ELSE '' END"))
              .withColumn("lg", F.expr("CASE WHEN l = '' THEN CAST(array() AS ARRAY<STRING>) ELSE split(l, ':') END"))
              .withColumn("rg", F.expr("CASE WHEN r = '' THEN CAST(array() AS ARRAY<STRING>) ELSE split(r, ':') END"))
              .where(F.expr("(gap AND size(lg) + size(rg) < 8) OR (NOT gap AND size(lg) = 8)"))
              .withColumn("g", F.expr("concat(lg, array_repeat('0', 8 - size(lg) - size(rg)), rg)"))
              .where(F.expr("forall(g, x -> length(x) BETWEEN 1 AND 4)"))
              .withColumn("hex", F.expr("array_join(transform(g, x -> lpad(x, 4, '0')), '')"))
              .select("raw", F.lit("v6").alias("family"), F.expr(
                  "concat(lpad(conv(substr(hex, 1, 16), 16, 2), 64, '0'), "
                  "lpad(conv(substr(hex, 17, 16), 16, 2), 64, '0'))").alias("bits")))
        ips = v4.unionByName(v6)

        exact = hosts.join(ep_hosts, hosts["host"] == ep_hosts["ep_host"]).select("raw", F.col("node").alias("exact"))
        names = hosts.join(ips.select(F.col("raw").alias("ip_raw")), hosts["raw"] == F.col("ip_raw"), "left_anti")
        suffixes = (names.where(F.col("host").like("%.%"))
                    .withColumn("parts", F.split("host", r"\."))
                    .withColumn("i", F.explode(F.expr("sequence(2, size(parts))")))
                    .withColumn("suffix", F.expr("array_join(slice(parts, i, size(parts) - i + 1), '.')"))
                    .select("raw", "suffix"))
        by_length = Window.partitionBy("raw").orderBy(F.length("suffix").desc())
        wild = (suffixes.join(ep_suffixes, "suffix")
                .withColumn("rank", F.row_number().over(by_length)).where("rank = 1")
                .select("raw", F.col("node").alias("wild")))
        by_prefix = Window.partitionBy("raw").orderBy(F.col("plen").desc())
        cidr = (ips.join(ep_lengths, ips["family"] == ep_lengths["l_family"])
                .withColumn("prefix", F.expr("substr(bits, 1, l_plen)"))
                .join(ep_networks, (F.col("l_family") == ep_networks["family"])
                      & (F.col("l_plen") == ep_networks["plen"]) & (F.col("prefix") == ep_networks["bits"]))
                .withColumn("rank", F.row_number().over(by_prefix)).where("rank = 1")
                .select("raw", F.col("node").alias("cidr")))
        return (hosts.join(exact, "raw", "left").join(wild, "raw", "left").join(cidr, "raw", "left")
                .select("raw", "host", F.coalesce("exact", "wild", "cidr").alias("node")))

    def _top_hosts(self, m: Any, keys: list[str], where: Any) -> dict[tuple[str, ...], tuple[str, ...]]:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        window = Window.partitionBy(*keys).orderBy(F.col("c").desc(), F.col("dst_host"))
        rows = (m.where(where).groupBy(*keys, "dst_host").agg(F.sum("cnt").alias("c"))
                .withColumn("rank", F.row_number().over(window)).where(F.col("rank") <= TOP_HOSTS)
                .orderBy(*keys, "rank").collect())
        out: dict[tuple[str, ...], list[str]] = {}
        for r in rows:
            out.setdefault(tuple(r[k] for k in keys), []).append(r["dst_host"])
        return {k: tuple(v) for k, v in out.items()}

    def _pairs(self, m: Any) -> list[Pair]:
        from pyspark.sql import functions as F

        where = F.col("dst").isNotNull() & (F.col("src") != F.col("dst"))
        rows = (m.where(where).groupBy("src", "dst")
                .agg(F.sum("cnt").alias("c"), F.sum("nbytes").alias("b"), F.min("first").alias("f"),
                     F.max("last").alias("l"), F.collect_set("elements").alias("el")).collect())
        hosts = self._top_hosts(m, ["src", "dst"], where)
        return [Pair(r["src"], r["dst"], Usage(int(r["c"]), int(r["b"]), r["f"], r["l"]),
                     hosts.get((r["src"], r["dst"]), ()), split_elements(list(r["el"] or [])))
                for r in rows]

    def _unknown(self, m: Any) -> list[Unknown]:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        unknown = (m.where(F.col("dst").isNull()).groupBy("src", F.col("dst_host").alias("host"))
                   .agg(F.sum("cnt").alias("c"), F.sum("nbytes").alias("b"), F.min("first").alias("f"),
                        F.max("last").alias("l")).persist())
        try:
            totals = unknown.groupBy("src").agg(F.count(F.lit(1)).alias("n"), F.sum("c").alias("c"),
                                               F.sum("b").alias("b"), F.min("f").alias("f"),
                                               F.max("l").alias("l")).collect()
            window = Window.partitionBy("src").orderBy(F.col("b").desc(), F.col("c").desc(), F.col("host"))
            top: dict[str, list[UnknownHost]] = {}
            for r in (unknown.withColumn("rank", F.row_number().over(window)).where(F.col("rank") <= TOP_UNKNOWN)
                      .orderBy("src", "rank").collect()):
                usage = Usage(int(r["c"]), int(r["b"]), r["f"], r["l"])
                top.setdefault(r["src"], []).append(UnknownHost(r["host"], usage))
        finally:
            unknown.unpersist()
        return [Unknown(r["src"], int(r["n"]), Usage(int(r["c"]), int(r["b"]), r["f"], r["l"]),
                        tuple(top.get(r["src"], ()))) for r in totals]

    def _countries(self, m: Any) -> list[Country]:
        from pyspark.sql import functions as F

        where = F.col("dst").isNotNull() & F.col("country").isNotNull()
        rows = (m.where(where).groupBy("dst", "country")
                .agg(F.sum("cnt").alias("c"), F.sum("nbytes").alias("b"), F.min("first").alias("f"),
                     F.max("last").alias("l")).collect())
        hosts = self._top_hosts(m, ["dst", "country"], where)
        return [Country(r["dst"], r["country"], Usage(int(r["c"]), int(r["b"]), r["f"], r["l"]),
                        hosts.get((r["dst"], r["country"]), ())) for r in rows]


def _local(path: str | None) -> str:
    """Spark names files by URI; show a local file as a path."""
    if path and path.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return unquote(urlparse(path).path)
    return path or "?"
