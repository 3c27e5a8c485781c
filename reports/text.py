"""The audit as a readable table, grouped by severity (rich)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from flowaudit.audits import AuditResult
from flowaudit.audits.findings import SEVERITIES

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_text(result: AuditResult, inventory_label: str, *, color: bool = False, width: int = 140) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                      width=width, highlight=False, soft_wrap=False)
    inv = result.inventory
    console.print(Text(f"flowaudit audit of {inventory_label} as of {result.as_of}: "
                       f"{len(inv.flows)} flows, {len(inv.systems)} systems, {len(inv.elements)} elements, "
                       f"{sum(1 for _ in result.view.transfers())} restricted transfers", style="bold"))
    if not result.findings:
        console.print("No findings.")
    for severity in SEVERITIES:
        group = [f for f in result.findings if f.severity is severity]
        if not group:
            continue
        table = Table(title=Text(f"{severity.value.upper()} ({len(group)})", style=STYLE[severity.value]),
                      title_justify="left", show_lines=False, expand=False)
        table.add_column("rule", no_wrap=True)
        table.add_column("subject", overflow="fold", max_width=34)
        table.add_column("finding", overflow="fold", ratio=1)
        table.add_column("where", no_wrap=True)
        for f in group:
            where = f"{f.location[0]}:{f.location[1]}" if f.location else ""
            message = Text(f.message)
            if f.waived and f.waiver is not None:
                message.append(f"  [waived until {f.waiver.expires}: {f.waiver.reason}]", style="dim")
            elif f.waiver_expired is not None:
                message.append(f"  [waiver expired {f.waiver_expired.expires}]", style="bold")
            table.add_row(f.rule, Text(f"{f.subject_kind} {f.subject_id}"), message, Text(where))
        console.print(table)
    summary = ", ".join(f"{n} {s}" for s, n in result.summary().items() if n)
    console.print(Text(f"Summary: {summary or 'no findings'}"
                       + (f" ({result.waived_count} waived)" if result.waived_count else "")))
    for w in result.unused_waivers:
        state = "expired" if w["expired"] else "active"
        console.print(Text(f"note: {state} waiver of {w['rule']} for {w['subject']} "
                           f"({w['location']['file']}:{w['location']['line']}) matches no finding"))
    return buffer.getvalue()
