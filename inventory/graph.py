"""The inventory as a graph, and the read-only view every rule asks.

Nodes are subjects, systems and organisations; flows are edges. The view computes, once:
which regime's data each flow carries (propagated along flows with per-regime bitsets of
elements), which flows are restricted transfers and under which regime (SPEC §3), first-hop
or onward, adequacy on the as-of date within the decision's scope, and per element the
purposes it was collected for and every organisation and country it reaches.

The view knows no rule. The law that changes (regime areas, adequacy decisions) comes from a
`Jurisdictions` object, the audits' rulebook, passed in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from .models import (
    Category,
    Element,
    Flow,
    Identifier,
    Mechanism,
    Organisation,
    Relation,
    Role,
    State,
    System,
)
from .validate import Inventory

if TYPE_CHECKING:
    import networkx as nx


class AdequacyDecision(Protocol):
    country: str
    decision: str

    def covers(self, importer: Organisation, categories: Iterable[Category]) -> str | None: ...


class Jurisdictions(Protocol):
    """What the view needs to know of the law (implemented by `audits.rulebook.Rulebook`)."""

    @property
    def regime_ids(self) -> tuple[str, ...]: ...

    def area(self, regime: str, as_of: dt.date) -> frozenset[str]: ...

    def regimes_of_location(self, location: str, as_of: dt.date) -> frozenset[str]: ...

    def attaches_to_establishments(self, regime: str) -> bool: ...

    def adequacy(self, regime: str, country: str, as_of: dt.date) -> list[Any]: ...


@dataclass(frozen=True)
class Adequacy:
    """Adequacy of one destination country for one transfer."""

    country: str
    decision: str | None  # the decision in force and in scope, if any
    reason: str | None  # why not adequate: no decision, or outside its scope

    @property
    def adequate(self) -> bool:
        return self.decision is not None


@dataclass(eq=False)
class Transfer:
    """A restricted transfer: one flow under one regime (SPEC §3)."""

    flow: Flow
    regime: str
    exporter: Organisation
    importer: Organisation
    origin_countries: tuple[str, ...]
    destination_countries: tuple[str, ...]  # outside the regime's area
    elements: tuple[Element, ...]  # the flow's elements that are under the regime
    first_hop: bool
    adequacy: tuple[Adequacy, ...]
    via_collection: bool = False  # collection into a processor's system abroad (SPEC §3)
    _view: InventoryView | None = field(default=None, repr=False)

    @property
    def mechanism(self) -> Mechanism | None:
        return self.flow.transfer.mechanism if self.flow.transfer else None

    @property
    def exporter_role(self) -> Role:
        return self.exporter.role

    @property
    def importer_role(self) -> Role:
        return self.importer.role

    @property
    def adequate(self) -> bool:
        """Every destination is covered by an adequacy decision in force and in scope."""
        return all(a.adequate for a in self.adequacy)

    @property
    def onward(self) -> bool:
        return not self.first_hop

    @property
    def country(self) -> str:
        return ", ".join(self.destination_countries)

    @cached_property
    def path(self) -> list[str]:
        """Node ids from the first exporter's system to this flow's destination."""
        assert self._view is not None
        return self._view.onward_path(self)


@dataclass(frozen=True)
class Reach:
    """Where an element goes: external organisations and countries, directly or onward."""

    organisations: frozenset[str]
    countries: frozenset[str]


class InventoryView:
    """Read-only answers about an inventory on an as-of date. Build once, ask many times."""

    def __init__(self, inventory: Inventory, jurisdictions: Jurisdictions, as_of: dt.date):
        self.inventory = inventory
        self.law = jurisdictions
        self.as_of = as_of
        self.controller = inventory.controller
        inv = inventory
        self._element_ids = list(inv.elements)
        self._bit = {e: 1 << i for i, e in enumerate(self._element_ids)}
        self._mask_cache: dict[int, tuple[Element, ...]] = {}
        self._adequacy_cache: dict[tuple[str, str, str, frozenset[Category]], Adequacy] = {}
        self._areas = {r: jurisdictions.area(r, as_of) for r in jurisdictions.regime_ids}
        # the personal data a flow carries: anonymised elements are not personal data (Recital 26)
        personal = {e for e, el in inv.elements.items() if el.state is not State.ANONYMISED}
        bit = self._bit
        self._flow_mask: dict[str, int] = {}
        for flow in inv.flows.values():
            mask = 0
            for e in flow.elements:
                if e in personal:
                    mask |= bit[e]
            self._flow_mask[flow.id] = mask
        self._propagate()

    # --- nodes -------------------------------------------------------------------------------

    def kind(self, node: str) -> str | None:
        return self.inventory.kind_of(node)

    def operator(self, node: str) -> Organisation | None:
        """Who holds data at a node: a system's operator, an organisation itself; None for subjects."""
        inv = self.inventory
        system = inv.systems.get(node)
        if system is not None:
            return inv.organisations[system.operator]
        return inv.organisations.get(node)

    def countries(self, node: str) -> tuple[str, ...]:
        """Where data at a node is: a system's locations, an organisation's country, subjects' locations."""
        inv = self.inventory
        system = inv.systems.get(node)
        if system is not None:
            return tuple(system.locations)
        org = inv.organisations.get(node)
        if org is not None:
            return (org.country,)
        return tuple(inv.subjects[node].locations)

    def is_subject(self, node: str) -> bool:
        return node in self.inventory.subjects

    def name(self, node: str) -> str:
        entry = self.inventory.entry(node)
        return getattr(entry, "name", node) if entry is not None else node

    def elements_of(self, mask: int) -> tuple[Element, ...]:
        """The elements of a bitset (memoised: flows share few distinct sets)."""
        found = self._mask_cache.get(mask)
        if found is not None:
            return found
        elements = self.inventory.elements
        original = mask
        out = []
        i = 0
        while mask:
            if mask & 1:
                out.append(elements[self._element_ids[i]])
            mask >>= 1
            i += 1
        self._mask_cache[original] = result = tuple(out)
        return result

    # --- regimes -----------------------------------------------------------------------------

    def _anchored(self, node: str, regime: str) -> bool:
        """Data held here is under `regime` whatever its origin (establishment or location in the area)."""
        area = self._areas[regime]
        if not area:
            return False
        inv = self.inventory
        if node in inv.subjects:
            return any(regime in self.law.regimes_of_location(loc, self.as_of) for loc in inv.subjects[node].locations)
        if not self.law.attaches_to_establishments(regime):
            return False
        operator = self.operator(node)
        if operator is not None and operator.country in area:
            return True
        return any(c in area for c in self.countries(node))

    def _propagate(self) -> None:
        """Per regime, the elements at each node that are under it: a fixed point over flows."""
        inv = self.inventory
        everything = (1 << len(self._element_ids)) - 1
        outgoing: dict[str, list[Flow]] = defaultdict(list)
        for flow in inv.flows.values():
            outgoing[flow.from_].append(flow)
        self._outgoing = outgoing
        nodes = set(outgoing) | {f.to for f in inv.flows.values()}
        self._regime_bits: dict[str, dict[str, int]] = {}
        for regime in self._areas:
            bits: dict[str, int] = {}
            for node in nodes:
                if self._anchored(node, regime):
                    bits[node] = everything
            queue = deque(bits)
            while queue:
                node = queue.popleft()
                have = bits.get(node, 0)
                for flow in outgoing.get(node, ()):
                    carried = have & self._flow_mask[flow.id]
                    if carried:
                        before = bits.get(flow.to, 0)
                        after = before | carried
                        if after != before:
                            bits[flow.to] = after
                            queue.append(flow.to)
            self._regime_bits[regime] = bits

    def carried(self, flow: Flow, regime: str) -> int:
        """Bitset of the flow's personal-data elements that are under `regime`."""
        return self._regime_bits[regime].get(flow.from_, 0) & self._flow_mask[flow.id]

    def regimes_of_flow(self, flow: Flow) -> tuple[str, ...]:
        return tuple(r for r in self._areas if self.carried(flow, r))

    def elements_carried(self, flow: Flow, regime: str) -> tuple[Element, ...]:
        return self.elements_of(self.carried(flow, regime))

    def personal_elements(self, flow: Flow) -> tuple[Element, ...]:
        return self.elements_of(self._flow_mask[flow.id])

    # --- transfers ---------------------------------------------------------------------------

    def parties(self, flow: Flow) -> tuple[Organisation | None, Organisation | None, bool]:
        """(exporter, importer, via_collection). Collection from subjects has no exporter, except
        collection into a processor's system, which is a disclosure by the controller (SPEC §3)."""
        importer = self.operator(flow.to)
        if self.is_subject(flow.from_):
            if importer is not None and importer.role is Role.PROCESSOR:
                return self.controller, importer, True
            return None, importer, False
        return self.operator(flow.from_), importer, False

    @staticmethod
    def anonymisation_holds(flow: Flow, elements: Iterable[Element]) -> bool:
        """The flow's `anonymised: true` claim holds: no direct identifier that is not anonymised,
        fewer than three quasi-identifiers (WP29 Opinion 05/2014: combinations single people out)."""
        if not (flow.transfer and flow.transfer.anonymised):
            return False
        quasi = 0
        for element in elements:
            if element.state is State.ANONYMISED:
                continue
            if element.identifier is Identifier.DIRECT:
                return False
            if element.identifier is Identifier.QUASI:
                quasi += 1
        return quasi < 3

    @cached_property
    def _transfers(self) -> dict[str, list[Transfer]]:
        inv = self.inventory
        found: dict[str, list[Transfer]] = {}
        collectors = self._collector_masks
        for flow in inv.flows.values():
            if not self._flow_mask[flow.id]:
                continue
            exporter, importer, via_collection = self.parties(flow)
            if exporter is None or importer is None:
                continue
            if (flow.transfer is not None and flow.transfer.anonymised
                    and self.anonymisation_holds(flow, self.inventory_elements(flow))):
                continue  # anonymised before it leaves: not a transfer of personal data
            to_countries = (importer.country, *self.countries(flow.to))
            origin = self.countries(flow.from_)
            for regime, area in self._areas.items():
                mask = self.carried(flow, regime)
                if not mask:
                    continue
                destinations = tuple(sorted({c for c in to_countries if c not in area}))
                if not destinations:
                    continue
                if self.law.attaches_to_establishments(regime):
                    if exporter.id == importer.id:
                        continue
                    # SPEC §3: first-hop when the exporter got the data directly from the subjects
                    # or holds it in the area (where it is held, not where the exporter is established)
                    first_hop = (via_collection or bool(collectors[regime].get(exporter.id, 0) & mask)
                                 or any(c in area for c in origin))
                else:
                    # PIPL: personal information leaves CN when it goes from CN to outside CN, also
                    # within one company (the CAC counts storage abroad as export).
                    if not any(c in area for c in origin):
                        continue
                    first_hop = True
                elements = self.elements_of(mask)
                categories = frozenset(e.category for e in elements)
                adequacy = tuple(self._adequacy(regime, c, importer, categories) for c in destinations)
                found.setdefault(flow.id, []).append(Transfer(
                    flow=flow, regime=regime, exporter=exporter, importer=importer,
                    origin_countries=origin, destination_countries=destinations, elements=elements,
                    first_hop=first_hop, adequacy=adequacy, via_collection=via_collection, _view=self))
        return found

    def inventory_elements(self, flow: Flow) -> tuple[Element, ...]:
        elements = self.inventory.elements
        return tuple(elements[e] for e in flow.elements)

    def _adequacy(self, regime: str, country: str, importer: Organisation, categories: frozenset[Category]) -> Adequacy:
        key = (regime, country, importer.id, categories)
        found = self._adequacy_cache.get(key)
        if found is None:
            found = self._adequacy_cache[key] = self._decide_adequacy(regime, country, importer, categories)
        return found

    def _decide_adequacy(self, regime: str, country: str, importer: Organisation,
                         categories: frozenset[Category]) -> Adequacy:
        decisions = self.law.adequacy(regime, country, self.as_of)
        reasons = []
        for decision in decisions:
            why_not = decision.covers(importer, categories)
            if why_not is None:
                return Adequacy(country, decision.decision, None)
            reasons.append(f"{decision.decision}: {why_not}")
        if not reasons:
            return Adequacy(country, None, f"no adequacy decision for {country} in force on {self.as_of}")
        return Adequacy(country, None, "; ".join(reasons))

    def transfers(self, regime: str | None = None) -> Iterator[Transfer]:
        """Every restricted transfer (flow × regime), in inventory order."""
        for items in self._transfers.values():
            for t in items:
                if regime is None or t.regime == regime:
                    yield t

    def transfers_of(self, flow: Flow) -> list[Transfer]:
        return self._transfers.get(flow.id, [])

    def is_restricted(self, flow: Flow) -> bool:
        return flow.id in self._transfers

    # --- collection, purposes, reach -------------------------------------------------------

    @cached_property
    def _collector_masks(self) -> dict[str, dict[str, int]]:
        """Per regime and organisation, the elements under the regime that it collected directly
        from data subjects (data of other subjects it got from an exporter stays onward data)."""
        masks: dict[str, dict[str, int]] = {regime: defaultdict(int) for regime in self._areas}
        for flow in self.inventory.flows.values():
            if self.is_subject(flow.from_):
                exporter, importer, via = self.parties(flow)
                collector = exporter if via else importer
                if collector is not None:
                    for regime, found in masks.items():
                        found[collector.id] |= self.carried(flow, regime)
        return {regime: dict(found) for regime, found in masks.items()}

    def collection_flows(self) -> Iterator[Flow]:
        subjects = self.inventory.subjects
        return (f for f in self.inventory.flows.values() if f.from_ in subjects)

    @cached_property
    def collected_for(self) -> dict[str, frozenset[str]]:
        """Per element, the purposes of the collection flows that brought it in."""
        found: dict[str, set[str]] = defaultdict(set)
        for flow in self.collection_flows():
            for e in flow.elements:
                found[e].update(flow.purposes)
        return {e: frozenset(p) for e, p in found.items()}

    @cached_property
    def collected_elements(self) -> frozenset[str]:
        return frozenset(e for f in self.collection_flows() for e in f.elements)

    @cached_property
    def stored_elements(self) -> frozenset[str]:
        return frozenset(e for s in self.inventory.systems.values() for e in s.elements)

    @cached_property
    def needed_elements(self) -> frozenset[str]:
        return frozenset(e for p in self.inventory.purposes.values() for e in p.elements)

    @cached_property
    def reach(self) -> dict[str, Reach]:
        """Per element, the external organisations (not `self`) and the countries it reaches,
        directly or onward: the destinations of every flow carrying it and the systems storing it."""
        inv = self.inventory
        me = self.controller.id
        orgs: dict[str, set[str]] = defaultdict(set)
        countries: dict[str, set[str]] = defaultdict(set)
        node_orgs: dict[str, str | None] = {}
        node_countries: dict[str, tuple[str, ...]] = {}

        def visit(node: str, elements: Iterable[str]) -> None:
            if node not in node_orgs:
                operator = self.operator(node)
                node_orgs[node] = operator.id if operator is not None else None
                node_countries[node] = () if self.is_subject(node) else self.countries(node)
            org, where = node_orgs[node], node_countries[node]
            for e in elements:
                if org is not None and org != me:
                    orgs[e].add(org)
                if where:
                    countries[e].update(where)

        for flow in inv.flows.values():
            visit(flow.to, flow.elements)
        for system in inv.systems.values():
            visit(system.id, system.elements)
        return {e: Reach(frozenset(orgs.get(e, ())), frozenset(countries.get(e, ()))) for e in inv.elements}

    @cached_property
    def purpose_systems(self) -> dict[str, frozenset[str]]:
        """Per purpose, the systems that flows for it start or end at."""
        found: dict[str, set[str]] = defaultdict(set)
        systems = self.inventory.systems
        for flow in self.inventory.flows.values():
            for p in flow.purposes:
                if flow.from_ in systems:
                    found[p].add(flow.from_)
                if flow.to in systems:
                    found[p].add(flow.to)
        return {p: frozenset(s) for p, s in found.items()}

    @cached_property
    def receiving_organisations(self) -> frozenset[str]:
        """Organisations that receive personal data: a flow ends at them or a system of theirs,
        or a system of theirs stores personal data."""
        inv = self.inventory
        found = set()
        for flow in inv.flows.values():
            if self._flow_mask[flow.id]:
                operator = self.operator(flow.to)
                if operator is not None:
                    found.add(operator.id)
        personal = {e for e, el in inv.elements.items() if el.state is not State.ANONYMISED}
        for system in inv.systems.values():
            if any(e in personal for e in system.elements):
                found.add(system.operator)
        return frozenset(found)

    # --- lineage -----------------------------------------------------------------------------

    def onward_path(self, transfer: Transfer) -> list[str]:
        """Backward search from the exporter's node, along flows carrying the transfer's
        data under its regime, to the first exporter's system (one in the regime's area, or
        one that collected the data from subjects); then forward to this flow's destination."""
        flow = transfer.flow
        mask = self.carried(flow, transfer.regime)
        area = self._areas[transfer.regime]
        incoming: dict[str, list[Flow]] = self._incoming
        bits = self._regime_bits[transfer.regime]

        def is_start(node: str) -> bool:
            if any(self.is_subject(f.from_) and self.carried(f, transfer.regime) & mask
                   for f in incoming.get(node, ())):
                return True
            return any(c in area for c in self.countries(node))

        parent: dict[str, str | None] = {flow.from_: None}
        queue = deque([flow.from_])
        start = flow.from_
        while queue:
            node = queue.popleft()
            if node != flow.from_ and is_start(node):
                start = node
                break
            for f in incoming.get(node, ()):
                if self.is_subject(f.from_) or f.from_ in parent:
                    continue
                if bits.get(f.from_, 0) & self._flow_mask[f.id] & mask:
                    parent[f.from_] = node
                    queue.append(f.from_)
        path = [start]
        node = start
        while parent.get(node) is not None:
            node = parent[node]  # type: ignore[assignment]
            path.append(node)
        path.append(flow.to)
        return path

    @cached_property
    def _incoming(self) -> dict[str, list[Flow]]:
        incoming: dict[str, list[Flow]] = defaultdict(list)
        for flow in self.inventory.flows.values():
            incoming[flow.to].append(flow)
        return incoming

    def flows_from(self, node: str) -> list[Flow]:
        return self._outgoing.get(node, [])

    def flows_into(self, node: str) -> list[Flow]:
        return self._incoming.get(node, [])

    def lineage(self, element: str) -> list[Flow]:
        """Every flow carrying the element, sources first (breadth-first from collection)."""
        return self.order_lineage([f for f in self.inventory.flows.values() if element in f.elements])

    def order_lineage(self, carrying: list[Flow]) -> list[Flow]:
        """Flows carrying one element, sources first: breadth-first from the collection flows
        (or, when nothing is collected, from the nodes no carrying flow enters)."""
        depth: dict[str, int] = {}
        queue: deque[str] = deque()
        for f in carrying:
            if self.is_subject(f.from_):
                depth.setdefault(f.from_, 0)
        if not depth:
            targets = {f.to for f in carrying}
            for f in carrying:
                if f.from_ not in targets:
                    depth.setdefault(f.from_, 0)
        queue.extend(depth)
        by_from: dict[str, list[Flow]] = defaultdict(list)
        for f in carrying:
            by_from[f.from_].append(f)
        while queue:
            node = queue.popleft()
            for f in by_from.get(node, ()):
                if f.to not in depth:
                    depth[f.to] = depth[node] + 1
                    queue.append(f.to)
        return sorted(carrying, key=lambda f: (depth.get(f.from_, 1 << 30), f.id))

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The networkx graph, built on first use (diagrams, lineage, ad-hoc analysis)."""
        import networkx as nx

        inv = self.inventory
        g = nx.MultiDiGraph()
        for s in inv.subjects.values():
            g.add_node(s.id, kind="subject", name=s.name, countries=tuple(s.locations))
        for o in inv.organisations.values():
            g.add_node(o.id, kind="organisation", name=o.name, countries=(o.country,), relation=o.relation.value)
        for sy in inv.systems.values():
            g.add_node(sy.id, kind="system", name=sy.name, countries=tuple(sy.locations), operator=sy.operator)
        for f in inv.flows.values():
            g.add_edge(f.from_, f.to, key=f.id, flow=f)
        return g

    def system(self, system_id: str) -> System:
        return self.inventory.systems[system_id]

    def is_external(self, org: Organisation) -> bool:
        return org.relation is not Relation.SELF
