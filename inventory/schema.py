"""JSON Schema of an inventory file, generated from the models (for editors' completion)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .models import Element, Flow, Organisation, Purpose, Subject, System, Waiver


class InventoryFile(BaseModel):
    """One inventory file: every section is optional; a directory's files are concatenated."""

    model_config = ConfigDict(extra="forbid", title="flowaudit inventory")

    organisations: list[Organisation] | None = None
    subjects: list[Subject] | None = None
    elements: list[Element] | None = None
    purposes: list[Purpose] | None = None
    systems: list[System] | None = None
    flows: list[Flow] | None = None
    waivers: list[Waiver] | None = None


def json_schema() -> dict[str, Any]:
    schema = InventoryFile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://flowaudit.dev/schema/inventory.json"
    return schema
