"""Named selectors shared by several rule modules: what a rule looks at, said in words.

A selector only one module needs (the restricted transfers under a Chapter V regime, the PIPL
exports) lives in that module, declared with the same `selector` decorator.
"""

from __future__ import annotations

from flowaudit.inventory.anonymity import is_personal
from flowaudit.inventory.models import Element, Flow, Organisation, Purpose, System

from .rule import Context, selector


@selector("the controller (the `self` organisation)")
def the_controller(ctx: Context) -> list[Organisation]:
    return [ctx.view.controller]


@selector("every organisation")
def organisations(ctx: Context) -> list[Organisation]:
    return list(ctx.inventory.organisations.values())


@selector("every element")
def elements(ctx: Context) -> list[Element]:
    return list(ctx.inventory.elements.values())


@selector("every element that is personal data (not `state: anonymised`)")
def personal_elements(ctx: Context) -> list[Element]:
    return [e for e in ctx.inventory.elements.values() if is_personal(e)]


@selector("every purpose")
def purposes(ctx: Context) -> list[Purpose]:
    return list(ctx.inventory.purposes.values())


@selector("every system")
def systems(ctx: Context) -> list[System]:
    return list(ctx.inventory.systems.values())


@selector("every flow that carries at least one element")
def flows_with_elements(ctx: Context) -> list[Flow]:
    return [f for f in ctx.inventory.flows.values() if f.elements]


@selector("every flow between systems or organisations (not collection) that carries elements for a purpose")
def non_collection_flows(ctx: Context) -> list[Flow]:
    subjects = ctx.inventory.subjects
    return [f for f in ctx.inventory.flows.values() if f.from_ not in subjects and f.purposes and f.elements]


@selector("every flow whose `transfer:` block says `anonymised: true`")
def anonymised_flows(ctx: Context) -> list[Flow]:
    return [f for f in ctx.inventory.flows.values() if f.transfer and f.transfer.anonymised]
