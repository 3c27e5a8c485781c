"""The audit for a terminal (a table grouped by severity, as wide as the terminal; rich) or for
a pipe (one finding per line, ids whole, no box drawing: `file:line: severity RULE kind id:
message`, as compilers print, so that editors, grep and copy-paste work on it)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from flowaudit.audits import AuditResult
from flowaudit.audits.findings import SEVERITIES

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render_lines(result: AuditResult, inventory_label: str) -> str:
    """One line per finding, most severe first, then the summary; nothing is cut or wrapped."""
    inv = result.inventory
    out = [f"flowaudit audit of {inventory_label} as of {result.as_of}: {len(inv.flows)} flows, "
           f"{len(inv.systems)} systems, {len(inv.elements)} elements, "
           f"{sum(1 for _ in result.view.transfers())} restricted transfers"]
    for f in sorted(result.findings, key=lambda f: (-f.severity.rank, f.rule, f.subject_id)):
        where = f"{f.location[0]}:{f.location[1]}" if f.location else inventory_label
        line = f"{where}: {f.severity.value} {f.rule} {f.subject_kind} {f.subject_id}: {_one_line(f.message)}"
        if f.waived and f.waiver is not None:
            line += f" [waived until {f.waiver.expires}: {_one_line(f.waiver.reason)}]"
        elif f.waiver_expired is not None:
            line += f" [waiver expired {f.waiver_expired.expires}]"
        out.append(line)
    out.append(summary_line(result))
    out.extend(_unused(result))
    return "\n".join(out) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def summary_line(result: AuditResult) -> str:
    summary = ", ".join(f"{n} {s}" for s, n in result.summary().items() if n)
    return f"Summary: {summary or 'no findings'}" + (f" ({result.waived_count} waived)" if result.waived_count else "")


def _unused(result: AuditResult) -> list[str]:
    return [f"note: {'expired' if w['expired'] else 'active'} waiver of {w['rule']} for {w['subject']} "
            f"({w['location']['file']}:{w['location']['line']}) matches no finding" for w in result.unused_waivers]


def render_text(result: AuditResult, inventory_label: str, *, color: bool = False, width: int = 140) -> str:
    """The table for a terminal `width` columns wide (ids fold inside their column, never cut)."""
    buffer = io.StringIO()
    console = terminal(buffer, color, width)
    inv = result.inventory
    console.print(Text(f"flowaudit audit of {inventory_label} as of {result.as_of}: "
                       f"{len(inv.flows)} flows, {len(inv.systems)} systems, {len(inv.elements)} elements, "
                       f"{sum(1 for _ in result.view.transfers())} restricted transfers", style="bold"))
    if not result.findings:
        console.print("No findings.")
    print_findings(console, result, width)
    console.print(Text(summary_line(result)))
    for note in _unused(result):
        console.print(Text(note))
    return buffer.getvalue()


def terminal(buffer: io.StringIO, color: bool, width: int) -> Console:
    """A rich console that writes into `buffer`, `width` columns wide, coloured or plain."""
    return Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                   width=width, highlight=False, soft_wrap=False)


def print_findings(console: Console, result: AuditResult, width: int) -> None:
    """One table per severity, most severe first."""
    for severity in SEVERITIES:
        group = [f for f in result.findings if f.severity is severity]
        if not group:
            continue
        table = Table(title=Text(f"{severity.value.upper()} ({len(group)})", style=STYLE[severity.value]),
                      title_justify="left", show_lines=False, expand=True)
        narrow = width < 100
        # ids stay whole on one line (up to a third of the terminal; longer ones fold)
        longest = max(len(f.subject_id) for f in group)
        table.add_column("rule", no_wrap=True)
        table.add_column("subject", overflow="fold", min_width=min(longest, width // 3), max_width=max(longest, 12))
        table.add_column("finding", overflow="fold", ratio=3, min_width=min(50, width // 3))
        if not narrow:  # on a narrow terminal the location goes under the message
            table.add_column("where", overflow="fold", ratio=1, max_width=max(24, width // 5))
        for f in group:
            where = f"{f.location[0]}:{f.location[1]}" if f.location else ""
            message = Text(f.message)
            if f.waived and f.waiver is not None:
                message.append(f"  [waived until {f.waiver.expires}: {f.waiver.reason}]", style="dim")
            elif f.waiver_expired is not None:
                message.append(f"  [waiver expired {f.waiver_expired.expires}]", style="bold")
            if narrow:
                if where:
                    message.append(f"\n{where}", style="dim")
                table.add_row(f.rule, Text(f"{f.subject_kind}\n{f.subject_id}"), message)
            else:
                table.add_row(f.rule, Text(f"{f.subject_kind}\n{f.subject_id}"), message, Text(where))
        console.print(table)
