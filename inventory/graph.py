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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any, Protocol

from .anonymity import anonymisation_holds, is_personal
from .models import (
    Category,
    Element,
    Flow,
    Mechanism,
    Organisation,
    Relation,
    Role,
    System,
)
from .validate import Inventory

if TYPE_CHECKING:
    import networkx as nx

_NONE: frozenset[str] = frozenset()
_FEW = 8  # elements a flow carries for `_propagate` to read them all rather than index them
_NO_REGIMES: dict[str, tuple[str, ...]] = {}  # shared: `_regime_elements`' answers are read, never changed
PATH_LIMIT = 20  # nodes of an onward chain shown (SPEC §5: lists in details are cut to 20)
PATH_CUT = "…"  # stands where a long chain is cut; never an id (ids match ^[a-z0-9])
_KEEP = PATH_LIMIT // 2  # a cut path: its first _KEEP nodes, PATH_CUT, the last _TAIL before the destination
_TAIL = PATH_LIMIT - _KEEP - 2


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

    def restricts_transfers(self, regime: str) -> bool: ...

    def adequacy(self, regime: str, country: str, as_of: dt.date) -> list[Any]: ...

    def choose_mechanism(self, transfer: Transfer) -> ChosenMechanism: ...


class ChosenMechanism(Protocol):
    """The law's answer for one transfer (`audits.mechanisms.Choice`): the mechanism that counts."""

    @property
    def mechanism(self) -> Mechanism | None: ...


@dataclass(frozen=True)
class Adequacy:
    """Adequacy of one destination country for one transfer."""

    country: str
    decision: str | None  # the decision in force and in scope, if any
    reason: str | None  # why not adequate: no decision, or outside its scope

    @property
    def adequate(self) -> bool:
        return self.decision is not None


