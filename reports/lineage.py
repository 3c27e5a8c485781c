"""`flowaudit lineage PATH ELEMENT`: where one element comes from and where it goes, in text.

Collection (subjects and where they live), every flow that carries it in order from the
source (endpoints, countries, operator and relation, and for a restricted transfer its regime,
mechanism and adequacy), the systems that store it, and the external organisations and
countries it reaches.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import TypeVar

from flowaudit.audits.rulebook import Rulebook
from flowaudit.inventory import FlowauditError
from flowaudit.inventory.graph import InventoryView, Transfer
from flowaudit.inventory.validate import Inventory, suggest

from .records import country_name

T = TypeVar("T")

WIDTH = 100
DEFAULT_LIMIT = 200


def _shown(items: list[T], limit: int | None) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def _node(view: InventoryView, node: str) -> str:
    countries = ", ".join(view.countries(node)) or "?"
    return f"{view.name(node)} [{node}] ({countries})"


def describe_transfer(view: InventoryView, t: Transfer, regime_name: str) -> str:
    mechanism = t.mechanism.value if t.mechanism else "no mechanism"
    tr = t.flow.transfer
    if tr is not None and tr.scc is not None and t.mechanism is not None and t.mechanism.value == "scc":
        scc = tr.scc
        mechanism += " " + " ".join(str(x) for x in (scc.module.value if scc.module else None, scc.version) if x)
    if t.adequate:
        adequacy = "adequate (" + ", ".join(sorted({a.decision for a in t.adequacy if a.decision})) + ")"
    else:
        adequacy = "; ".join(f"{a.country}: {a.reason}" for a in t.adequacy if not a.adequate)
    hop = "first hop" if t.first_hop else "onward (" + " → ".join(view.onward_path(t)) + ")"
    return (f"restricted transfer under {regime_name}: {t.exporter.name} → {t.importer.name} to "
            f"{', '.join(t.destination_countries)}; {mechanism}; {adequacy}; {hop}")


def render_lineage(inventory: Inventory, element_id: str, as_of: dt.date, rulebook: Rulebook, *,
                   limit: int | None = DEFAULT_LIMIT) -> str:
    """The lineage as text, under `rulebook`'s law on `as_of`. Each list (collection, flows,
    systems, organisations) shows at most `limit` entries and then says how many it left out
    (None: no limit); onward chains are cut to 20 nodes. The output stays small however long
    the chains or many the flows."""
    if element_id not in inventory.elements:
        raise FlowauditError(f"unknown element {element_id!r}{suggest(element_id, inventory.elements)}")
    view = InventoryView(inventory, rulebook, as_of)
    element = inventory.elements[element_id]
    me = inventory.controller
    out: list[str] = []

    def para(text: str, indent: str = "  ", more: str = "      ") -> None:
        out.extend(textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=more,
                                 break_on_hyphens=False) or [indent])

    def more(cut: int, what: str) -> None:
        if cut:
            para(f"… and {cut:,} more {what}{'s' if cut != 1 else ''} not shown (--limit 0 shows all)")

    flag = " (Art. 9 special category)" if element.special else " (Art. 10 criminal data)" if element.criminal else ""
    out.append(f"Lineage of {element.name!r} [{element_id}] as of {as_of}")
    identifier = element.identifier.value if element.identifier else "none"
    out.append(f"  category {element.category.value}{flag}; identifier {identifier}; state {element.state.value}")
    out.append("")

    flows = view.lineage(element_id)
    collection = [f for f in flows if view.is_subject(f.from_)]
    out.append("Collected from")
    if collection:
        shown, cut = _shown(collection, limit)
        for f in shown:
            subject = inventory.subjects[f.from_]
            para(f"{subject.name} [{subject.id}], living in {', '.join(subject.locations) or 'unknown'} → "
                 f"{_node(view, f.to)} (flow {f.id})")
        more(cut, "collection flow")
    elif element.subjects:
        for sid in element.subjects:
            listed = inventory.subjects.get(sid)
            if listed is not None:
                para(f"{listed.name} [{listed.id}], living in {', '.join(listed.locations) or 'unknown'} "
                     "(no collection flow recorded)")
    else:
        para("no collection flow recorded")
    out.append("")

    out.append(f"Flows carrying it ({len(flows)}), from the source onwards")
    if not flows:
        para("none")
    shown, cut = _shown(flows, limit)
    for i, f in enumerate(shown, start=1):
        para(f"{i}. {f.id}: {_node(view, f.from_)} → {_node(view, f.to)}", "  ", "       ")
        operator = view.operator(f.to)
        if operator is not None:
            who = f"received by {operator.name} ({operator.relation.value}, {operator.country})"
        else:
            who = "received by data subjects"
        purposes = ", ".join(f.purposes) or "no purpose recorded"
        para(f"{who}; purposes: {purposes}; {f.frequency.value}", "       ", "       ")
        transfers = view.transfers_of(f)
        if transfers:
            for t in transfers:
                para(describe_transfer(view, t, rulebook.regime_name(t.regime)), "       ", "         ")
        else:
            para("not a restricted transfer", "       ", "       ")
    more(cut, "flow")
    out.append("")

    out.append("Stored in")
    stored = sorted((sy for sy in inventory.systems.values() if element_id in sy.elements), key=lambda sy: sy.id)
    if not stored:
        para("no system records storing it")
    stored, cut = _shown(stored, limit)
    for system in stored:
        op = inventory.organisations[system.operator]
        para(f"{system.name} [{system.id}] in {', '.join(system.locations) or op.country}, operated by {op.name} "
             f"({op.relation.value}); security: {', '.join(system.security) or 'none recorded'}")
    more(cut, "system")
    out.append("")

    reach = view.reach.get(element_id)
    orgs = sorted(reach.organisations) if reach else []
    countries = sorted(reach.countries) if reach else []
    out.append(f"Reaches {len(orgs)} external organisation{'s' if len(orgs) != 1 else ''} and "
               f"{len(countries)} countr{'ies' if len(countries) != 1 else 'y'}")
    shown_orgs, cut = _shown(orgs, limit)
    for o in shown_orgs:
        org = inventory.organisations[o]
        para(f"{org.name} [{o}] ({org.relation.value}, {org.country})")
    more(cut, "organisation")
    if countries:
        para("countries: " + ", ".join(f"{c} {country_name(c)}" + (" (controller)" if c == me.country else "")
                                       for c in countries))
    return "\n".join(out) + "\n"
