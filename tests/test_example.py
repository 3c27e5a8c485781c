"""The worked example's audit is exactly the README's table "What the worked example's audit
finds, and why": every (rule, subject) it lists, and nothing else, on the date it names."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from flowaudit.audits.engine import run_audit
from flowaudit.inventory import load_inventory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
AS_OF = dt.date(2026, 11, 28)


def _readme_table() -> tuple[set[tuple[str, str]], dict[str, int], str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What the worked example's audit finds, and why", 1)[1].split("\n## ", 1)[0]
    pairs = set()
    for line in section.splitlines():
        m = re.match(r"^\| ([A-Z]+-\d{3})\b[^|]*\| ([^|]+) \|", line)
        if m:
            for subject in re.findall(r"`([a-z0-9][a-z0-9._-]*)`", m.group(2)):
                pairs.add((m.group(1), subject))
    m = re.search(r"reports (\d+) critical, (\d+) high, (\d+) medium and (\d+) low findings", section)
    assert m, "the README states the summary"
    summary = dict(zip(("critical", "high", "medium", "low"), map(int, m.groups()), strict=True))
    return pairs, summary, section


def test_example_audit_matches_readme_table() -> None:
    pairs, summary, section = _readme_table()
    assert f"--as-of {AS_OF}" in section
    result = run_audit(load_inventory(EXAMPLE), AS_OF)
    found = {(f.rule, f.subject_id) for f in result.findings}
    assert found == pairs, f"missing from the audit {sorted(pairs - found)}; not in the README {sorted(found - pairs)}"
    counts = result.summary()
    assert {k: counts[k] for k in summary} == summary
