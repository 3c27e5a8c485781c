"""The restricted transfers as the reports show them: one row per transfer, the table,
the country grid and the summary counts."""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Any

from .records_base import (
    SAFEGUARD_TEXT,
    SAFEGUARDS,
    ReportBase,
    Table,
    country_name,
    join,
)


class TransferRecords(ReportBase):
    """The restricted transfers as the reports show them."""

    # --- transfers ------------------------------------------------------------------------

    TRANSFER_COLUMNS = (
        "Flow", "From", "To", "Exporter", "Importer", "Countries", "Regime", "Elements", "Mechanism",
        "SCC module", "SCC version / signed", "TIA date", "TIA outcome", "Measures", "First hop / onward",
        "Onward path", "Safeguard type", "Safeguard", "Status", "Findings",
    )

    @cached_property
    def transfer_rows(self) -> list[dict[str, Any]]:
        rows = []
        for t in self.transfers:
            flow = t.flow
            tr = flow.transfer
            scc = tr.scc if tr else None
            tia = tr.tia if tr else None
            status = self.flow_status(flow.id)
            rows.append({
                "flow": flow.id, "from": self.name(flow.from_), "to": self.name(flow.to),
                "exporter": self.org_text(t.exporter), "importer": self.org_text(t.importer),
                "countries": list(t.destination_countries), "regime": t.regime,
                "regime_name": self.regime_name(t.regime),
                "elements": [e.name for e in t.elements],
                "mechanism": t.mechanism.value if t.mechanism else "",
                "scc_module": scc.module.value if scc and scc.module else "",
                "scc": join((scc.version, scc.signed), " / ") if scc else "",
                "tia_date": tia.date.isoformat() if tia and tia.date else "",
                "tia_outcome": tia.outcome.value if tia and tia.outcome else "",
                "measures": list(tr.measures) if tr else [],
                "hop": "first hop" if t.first_hop else "onward",
                "path": self.view.onward_path(t) if t.onward else [],
                "safeguard": self.safeguard(t), "safeguard_detail": self.safeguard_detail(t),
                "status": status, "findings": self.rule_ids(flow.id),
            })
        return rows

    @cached_property
    def transfer_table(self) -> Table:
        rows = [[r["flow"], r["from"], r["to"], r["exporter"], r["importer"], join(r["countries"], ", "),
                 r["regime_name"], join(r["elements"], ", "),
                 r["mechanism"] or ("adequacy" if r["safeguard"] == "adequacy" else "none"),
                 r["scc_module"], r["scc"], r["tia_date"] or "none", r["tia_outcome"] or "none",
                 join(r["measures"], ", "), r["hop"], join(r["path"], " → "),
                 SAFEGUARD_TEXT[r["safeguard"]], r["safeguard_detail"], r["status"], r["findings"]]
                for r in self.transfer_rows]
        return Table("Transfers", self.TRANSFER_COLUMNS, rows)

    @cached_property
    def countries(self) -> list[dict[str, Any]]:
        """Per destination country: transfers by safeguard class, regimes, importers, data categories."""
        by: dict[str, dict[str, Any]] = {}
        elements = self.inventory.elements
        for t, row in zip(self.transfers, self.transfer_rows, strict=True):
            for c in t.destination_countries:
                entry = by.setdefault(c, {"country": c, "name": country_name(c), "total": 0,
                                          "safeguards": Counter(), "status": Counter(), "regimes": set(),
                                          "importers": set(), "categories": set()})
                entry["total"] += 1
                entry["safeguards"][row["safeguard"]] += 1
                entry["status"][row["status"]] += 1
                entry["regimes"].add(self.regime_name(t.regime))
                entry["importers"].add(t.importer.name)
                entry["categories"].update(elements[e.id].category.value for e in t.elements)
        out = []
        for c in sorted(by, key=lambda c: (-by[c]["total"], c)):
            entry = by[c]
            out.append({
                "country": c, "name": entry["name"], "total": entry["total"],
                "safeguards": [entry["safeguards"].get(s, 0) for s in SAFEGUARDS],
                "findings": entry["status"].get("finding", 0), "waived": entry["status"].get("waived", 0),
                "regimes": sorted(entry["regimes"]), "importers": sorted(entry["importers"]),
                "categories": sorted(entry["categories"]),
            })
        return out

    @cached_property
    def transfer_summary(self) -> dict[str, int]:
        counts = Counter(r["safeguard"] for r in self.transfer_rows)
        return {s: counts.get(s, 0) for s in SAFEGUARDS}
