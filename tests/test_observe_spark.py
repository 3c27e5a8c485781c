"""`observe --engine spark` gives the same aggregates and findings as DuckDB on the same logs.

One local Spark session for the module (Spark starts slowly). CI installs Java and PySpark
(.ci/run), so there this test fails rather than skips when either is missing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import require_or_skip, write_tree
from test_observe import INVENTORY, LOG_HEADER, LOG_ROWS, _compare

from flowaudit.observe import observe


def _require_spark() -> None:
    missing = []
    try:
        import pyspark  # noqa: F401 - imported only to learn whether it is installed
    except ImportError:
        missing.append("pyspark (pip install 'flowaudit[spark]')")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing.append("a Java runtime (apt-get install default-jre-headless)")
    if missing:
        require_or_skip("Spark test needs " + " and ".join(missing))


@pytest.fixture(scope="module")
def spark():
    _require_spark()
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("flowaudit tests")
               .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flowaudit.synth import synthesize
    from flowaudit.synth.logs import write_logs

    root = tmp_path_factory.mktemp("spark")
    synthesize(root / "inv", 400, seed=1)
    write_logs(root / "inv", root / "logs", 12000, seed=1, formats=("parquet", "csv"))
    write_tree(root, {"small/inv/inventory.yaml": INVENTORY, "small/logs/a.csv": LOG_HEADER + LOG_ROWS})
    return root


def test_both_engines_give_identical_findings(spark, logs: Path) -> None:
    expected = json.loads((logs / "logs" / "planted.json").read_text(encoding="utf-8"))["expected"]
    cases = [(logs / "inv", [str(logs / "logs" / "parquet"), str(logs / "logs" / "csv" / "*.csv")]),
             (logs / "small" / "inv", [str(logs / "small" / "logs")])]
    for inventory, paths in cases:
        duck = observe(inventory, paths)
        spark_result = observe(inventory, paths, engine="spark", engine_options={"session": spark})
        assert spark_result.aggregates.normalised() == duck.aggregates.normalised()
        assert [f.as_dict() for f in spark_result.findings] == [f.as_dict() for f in duck.findings]
        assert duck.findings
    planted = observe(logs / "inv", [str(logs / "logs" / "parquet")], engine="spark", engine_options={"session": spark})
    assert _compare(planted.findings) == expected


def test_spark_reports_bad_logs_like_duckdb(spark, tmp_path: Path) -> None:
    from flowaudit.observe import LogError

    write_tree(tmp_path, {"inv/inventory.yaml": INVENTORY,
                          "logs/bad.csv": LOG_HEADER + "yesterday,10.1.2.3,crm.cloudco.example,1,1,,\n"})
    messages = []
    for engine, options in (("duckdb", {}), ("spark", {"session": spark})):
        with pytest.raises(LogError) as info:
            observe(tmp_path / "inv", [str(tmp_path / "logs")], engine=engine, engine_options=options)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "bad.csv: bad timestamp 'yesterday'" in messages[0]
