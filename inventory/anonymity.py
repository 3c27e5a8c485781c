"""When data stops being personal data: the one anonymisation test every layer asks (GDPR
Recital 26: anonymous information is not personal data; pseudonymised data still is)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models import Element, Flow, Identifier, Purpose, State

# WP29 Opinion 05/2014 on anonymisation techniques: quasi-identifiers combined single a person
# out; three or more of them in the clear make data identifying.
QUASI_IDENTIFIERS_SINGLING_OUT = 3


def is_personal(element: Element) -> bool:
    """The element is personal data: it is not anonymised."""
    return element.state is not State.ANONYMISED


def all_anonymised(elements: Iterable[Element]) -> bool:
    """There are elements and every one is anonymised: their processing processes no personal data."""
    seen = False
    for element in elements:
        if is_personal(element):
            return False
        seen = True
    return seen


def identifiers_in_clear(elements: Iterable[Element]) -> tuple[list[Element], list[Element]]:
    """(direct, quasi): the direct and the quasi-identifiers among the elements that are not anonymised."""
    direct: list[Element] = []
    quasi: list[Element] = []
    for element in elements:
        if not is_personal(element):
            continue
        if element.identifier is Identifier.DIRECT:
            direct.append(element)
        elif element.identifier is Identifier.QUASI:
            quasi.append(element)
    return direct, quasi


def anonymisation_holds(flow: Flow, elements: Iterable[Element]) -> bool:
    """The flow's `transfer: {anonymised: true}` claim holds for the elements it carries: no
    direct identifier in the clear, and fewer quasi-identifiers than single a person out."""
    if not (flow.transfer and flow.transfer.anonymised):
        return False
    direct, quasi = identifiers_in_clear(elements)
    return not direct and len(quasi) < QUASI_IDENTIFIERS_SINGLING_OUT


def processes_only_anonymous_data(purpose: Purpose, elements: Mapping[str, Element]) -> bool:
    """Every element the purpose needs is anonymised: it processes no personal data, and owes no
    retention period, Art. 30 row or notice for it."""
    return all_anonymised(elements[e] for e in purpose.elements if e in elements)
