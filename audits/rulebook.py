"""The rulebook: law that changes, kept as data in `data/rulebook/` and checked when loaded.

A regime is one folder, `data/rulebook/<regime-id>/` (docs/regimes.md): `regime.yaml` (its
name, law, area with dates, the regions it claims, its own rule module), `adequacy.yaml`
(decisions with dates and scopes), `mechanisms.yaml` (the transfer mechanisms it recognises,
with dates), and any facts of its own (`thresholds.yaml`, `age-of-consent.yaml`, `scc.yaml`,
...) that its rules read with `Rulebook.facts`. The rulebook finds the folders; no list of
regimes is kept in code. `Rulebook` answers the questions the inventory's graph view asks
(it satisfies `inventory.graph.Jurisdictions`).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from importlib import resources
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flowaudit.inventory.errors import FlowauditError
from flowaudit.inventory.models import Category, Mechanism, Organisation, Role, iso_countries, iso_subdivisions

from .mechanisms import choose

if TYPE_CHECKING:
    from flowaudit.inventory.graph import Transfer

    from .mechanisms import Choice


def _rulebook_dir() -> Path:
    """The rulebook shipped inside this package (`flowaudit.data`, the repository's `data/`),
    so an install never reads another version's law data."""
    return Path(str(resources.files("flowaudit.data").joinpath("rulebook")))


RULEBOOK_DIR = _rulebook_dir()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SUBDIVISION = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


def _check_country(value: str) -> str:
    if value not in iso_countries():
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code")
    return value


class Membership(_Model):
    country: str  # an ISO 3166-1 country, or an ISO 3166-2 subdivision (US-CA) for a regime of part of one
    since: dt.date | None = None
    until: dt.date | None = None

    @model_validator(mode="after")
    def _checked(self) -> Membership:
        """A country code, or a subdivision's shape with a valid country (`US-CA`). Whether the
        subdivision exists is asked of ISO 3166-2 (pycountry's 5,000 entries, a tenth of a second
        to load) for a rulebook folder of the user's, `Rulebook.__init__`; the shipped rulebook's
        subdivisions are checked by its tests, not at every start."""
        code = self.country
        if "-" in code:
            if not _SUBDIVISION.fullmatch(code):
                raise ValueError(f"{code!r} is not an ISO 3166-2 subdivision code (such as US-CA)")
            _check_country(code[:2])
        else:
            _check_country(code)
        return self

    def applies(self, as_of: dt.date) -> bool:
        return (self.since is None or self.since <= as_of) and (self.until is None or as_of < self.until)


class Regime(_Model):
    id: str
    name: str
    law: str
    source: str
    members: tuple[Membership, ...]
    attaches_to: Literal["subjects", "subjects-and-establishments"] = "subjects-and-establishments"
    short_name: str | None = None  # in messages ("GDPR"); default the name
    order: int = 1000  # where the regime sorts in reports and listings (then by id)
    regions: tuple[str, ...] = ()  # subject-location regions that stand for this regime's area
    rules: str | None = None  # its own rule module: a name in flowaudit.audits.rules, or a dotted path
    # Whether the regime restricts transfers out of its area (the CCPA does not: it asks about sales).
    restricts_transfers: bool = True
    # Whether a transfer on a safeguard needs a transfer-impact assessment (LGPD and PIPL: no).
    tia_required: bool = True
    # Whether its derogations are only for occasional transfers (GDPR Art. 49: yes; FADP Art. 17: no).
    derogations_occasional_only: bool = True
    # The regime's own references for generic rules (TRF-001: [FADP Art. 16(1)]), added to findings.
    references: dict[str, tuple[str, ...]] = {}
    # What TRF-001 suggests for a transfer with no valid mechanism ({module}: the SCC module by roles).
    clauses_hint: str = "SCC module {module} fits these roles"


class SectorExclusion(_Model):
    """Importers of a `sector` outside a decision's scope; with `categories`, only for data of
    those categories (Korea: credit information processed by FSC-supervised importers)."""

    sector: str
    categories: tuple[Category, ...] = ()


class Decision(_Model):
    """An adequacy decision (GDPR Art. 45 or UK GDPR Art. 45) and its scope."""

    country: str
    decision: str
    date: dt.date
    until: dt.date | None = None
    scope: str | None = None
    requires_certification: str | None = None
    private_sector_only: bool = False
    excluded_sectors: tuple[SectorExclusion, ...] = ()
    source: str | None = None  # the operative article that sets the scope
    notes: str | None = None

    @model_validator(mode="after")
    def _checked(self) -> Decision:
        _check_country(self.country)
        if self.until is not None and self.until <= self.date:
            raise ValueError(f"{self.country} {self.decision}: ends before it starts")
        return self

    def in_force(self, as_of: dt.date) -> bool:
        return self.date <= as_of and (self.until is None or as_of < self.until)

    def covers(self, importer: Organisation, categories: Iterable[Category]) -> str | None:
        """None when the importer and data are within scope, else why not."""
        if self.requires_certification and self.requires_certification not in importer.certifications:
            return f"importer {importer.id!r} is not certified {self.requires_certification}"
        if self.private_sector_only and importer.public_body:
            return f"importer {importer.id!r} is a public body, outside the decision's scope"
        cats = set(categories)
        excluded = sorted(x.sector for x in self.excluded_sectors
                          if x.sector in importer.sector and (not x.categories or cats & set(x.categories)))
        if excluded:
            where = f" ({self.source})" if self.source else ""
            return (f"importer {importer.id!r} is in the {', '.join(excluded)} sector, which the decision "
                    f"excludes{where}")
        return None


class AdequacyList(_Model):
    source: str
    decisions: tuple[Decision, ...]
    eea_adequate_since: dt.date | None = None


class MechanismInfo(_Model):
    """A transfer mechanism as one regime's `mechanisms.yaml` declares it."""

    kind: Literal["adequacy", "safeguard", "derogation", "pipl"]
    regimes: tuple[str, ...] = ()  # filled in: every regime whose folder declares the mechanism
    legal: str
    level: int = 0
    since: dt.date | None = None
    until: dt.date | None = None  # no longer counts from this date (a transition that ended)
    # Conditions on the flow's `transfer` block for the mechanism to count, by dotted field:
    # `scc.swiss_amendments: true` (FADP), `anpd_approved: true` (LGPD).
    requires: dict[str, bool] = {}
    requires_from: dt.date | None = None  # the conditions apply from this date (default: always)
    notes: str | None = None


class SccLapse(_Model):
    """When one set of SCCs counts under one regime."""

    from_: dt.date | None = Field(default=None, alias="from")
    no_new_after: dt.date | None = None  # contracts signed later do not count
    void_from: dt.date | None = None  # no contract counts from this date


class SccVersion(_Model):
    version: int
    decision: str
    date: dt.date
    regimes: dict[str, SccLapse]  # the regimes whose data these clauses can cover


class DerogationLimits(_Model):
    """Art. 49(1) derogations available only for occasional (or not continuous) transfers."""

    source: str
    occasional_only: tuple[Mechanism, ...]
    not_continuous: tuple[Mechanism, ...]


class PiplThresholds(_Model):
    security_assessment: dict[str, int]
    standard_contract_or_certification: dict[str, int]


class PiplHrExemption(_Model):
    business_function: str
    bases: tuple[str, ...]


class PiplExemptions(_Model):
    bases: tuple[str, ...]
    hr: PiplHrExemption


class PiplSensitive(_Model):
    categories: tuple[Category, ...]
    minors_under: int


class PiplEarlier(_Model):
    source: str
    security_assessment: dict[str, int]


class Pipl(_Model):
    source: str
    effective: dt.date
    thresholds: PiplThresholds
    exemptions: PiplExemptions
    sensitive: PiplSensitive
    earlier: PiplEarlier


class AgeOfConsent(_Model):
    source: str
    default: int
    countries: dict[str, int]


def _check_subdivisions(regimes: Iterable[Regime]) -> None:
    """Every subdivision a regime's members name exists in ISO 3166-2."""
    for regime in regimes:
        for member in regime.members:
            if "-" in member.country and member.country not in iso_subdivisions():
                raise ValueError(f"{regime.id}/regime.yaml: {member.country!r} is not an ISO 3166-2 subdivision")


class Rulebook:
    """All rulebook data; the regime and adequacy questions the graph view asks."""

    def __init__(self, directory: Path = RULEBOOK_DIR):
        self.directory = directory
        # memos of pure questions, kept on this object (small: regimes × dates × locations)
        self._areas: dict[tuple[str, dt.date], frozenset[str]] = {}
        self._regimes_of: dict[tuple[str, dt.date], frozenset[str]] = {}
        folders = sorted(p for p in directory.iterdir() if p.is_dir() and (p / "regime.yaml").is_file())
        try:
            regimes = []
            for folder in folders:
                regime = Regime.model_validate(_read(folder / "regime.yaml"))
                if regime.id != folder.name:
                    raise ValueError(f"{folder.name}/regime.yaml: id {regime.id!r} is not the folder's name")
                regimes.append(regime)
            if directory != RULEBOOK_DIR:
                _check_subdivisions(regimes)
            regimes.sort(key=lambda r: (r.order, r.id))
            self.regimes: dict[str, Regime] = {r.id: r for r in regimes}
            self._all_regimes = self.regimes  # areas stay known when an audit is restricted (`restricted`)
            self.regions: dict[str, str] = dict(_read(directory / "regions.yaml"))
            for r in regimes:
                for region in r.regions:
                    if region in self.regions:
                        raise ValueError(f"region {region} is claimed by {self.regions[region]} and {r.id}")
                    self.regions[region] = r.id
            self._facts: dict[str, dict[str, dict]] = {
                r.id: {p.stem: _read(p) for p in sorted((directory / r.id).glob("*.yaml"))} for r in regimes}
            self.adequacy_lists = {r: AdequacyList.model_validate(f["adequacy"])
                                   for r, f in self._facts.items() if "adequacy" in f}
            self.regime_mechanisms: dict[str, dict[Mechanism, MechanismInfo]] = {
                r: {Mechanism(k): MechanismInfo.model_validate(v) for k, v in f["mechanisms"]["mechanisms"].items()}
                for r, f in self._facts.items() if "mechanisms" in f}
            self.mechanisms = self._mechanism_catalogue()
            scc = self._one_fact("scc")
            self.scc_versions = {v["version"]: SccVersion.model_validate(v) for v in scc["versions"]}
            self.scc_default_version: int = int(scc["default_version"])
            self.derogation_limits = DerogationLimits.model_validate(self._one_fact("derogation-limits"))
            self.scc_modules: dict[tuple[Role, Role], str] = {
                tuple(Role(p) for p in k.split("->")): v for k, v in scc["modules"].items()}  # type: ignore[misc]
            self.tia_max_age_months: int = int(scc["tia_max_age_months"])
            self.age_of_consent = AgeOfConsent.model_validate(self._one_fact("age-of-consent"))
        except (ValidationError, KeyError, TypeError, ValueError) as exc:
            raise FlowauditError(f"rulebook in {directory} is invalid: {exc}") from exc
        missing = set(Mechanism) - set(self.mechanisms)
        if missing:
            raise FlowauditError(f"rulebook: no regime's mechanisms.yaml declares {sorted(m.value for m in missing)}")
        if "pipl" in self.regimes:
            self.pipl  # noqa: B018 - checked when loaded, like every other fact

    def restricted(self, regime_ids: Iterable[str]) -> Rulebook:
        """The same rulebook auditing only these regimes (`--regime`): their transfers, their
        rule modules, their names in reports. Other regimes' areas stay known (the UK's list
        names the EEA), and every mechanism stays a known word."""
        wanted = list(dict.fromkeys(regime_ids))
        unknown = [r for r in wanted if r not in self._all_regimes]
        if unknown:
            raise FlowauditError(f"unknown regime {', '.join(map(repr, unknown))}; the rulebook has "
                                 f"{', '.join(self._all_regimes)}")
        other = copy.copy(self)
        other.__dict__.pop("regime_ids", None)
        other.regimes = {r: found for r, found in self._all_regimes.items() if r in wanted}
        other.regions = {k: v for k, v in self.regions.items() if v == "all" or v in other.regimes}
        other._regimes_of = {}  # its answers depend on the regimes kept (areas do not)
        return other

    def _mechanism_catalogue(self) -> dict[Mechanism, MechanismInfo]:
        """Each mechanism once, as the first regime (in order) declares it, with every regime
        that recognises it; a mechanism is of one kind whichever regime declares it."""
        out: dict[Mechanism, MechanismInfo] = {}
        for regime, declared in self.regime_mechanisms.items():
            for mechanism, info in declared.items():
                first = out.get(mechanism)
                if first is None:
                    out[mechanism] = info.model_copy(update={"regimes": (regime,)})
                elif first.kind != info.kind:
                    raise ValueError(f"{regime}/mechanisms.yaml: {mechanism.value} is {info.kind}, "
                                     f"elsewhere {first.kind}")
                else:
                    out[mechanism] = first.model_copy(update={"regimes": (*first.regimes, regime)})
        return out

    def _one_fact(self, name: str) -> dict:
        """A fact file that one regime folder holds (e.g. the EU SCC versions in gdpr/scc.yaml)."""
        holders = [r for r, f in self._facts.items() if name in f]
        if len(holders) != 1:
            raise ValueError(f"{name}.yaml: expected in exactly one regime folder, found in {holders or 'none'}")
        return self._facts[holders[0]][name]

    def facts(self, regime: str, name: str) -> dict:
        """A regime's own fact file, `<regime>/<name>.yaml`, as read (its rule module checks it)."""
        try:
            return self._facts[regime][name]
        except KeyError:
            raise FlowauditError(f"rulebook: {regime}/{name}.yaml is missing") from None

    def regime_short_name(self, regime: str) -> str:
        """The name findings' messages use (`GDPR`, `UK GDPR`, `FADP`)."""
        found = self.regimes.get(regime)
        return (found.short_name or found.name) if found is not None else regime

    @cached_property
    def pipl(self) -> Pipl:
        try:
            return Pipl.model_validate(self.facts("pipl", "thresholds"))
        except ValidationError as exc:
            raise FlowauditError(f"rulebook: pipl/thresholds.yaml is invalid: {exc}") from exc

    def regime_name(self, regime: str) -> str:
        """The regime's display name (`EU GDPR`, `Swiss FADP`), or its id when unknown."""
        found = self.regimes.get(regime)
        return found.name if found is not None else regime

    # --- Jurisdictions protocol (inventory.graph) -------------------------------------------

    @cached_property
    def regime_ids(self) -> tuple[str, ...]:
        return tuple(self.regimes)

    def area(self, regime: str, as_of: dt.date) -> frozenset[str]:
        """Countries where `regime` applies on `as_of`."""
        key = (regime, as_of)
        found = self._areas.get(key)
        if found is None:
            found = self._areas[key] = frozenset(m.country for m in self._all_regimes[regime].members
                                                 if m.applies(as_of))
        return found

    def regimes_of_location(self, location: str, as_of: dt.date) -> frozenset[str]:
        """Regimes that protect data collected from subjects located in a country or region."""
        key = (location, as_of)
        found = self._regimes_of.get(key)
        if found is None:
            region = self.regions.get(location)
            if region == "all":
                found = frozenset(r for r in self.regimes if self.area(r, as_of))
            elif region is not None:
                found = frozenset({region})
            else:
                found = frozenset(r for r in self.regimes if location in self.area(r, as_of))
            self._regimes_of[key] = found
        return found

    def attaches_to_establishments(self, regime: str) -> bool:
        """GDPR/UK GDPR also cover data held by an establishment or system in the area (Art. 3(1));
        PIPL, as modelled, attaches to data collected from subjects in CN."""
        return self.regimes[regime].attaches_to != "subjects"

    def restricts_transfers(self, regime: str) -> bool:
        return self.regimes[regime].restricts_transfers

    def mechanism_for(self, regime: str, mechanism: Mechanism) -> MechanismInfo | None:
        """The mechanism as `regime` recognises it (its dates and conditions), or None."""
        return self.regime_mechanisms.get(regime, {}).get(mechanism)

    def adequacy(self, regime: str, country: str, as_of: dt.date) -> list[Decision]:
        """Decisions in force for `country` under `regime` on `as_of` (scope not yet checked)."""
        found = self.adequacy_lists.get(regime)
        if found is None:
            return []
        if found.eea_adequate_since and as_of >= found.eea_adequate_since and country in self.area("gdpr", as_of):
            return [Decision(country=country, decision="DPA 2018 Sch. 21 para 5 (EEA)", date=found.eea_adequate_since)]
        return [d for d in found.decisions if d.country == country and d.in_force(as_of)]

    @cached_property
    def scc_regimes(self) -> frozenset[str]:
        """The regimes some SCC version of `scc.yaml` names (their SCCs are per version)."""
        return frozenset(r for v in self.scc_versions.values() for r in v.regimes)

    def scc_module(self, exporter: Role, importer: Role) -> str:
        return self.scc_modules[(exporter, importer)]

    def choose_mechanism(self, transfer: Transfer) -> Choice:
        """The mechanism that counts for a restricted transfer under its regime (the strongest
        valid one among those the flow declares and the regime recognises; `audits.mechanisms`),
        with why it does not count when none does."""
        return choose(self, transfer)


def _read(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise TypeError(f"{path.name}: expected a mapping")
    return data


@lru_cache(maxsize=1)
def default_rulebook() -> Rulebook:
    return Rulebook()
