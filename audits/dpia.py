"""DPIA screening: WP248 rev.01's nine criteria per processing activity, from the inventory.

One computation, used by rule PUR-003, by `flowaudit dpia` and by the reports (the screening
beside each purpose in report.html and ropa.xlsx).

Verdict (SPEC §9; WP248 rev.01, section III.B.a):
- **required**: an Art. 35(3) case — (a) automated decisions with legal or similarly
  significant effect, (b) special-category or criminal data on a large scale — or two or
  more of the nine criteria ("in most cases ... the more criteria are met, the more likely");
- **likely**: one criterion (WP248: "in some cases, a processing meeting only one of these
  criteria requires a DPIA"), or a criterion the inventory cannot decide that would make two;
- **not indicated**: none.

What the inventory cannot know (a subject count that is missing, a public area being
monitored) is a question, never a guess.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from flowaudit.inventory.anonymity import is_personal
from flowaudit.inventory.graph import InventoryView
from flowaudit.inventory.models import Category, Frequency, Purpose, Role

Verdict = Literal["required", "likely", "not indicated"]
VERDICTS: tuple[Verdict, ...] = ("required", "likely", "not indicated")

# (key, title as WP248 rev.01 names it)
CRITERIA: tuple[tuple[str, str], ...] = (
    ("evaluation", "Evaluation or scoring, including profiling and predicting"),
    ("automated-decision", "Automated decision-making with legal or similar significant effect"),
    ("monitoring", "Systematic monitoring"),
    ("sensitive", "Sensitive data or data of a highly personal nature"),
    ("large-scale", "Data processed on a large scale"),
    ("combining", "Matching or combining datasets"),
    ("vulnerable", "Data concerning vulnerable data subjects"),
    ("innovative", "Innovative use or applying new technological or organisational solutions"),
    ("blocking", "Processing that prevents data subjects from exercising a right or using a service or a contract"),
)
TITLES = dict(CRITERIA)

# WP248 criterion 4 names, beyond Art. 9 and 10, data "of a highly personal nature" such as
# financial data and location data.
HIGHLY_PERSONAL = frozenset({Category.FINANCIAL, Category.LOCATION})
# Categories through which data subjects are observed (WP248 criterion 3: "processing used to
# observe, monitor or control data subjects, including data collected through networks").
MONITORING = frozenset({Category.LOCATION, Category.BEHAVIOURAL})


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    met: bool | None  # None: the inventory cannot tell
    facts: tuple[str, ...] = ()
    question: str | None = None


@dataclass(frozen=True)
class Screening:
    purpose: Purpose
    criteria: tuple[Criterion, ...]
    art35_3: tuple[str, ...]  # the Art. 35(3) cases that apply
    verdict: Verdict
    subjects: tuple[str, ...]
    subject_count: int | None  # the sum of the known counts
    count_complete: bool
    large_scale_limit: int
    questions: tuple[str, ...] = field(default=())

    @property
    def met(self) -> list[str]:
        return [c.key for c in self.criteria if c.met]

    @property
    def dpia_date(self) -> str | None:
        return self.purpose.dpia.date.isoformat() if self.purpose.dpia else None

    def summary(self) -> str:
        """One line: the verdict, the criteria met, the DPIA on record."""
        met = ", ".join(self.met) or "no criterion met"
        cases = f"; Art. 35(3) {', '.join(self.art35_3)}" if self.art35_3 else ""
        if self.dpia_date:
            done = f"; DPIA of {self.dpia_date}"
        else:
            done = "; no DPIA recorded" if self.verdict == "required" else ""
        return f"{self.verdict} ({met}{cases}){done}"


class _Index:
    """What the screening needs from the whole inventory, computed once per view (linear in flows)."""

    def __init__(self, view: InventoryView):
        inv = view.inventory
        # purpose -> facts: continuous collection of observing elements that the purpose needs
        self.collection: dict[str, list[str]] = defaultdict(list)
        needs = {p.id: set(p.elements) for p in inv.purposes.values()}
        for flow in view.collection_flows():
            if flow.frequency is not Frequency.CONTINUOUS:
                continue
            observed = [e for e in flow.elements if inv.elements[e].category in MONITORING
                        and is_personal(inv.elements[e])]
            if observed:
                for p in flow.purposes:
                    used = [e for e in observed if e in needs.get(p, ())]
                    if used:
                        self.collection[p].append(f"flow {flow.id} collects {', '.join(used)} continuously "
                                                  f"from {flow.from_}")
        self.labels: dict[frozenset[str], str] = {}
        me = inv.controller.id
        self.supplied: dict[str, set[str]] = defaultdict(set)  # element -> external organisations supplying it
        operators, subjects = view.operators, inv.subjects
        for flow in inv.flows.values():
            target = operators.get(flow.to)  # most flows end elsewhere than at the controller: asked first
            if target is None or target.id != me or flow.from_ in subjects:
                continue
            source = operators.get(flow.from_)
            if source is not None and source.id != me:
                for e in flow.elements:
                    self.supplied[e].add(source.id)


_INDEXES: weakref.WeakKeyDictionary[InventoryView, _Index] = weakref.WeakKeyDictionary()
_SCREENINGS: weakref.WeakKeyDictionary[InventoryView, dict[tuple[str, int], Screening]] = weakref.WeakKeyDictionary()


def _index(view: InventoryView) -> _Index:
    found = _INDEXES.get(view)
    if found is None:
        found = _INDEXES[view] = _Index(view)
    return found


def purpose_subjects(view: InventoryView, purpose: Purpose) -> list[str]:
    """The purpose's subjects, or (when it names none) the subjects of its elements."""
    inv = view.inventory
    if purpose.subjects:
        return [s for s in purpose.subjects if s in inv.subjects]
    return sorted({s for e in purpose.elements if e in inv.elements for s in inv.elements[e].subjects
                   if s in inv.subjects})


