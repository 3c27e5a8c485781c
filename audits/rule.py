"""What a rule is: `Rule` (a check with its metadata), `Selector` (the named set of items a rule
looks at), `Context` (what a check reads) and the `rule` and `selector` decorators.

A rule's whole firing condition is its selector's description plus its check's docstring, so
`docs/rules.md` can show both (`python -m flowaudit.audits.docs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flowaudit.inventory.graph import InventoryView
from flowaudit.inventory.models import Flow
from flowaudit.inventory.validate import Inventory

from .config import Config
from .findings import Hit, Severity
from .rulebook import Rulebook

Check = Callable[["Context", Any], "Hit | Iterable[Hit] | None"]
T = TypeVar("T")


@dataclass(frozen=True)
class Selector:
    """A named set of items a rule checks one by one (flows, restricted transfers, purposes...)."""

    name: str
    description: str  # how docs/rules.md says it: "every flow that carries elements"
    select: Callable[[Context], Iterable[Any]]

    def __call__(self, ctx: Context) -> Iterable[Any]:
        return self.select(ctx)


def selector(description: str) -> Callable[[Callable[[Context], Iterable[Any]]], Selector]:
    """Name a function of the context as a selector; `description` completes "Checks ..."."""

    def wrap(select: Callable[[Context], Iterable[Any]]) -> Selector:
        return Selector(select.__name__.lstrip("_"), description, select)

    return wrap


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    legal: tuple[str, ...]
    remediation: str
    subject: str  # the kind of subject its findings name
    over: Selector
    check: Check
    doc: str
    example: str

    @property
    def family(self) -> str:
        return self.id.split("-")[0]


def rule(rule_id: str, *, title: str, severity: Severity, legal: tuple[str, ...], remediation: str,
         subject: str, over: Selector, example: str = "") -> Callable[[Check], Rule]:
    """Declare a rule. The catalogue collects every `Rule` defined in the modules it lists."""
    if not isinstance(over, Selector):
        raise TypeError(f"{rule_id}: `over` must be a named Selector (see audits/selectors.py), "
                        "so that the rule's docs say what it checks")

    def wrap(check: Check) -> Rule:
        return Rule(rule_id, title, severity, legal, remediation, subject, over, check,
                    (check.__doc__ or "").strip(), example.strip())

    return wrap


@dataclass
class Context:
    """What a rule's check reads: the view, the rulebook, the configuration, the as-of date.

    `memo` keeps a value computed once per audit (several rules share it); it lives and dies
    with this context, never on another object."""

    view: InventoryView
    rulebook: Rulebook
    config: Config
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def inventory(self) -> Inventory:
        return self.view.inventory

    @property
    def as_of(self) -> dt.date:
        return self.view.as_of

    def table(self, key: str) -> dict[Any, Any]:
        """A dict kept for the audit under `key`: answers a check works out once per distinct input
        (flows repeat their lists of purposes and elements) and looks up after."""
        return self.memo(key, _new_table)

    def per_lists(self, key: str, flow: Flow, compute: Callable[[Context, tuple[str, ...], tuple[str, ...]], T]) -> T:
        """`compute(self, purposes, elements)` for the flow's lists of purposes and elements, once
        per distinct pair of lists under `key` (flows repeat them: a system's every flow for one
        purpose, a chain's every hop); the answer is shared, so read it and never change it."""
        table = self.table(key)
        pair = (tuple(flow.purposes), tuple(flow.elements))
        found = table.get(pair, _MISSING)
        if found is _MISSING:
            found = table[pair] = compute(self, *pair)
        return found  # type: ignore[no-any-return]

    def memo(self, key: str, compute: Callable[[Context], T]) -> T:
        """`compute(self)`, once per audit under `key`."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo[key] = compute(self)
            return value


def _new_table(ctx: Context) -> dict[Any, Any]:
    return {}


_MISSING = object()
