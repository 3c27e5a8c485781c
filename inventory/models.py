"""The inventory's entries (SPEC §2) as pydantic v2 models.

Models check the shape of one entry (types, enums, id syntax, dates, durations, countries).
Whether references resolve across entries is `inventory.validate`'s job.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal, Self

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from .periods import DURATION, RETENTION_KEYWORDS, is_period

ID_TEXT = r"[a-z0-9][a-z0-9._-]*"  # an id: what entries are named by, and what `id:` lines are scanned for
ID_PATTERN = rf"^{ID_TEXT}$"
# An id names an entry in messages, reports and file names: longer than this is a mistake (a pasted
# paragraph, a generated key), never a name someone reads.
MAX_ID_LENGTH = 200
RULE_ID_PATTERN = r"^[A-Z]+-\d{3}$"  # TRF-001, PIPL-002: the shape of every rule id, for editors
# Whole numbers fit a signed 64-bit integer: what spreadsheets, Parquet and every YAML reader hold.
MAX_INT = 2**63 - 1

# Strict types (SPEC §7: no lax coercion). A field that wants text, a number or a boolean takes
# exactly that: `count: true`, `count: '1000'`, `youngest: 12.5`, `children: yes` and `name: 12`
# are errors naming the field, never values quietly converted.
Text = StrictStr
Flag = StrictBool
Id = Annotated[StrictStr, StringConstraints(pattern=ID_PATTERN, max_length=MAX_ID_LENGTH)]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]

REGIONS = frozenset({"EEA", "EU", "WORLD"})


@lru_cache(maxsize=1)
def iso_countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


# Codes people write that ISO 3166-1 spells otherwise (EL is the EU's code for Greece).
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def _country_guess(value: str) -> str:
    """' (did you mean 'GB'?)' for UK, a lower-case code, an alpha-3 code or a country name."""
    guess = _COUNTRY_ALIASES.get(value.upper())
    if guess is None:
        try:
            guess = pycountry.countries.lookup(value.strip()).alpha_2
        except LookupError:
            return ""
    return f" (did you mean {guess!r}?)"


def _country(value: str) -> str:
    if value not in iso_countries():
        if value in REGIONS:
            raise ValueError(f"{value!r} is a region; only a country code is allowed here (regions are "
                             "accepted in subject locations only): list the countries, e.g. [DE, FR]")
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{_country_guess(value)}")
    return value


@lru_cache(maxsize=1)
def iso_subdivisions() -> frozenset[str]:
    """ISO 3166-2 subdivision codes (`US-CA`), for regimes whose area is part of a country."""
    return frozenset(s.code for s in pycountry.subdivisions)


def _country_or_region(value: str) -> str:
    if value in REGIONS:
        return value
    if value not in iso_countries():
        if "-" in value and value.upper() in iso_subdivisions():
            if value != value.upper():
                raise ValueError(f"{value!r}: write the ISO 3166-2 code in capitals, {value.upper()!r}")
            return value
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code{_country_guess(value)}, "
                         "an ISO 3166-2 subdivision (US-CA) nor one of the regions EEA, EU, WORLD")
    return value


def _period(value: str) -> str:
    if is_period(value):
        return value
    close = difflib.get_close_matches(value, RETENTION_KEYWORDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"{value!r} is not an ISO 8601 duration (P3Y, P90D, P1Y6M, ...){hint} nor one of "
        + ", ".join(sorted(RETENTION_KEYWORDS))
    )


class _JsonSchema:
    """Extra JSON Schema for an annotated type, computed when a schema is asked for (editors'
    completion lists the countries and retention keywords); validation does not use it."""

    def __init__(self, extra: Callable[[], dict[str, Any]]):
        self.extra = extra

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {**handler(core_schema), **self.extra()}


def _countries_schema(regions: bool) -> dict[str, Any]:
    codes = sorted(iso_countries())
    if not regions:
        return {"enum": codes}
    return {"anyOf": [{"enum": [*sorted(REGIONS), *codes]},
                      {"pattern": r"^[A-Z]{2}-[A-Z0-9]{1,3}$", "description": "an ISO 3166-2 subdivision, e.g. US-CA"}]}


def _period_schema() -> dict[str, Any]:
    return {"anyOf": [{"enum": sorted(RETENTION_KEYWORDS)}, {"pattern": DURATION.pattern}],
            "examples": ["P3Y", "P90D", "until-account-deletion"]}


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_written_out(value: object) -> object:
    """A date is written as YYYY-MM-DD: not a timestamp (`2024-05-31T00:00`), not a number
    (pydantic would read 2024 as a Unix timestamp). One callback a date, the text checked first."""
    if isinstance(value, str):
        if not _DATE.fullmatch(value):
            raise PydanticCustomError("date_format", "expected a date such as 2024-05-31")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        # ValueError, not TypeError: pydantic turns only the former into a validation error
        raise ValueError("expected an ISO 8601 date such as 2024-05-31")
    return value


def _unique(items: list[Any]) -> list[Any]:
    """A list names each item once: `elements: [email, email]` is a mistake (a copy-paste, a
    merge), and a list that means a set must not count an item twice."""
    count = len(items)
    if count < 2 or len(set(items)) == count:  # the normal path: one C-speed pass at most
        return items
    first: dict[Any, int] = {}
    for index, item in enumerate(items):
        earlier = first.setdefault(item, index)
        if earlier != index:
            raise PydanticCustomError("duplicate_item", "{item} is listed twice (items {first} and {index}); "
                                      "list it once", {"item": repr(str(item)), "first": earlier, "index": index})
    return items  # pragma: no cover - unreachable: a shorter set means some item repeats


def _whole_number(value: object) -> object:
    # for a Literal of numbers, which pydantic compares by equality (2021.0 == 2021, True == 1)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_written_out)]
Country = Annotated[StrictStr, AfterValidator(_country), _JsonSchema(lambda: _countries_schema(regions=False))]
CountryOrRegion = Annotated[StrictStr, AfterValidator(_country_or_region),
                            _JsonSchema(lambda: _countries_schema(regions=True))]
Period = Annotated[StrictStr, AfterValidator(_period), _JsonSchema(_period_schema)]
def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "is empty: a waiver says why the finding is accepted and who approved it")
    return value


# Text that must say something (a waiver's reason and approver)
Statement = Annotated[StrictStr, AfterValidator(_not_blank), _JsonSchema(lambda: {"minLength": 1, "pattern": r"\S"})]
_UNIQUE_ITEMS = _JsonSchema(lambda: {"uniqueItems": True})
Ids = Annotated[list[Id], AfterValidator(_unique), _UNIQUE_ITEMS]
Texts = Annotated[list[Text], AfterValidator(_unique), _UNIQUE_ITEMS]
Countries = Annotated[list[Country], AfterValidator(_unique), _UNIQUE_ITEMS]


def _empty() -> Any:
    """An empty list as a field's default, made fresh for each entry: pydantic deep-copies a
    mutable default (`= []`) every time it is used (a quarter of a million copies for a
    50,000-flow chain). The JSON schema still shows `"default": []`."""
    return Field(default_factory=list, json_schema_extra={"default": []})


# SPEC §10: where a system or organisation answers, for observed traffic. One place knows the
# syntax: flowaudit.observe maps log hosts through `endpoint_kind`.
_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_HOST = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
ENDPOINT_PATTERN = r"^(\*\.)?[A-Za-z0-9_.-]+\.?$|^[0-9A-Fa-f:.]+(/\d{1,3})?$"


def endpoint_kind(value: str) -> tuple[str, str]:
    """('host', name), ('wildcard', suffix without '*.') or ('cidr', network) for a valid endpoint."""
    if value.startswith("*."):
        return "wildcard", value[2:]
    if "/" in value or ":" in value or re.fullmatch(r"[0-9.]+", value):
        return "cidr", value
    return "host", value


def _endpoint(value: str) -> str:
    import ipaddress

    text = value.strip().lower().rstrip(".")
    if "://" in text or text.startswith("/"):
        raise ValueError(f"{value!r} is a URL; write the host name only, e.g. {text.split('://')[-1].split('/')[0]!r}")
    if "/" in text or ":" in text or re.fullmatch(r"[0-9.]+", text):
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            hint = ""
            if "has host bits set" in str(exc):
                hint = f" (did you mean {str(ipaddress.ip_network(text, strict=False))!r}?)"
            elif re.fullmatch(r"[a-z0-9.-]+:\d+", text):
                hint = " (ports are not part of an endpoint; write the host only)"
            raise ValueError(f"{value!r} is not a valid IP address or CIDR range{hint}") from None
        # a single address is kept as written (normalised); a range as its canonical network
        return str(network.network_address) if "/" not in text else str(network)
    host = text[2:] if text.startswith("*.") else text
    if "*" in host:
        raise ValueError(f"{value!r}: a wildcard may only be the whole leftmost label, as in '*.example.com'")
    if len(host) > 253 or not _HOST.match(host):
        raise ValueError(f"{value!r} is not a host name, a wildcard such as '*.example.com' or a CIDR range "
                         "such as '10.0.0.0/8'")
    return text


Endpoint = Annotated[StrictStr, AfterValidator(_endpoint),
                     _JsonSchema(lambda: {"pattern": ENDPOINT_PATTERN,
                                          "examples": ["api.example.com", "*.mixpanel.com", "10.20.0.0/16"]})]
Endpoints = Annotated[list[Endpoint], AfterValidator(_unique), _UNIQUE_ITEMS]  # unique once normalised


class Relation(StrEnum):
    SELF = "self"
    AFFILIATE = "affiliate"
    PROCESSOR = "processor"
    SUB_PROCESSOR = "sub-processor"
    JOINT_CONTROLLER = "joint-controller"
    PARTNER = "partner"
    THIRD_PARTY = "third-party"
    AUTHORITY = "authority"


class Category(StrEnum):
    IDENTITY = "identity"
    GOVERNMENT_ID = "government-id"
    CONTACT = "contact"
    ACCOUNT = "account"
    CREDENTIALS = "credentials"
    ONLINE_IDENTIFIER = "online-identifier"
    DEVICE = "device"
    LOCATION = "location"
    BEHAVIOURAL = "behavioural"
    CONTENT = "content"
    DEMOGRAPHIC = "demographic"
    PROFESSIONAL = "professional"
    FINANCIAL = "financial"
    CRIMINAL = "criminal"
    HEALTH = "special:health"
    GENETIC = "special:genetic"
    BIOMETRIC = "special:biometric"
    RACIAL_ETHNIC = "special:racial-ethnic"
    POLITICAL = "special:political"
    RELIGIOUS = "special:religious"
    TRADE_UNION = "special:trade-union"
    SEX_LIFE = "special:sex-life"

    @property
    def special(self) -> bool:
        """An Art. 9(1) special category."""
        return self.value.startswith("special:")


class Identifier(StrEnum):
    DIRECT = "direct"
    QUASI = "quasi"
    NONE = "none"


DEFAULT_IDENTIFIER: dict[Category, Identifier] = {
    **{c: Identifier.DIRECT for c in (Category.IDENTITY, Category.GOVERNMENT_ID, Category.CONTACT,
                                      Category.ACCOUNT, Category.ONLINE_IDENTIFIER)},
    **{c: Identifier.QUASI for c in (Category.DEMOGRAPHIC, Category.LOCATION, Category.DEVICE,
                                     Category.PROFESSIONAL)},
}


class State(StrEnum):
    IDENTIFIED = "identified"
    PSEUDONYMISED = "pseudonymised"
    ANONYMISED = "anonymised"


class LegalBasis(StrEnum):
    """GDPR Art. 6(1)(a)-(f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal-obligation"
    VITAL_INTERESTS = "vital-interests"
    PUBLIC_TASK = "public-task"
    LEGITIMATE_INTERESTS = "legitimate-interests"


class SpecialCondition(StrEnum):
    """GDPR Art. 9(2)(a)-(j)."""

    EXPLICIT_CONSENT = "explicit-consent"
    EMPLOYMENT = "employment"
    VITAL_INTERESTS = "vital-interests"
    NOT_FOR_PROFIT = "not-for-profit"
    MADE_PUBLIC = "made-public"
    LEGAL_CLAIMS = "legal-claims"
    SUBSTANTIAL_PUBLIC_INTEREST = "substantial-public-interest"
    HEALTH_CARE = "health-care"
    PUBLIC_HEALTH = "public-health"
    ARCHIVING_RESEARCH = "archiving-research"


class Role(StrEnum):
    CONTROLLER = "controller"
    PROCESSOR = "processor"


_PROCESSOR, _SUB_PROCESSOR = Relation.PROCESSOR, Relation.SUB_PROCESSOR
_ROLE_PROCESSOR, _ROLE_CONTROLLER = Role.PROCESSOR, Role.CONTROLLER


class Frequency(StrEnum):
    CONTINUOUS = "continuous"
    PERIODIC = "periodic"
    OCCASIONAL = "occasional"


class Mechanism(StrEnum):
    ADEQUACY = "adequacy"
    SCC = "scc"
    BCR = "bcr"
    AD_HOC_CLAUSES = "ad-hoc-clauses"
    CODE_OF_CONDUCT = "code-of-conduct"
    CERTIFICATION = "certification"
    # Art. 49(1) derogations
    EXPLICIT_CONSENT = "explicit-consent"
    CONTRACT_NECESSITY = "contract-necessity"
    PUBLIC_INTEREST = "public-interest"
    LEGAL_CLAIMS = "legal-claims"
    VITAL_INTERESTS = "vital-interests"
    PUBLIC_REGISTER = "public-register"
    COMPELLING_LEGITIMATE_INTERESTS = "compelling-legitimate-interests"
    # UK
    IDTA = "idta"
    UK_ADDENDUM = "uk-addendum"
    # China
    PIPL_SECURITY_ASSESSMENT = "pipl-security-assessment"
    PIPL_STANDARD_CONTRACT = "pipl-standard-contract"
    PIPL_CERTIFICATION = "pipl-certification"
    # Brazil: the ANPD's standard contractual clauses (Resolution CD/ANPD 19/2024, Annex II)
    ANPD_SCC = "anpd-scc"


class SccModule(StrEnum):
    C2C = "c2c"
    C2P = "c2p"
    P2P = "p2p"
    P2C = "p2c"


class TiaOutcome(StrEnum):
    ACCEPTABLE = "acceptable"
    MEASURES_REQUIRED = "measures-required"
    NOT_ACCEPTABLE = "not-acceptable"


class Entry(BaseModel):
    """Fields every entry may carry."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_enum_values=False)

    source: Text | None = None
    notes: Text | None = None

    # `inventory.validate` lets entries that set the same fields share one frozen set of their
    # names (pydantic's own is 700 bytes an entry: most of a flow's memory at 1,000,000 flows);
    # an entry that is changed or copied gets a set of its own first.
    def __setattr__(self, name: str, value: Any) -> None:
        self._own_fields_set()
        super().__setattr__(name, value)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        self._own_fields_set()
        return super().model_copy(update=update, deep=deep)

    def _own_fields_set(self) -> None:
        if type(self.__pydantic_fields_set__) is frozenset:
            object.__setattr__(self, "__pydantic_fields_set__", set(self.__pydantic_fields_set__))


class _Sub(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dpo(_Sub):
    name: Text | None = None
    email: Text | None = None


class Representative(_Sub):
    name: Text
    country: Country


class Signed(_Sub):
    signed: Date


class Organisation(Entry):
    id: Id
    name: Text
    country: Country
    relation: Relation
    contact: Text | None = None
    dpo: Dpo | None = None
    # one representative or a list: each counts for the regime of its country (GDPR/UK GDPR Art. 27)
    representative: Representative | list[Representative] | None = None
    sector: Ids = _empty()  # e.g. financial, religious, political: adequacy scopes exclude some sectors
    dpa: Signed | None = None
    subprocessors: Ids = _empty()
    certifications: Texts = _empty()
    bcr_group: Text | None = None
    arrangement: Signed | None = None
    public_body: Flag = False
    contract: Signed | None = None  # with a third party: CCPA 1798.100(d)
    revenue_usd: Count | None = None  # annual gross revenue, for the CCPA's threshold
    ccpa_business: Flag = False  # declared a CCPA business, whatever its revenue and consumers (1798.140(d))
    endpoints: Endpoints = _empty()  # SPEC §10

    @property
    def representatives(self) -> tuple[Representative, ...]:
        """The Art. 27 representatives, whether one or a list was written."""
        rep = self.representative
        if rep is None:
            return ()
        return tuple(rep) if isinstance(rep, list) else (rep,)

    @property
    def role(self) -> Role:
        """SPEC §3: processor when the relation is processor or sub-processor, otherwise controller."""
        relation = self.relation  # compared by identity: asked for every transfer, several times
        if relation is _PROCESSOR or relation is _SUB_PROCESSOR or (
                type(relation) is not Relation and relation in (_PROCESSOR, _SUB_PROCESSOR)):
            return _ROLE_PROCESSOR
        return _ROLE_CONTROLLER


class Subject(Entry):
    id: Id
    name: Text
    locations: Annotated[list[CountryOrRegion], AfterValidator(_unique), _UNIQUE_ITEMS] = _empty()
    children: Flag = False
    youngest: Annotated[StrictInt, Field(ge=0, le=150)] | None = None  # age in years of the youngest
    count: Count | None = None
    # WP248 rev.01 criterion 7 (employees, patients, the elderly, asylum seekers); None: as `children`
    vulnerable: Flag | None = None


class Element(Entry):
    id: Id
    name: Text
    category: Category
    subjects: Ids = _empty()
    identifier: Identifier | None = None
    state: State = State.IDENTIFIED
    sensitive: Flag | None = None  # PIPL Art. 28; None: the category's default (rulebook)

    def model_post_init(self, context: object, /) -> None:
        if self.identifier is None:
            self.identifier = DEFAULT_IDENTIFIER.get(self.category, Identifier.NONE)

    @property
    def special(self) -> bool:
        return self.category.special

    @property
    def criminal(self) -> bool:
        return self.category is Category.CRIMINAL


class Dpia(_Sub):
    date: Date


class Purpose(Entry):
    id: Id
    name: Text
    description: Text | None = None
    business_function: Text | None = None
    legal_basis: LegalBasis | None = None
    special_condition: SpecialCondition | None = None
    elements: Ids = _empty()
    subjects: Ids = _empty()
    retention: Period | None = None
    needs: State = State.IDENTIFIED
    profiling: Flag = False
    automated_decisions: Flag = False
    compatible_with: Ids = _empty()
    dpia: Dpia | None = None
    parental_consent: Flag = False
    # WP248 rev.01 criteria 8 and 9, which only the inventory's author can know
    innovative_technology: Flag = False
    blocks_service: Flag = False
    role: Role = Role.CONTROLLER
    on_behalf_of: Id | None = None
    cross_context_advertising: Flag = False  # CCPA 1798.140(k): disclosing for it is "sharing"
    opt_out: Flag = False  # the "Do Not Sell or Share My Personal Information" opt-out (1798.120, 1798.135)
    limit_use: Flag = False  # the right to limit the use of sensitive personal information (1798.121)
    law: Country | None = None  # legal-obligation / public-task: whose law imposes it (GDPR Art. 6(3))


class System(Entry):
    id: Id
    name: Text
    operator: Id
    locations: Countries = _empty()
    elements: Ids = _empty()
    security: Texts = _empty()
    endpoints: Endpoints = _empty()  # SPEC §10


class Scc(_Sub):
    module: SccModule | None = None
    version: Annotated[Literal[2021, 2010, 2004, 2001], BeforeValidator(_whole_number)] | None = None
    signed: Date | None = None
    swiss_amendments: Flag = False  # EU SCCs adapted for Swiss law (FDPIC, 2021-08-27)


class Tia(_Sub):
    date: Date | None = None
    outcome: TiaOutcome | None = None


# A flow's `transfer:` block is its safeguard (SPEC §2). Whether the flow is a restricted
# transfer at all is the graph's answer: `inventory.graph.Transfer` (SPEC §3).
class Safeguard(_Sub):
    """The safeguard a flow relies on if it is a restricted transfer (its `transfer:` block)."""

    # one mechanism or a list: each regime uses those it recognises ([scc, uk-addendum])
    mechanism: Mechanism | Annotated[list[Mechanism], AfterValidator(_unique), _UNIQUE_ITEMS] | None = None
    scc: Scc | None = None
    uk_addendum: Signed | None = None
    idta: Signed | None = None
    tia: Tia | None = None
    measures: Texts = _empty()
    anonymised: Flag = False
    separate_consent: Flag = False
    anpd_approved: Flag = False  # LGPD: specific clauses or global corporate rules approved by the ANPD

    @property
    def mechanisms(self) -> tuple[Mechanism, ...]:
        """The mechanisms declared, whether one or a list was written (duplicates dropped)."""
        m = self.mechanism
        if m is None:
            return ()
        return tuple(dict.fromkeys(m)) if isinstance(m, list) else (m,)


class Flow(Entry):
    id: Id
    from_: Id = Field(alias="from")
    to: Id
    elements: Ids = _empty()
    purposes: Ids = _empty()
    frequency: Frequency = Frequency.CONTINUOUS
    volume: Count | None = None
    transfer: Safeguard | None = None  # the safeguard (YAML key `transfer`)
    consideration: Flag = False  # the recipient gives valuable consideration: a CCPA sale (1798.140(ad))
    consumer_directed: Flag = False  # the consumer directs the disclosure: neither sale nor sharing
    merger: Flag = False  # disclosure in a merger, acquisition or bankruptcy: neither sale nor sharing


class Waiver(Entry):
    # a rule of the catalogue: the audit layer checks it, with the closest id (inventory knows no rules)
    rule: Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH),
                    _JsonSchema(lambda: {"pattern": RULE_ID_PATTERN})]
    subject: Id
    reason: Statement
    approved_by: Statement
    expires: Date


SECTIONS: dict[str, type[Entry]] = {
    "organisations": Organisation,
    "subjects": Subject,
    "elements": Element,
    "purposes": Purpose,
    "systems": System,
    "flows": Flow,
    "waivers": Waiver,
}

# Sections whose entries have an id (waivers are identified by rule and subject).
ID_SECTIONS = ("organisations", "subjects", "elements", "purposes", "systems", "flows")
KIND_OF_SECTION = {
    "organisations": "organisation",
    "subjects": "subject",
    "elements": "element",
    "purposes": "purpose",
    "systems": "system",
    "flows": "flow",
    "waivers": "waiver",
}
