"""Benchmark of `flowaudit observe` (SPEC §10, issue 13): time and peak memory on DuckDB for
10 and 100 million log rows, Parquet and CSV, and the Spark local-mode time beside it.

    python benchmarks/observe_bench.py                       # 10M and 100M rows, Parquet and CSV, Spark at 10M
    python benchmarks/observe_bench.py --rows 10000000 --spark-rows 10000000 --formats parquet

The logs are written by `flowaudit synth --logs` (planted drift, a long tail of one distinct
unknown host per hundred rows) into --dir (default /tmp/flowaudit-observe-bench, never the
repository); each measured run is `flowaudit observe … --format json -o /dev/null` in a fresh
process, its peak resident memory read from the kernel (wait4). DuckDB runs with --threads and
--memory-limit as given (default 2 threads, 2GB); Spark with local[THREADS].
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path


def measure(args: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB of the process and the children it waited for, exit code);
    the CPU seconds (user + system) go to CPU[-1], steadier than wall time on a shared machine."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.stderr.write(stderr)
        raise SystemExit(f"{' '.join(args)} failed with exit {code}")
    CPU.append(usage.ru_utime + usage.ru_stime)
    return wall, usage.ru_maxrss / 1024, code


CPU: list[float] = []


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 100_000_000])
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    parser.add_argument("--spark-rows", type=int, nargs="*", default=[10_000_000],
                        help="row counts to run on Spark local mode as well (Parquet)")
    parser.add_argument("--flows", type=int, default=10_000, help="flows of the synthetic inventory")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/flowaudit-observe-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated logs")
    parser.add_argument("--replicate", type=int, default=1, metavar="K",
                        help="also measure K times the largest row count, its files hard-linked K times (the same "
                             "rows repeated: a scan K times as long, the same distinct hosts; no new disk space)")
    parser.add_argument("-o", "--output", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()

    flowaudit = [sys.executable, "-m", "flowaudit"]
    lines = [f"`observe` benchmark: {platform.python_version()}, {os.cpu_count()} cores, "
             f"load average {os.getloadavg()[0]:.1f} at start; inventory of {args.flows:,} flows; "
             f"DuckDB --threads {args.threads} --memory-limit {args.memory_limit}", "",
             "| rows | format | size on disk | engine | time | CPU (user+sys) | peak memory | findings | rows/s |",
             "|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    for rows in args.rows:
        root = args.dir / f"rows-{rows}"
        inventory = root
        if not (root / "logs" / "planted.json").is_file():
            shutil.rmtree(root, ignore_errors=True)
            started = time.perf_counter()
            fmts = [x for f in args.formats for x in ("--logs-format", f)]
            subprocess.run([*flowaudit, "synth", "-o", str(root), "--flows", str(args.flows), "--logs", str(rows),
                            *fmts], check=True, stdout=subprocess.DEVNULL)
            print(f"(generated {human(rows)} rows in {time.perf_counter() - started:.0f} s)", file=sys.stderr,
                  flush=True)
        runs = [(fmt, "duckdb") for fmt in args.formats]
        if rows in (args.spark_rows or []):
            runs.append(("parquet", "spark"))
        for fmt, engine in runs:
            logs = root / "logs" / fmt
            size = sum(p.stat().st_size for p in logs.iterdir()) / 1e9
            options = (["--threads", str(args.threads), "--memory-limit", args.memory_limit,
                        "--temp-directory", str(args.dir / "spill")] if engine == "duckdb"
                       else ["--spark-master", f"local[{args.threads}]"])
            out = args.dir / f"findings-{rows}-{fmt}-{engine}.json"
            wall, peak, _ = measure([*flowaudit, "observe", str(inventory), str(logs), "--engine", engine,
                                     "--format", "json", "-o", str(out), *options])
            findings = len(json.loads(out.read_text(encoding="utf-8"))["findings"])
            memory = f"{peak / 1024:.2f} GB" if engine == "duckdb" else "(JVM: not measured)"
            cpu = f"{CPU[-1]:.1f} s" if engine == "duckdb" else "(JVM)"
            line = (f"| {human(rows)} | {fmt} | {size:.2f} GB | {engine} | {wall:.1f} s | {cpu} | {memory} "
                    f"| {findings} | {rows / wall / 1e6:.1f}M |")
            lines.append(line)
            print(line, flush=True)
        if args.replicate > 1 and rows == max(args.rows):
            big = args.dir / f"rows-{rows}x{args.replicate}"
            shutil.rmtree(big, ignore_errors=True)
            for fmt in args.formats:
                (big / fmt).mkdir(parents=True)
                for k in range(args.replicate):
                    for f in sorted((root / "logs" / fmt).iterdir()):
                        os.link(f, big / fmt / f"r{k:02d}-{f.name}")
            for fmt in args.formats:
                logs = big / fmt
                size = sum(p.stat().st_size for p in logs.iterdir()) / 1e9
                out = args.dir / f"findings-{rows}x{args.replicate}-{fmt}.json"
                wall, peak, _ = measure([*flowaudit, "observe", str(inventory), str(logs), "--format", "json",
                                         "-o", str(out), "--threads", str(args.threads), "--memory-limit",
                                         args.memory_limit, "--temp-directory", str(args.dir / "spill")])
                findings = len(json.loads(out.read_text(encoding="utf-8"))["findings"])
                total = rows * args.replicate
                line = (f"| {human(total)} ({human(rows)} × {args.replicate}) | {fmt} | {size:.2f} GB | duckdb "
                        f"| {wall:.1f} s | {CPU[-1]:.1f} s | {peak / 1024:.2f} GB | {findings} "
                        f"| {total / wall / 1e6:.1f}M |")
                lines.append(line)
                print(line, flush=True)
            shutil.rmtree(big, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.output:
        args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
