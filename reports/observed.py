"""Renderers for `flowaudit observe`: the OBS findings (an audit result holding only them)
with a header on the traffic read. JSON and SARIF are the audit's shapes plus a `traffic`
object; text and Markdown are written here."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from flowaudit.audits import AuditResult
from rich.text import Text

from .machine import render_sarif, result_dict
from .text import print_findings, summary_line, terminal


def _header(label: str, traffic: dict[str, Any]) -> str:
    window = traffic.get("window") or {}
    return (f"flowaudit observe of {label} ({traffic.get('engine')}): {traffic.get('files', 0)} log files, "
            f"{traffic.get('rows', 0):,} rows, {traffic.get('connections', 0):,} connections, "
            f"{traffic.get('bytes', 0):,} bytes from {window.get('from') or '?'} to {window.get('to') or '?'}; "
            f"{traffic.get('mapped_hosts', 0):,} of {traffic.get('hosts', 0):,} hosts mapped to the inventory"
            + (f"; {traffic['ignored_rows']:,} rows without source or destination ignored"
               if traffic.get("ignored_rows") else ""))


def render_observed_text(result: AuditResult, label: str, traffic: dict[str, Any], *, color: bool = False,
                         width: int = 140) -> str:
    buffer = io.StringIO()
    console = terminal(buffer, color, width)
    console.print(Text(_header(label, traffic), style="bold"))
    for conflict in traffic.get("endpoint_conflicts", []):
        console.print(Text(f"note: endpoint on several entries: {conflict}"))
    if not result.findings:
        console.print("No findings: the traffic matches the declared flows.")
    print_findings(console, result, width)  # the audit's tables, so both read alike
    console.print(Text(summary_line(result)))
    return buffer.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_observed_markdown(result: AuditResult, label: str, traffic: dict[str, Any]) -> str:
    lines = ["# Observed traffic", "", _md(_header(label, traffic)), ""]
    summary = ", ".join(f"{n} {s}" for s, n in result.summary().items() if n)
    lines += [f"**Summary:** {summary or 'no findings'}", ""]
    if result.findings:
        lines += ["| Severity | Rule | Subject | Finding | Where |", "|---|---|---|---|---|"]
        for f in result.findings:
            where = f"{f.location[0]}:{f.location[1]}" if f.location else ""
            waived = " (waived)" if f.waived else ""
            lines.append(f"| {f.severity.value}{waived} | {f.rule} | {f.subject_kind} `{_md(f.subject_id)}` "
                         f"| {_md(f.message)} | {_md(where)} |")
        lines.append("")
        for f in result.findings:
            hosts = _example_hosts(f.details)
            if hosts:
                lines.append(f"- {f.rule} {f.subject_id}: example hosts {', '.join(f'`{_md(h)}`' for h in hosts)}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _example_hosts(details: dict[str, Any]) -> list[str]:
    hosts: list[str] = []
    for key in ("destinations", "countries"):
        block = details.get(key)
        items = block.get("items", []) if isinstance(block, dict) else (block or [])
        for item in items:
            hosts.extend(item.get("hosts", []))
    for item in details.get("hosts", []) if isinstance(details.get("hosts"), list) else []:
        hosts.append(item["host"] if isinstance(item, dict) else item)
    return list(dict.fromkeys(hosts))[:5]


def render_observed_json(result: AuditResult, label: str, traffic: dict[str, Any]) -> str:
    data = result_dict(result, label)
    data["traffic"] = traffic
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_observed_sarif(result: AuditResult, label: str, traffic: dict[str, Any]) -> str:
    data = json.loads(render_sarif(result, label))
    data["runs"][0]["properties"]["traffic"] = traffic
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


OBSERVED_RENDERERS: dict[str, Callable[[AuditResult, str, dict[str, Any]], str]] = {
    "json": render_observed_json,
    "sarif": render_observed_sarif,
    "markdown": render_observed_markdown,
}
