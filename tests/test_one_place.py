"""One word, one implementation (issue 9, item 4): the retention-period pattern and the
anonymisation test each live in one module, and every layer gives the same answer with them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowaudit.interop.common import retention_period
from flowaudit.inventory.anonymity import (
    QUASI_IDENTIFIERS_SINGLING_OUT,
    anonymisation_holds,
    identifiers_in_clear,
    processes_only_anonymous_data,
)
from flowaudit.inventory.models import Element, Flow, Purpose
from flowaudit.inventory.periods import DURATION, duration_parts, is_period
from flowaudit.inventory.schema import json_schema
from flowaudit.reports.records_base import retention_text

DURATIONS = ["P3Y", "P90D", "P1Y6M", "P2W", "P1.5Y", "P0,5M", "PT12H", "P1DT2H30M", "P1Y2M3W4DT5H6M7S"]
NOT_DURATIONS = ["P", "PT", "P1YT", "3Y", "p3y", "P1D1Y", "P1.Y", "P-1Y", "forever", "P3Y ", "P3Y\n"]


@pytest.mark.parametrize("period", DURATIONS)
def test_a_duration_the_model_accepts_is_written_and_read_back_the_same(period: str) -> None:
    purpose = Purpose.model_validate({"id": "p", "name": "P", "retention": period})
    assert purpose.retention == period
    text = retention_text(period)  # the record of processing's wording: "1 year 6 months (P1Y6M)"
    assert text.endswith(f"({period})") and text != period
    assert retention_period(text) == period  # `flowaudit import ropa` reads the record back


@pytest.mark.parametrize("period", NOT_DURATIONS)
def test_what_the_model_refuses_no_other_layer_takes_for_a_duration(period: str) -> None:
    with pytest.raises(ValidationError, match="ISO 8601 duration"):
        Purpose.model_validate({"id": "p", "name": "P", "retention": period})
    assert not is_period(period) and duration_parts(period) is None
    assert retention_text(period) == period


def test_the_json_schema_uses_the_one_pattern() -> None:
    schema = json_schema()
    retention = schema["$defs"]["Purpose"]["properties"]["retention"]
    patterns = [alt.get("pattern") for option in retention["anyOf"] for alt in option.get("anyOf", [option])]
    assert DURATION.pattern in patterns


def test_duration_parts_name_each_unit() -> None:
    assert duration_parts("P1Y2M3W4DT5H6M7S") == [("1", "year"), ("2", "month"), ("3", "week"), ("4", "day"),
                                                  ("5", "hour"), ("6", "minute"), ("7", "second")]
    assert retention_text("P1Y6M") == "1 year 6 months (P1Y6M)"


def _element(id_: str, category: str, state: str = "identified") -> Element:
    return Element.model_validate({"id": id_, "name": id_, "category": category, "state": state})


def _flow(anonymised: bool) -> Flow:
    return Flow.model_validate({"id": "f", "from": "a", "to": "b", "transfer": {"anonymised": anonymised}})


def test_anonymisation_holds_only_without_identifiers_in_the_clear() -> None:
    email = _element("email", "contact")  # a direct identifier
    hashed = _element("email-hash", "contact", "anonymised")
    quasi = [_element(f"q{i}", "demographic") for i in range(QUASI_IDENTIFIERS_SINGLING_OUT)]
    assert QUASI_IDENTIFIERS_SINGLING_OUT == 3  # WP29 Opinion 05/2014, as SPEC's TRF-006 says
    assert anonymisation_holds(_flow(True), [hashed, *quasi[:-1]])
    assert not anonymisation_holds(_flow(True), [email])
    assert not anonymisation_holds(_flow(True), quasi)  # three quasi-identifiers single a person out
    assert not anonymisation_holds(_flow(False), [hashed])  # no claim, nothing holds
    direct, in_clear = identifiers_in_clear([email, hashed, *quasi])
    assert [e.id for e in direct] == ["email"] and [e.id for e in in_clear] == ["q0", "q1", "q2"]


def test_a_purpose_processes_only_anonymous_data_when_every_element_is_anonymised() -> None:
    elements = {e.id: e for e in (_element("stats", "behavioural", "anonymised"), _element("email", "contact"))}

    def purpose(*ids: str) -> Purpose:
        return Purpose.model_validate({"id": "p", "name": "P", "elements": list(ids)})

    assert processes_only_anonymous_data(purpose("stats"), elements)
    assert not processes_only_anonymous_data(purpose("stats", "email"), elements)
    assert not processes_only_anonymous_data(purpose(), elements)  # no elements: nothing shows it is anonymous
