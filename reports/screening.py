"""`flowaudit dpia`: the WP248 screening per purpose, as text, Markdown or JSON.

The computation is `audits.dpia` (the same one PUR-003 uses); this module only renders it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from flowaudit.audits.dpia import Screening, screening_dict

from .mdtext import md

MARK = {True: "yes", False: "no", None: "?"}


def render_text(screenings: list[Screening], label: str, as_of: str) -> str:
    out = [f"DPIA screening (WP248 rev.01) of {label} as of {as_of}", ""]
    for s in screenings:
        p = s.purpose
        out.append(f"{p.id}: {p.name}")
        out.append(f"  verdict: {s.summary()}")
        for c in s.criteria:
            facts = f": {'; '.join(c.facts)}" if c.facts else ""
            out.append(f"  [{MARK[c.met]:>3}] {c.title}{facts}")
        for q in s.questions:
            out.append(f"  {q}")
        for c in s.criteria:
            if c.question:
                out.append(f"  {c.question}")
        out.append("")
    counts = {v: sum(1 for s in screenings if s.verdict == v) for v in ("required", "likely", "not indicated")}
    missing = sum(1 for s in screenings if s.verdict == "required" and s.purpose.dpia is None)
    out.append(f"{len(screenings)} purposes: {counts['required']} required ({missing} without a DPIA), "
               f"{counts['likely']} likely, {counts['not indicated']} not indicated")
    return "\n".join(out) + "\n"


def render_markdown(screenings: list[Screening], label: str, as_of: str) -> str:
    out = [f"# DPIA screening of {md(label)}", "",
           f"As of {as_of}. Criteria of the Article 29 Working Party's Guidelines on DPIA (WP248 rev.01), "
           "endorsed by the EDPB; a DPIA is required in an Art. 35(3) case or where two or more criteria are "
           "met. `?` marks what the inventory cannot tell.", ""]
    out.append("| purpose | verdict | criteria met | DPIA on record |")
    out.append("|---|---|---|---|")
    for s in screenings:
        out.append(f"| {md(s.purpose.name)} (`{md(s.purpose.id)}`) | {s.verdict} | {md(', '.join(s.met)) or '—'} | "
                   f"{s.dpia_date or 'none'} |")
    for s in screenings:
        p = s.purpose
        out += ["", f"## {md(p.name)}", "", f"Id `{md(p.id)}`. **Verdict: {s.verdict}**"
                + (f" (Art. 35(3) {md(', '.join(s.art35_3))})" if s.art35_3 else "") + ".", ""]
        out.append("| criterion | met | facts from the inventory |")
        out.append("|---|---|---|")
        for c in s.criteria:
            out.append(f"| {md(c.title)} | {MARK[c.met]} | {md('; '.join(c.facts)) or '—'} |")
        questions = [q for q in s.questions] + [c.question for c in s.criteria if c.question]
        if questions:
            out.append("")
            out += [f"- {md(q)}" for q in questions]
    return "\n".join(out) + "\n"


def render_json(screenings: list[Screening], label: str, as_of: str) -> str:
    from flowaudit.reports.meta import version

    doc = {"tool": "flowaudit", "version": version(), "as_of": as_of, "inventory": label,
           "screenings": [screening_dict(s) for s in screenings]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[list[Screening], str, str], str]] = {
    "text": render_text, "markdown": render_markdown, "json": render_json,
}
