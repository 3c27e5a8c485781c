"""The benchmark of SPEC §7: every bar, measured with the default dependencies, ratio beside bar.

For each size (100,000 flows by default; `--million` adds 1,000,000) it writes a synthetic
inventory (`flowaudit synth`) and times, each in a fresh child process (wall clock, CPU time,
peak RSS of that child):

  loader      PyYAML's C loader alone reading every file (`yaml.load(f, Loader=yaml.CSafeLoader)`)
  cold        `flowaudit audit DIR --format json -o FILE` with an empty cache directory
  warm        the same again, files unchanged, cache directory kept from the cold run
  report      `flowaudit report DIR -o OUT` (with `--report`)

and for the shapes that hurt (`flowaudit synth --shape`): an onward chain of 50,000 flows and an
inventory of 200,000 elements, each audited cold. The chain's bar is in seconds, not a ratio to
something measured beside it, so it is audited three times and judged by the median run, the
three shown. The package is byte-compiled first, as an install leaves it.

Default dependencies only: optional extras (ryaml, `flowaudit[fast]`) are hidden from the child
processes (a `ryaml` module that fails to import comes first on their path), so the figures are
those of a plain `pip install flowaudit`. Each cold run gets a fresh, empty cache folder
(FLOWAUDIT_CACHE_DIR); the warm run reuses the one its cold run filled.

The machine may be shared: CPU time barely moves when other processes compete for the cores,
the wall clock does. Ratios are printed for both; the verdict uses CPU time, the loader having
been measured in the same run.

    python benchmarks/bench.py                       # 100,000 flows and the two shapes
    python benchmarks/bench.py --million             # also 1,000,000 flows (minutes)
    python benchmarks/bench.py --sizes 10000 --no-shapes --keep /tmp/inv   # quick look
    python benchmarks/bench.py --fides               # also the side-by-side with Fides
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fides_compare import run_measured  # noqa: E402 - importable only once the sys.path lines above ran

RESULTS = HERE / "results.md"
CHAIN_FLOWS = 50_000
MANY_ELEMENTS = 200_000

# SPEC §7
COLD_BAR = 1.5  # cold audit / C loader
WARM_BAR = 0.3  # warm audit / C loader
PEAK_100K_MB = 1024
PEAK_1M_MB = 4096
FINDING_BYTES = 2048
CHAIN_SECONDS = 10.0
CHAIN_RUNS = 3  # the chain's bar is absolute seconds: the median of three runs, the three beside it
ELEMENTS_MB = 1024

# The C-loader baseline: exactly what a loader must at least do, nothing more.
LOADER = """
import sys, yaml
from pathlib import Path
for path in sorted(p for p in Path(sys.argv[1]).rglob("*") if p.suffix in (".yaml", ".yml")):
    with open(path, encoding="utf-8") as f:
        yaml.load(f, Loader=yaml.CSafeLoader)
