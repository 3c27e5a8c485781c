"""What the generator builds before it writes text: indices into lists; ids only at the edge."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowaudit.synth.vocabulary import PurposeTemplate


@dataclass(slots=True)
class Org:
    id: str
    name: str
    country: str
    relation: str
    lines: list[str] = field(default_factory=list)  # extra YAML lines, already indented
    bcr: bool = False
    dpf: bool = False
    uk_ext: bool = False
    has_dpa: bool = True
    arrangement: bool = True
    subprocessors: list[int] = field(default_factory=list)
    systems: list[int] = field(default_factory=list)

    @property
    def processor(self) -> bool:
        return self.relation in ("processor", "sub-processor")


@dataclass(slots=True)
class Element:
    id: str
    name: str
    category: str
    domain: str
    subjects: list[int]
    identifier: str | None
    state: str | None
    derived: bool

    @property
    def direct(self) -> bool:
        if self.identifier is not None:
            return self.identifier == "direct"
        return self.category in ("identity", "government-id", "contact", "account", "online-identifier")

    @property
    def sensitive(self) -> bool:
        return self.category.startswith("special:") or self.category == "criminal"


@dataclass(slots=True)
class Purpose:
    id: str
    name: str
    domain: str
    region: str
    template: PurposeTemplate
    legal_basis: str | None
    subjects: list[int]
    elements: list[int]
    flows: int = 0
    team: int = 0
    compatible_with: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class System:
    id: str
    name: str
    kind: str
    domain: str
    tier: int
    team: int
    operator: int
    locations: list[str]
    sub: bool = False
    elements: set[int] = field(default_factory=set)

    @property
    def country(self) -> str:
        return self.locations[0]