def screen(view: InventoryView, purpose: Purpose, large_scale: int = 100_000) -> Screening:
    """The screening of one purpose (memoised per view)."""
    cache = _SCREENINGS.get(view)
    if cache is None:
        cache = _SCREENINGS[view] = {}
    key = (purpose.id, large_scale)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _screen(view, purpose, large_scale)
    return found


def screen_all(view: InventoryView, large_scale: int = 100_000, only: list[str] | None = None) -> list[Screening]:
    purposes = view.inventory.purposes
    ids = only if only is not None else sorted(purposes)
    return [screen(view, purposes[p], large_scale) for p in ids]


def _screen(view: InventoryView, purpose: Purpose, large_scale: int) -> Screening:
    inv = view.inventory
    index = _index(view)
    elements = [inv.elements[e] for e in purpose.elements if e in inv.elements]
    personal = [e for e in elements if is_personal(e)]
    subjects = purpose_subjects(view, purpose)
    criteria: list[Criterion] = []
    questions: list[str] = []

    def add(key: str, met: bool | None, facts: list[str] | tuple[str, ...] = (), question: str | None = None) -> None:
        criteria.append(Criterion(key, TITLES[key], met, tuple(facts), question))
        if question:
            questions.append(question)

    if elements and not personal:
        for key, _ in CRITERIA:
            add(key, False, ["every element of the purpose is anonymised: not personal data (Recital 26)"]
                if key == "evaluation" else [])
        return Screening(purpose, tuple(criteria), (), "not indicated", tuple(subjects), None, True, large_scale)

    # 1. evaluation or scoring
    add("evaluation", purpose.profiling, ["profiling: true"] if purpose.profiling else [])
    # 2. automated decisions with legal or similar significant effect
    add("automated-decision", purpose.automated_decisions,
        ["automated_decisions: true"] if purpose.automated_decisions else [])
    # 3. systematic monitoring
    monitoring = index.collection.get(purpose.id, [])
    add("monitoring", bool(monitoring), monitoring[:5] + ([f"and {len(monitoring) - 5} more flows"]
                                                         if len(monitoring) > 5 else []))
    # 4. sensitive or highly personal data
    special = [f"{e.id} ({e.category.value}, Art. 9)" for e in personal if e.special]
    criminal = [f"{e.id} (criminal, Art. 10)" for e in personal if e.criminal]
    highly = [f"{e.id} ({e.category.value}, highly personal)" for e in personal if e.category in HIGHLY_PERSONAL]
    add("sensitive", bool(special or criminal or highly), special + criminal + highly)
    # 5. large scale: the number of data subjects concerned (configurable threshold)
    counts = {s: inv.subjects[s].count for s in subjects}
    known = sum(c for c in counts.values() if c is not None)
    missing = sorted(s for s, c in counts.items() if c is None)
    facts = [f"{s}: {c:,}" for s, c in counts.items() if c is not None]
    if known >= large_scale:
        add("large-scale", True, [f"{known:,} data subjects (threshold {large_scale:,})", *facts])
    elif missing:
        add("large-scale", None, [*facts, f"no count for {', '.join(missing)}"],
            f"? to be answered by the purpose owner: how many people are in {', '.join(missing)} "
            f"(large scale from {large_scale:,}; set `count` on the subjects)")
    else:
        add("large-scale", False, [f"{known:,} data subjects (threshold {large_scale:,})"] if subjects else [])
    # 6. matching or combining datasets from operations with other purposes or other controllers
    origins: dict[str, list[str]] = defaultdict(list)
    collected_for = view.collected_for
    labels = index.labels
    for e in personal:
        cf = collected_for.get(e.id)
        if cf and purpose.id in cf:
            origins["collected for this purpose"].append(e.id)
        elif cf:
            label = labels.get(cf)
            if label is None:
                label = labels[cf] = "collected for " + ", ".join(sorted(cf))
            origins[label].append(e.id)
        supplied = index.supplied.get(e.id)
        if supplied:
            for org in sorted(supplied):
                origins[f"received from {org}"].append(e.id)
    external = [o for o in origins if o != "collected for this purpose"]
    combining = len(origins) >= 2 and bool(external)
    add("combining", combining, [f"{o}: {', '.join(es[:5])}{' …' if len(es) > 5 else ''}"
                                 for o, es in sorted(origins.items())] if combining else [])
    # 7. vulnerable data subjects
    vulnerable = []
    for s in subjects:
        subject = inv.subjects[s]
        flag = getattr(subject, "vulnerable", None)
        if flag or (flag is None and subject.children):
            vulnerable.append(f"{s}" + (" (children)" if subject.children else " (vulnerable)"))
    add("vulnerable", bool(vulnerable), vulnerable)
    # 8. innovative technology, where the inventory flags it
    add("innovative", purpose.innovative_technology,
        ["innovative_technology: true"] if purpose.innovative_technology else [])
    # 9. blocking a right, a service or a contract, where flagged
    add("blocking", purpose.blocks_service, ["blocks_service: true"] if purpose.blocks_service else [])

    met = [c for c in criteria if c.met]
    unknown = [c for c in criteria if c.met is None]
    cases: list[str] = []
    if purpose.automated_decisions:
        cases.append("(a) automated decisions with legal or similar effect")
    large = next(c for c in criteria if c.key == "large-scale")
    if (special or criminal) and large.met:
        cases.append("(b) large-scale " + ("special-category" if special else "criminal") + " data")
    if monitoring:
        questions.append("? to be answered by the purpose owner: is a publicly accessible area monitored "
                         "systematically on a large scale (Art. 35(3)(c))?")
    verdict: Verdict
    if cases or len(met) >= 2:
        verdict = "required"
    elif len(met) == 1 or len(met) + len(unknown) >= 2:
        verdict = "likely"
    else:
        verdict = "not indicated"
    if purpose.role is Role.PROCESSOR:
        questions.append("? to be answered by the controller on whose behalf this runs: the DPIA is the "
                         "controller's duty (Art. 35(1)); the processor assists (Art. 28(3)(f))")
    return Screening(purpose, tuple(criteria), tuple(cases), verdict, tuple(subjects), known if subjects else None,
                     not missing, large_scale, tuple(questions))


def screening_dict(s: Screening) -> dict:
    """Plain data for JSON output."""
    return {
        "purpose": s.purpose.id, "name": s.purpose.name, "verdict": s.verdict,
        "criteria_met": s.met, "art35_3": list(s.art35_3),
        "dpia": s.dpia_date, "subjects": list(s.subjects), "subject_count": s.subject_count,
        "count_complete": s.count_complete, "large_scale_subjects": s.large_scale_limit,
        "criteria": [{"key": c.key, "title": c.title, "met": c.met, "facts": list(c.facts),
                      **({"question": c.question} if c.question else {})} for c in s.criteria],
        "questions": list(s.questions),
    }