"""

NO_EXTRAS = 'raise ImportError("benchmarks/bench.py measures the default dependencies only")\n'


@dataclass
class Run:
    wall: float
    cpu: float
    mb: float
    problem: str | None = None
    cpus: tuple[float, ...] = ()  # every run's CPU time, when the step is the median of several


class Bench:
    def __init__(self, work: Path, timeout: float, log=print) -> None:
        self.work = work
        self.timeout = timeout
        self.log = log
        shadow = work / "no-extras"
        shadow.mkdir(parents=True, exist_ok=True)
        (shadow / "ryaml.py").write_text(NO_EXTRAS, encoding="utf-8")
        path = [str(shadow), str(ROOT), os.environ.get("PYTHONPATH", "")]
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}

    def run(self, name: str, cmd: list[str], ok: tuple[int, ...], cache: Path | None = None) -> Run:
        env = dict(self.env)
        if cache is not None:  # the command's cache folder: empty for a cold run, kept for a warm one
            env["XDG_CACHE_HOME"] = env["FLOWAUDIT_CACHE_DIR"] = str(cache)
        wall, cpu, mb, rc, err = run_measured(cmd, env=env, cwd=ROOT, timeout=self.timeout)
        if rc not in ok:
            problem = "timeout" if rc == -9 else f"exit {rc}"
            self.log(f"  {name}: {problem}\n" + "\n".join("    " + line for line in err.strip().splitlines()[-12:]))
            return Run(wall, cpu, mb, problem)
        self.log(f"  {name:<10} {wall:8.2f} s   CPU {cpu:8.2f} s   peak {mb:7.0f} MB")
        return Run(wall, cpu, mb)

    def compile(self) -> None:
        """Byte-compile the package first, as an install leaves it: where bytecode is not written
        (PYTHONDONTWRITEBYTECODE), every step would otherwise compile every module it imports."""
        folders = [str(ROOT / name) for name in ("flowaudit", "inventory", "audits", "reports")]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, stdout=subprocess.DEVNULL)

    def fa(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flowaudit", *args]

    def synth(self, name: str, flows: int, shape: str, reuse: bool) -> tuple[Path, dict[str, Any]]:
        target = self.work / name
        meta = target.with_suffix(".json")
        if reuse and meta.exists() and target.exists():
            counts = json.loads(meta.read_text(encoding="utf-8"))
            self.log(f"{name}: reusing {target}")
            return target, counts
        shutil.rmtree(target, ignore_errors=True)
        from flowaudit.synth import synthesize
        from flowaudit.synth.shapes import BUILDERS

        counts = synthesize(target, flows, 0) if shape == "realistic" else BUILDERS[shape](target, flows)
        meta.write_text(json.dumps(counts), encoding="utf-8")
        self.log(f"{name}: {counts.get('flows', 0):,} flows, {counts.get('elements', 0):,} elements, "
                 f"{counts['bytes'] / 1e6:.1f} MB in {counts['files']} files")
        return target, counts

    def audit(self, inventory: Path, cache: Path, out: Path, name: str) -> Run:
        out.unlink(missing_ok=True)
        run = self.run(name, self.fa("audit", str(inventory), "--format", "json", "-o", str(out)), (0, 1), cache)
        if run.problem is None and not out.exists():  # exit 1 means findings only when they were written
            self.log(f"  {name}: exit 1 without findings (a crash, not a result)")
            run.problem = "no findings written"
        return run

    def size(self, flows: int, reuse: bool, report: bool) -> dict[str, Any]:
        inventory, counts = self.synth(f"inventory-{flows}", flows, "realistic", reuse)
        row: dict[str, Any] = {"flows": counts["flows"], "mb": counts["bytes"] / 1e6}
        row["loader"] = self.run("loader", [sys.executable, "-c", LOADER, str(inventory)], (0,))
        cache = self.work / f"cache-{flows}"
        shutil.rmtree(cache, ignore_errors=True)
        out = self.work / f"findings-{flows}.json"
        row["cold"] = self.audit(inventory, cache, out, "cold")
        row["warm"] = self.audit(inventory, cache, out, "warm")
        if out.exists() and not row["cold"].problem:
            findings = len(json.loads(out.read_text(encoding="utf-8"))["findings"])
            row["findings"] = findings
            row["finding_bytes"] = out.stat().st_size / max(findings, 1)
        if report:
            bundle = self.work / f"report-{flows}"
            shutil.rmtree(bundle, ignore_errors=True)
            row["report"] = self.run("report", self.fa("report", str(inventory), "-o", str(bundle)), (0,),
                                     self.work / f"cache-report-{flows}")
        shutil.rmtree(cache, ignore_errors=True)
        return row

    def shape(self, shape: str, n: int, reuse: bool, times: int = 1) -> Run:
        """The shape's cold audit; with `times`, the median run (by CPU) of that many, each cold:
        the machine's speed drifts from minute to minute, and one run says where it stood then."""
        inventory, _ = self.synth(f"{shape}-{n}", n, shape, reuse)
        cache = self.work / f"cache-{shape}"
        runs = []
        for i in range(times):
            shutil.rmtree(cache, ignore_errors=True)
            runs.append(self.audit(inventory, cache, self.work / f"findings-{shape}.json",
                                   f"{shape} audit" + (f" {i + 1}/{times}" if times > 1 else "")))
        shutil.rmtree(cache, ignore_errors=True)
        failed = [r for r in runs if r.problem]
        if failed or times == 1:
            return failed[0] if failed else runs[0]
        median = sorted(runs, key=lambda r: r.cpu)[times // 2]
        return dataclasses.replace(median, cpus=tuple(r.cpu for r in runs))


def _ratio(a: Run | None, b: Run | None, attr: str) -> float | None:
    if a is None or b is None or a.problem or b.problem:
        return None
    return getattr(a, attr) / getattr(b, attr)


def _fmt(x: float | None, pattern: str = "{:.2f}") -> str:
    return "–" if x is None else pattern.format(x)


Bar = tuple[str, str, str, bool | None]  # (bar, measured, limit, met)


def bars(rows: list[dict[str, Any]], chain: Run | None, elements: Run | None) -> list[Bar]:
    """(bar, measured, limit, met) for every §7 bar that was measured."""
    out: list[Bar] = []
    for r in rows:
        n = f"{r['flows']:,} flows"
        big = r["flows"] >= 1_000_000
        cold_cpu, cold_wall = _ratio(r["cold"], r["loader"], "cpu"), _ratio(r["cold"], r["loader"], "wall")
        out.append((f"{n}: cold audit / C loader", (f"{_fmt(cold_cpu)} CPU ({_fmt(cold_wall)} wall; "
                    f"{r['cold'].cpu:.1f} s against {r['loader'].cpu:.1f} s)"), f"≤ {COLD_BAR}",
                    None if cold_cpu is None else cold_cpu <= COLD_BAR))
        if not big:
            warm_cpu, warm_wall = _ratio(r["warm"], r["loader"], "cpu"), _ratio(r["warm"], r["loader"], "wall")
            out.append((f"{n}: warm audit / C loader", (f"{_fmt(warm_cpu)} CPU ({_fmt(warm_wall)} wall; "
                        f"{r['warm'].cpu:.1f} s)"), f"≤ {WARM_BAR}",
                        None if warm_cpu is None else warm_cpu <= WARM_BAR))
        limit = PEAK_1M_MB if big else PEAK_100K_MB
        peak = max(r["cold"].mb, r["warm"].mb)
        failed = r["cold"].problem or r["warm"].problem
        out.append((f"{n}: peak memory (audit)", f"{peak:,.0f} MB", f"< {limit:,} MB",
                    None if failed else peak < limit))
        if big and r.get("finding_bytes") is not None:
            out.append((f"{n}: findings JSON per finding",
                        f"{r['finding_bytes']:,.0f} bytes ({r['findings']:,} findings)",
                        f"< {FINDING_BYTES:,} bytes", r["finding_bytes"] < FINDING_BYTES))
    if chain is not None:
        runs = f" (median of {', '.join(f'{c:.1f}' for c in sorted(chain.cpus))})" if chain.cpus else ""
        out.append((f"onward chain of {CHAIN_FLOWS:,} flows: audit",
                    f"{chain.wall:.1f} s wall, {chain.cpu:.1f} s CPU{runs}, {chain.mb:,.0f} MB",
                    f"< {CHAIN_SECONDS:g} s",
                    None if chain.problem else chain.cpu < CHAIN_SECONDS))
    if elements is not None:
        out.append((f"{MANY_ELEMENTS:,} elements: peak memory (audit)", (f"{elements.mb:,.0f} MB "
                    f"({elements.cpu:.1f} s CPU)"), f"< {ELEMENTS_MB:,} MB",
                    None if elements.problem else elements.mb < ELEMENTS_MB))
    return out


def markdown(rows: list[dict[str, Any]], chain: Run | None, elements: Run | None) -> str:
    lines = ["| bar (SPEC §7) | measured | limit | met |", "|---|---:|---:|:---:|"]
    for bar, measured, limit, met in bars(rows, chain, elements):
        lines.append(f"| {bar} | {measured} | {limit} | {'yes' if met else '–' if met is None else '**no**'} |")
    lines += ["", ("| flows | files MB | C loader s (CPU) | cold s (CPU) | warm s (CPU) | report s (CPU) | "
              "peak MB loader / cold / warm / report |"), "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = []
        for step in ("loader", "cold", "warm", "report"):
            run = r.get(step)
            cells.append("–" if run is None else run.problem or f"{run.wall:.2f} ({run.cpu:.2f})")
        peaks = " / ".join("–" if r.get(s) is None else f"{r[s].mb:.0f}" for s in ("loader", "cold", "warm", "report"))
        lines.append(f"| {r['flows']:,} | {r['mb']:.1f} | " + " | ".join(cells) + f" | {peaks} |")
    return "\n".join(lines) + "\n"


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="numbers of flows, comma-separated (default %(default)s)")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 flows (takes minutes)")
    parser.add_argument("--no-shapes", action="store_true", help="skip the chain and many-elements shapes")
    parser.add_argument("--report", action="store_true", help="also time `flowaudit report`")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per step before giving up")
    parser.add_argument("--keep", type=Path, help="write the inventories here and keep them (reused when present)")
    parser.add_argument("--fides", action="store_true", help="also compare with Fides (fides_compare.py)")
    parser.add_argument("--fides-sizes", default="100,1000,3000", help="numbers of systems for --fides")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to write (default %(default)s)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.million and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    load_before = _load()
    tmp = Path(tempfile.mkdtemp(prefix="flowaudit-bench-"))
    work = args.keep or tmp
    work.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(work, args.timeout)
        bench.compile()
        rows = []
        for n in sizes:
            print(f"{n:,} flows")
            rows.append(bench.size(n, reuse=args.keep is not None, report=args.report))
        chain = elements = None
        if not args.no_shapes:
            chain = bench.shape("chain", CHAIN_FLOWS, reuse=args.keep is not None, times=CHAIN_RUNS)
            elements = bench.shape("elements", MANY_ELEMENTS, reuse=args.keep is not None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    command = "python benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = [f"# flowaudit benchmark ({dt.date.today().isoformat()}, commit {_commit()})", "",
            (f"`{command.strip()}` — Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
             f"{os.cpu_count()} CPUs; load average before {load_before}, after {_load()}. Default dependencies only "
             "(PyYAML's C loader; optional extras hidden). Each step a fresh process: wall clock, CPU time, peak RSS. "
             "The verdict compares CPU times measured in the same run (the wall clock moves with whatever else "
             "shares the machine)."), "", markdown(rows, chain, elements)]
    if args.fides:
        from fides_compare import compare
        from fides_compare import markdown as fides_markdown

        fides_rows = compare(tuple(int(s) for s in args.fides_sizes.split(",") if s.strip()), timeout=args.timeout)
        text += ["", "## Side-by-side with Fides", "", fides_markdown(fides_rows)]
    report = "\n".join(text).rstrip() + "\n"
    print()
    print(report)
    args.results.write_text(report, encoding="utf-8")
    print(f"written to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
