"""The benchmark of SPEC §7: flowaudit against PyYAML's C loader on synthetic inventories.

For each size (10,000, 30,000 and 100,000 flows by default) it writes a synthetic inventory
(`flowaudit.synth`) to a temporary directory, then times four steps, each in a fresh child
process (wall clock; peak RSS of that child from the rusage `wait4` returns for it):

  loader    PyYAML's C loader alone reading every file (`yaml.load(f, Loader=yaml.CSafeLoader)`)
  validate  `flowaudit validate DIR`
  audit     `flowaudit audit DIR --format json -o /dev/null` (exit 1, findings, is expected)
  report    `flowaudit report DIR -o OUT`

and prints a markdown table (also written to benchmarks/results.md) with the audit/loader
ratio, the growth of the audit time from the smallest to the largest size, and the verdict on
the quality bars: audit within 2x the loader, peak memory under 1.5 GB, near-linear growth.

    python benchmarks/bench.py [--sizes 10000,30000,100000] [--repeat N] [--fides]
    nox -s bench -- --sizes 10000,30000 --fides

`--fides` adds the side-by-side with Fides (benchmarks/fides_compare.py; it installs Fides
into benchmarks/.venv-fides the first time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from fides_compare import run_measured

DEFAULT_SIZES = (10_000, 30_000, 100_000)
RESULTS = HERE / "results.md"
AUDIT_OVER_LOADER_BAR = 2.0
PEAK_MB_BAR = 1536
LINEAR_SLACK = 1.3  # "near-linear": time may grow up to 30 % faster than the flows

# The C-loader baseline: exactly what a loader must at least do, nothing more.
LOADER = """
import sys, yaml
from pathlib import Path
for path in sorted(p for p in Path(sys.argv[1]).rglob("*") if p.suffix in (".yaml", ".yml")):
    with open(path, encoding="utf-8") as f:
        yaml.load(f, Loader=yaml.CSafeLoader)
