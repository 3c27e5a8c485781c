"""The assessments in report.html: the DPIA screening per purpose and the transfer-impact
assessments (SPEC §9), as plain context for `templates/assessments.html.j2` (autoescaped).

Bounded whatever the inventory's size: the screening table shows at most `MAX_PURPOSES`
purposes and the TIA section at most `MAX_TIAS` assessments in full; the page says how many
more there are and which command writes them all.
"""

from __future__ import annotations

from typing import Any

from flowaudit.audits.dpia import screen_all

from .records import ReportData
from .tia import assess, needing_tia

MAX_PURPOSES = 500
MAX_TIAS = 25
MAX_TIA_ROWS = 500
VERDICT_BADGE = {"required": "st-finding", "likely": "sg-derogation", "not indicated": "st-ok"}
MARK = {True: "yes", False: "", None: "?"}


def assessment_context(data: ReportData) -> dict[str, Any]:
    result = data.result
    limit = result.config.limits.get("large_scale_subjects", 100_000)
    screenings = screen_all(data.view, limit)
    rows = []
    for s in screenings[:MAX_PURPOSES]:
        rows.append({
            "id": s.purpose.id, "name": s.purpose.name, "verdict": s.verdict, "badge": VERDICT_BADGE[s.verdict],
            "marks": [{"met": MARK[c.met], "title": c.title, "facts": "; ".join(c.facts)} for c in s.criteria],
            "dpia": s.dpia_date or ("none" if s.verdict == "required" else ""),
            "missing": s.verdict == "required" and s.dpia_date is None,
        })
    counts = {v: sum(1 for s in screenings if s.verdict == v) for v in VERDICT_BADGE}
    transfers = needing_tia(result)
    tia_rows = []
    for t in transfers[:MAX_TIA_ROWS]:
        tr = t.flow.transfer
        tia = tr.tia if tr else None
        tia_rows.append({
            "flow": t.flow.id, "regime": data.regime_name(t.regime),
            "route": f"{t.exporter.name} → {t.importer.name}", "countries": ", ".join(t.destination_countries),
            "mechanism": t.mechanism.value if t.mechanism else "",
            "tia": f"{tia.date} ({tia.outcome.value if tia.outcome else 'no outcome'})" if tia and tia.date else "none",
        })
    details = []
    for t in transfers[:MAX_TIAS]:
        a = assess(result, t)
        details.append({
            "name": a.name, "flow": t.flow.id, "regime": data.regime_name(t.regime),
            "route": f"{t.exporter.name} → {t.importer.name}", "countries": ", ".join(a.countries),
            "reevaluate": a.reevaluate.isoformat(), "gaps": len(a.gaps), "questions": len(a.questions),
            "steps": [{"title": f"{s.number}. {s.title}",
                       "rows": [{"item": r.item, "value": r.value, "kind": r.kind} for r in s.rows]}
                      for s in a.steps],
        })
    return {
        "criteria": [c.title for c in (screenings[0].criteria if screenings else ())],
        "screenings": rows, "screening_total": len(screenings), "screening_counts": counts,
        "large_scale": limit,
        "tia_rows": tia_rows, "tia_total": len(transfers), "tia_details": details,
    }