@dataclass(eq=False, slots=True)
class Transfer:
    """A restricted transfer: one flow under one regime (SPEC §3).

    Slots, and the answers most transfer rules ask kept in slots of their own: a `cached_property`
    would give every transfer a dictionary (800 bytes; 64 MB at 100,000 flows)."""

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
    # No reference back to the view (its chain is `view.onward_path(transfer)`): a transfer
    # kept by a caller does not keep a whole view alive; it keeps the law and the date it needs.
    _law: Any = field(default=None, repr=False)
    _as_of: dt.date | None = field(default=None, repr=False)
    _choice: Any = field(default=None, init=False, repr=False)
    _adequate: bool | None = field(default=None, init=False, repr=False)

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        """Every mechanism the flow declares (one or a list), whatever the regime."""
        return self.flow.transfer.mechanisms if self.flow.transfer else ()

    @property
    def choice(self) -> ChosenMechanism:
        """The law's choice among the declared mechanisms (`Jurisdictions.choose_mechanism`: the
        strongest valid one the regime recognises, or why none counts), made once: every
        transfer rule asks it, most of them more than once."""
        found = self._choice
        if found is None:
            assert self._law is not None
            found = self._choice = self._law.choose_mechanism(self)
        return found  # type: ignore[no-any-return]

    @property
    def mechanism(self) -> Mechanism | None:
        """The declared mechanism that counts under this transfer's regime (see `choice`)."""
        return self.choice.mechanism

    @property
    def as_of(self) -> dt.date:
        assert self._as_of is not None
        return self._as_of

    @property
    def exporter_role(self) -> Role:
        return self.exporter.role

    @property
    def importer_role(self) -> Role:
        return self.importer.role

    @property
    def adequate(self) -> bool:
        """Every destination is covered by an adequacy decision in force and in scope (asked by
        most transfer rules: answered once)."""
        found = self._adequate
        if found is None:
            found = self._adequate = all(a.adequate for a in self.adequacy)
        return found

    @property
    def onward(self) -> bool:
        return not self.first_hop

    @property
    def country(self) -> str:
        return ", ".join(self.destination_countries)


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
        # Elements are numbered once (inventory order) so that every element list the view hands
        # out is in one stable order; sets of elements are tuples of ids, never bitsets over all
        # elements (their width would grow with the element count: memory quadratic in it).
        self._element_index = {e: i for i, e in enumerate(inv.elements)}
        self._ids_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._elements_cache: dict[tuple[str, ...], tuple[Element, ...]] = {}
        self._adequacy_cache: dict[tuple[str, str, str, frozenset[Category]], Adequacy] = {}
        self._chain_cache: dict[str, dict[str, tuple[str | None, int, tuple[str, ...]]]] = {}
        self._tail_cache: dict[str, dict[str, tuple[str, ...]]] = {}
        self._leaving_cache: dict[tuple[str, tuple[str, ...]], tuple[dict[str, tuple[str, ...]], int]] = {}
        self._regimes_cache: dict[tuple[Any, ...], dict[str, tuple[str, ...]]] = {}
        self._decisions: dict[tuple[str, str], list[Any]] = {}  # adequacy decisions in force, per regime and country
        self._areas = {r: jurisdictions.area(r, as_of) for r in jurisdictions.regime_ids}
        self._regime_bit = {r: 1 << i for i, r in enumerate(self._areas)}
        self._held_shift = len(self._areas)
        # the personal data a flow carries: anonymised elements are not personal data (Recital 26)
        self._personal_ids = {e for e, el in inv.elements.items() if is_personal(el)}
        self._flow_personal: dict[str, tuple[str, ...]] = {
            flow.id: self._personal_of(tuple(flow.elements)) for flow in inv.flows.values()}
        self._propagate()

    # --- nodes -------------------------------------------------------------------------------

    def kind(self, node: str) -> str | None:
        return self.inventory.kind_of(node)

    def operator(self, node: str) -> Organisation | None:
        """Who holds data at a node: a system's operator, an organisation itself; None for subjects."""
        return self._operators.get(node)

    @property
    def operators(self) -> Mapping[str, Organisation]:
        """`operator` of every system and organisation at once, for a loop over many flows
        (read it; never change it)."""
        return self._operators

    @cached_property
    def _operators(self) -> dict[str, Organisation]:
        """Per system and organisation, `operator` (ids are unique across the inventory): asked
        for both ends of every flow by most questions, so looked up once, not twice."""
        inv = self.inventory
        organisations = inv.organisations
        found = dict(organisations)
        for system_id, system in inv.systems.items():
            found[system_id] = organisations[system.operator]
        return found

    def countries(self, node: str) -> tuple[str, ...]:
        """Where data at a node is: a system's locations, an organisation's country, subjects' locations."""
        found = self._countries.get(node)
        if found is None:
            return tuple(self.inventory.subjects[node].locations)
        return found

    @cached_property
    def _countries(self) -> dict[str, tuple[str, ...]]:
        """Per system and organisation, `countries` (one tuple each, shared by every question)."""
        inv = self.inventory
        found: dict[str, tuple[str, ...]] = {org_id: (org.country,) for org_id, org in inv.organisations.items()}
        for system_id, system in inv.systems.items():
            found[system_id] = tuple(system.locations)
        return found

    def is_subject(self, node: str) -> bool:
        return node in self.inventory.subjects

    def name(self, node: str) -> str:
        entry = self.inventory.entry(node)
        return getattr(entry, "name", node) if entry is not None else node

    def _personal_of(self, ids: tuple[str, ...]) -> tuple[str, ...]:
        """The personal-data elements among `ids`, once each, in inventory order (memoised:
        flows share few distinct element lists)."""
        found = self._ids_cache.get(ids)
        if found is None:
            index, personal = self._element_index, self._personal_ids
            found = tuple(sorted({e for e in ids if e in personal}, key=index.__getitem__))
            self._ids_cache[ids] = found = self._ids_cache.setdefault(found, found)
        return found

    def elements_of(self, ids: tuple[str, ...]) -> tuple[Element, ...]:
        """The `Element` entries of a tuple of ids (memoised, shared between flows)."""
        found = self._elements_cache.get(ids)
        if found is None:
            elements = self.inventory.elements
            self._elements_cache[ids] = found = tuple(elements[e] for e in ids)
        return found

    # --- regimes -----------------------------------------------------------------------------

    def _anchored(self, node: str, regime: str) -> str | None:
        """Whether data held here is under `regime` whatever its origin: "origin" for subjects
        located in the area and for nodes of an organisation established there or located there;
        "held" where the node's operator is a processor (or sub-processor) established or
        processing in the area, whose holding puts data under the regime only while it holds it
        (SPEC §3); None otherwise."""
        area = self._areas[regime]
        if not area:
            return None
        inv = self.inventory
        if node in inv.subjects:
            located = any(regime in self.law.regimes_of_location(loc, self.as_of)
                          for loc in inv.subjects[node].locations)
            return "origin" if located else None
        if not self.law.attaches_to_establishments(regime):
            return None
        operator = self.operator(node)
        if (operator is not None and operator.country in area) or any(c in area for c in self.countries(node)):
            return "held" if operator is not None and operator.role is Role.PROCESSOR else "origin"
        return None

    def _signature(self, node: str) -> tuple[Any, ...]:
        """What `_anchored` and `_returns_home` read of a node: a subject's locations; else its
        operator's country and role and the node's countries."""
        subject = self.inventory.subjects.get(node)
        if subject is not None:
            return ("subject", *subject.locations)
        operator = self._operators.get(node)
        if operator is None:
            return ("none", *self.countries(node))
        return (operator.country, operator.role, *self._countries[node])  # a system's or organisation's

    def _returns_home(self, node: str, regime: str) -> bool:
        """Data a processor in the area returns to this node leaves the regime here: the node's
        operator is a controller neither established nor located in the area, so not subject to
        the regime for data it is not otherwise under it for (EDPB Guidelines 3/2018 on Art. 3;
        05/2021 on transfers; Decision 2021/914 Module Four)."""
        operator = self.operator(node)
        if operator is None or operator.role is Role.PROCESSOR:
            return False
        area = self._areas[regime]
        return operator.country not in area and not any(c in area for c in self.countries(node))

    def _propagate(self) -> None:
        """Per node and element, the regimes the element is under there (SPEC §3).

        A node anchored in a regime (subjects located in its area; for regimes that attach to
        establishments, a system or organisation in the area) holds everything under it; other
        regimes reach a node along flows, element by element. Worklist over deltas: a regime is
        added to a (node, element) pair at most once and sent on once along each flow out of
        the node that carries the element, so the work is linear in the flows' element lists
        whatever the shape (chains, cycles), and memory is linear too.
        """
        inv = self.inventory
        outgoing: dict[str, list[Flow]] = defaultdict(list)
        for flow in inv.flows.values():
            outgoing[flow.from_].append(flow)
        self._outgoing = outgoing
        nodes = set(outgoing) | {f.to for f in inv.flows.values()}
        # Data under a regime only because a processor in the area holds it carries the regime's
        # "held" bit (shifted past the regimes' bits): it leaves the regime where it returns to a
        # controller not subject to it (`_returns_home`), SPEC §3.
        shift = self._held_shift
        anchor: dict[str, int] = {}
        home: dict[str, int] = {}  # per node, the held bits that stop there
        # A node's anchoring depends only on where it is and who holds data there (its
        # signature): asked once per distinct signature, not once per node and regime.
        by_signature: dict[tuple[Any, ...], tuple[int, int]] = {}
        for node in nodes:
            signature = self._signature(node)
            found = by_signature.get(signature)
            if found is None:
                bits = 0
                stop = 0
                for regime, bit in self._regime_bit.items():
                    anchored = self._anchored(node, regime)
                    if anchored == "origin":
                        bits |= bit
                    elif anchored == "held":
                        bits |= bit << shift
                    if self.law.attaches_to_establishments(regime) and self._returns_home(node, regime):
                        stop |= bit << shift
                found = by_signature[signature] = (bits, stop)
            bits, stop = found
            if bits:
                anchor[node] = bits
            if stop:
                home[node] = stop
        held: dict[str, dict[str, int]] = {}  # regimes that reached (node, element) along flows
        pending: dict[str, dict[str, int]] = {}  # what a node has received and not yet sent on
        queue: deque[str] = deque()
        personal = self._flow_personal

        def send(flow: Flow, elements: Iterable[str], bits: int) -> None:
            to = flow.to
            bits &= ~(anchor.get(to, 0) | home.get(to, 0))
            if not bits:
                return
            at = held.get(to)
            for e in elements:
                if at is None:
                    at = held[to] = {}
                old = at.get(e, 0)
                new = bits & ~old
                if new:
                    at[e] = old | new
                    delta = pending.get(to)
                    if delta is None:
                        delta = pending[to] = {}
                        queue.append(to)
                    delta[e] = delta.get(e, 0) | new

        for node, bits in anchor.items():
            for flow in outgoing.get(node, ()):
                if bits & ~anchor.get(flow.to, 0) and personal[flow.id]:
                    send(flow, personal[flow.id], bits)
        by_element: dict[str, dict[str, list[Flow]]] = {}
        while queue:
            node = queue.popleft()
            delta = pending.pop(node)
            flows_out = outgoing.get(node, ())
            if len(flows_out) == 1 and len(personal[flows_out[0].id]) <= _FEW:
                # one short flow out (a chain's hop): its elements grouped by the bits they get,
                # a call per group; the same sends as through the index, without building it
                flow = flows_out[0]
                groups: dict[int, list[str]] = {}
                for e in personal[flow.id]:
                    bits = delta.get(e, 0)
                    if bits:
                        groups.setdefault(bits, []).append(e)
                for bits, group in groups.items():
                    send(flow, group, bits)
                continue
            index = by_element.get(node)
            if index is None:
                index = by_element[node] = defaultdict(list)
                for flow in outgoing.get(node, ()):
                    for e in personal[flow.id]:
                        index[e].append(flow)
            for e, bits in delta.items():
                for flow in index.get(e, ()):
                    send(flow, (e,), bits)
        self._anchor = anchor
        self._held = held

    def _fold(self, bits: int) -> int:
        """Regime bits with the "held" bits folded onto their regimes."""
        shift = self._held_shift
        return (bits | (bits >> shift)) & ((1 << shift) - 1)

    def _regime_elements(self, flow: Flow) -> dict[str, tuple[str, ...]]:
        """Per regime, the flow's personal-data elements under it (ids, inventory order).

        The answer depends only on the elements and on the regime bits its source holds them
        with, which repeat from flow to flow (a chain's every hop, a system's every outgoing
        flow): it is worked out once per distinct combination and shared, so callers read it
        and never change it."""
        personal = self._flow_personal[flow.id]
        if not personal:
            return _NO_REGIMES
        anchor_bits = self._anchor.get(flow.from_, 0)
        held = self._held.get(flow.from_)
        key = (personal, anchor_bits, tuple(map(held.get, personal)) if held else None)
        found = self._regimes_cache.get(key)
        if found is None:
            found = self._regimes_cache[key] = self._regimes_of(personal, anchor_bits, held)
        return found

    def _regimes_of(self, personal: tuple[str, ...], anchor_bits: int,
                    held: dict[str, int] | None) -> dict[str, tuple[str, ...]]:
        anchor = self._fold(anchor_bits)
        out: dict[str, tuple[str, ...]] = {}
        if not held:
            if anchor:
                for regime, bit in self._regime_bit.items():
                    if anchor & bit:
                        out[regime] = personal
            return out
        bits = [anchor | self._fold(held.get(e, 0)) for e in personal]
        every, some = reduce(and_, bits), reduce(or_, bits)
        for regime, bit in self._regime_bit.items():
            if every & bit:
                out[regime] = personal
            elif some & bit:
                ids = tuple(e for e, b in zip(personal, bits, strict=True) if b & bit)
                out[regime] = self._ids_cache.setdefault(ids, ids)
        return out

    def carried(self, flow: Flow, regime: str) -> tuple[str, ...]:
        """Ids of the flow's personal-data elements that are under `regime` (inventory order):
        `_regime_elements(flow)[regime]`, for one regime without the others."""
        personal = self._flow_personal[flow.id]
        if not personal:
            return ()
        bit = self._regime_bit[regime]
        bit |= bit << self._held_shift  # data a processor in the area holds counts too
        if self._anchor.get(flow.from_, 0) & bit:
            return personal
        held = self._held.get(flow.from_)
        if not held:
            return ()
        ids = tuple(e for e in personal if held.get(e, 0) & bit)
        if len(ids) == len(personal):
            return personal
        return self._ids_cache.setdefault(ids, ids) if ids else ()

    def regimes_of_flow(self, flow: Flow) -> tuple[str, ...]:
        return tuple(self._regime_elements(flow))

    def elements_carried(self, flow: Flow, regime: str) -> tuple[Element, ...]:
        return self.elements_of(self.carried(flow, regime))

    def personal_elements(self, flow: Flow) -> tuple[Element, ...]:
        return self.elements_of(self._flow_personal[flow.id])

    # --- transfers ---------------------------------------------------------------------------

    def parties(self, flow: Flow) -> tuple[Organisation | None, Organisation | None, bool]:
        """(exporter, importer, via_collection). Collection from subjects has no exporter, except
        collection into a processor's system, which is a disclosure by the controller (SPEC §3)."""
        importer = self._operators.get(flow.to)
        exporter, via_collection = self._exporter(flow.from_, importer)
        return exporter, importer, via_collection

    def _exporter(self, source: str, importer: Organisation | None) -> tuple[Organisation | None, bool]:
        """(the exporter of data a flow takes from `source` to `importer`, via_collection): for
        a flow from subjects, the controller when the importer is a processor, else none."""
        if source in self.inventory.subjects:
            if importer is not None and importer.role is Role.PROCESSOR:
                return self.controller, True
            return None, False
        return self._operators.get(source), False

    @cached_property
    def _transfers(self) -> dict[str, list[Transfer]]:
        inv = self.inventory
        found: dict[str, list[Transfer]] = {}
        collectors = self._collector_masks
        # a regime with no transfer rule (the CCPA) still marks the data it covers, but nothing is a transfer
        no_transfer_rule = {r for r in self._areas if not self.law.restricts_transfers(r)}
        counted = 0  # the bits (folded) of the regimes whose data can make a transfer
        for regime, bit in self._regime_bit.items():
            if regime not in no_transfer_rule:
                counted |= bit
        # Per node, asked once: the regimes whose data is there (a bit mask), and the countries
        # outside each regime's area where data arriving there lands. Most flows stay inside the
        # area of every regime their source holds data under and are passed over without looking
        # at elements. What depends only on countries is asked once per distinct set of countries.
        present: dict[str, int] = {}
        attaches = {r: self.law.attaches_to_establishments(r) for r in self._areas}
        leaving = self._leaving_cache  # per (importer's country, node's countries), asked once
        in_area: dict[tuple[str, tuple[str, ...]], bool] = {}
        categories_of: dict[tuple[str, ...], frozenset[Category]] = {}
        shared_adequacy: dict[tuple[str, tuple[str, ...], frozenset[Category]], tuple[Adequacy, ...]] = {}
        operators, countries_of = self._operators, self._countries
        regime_elements, exporter_of, elements_of = self._regime_elements, self._exporter, self.elements_of
        law, as_of, areas = self.law, self.as_of, self._areas
        for flow in inv.flows.values():
            to = flow.to
            importer = operators.get(to)
            if importer is None:  # data arriving at subjects is never transferred
                continue
            # what leaves which regime's area here depends on the importer's country and the node's
            key = (importer.country, countries_of[to])
            found_out = leaving.get(key)
            if found_out is None:
                found_out = leaving[key] = self._outside(key)
            out, out_bits = found_out
            if not out_bits:
                continue
            source = flow.from_
            here = present.get(source)
            if here is None:
                here = present[source] = self._held_bits(source) & counted
            if not here & out_bits:
                continue
            exporter, via_collection = exporter_of(source, importer)  # `parties`, the importer at hand
            if exporter is None:
                continue
            if exporter.id == importer.id and all(attaches[r] for r, bit in self._regime_bit.items()
                                                  if here & out_bits & bit):
                continue  # within one organisation: only a regime like PIPL counts storage abroad
            carried = regime_elements(flow)
            if not carried:
                continue
            if (flow.transfer is not None and flow.transfer.anonymised
                    and anonymisation_holds(flow, self.inventory_elements(flow))):
                continue  # anonymised before it leaves: not a transfer of personal data
            origin = self.countries(source)
            for regime, ids in carried.items():
                if regime in no_transfer_rule:
                    continue
                destinations = out.get(regime)
                if not destinations:
                    continue
                inside = in_area.get((regime, origin))
                if inside is None:
                    area = areas[regime]
                    inside = in_area[regime, origin] = any(c in area for c in origin)
                if attaches[regime]:
                    if exporter.id == importer.id:
                        continue
                    # SPEC §3: first-hop when the exporter got the data directly from the subjects
                    # or holds it in the area (where it is held, not where the exporter is established)
                    first_hop = (via_collection or inside
                                 or not collectors[regime].get(exporter.id, _NONE).isdisjoint(ids))
                else:
                    # PIPL: personal information leaves CN when it goes from CN to outside CN, also
                    # within one company (the CAC counts storage abroad as export).
                    if not inside:
                        continue
                    first_hop = True
                elements = elements_of(ids)
                categories = categories_of.get(ids)
                if categories is None:
                    categories = categories_of[ids] = frozenset(e.category for e in elements)
                adequacy = shared_adequacy.get((regime, destinations, categories))
                if adequacy is None:
                    adequacy = tuple(self._adequacy(regime, c, importer, categories) for c in destinations)
                    if not any(self._decisions[regime, c] for c in destinations):  # the same for every importer
                        shared_adequacy[regime, destinations, categories] = adequacy
                found.setdefault(flow.id, []).append(Transfer(
                    flow=flow, regime=regime, exporter=exporter, importer=importer,
                    origin_countries=origin, destination_countries=destinations, elements=elements,
                    first_hop=first_hop, adequacy=adequacy, via_collection=via_collection,
                    _law=law, _as_of=as_of))
        return found

    def _held_bits(self, node: str) -> int:
        """The regime bits (held ones folded onto their regimes) of the data at `node`: anchored
        there or reached along a flow; `_holds` for every regime at once."""
        bits = self._anchor.get(node, 0)
        held = self._held.get(node)
        if held:
            for b in held.values():
                bits |= b
        return self._fold(bits)

    def _outside(self, key: tuple[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]], int]:
        """For data arriving at a node whose operator is established in `key[0]` and which is
        located in `key[1]`: per regime, those countries outside the regime's area (a restricted
        transfer's destinations), and the bits of those regimes."""
        countries = {key[0], *key[1]}
        out = {}
        bits = 0
        for regime, area in self._areas.items():
            outside = tuple(sorted(c for c in countries if c not in area))
            if outside:
                out[regime] = outside
                bits |= self._regime_bit[regime]
        return out, bits

    def inventory_elements(self, flow: Flow) -> tuple[Element, ...]:
        elements = self.inventory.elements
        return tuple(elements[e] for e in flow.elements)

    def _adequacy(self, regime: str, country: str, importer: Organisation, categories: frozenset[Category]) -> Adequacy:
        decisions = self._decisions.get((regime, country))
        if decisions is None:
            decisions = self._decisions[regime, country] = self.law.adequacy(regime, country, self.as_of)
        # with no decision in force the answer is the same for every importer: asked once
        key = (regime, country, importer.id if decisions else "", categories)
        found = self._adequacy_cache.get(key)
        if found is None:
            found = self._adequacy_cache[key] = self._decide_adequacy(regime, country, importer, categories, decisions)
        return found

    def _decide_adequacy(self, regime: str, country: str, importer: Organisation,
                         categories: frozenset[Category], decisions: list[Any]) -> Adequacy:
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

    def combines_area_data(self, transfer: Transfer) -> bool:
        """The exporter combines the transfer's data with personal data it collected in the
        regime's area: a collection flow from subjects located in the area ends at the node the
        transfer leaves from, or that node (a system) stores an element such a collection flow
        brought into a node of the same exporter. (How the inventory shows SCC Module Four's
        "combines with personal data collected by the processor in the EU", Clause 14.)
        Answered from `_area_collection`, built in one pass over the collection flows: a
        question costs the size of the source system's element list, not the flow count."""
        index = self._area_collection.get(transfer.regime)
        if index is None:
            return False
        reached, collected_by = index
        source = transfer.flow.from_
        if source in reached:
            return True
        system = self.inventory.systems.get(source)
        collected = collected_by.get(transfer.exporter.id)
        return system is not None and collected is not None and not collected.isdisjoint(system.elements)

    # --- collection, purposes, reach -------------------------------------------------------

    @cached_property
    def _collector_masks(self) -> dict[str, dict[str, set[str]]]:
        """Per regime and organisation, the elements under the regime that it collected directly
        from data subjects (data of other subjects it got from an exporter stays onward data)."""
        masks: dict[str, dict[str, set[str]]] = {regime: defaultdict(set) for regime in self._areas}
        for flow in self.collection_flows():
            exporter, importer, via = self.parties(flow)
            collector = exporter if via else importer
            if collector is not None:
                for regime, ids in self._regime_elements(flow).items():
                    masks[regime][collector.id].update(ids)
        return {regime: dict(found) for regime, found in masks.items()}

    @cached_property
    def _area_collection(self) -> dict[str, tuple[frozenset[str], dict[str, frozenset[str]]]]:
        """Per regime, from the collection flows carrying data under it: the nodes they end at,
        and per organisation operating such a node every element they brought there (the whole
        flow's list). `combines_area_data` asks it; linear in flows (SPEC §7)."""
        reached: dict[str, set[str]] = defaultdict(set)
        collected: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for flow in self.collection_flows():
            carried = self._regime_elements(flow)
            if not carried:
                continue
            operator = self.operator(flow.to)
            for regime in carried:
                reached[regime].add(flow.to)
                if operator is not None:
                    collected[regime][operator.id].update(flow.elements)
        return {regime: (frozenset(nodes), {org: frozenset(e) for org, e in collected[regime].items()})
                for regime, nodes in reached.items()}

    def regimes_of_purpose(self, purpose: str) -> frozenset[str]:
        """The regimes whose data some flow for the purpose carries."""
        return self._purpose_regimes.get(purpose, _NONE)

    @cached_property
    def _purpose_regimes(self) -> dict[str, frozenset[str]]:
        """Per purpose, `regimes_of_purpose`: one pass over the flows on first use, so asking
        it for every purpose stays linear in flows (SPEC §7)."""
        found: dict[str, set[str]] = defaultdict(set)
        for flow in self.inventory.flows.values():
            if flow.purposes:
                regimes = self._regime_elements(flow)
                if regimes:
                    for p in flow.purposes:
                        found[p].update(regimes)
        return {p: frozenset(r) for p, r in found.items()}

    def collection_flows(self) -> Iterator[Flow]:
        """The flows from data subjects (collection), in inventory order."""
        return iter(self._collection_flows)

    @cached_property
    def _collection_flows(self) -> tuple[Flow, ...]:
        subjects = self.inventory.subjects
        return tuple(f for f in self.inventory.flows.values() if f.from_ in subjects)

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
        # the nodes each list of elements reaches (flows and systems share few distinct lists);
        # then per list, once, the organisations and countries of its nodes
        reached: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for flow in inv.flows.values():
            reached[tuple(flow.elements)].add(flow.to)
        for system in inv.systems.values():
            reached[tuple(system.elements)].add(system.id)
        orgs: dict[str, set[str]] = defaultdict(set)
        countries: dict[str, set[str]] = defaultdict(set)
        operators, countries_of = self._operators, self._countries  # `operator`, `countries` of a node
        for elements, nodes in reached.items():
            if not elements:
                continue
            to_orgs: set[str] = set()
            to_countries: set[str] = set()
            for node in nodes:
                operator = operators.get(node)
                if operator is not None:  # a system or an organisation (not subjects)
                    if operator.id != me:
                        to_orgs.add(operator.id)
                    to_countries.update(countries_of[node])
            for e in elements:
                if to_orgs:
                    orgs[e].update(to_orgs)
                if to_countries:
                    countries[e].update(to_countries)
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
        personal_of, operators = self._flow_personal, self._operators
        for flow in inv.flows.values():
            if personal_of[flow.id]:
                operator = operators.get(flow.to)
                if operator is not None:
                    found.add(operator.id)
        personal = {e for e, el in inv.elements.items() if is_personal(el)}
        for system in inv.systems.values():
            if any(e in personal for e in system.elements):
                found.add(system.operator)
        return frozenset(found)

    # --- lineage -----------------------------------------------------------------------------

    def onward_path(self, transfer: Transfer) -> list[str]:
        """Node ids from the first exporter's system (one in the regime's area, or one that
        collected the data from subjects) to this flow's destination, by the shortest chain of
        flows carrying data under the regime. A chain longer than PATH_LIMIT nodes is cut in the
        middle, marked PATH_CUT; `onward_path_length` gives its full length."""
        return self.onward_chain(transfer)[0]

    def onward_path_length(self, transfer: Transfer) -> int:
        """The number of nodes on the transfer's whole chain, `onward_path` before any cut."""
        reached = self._chains(transfer.regime).get(transfer.flow.from_)
        return 2 if reached is None else reached[1] + 2

    def onward_chain(self, transfer: Transfer) -> tuple[list[str], int]:
        """(`onward_path`, `onward_path_length`) in one question."""
        flow = transfer.flow
        chains = self._chains(transfer.regime)
        reached = chains.get(flow.from_)
        if reached is None:  # the exporter's node starts a chain itself
            return [flow.from_, flow.to], 2
        head, depth = reached[2], reached[1]
        length = depth + 2
        if length <= PATH_LIMIT:
            return [*head, flow.to], length  # the head holds the whole chain
        return [*head[:_KEEP], PATH_CUT, *self._tail(flow.from_, transfer.regime, chains), flow.to], length

    def _tail(self, node: str, regime: str, chains: dict[str, tuple[str | None, int, tuple[str, ...]]]
              ) -> tuple[str, ...]:
        """The last _TAIL nodes of the chain (`chains`, the regime's) that ends at `node` (fewer
        near its start). Kept for the nodes asked about: a node's tail is its parent's and
        itself, so asking along a chain, hop after hop as the rules do, costs a step each."""
        tails = self._tail_cache.get(regime)
        if tails is None:
            tails = self._tail_cache[regime] = {}
        found = tails.get(node)
        if found is None:
            parent = chains[node][0]
            before = tails.get(parent) if parent is not None else ()
            if before is None:  # walk back along the parent pointers
                out = [node]
                while len(out) < _TAIL:
                    parent = chains[out[-1]][0]
                    if parent is None:
                        break
                    out.append(parent)
                found = tuple(reversed(out))
            else:
                found = (*before, node)[-_TAIL:]
            tails[node] = found
        return found

    def _chains(self, regime: str) -> dict[str, tuple[str | None, int, tuple[str, ...]]]:
        """Per node reached by data under `regime`: its parent on a shortest chain from a first
        exporter's node, its depth on that chain and the chain's first nodes (at most PATH_LIMIT,
        shared between nodes). One breadth-first pass over the flows per regime, on first use:
        linear in flows, cycles included; a path then costs at most PATH_LIMIT steps."""
        cache = self._chain_cache
        found = cache.get(regime)
        if found is not None:
            return found
        area = self._areas[regime]
        bit = self._regime_bit[regime]
        both = bit | bit << self._held_shift  # data a processor in the area holds counts too
        inv = self.inventory
        subjects, countries_of = inv.subjects, self._countries
        anchor, held, personal = self._anchor, self._held, self._flow_personal
        in_area: dict[tuple[str, ...], bool] = {}  # per list of a node's countries, asked once
        located: dict[str, bool] = {}  # per node asked (as a flow's destination), the answer

        def located_holding(node: str) -> bool:
            """The node (not a subject) is located in the area and holds data under the regime."""
            countries = countries_of[node]  # a system's locations; an organisation's country
            inside = in_area.get(countries)
            if inside is None:
                inside = in_area[countries] = any(c in area for c in countries)
            return inside and bool(self._held_bits(node) & bit)

        def carries(flow: Flow) -> bool:
            """`carried(flow, regime)` is not empty, without building it."""
            ids = personal[flow.id]
            if not ids:
                return False
            if anchor.get(flow.from_, 0) & both:
                return True
            at = held.get(flow.from_)
            if at:
                for e in ids:
                    if at.get(e, 0) & both:
                        return True
            return False

        chains: dict[str, tuple[str | None, int, tuple[str, ...]]] = {}
        queue: deque[str] = deque()
        for flow in inv.flows.values():
            node = flow.to
            if node in chains or node in subjects:
                continue
            root: bool | None = flow.from_ in subjects and carries(flow)
            if not root:
                root = located.get(node)
                if root is None:
                    root = located[node] = located_holding(node)
            if root:
                chains[node] = (None, 0, (node,))
                queue.append(node)
        for node in self._outgoing:  # nodes no flow enters: located in the area, holding its data
            if node not in chains and node not in subjects and node not in located and located_holding(node):
                chains[node] = (None, 0, (node,))
                queue.append(node)
        outgoing = self._outgoing
        while queue:
            node = queue.popleft()
            _, depth, head = chains[node]
            for flow in outgoing.get(node, ()):
                to = flow.to
                if to in chains or not carries(flow):
                    continue
                chains[to] = (node, depth + 1, head if len(head) >= PATH_LIMIT else (*head, to))
                queue.append(to)
        cache[regime] = chains
        return chains

    def _holds(self, node: str, regime: str) -> bool:
        """Some data under `regime` is at `node` (anchored there, or reached along a flow)."""
        bit = self._regime_bit[regime]
        bit |= bit << self._held_shift
        return bool(self._anchor.get(node, 0) & bit) or any(b & bit for b in self._held.get(node, {}).values())

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