"""

STEPS = ("loader", "validate", "audit", "report")


def step_command(step: str, inventory: Path, out: Path) -> tuple[list[str], tuple[int, ...]]:
    """The command of a step and the exit codes that mean it worked."""
    fa = [sys.executable, "-m", "flowaudit"]
    if step == "loader":
        return [sys.executable, "-c", LOADER, str(inventory)], (0,)
    if step == "validate":
        return fa + ["validate", str(inventory)], (0,)
    if step == "audit":
        return fa + ["audit", str(inventory), "--format", "json", "-o", os.devnull], (0, 1)
    if step == "report":
        return fa + ["report", str(inventory), "-o", str(out)], (0,)
    raise ValueError(step)


def measure_size(flows: int, seed: int, repeat: int, timeout: float, steps: tuple[str, ...],
                 keep: Path | None, log=print) -> dict[str, Any]:
    from flowaudit.synth import synthesize

    tmp = Path(tempfile.mkdtemp(prefix=f"flowaudit-bench-{flows}-"))
    try:
        inventory = (keep or tmp) / f"inventory-{flows}"
        if inventory.exists():
            shutil.rmtree(inventory)
        start = time.perf_counter()
        counts = synthesize(inventory, flows, seed)
        synth_s = time.perf_counter() - start
        row: dict[str, Any] = {"flows": counts["flows"], "systems": counts["systems"], "files": counts["files"],
                               "mb": counts["bytes"] / 1e6, "synth_s": synth_s}
        log(f"{flows:,} flows: {counts['systems']:,} systems, {counts['files']} files, {row['mb']:.1f} MB "
            f"written in {synth_s:.2f} s")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        for step in steps:
            best, best_cpu, peak, problem = float("inf"), float("inf"), 0.0, None
            for _ in range(repeat):
                out = tmp / f"report-{step}"
                shutil.rmtree(out, ignore_errors=True)
                cmd, ok = step_command(step, inventory, out)
                wall, cpu, rss, rc, err = run_measured(cmd, env=env, cwd=ROOT, timeout=timeout)
                if rc not in ok:
                    problem = "timeout" if rc == -9 else f"exit {rc}"
                    log(f"  {step}: {problem}\n{_indent(err)}")
                    break
                best, best_cpu, peak = min(best, wall), min(best_cpu, cpu), max(peak, rss)
            row[f"{step}_s"] = None if problem else best
            row[f"{step}_cpu"] = None if problem else best_cpu
            row[f"{step}_mb"] = None if problem else peak
            row[f"{step}_problem"] = problem
            if not problem:
                log(f"  {step:<8} {best:8.2f} s   CPU {best_cpu:8.2f} s   peak {peak:7.0f} MB")
        if row.get("audit_s") and row.get("loader_s"):
            row["ratio"] = row["audit_s"] / row["loader_s"]
            row["ratio_cpu"] = row["audit_cpu"] / row["loader_cpu"]
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-15:])


def _cell(row: dict[str, Any], key: str, fmt: str = "{:.2f}") -> str:
    value = row.get(key)
    if value is None:
        return row.get(key.rsplit("_", 1)[0] + "_problem") or "–"
    return fmt.format(value)


def markdown(rows: list[dict[str, Any]], steps: tuple[str, ...]) -> str:
    head = ["N flows", "systems", "files MB", "C-loader s", "validate s", "audit s", "audit/loader", "report s",
            "peak MB loader / validate / audit / report", "CPU s loader / validate / audit / report",
            "audit/loader (CPU)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        peaks = " / ".join(_cell(r, f"{s}_mb", "{:.0f}") if s in steps else "–" for s in STEPS)
        cpus = " / ".join(_cell(r, f"{s}_cpu", "{:.2f}") if s in steps else "–" for s in STEPS)
        lines.append("| " + " | ".join([
            f"{r['flows']:,}", f"{r['systems']:,}", f"{r['mb']:.1f}", _cell(r, "loader_s"), _cell(r, "validate_s"),
            _cell(r, "audit_s"), _cell(r, "ratio"), _cell(r, "report_s"), peaks, cpus,
            _cell(r, "ratio_cpu")]) + " |")
    return "\n".join(lines) + "\n"


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    """The quality bars of SPEC §7, judged on these measurements."""
    out = []
    timed = [r for r in rows if r.get("audit_s")]
    if len(timed) >= 2:
        a, b = timed[0], timed[-1]
        growth = b["audit_s"] / a["audit_s"]
        scale = b["flows"] / a["flows"]
        linear = growth <= scale * LINEAR_SLACK
        out.append(f"- audit time growth {a['flows']:,} → {b['flows']:,} flows (×{scale:.1f}): ×{growth:.2f} "
                   f"({'near-linear' if linear else 'faster than linear'}; "
                   f"CPU ×{b['audit_cpu'] / a['audit_cpu']:.2f}; loader ×{b['loader_s'] / a['loader_s']:.2f})")
    if timed:
        big = timed[-1]
        ok = big.get("ratio") is not None and big["ratio"] <= AUDIT_OVER_LOADER_BAR
        out.append(f"- audit / C loader at {big['flows']:,} flows: {big.get('ratio', float('nan')):.2f} wall, "
                   f"{big.get('ratio_cpu', float('nan')):.2f} CPU "
                   f"({'meets' if ok else 'misses'} the bar of {AUDIT_OVER_LOADER_BAR:g})")
    peaks = [(r["flows"], s, r[f"{s}_mb"]) for r in rows for s in STEPS if r.get(f"{s}_mb")]
    if peaks:
        flows, step, mb = max(peaks, key=lambda t: t[2])
        out.append(f"- highest peak RSS: {mb:.0f} MB ({step}, {flows:,} flows; "
                   f"{'under' if mb < PEAK_MB_BAR else 'over'} the 1.5 GB bar)")
    failed = [(r["flows"], s, r[f"{s}_problem"]) for r in rows for s in STEPS if r.get(f"{s}_problem")]
    for flows, step, problem in failed:
        out.append(f"- {step} at {flows:,} flows did not complete: {problem}")
    return out


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine() -> str:
    return (f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="numbers of flows, comma-separated (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the fastest counts (default 1)")
    parser.add_argument("--steps", default=",".join(STEPS), help="subset of %(default)s")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per step before giving up")
    parser.add_argument("--keep", type=Path, help="write the inventories here and keep them")
    parser.add_argument("--fides", action="store_true", help="also compare with Fides (fides_compare.py)")
    parser.add_argument("--fides-sizes", default="100,1000,3000", help="numbers of systems for --fides")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to write (default %(default)s)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    steps = tuple(s for s in args.steps.split(",") if s)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    rows = [measure_size(n, args.seed, args.repeat, args.timeout, steps, args.keep) for n in sizes]
    command = "python benchmarks/bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = [f"# flowaudit benchmark ({dt.date.today().isoformat()})", "",
            (f"`{command.strip()}` — {machine()}, load average before the run {_load()}; each step a fresh "
             f"process: wall clock and CPU time (best of {args.repeat}), peak RSS of that process. "
             "CPU time is the steadier figure when other work shares the machine."), "", markdown(rows, steps)]
    text += verdict(rows)
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
