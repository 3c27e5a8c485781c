"""Which countries the generator treats as the EEA, or as adequate: read from the rulebook.

The law is data in `data/rulebook/` (SPEC §8); the generator asks it once, on a fixed date, so
that the synthetic inventory matches what the audit will decide and stays deterministic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flowaudit.audits.rulebook import Rulebook, default_rulebook
from flowaudit.inventory.models import iso_countries
from flowaudit.synth.vocabulary import REGION_COUNTRIES_OUTSIDE_EEA

# The generator's dates end on 2026-10-31 (signatures, TIAs, DPIAs); the law as of then.
AS_OF = dt.date(2026, 11, 1)

# The generator's own short names for the regimes of the rulebook.
_REGIME_LABEL = {"gdpr": "eu", "uk-gdpr": "uk", "pipl": "cn"}


@dataclass(frozen=True, slots=True)
class Jurisdictions:
    eea: frozenset[str]
    eu_adequate: frozenset[str]  # without a certification requirement (the US only via eu-us-dpf)
    uk_adequate: frozenset[str]  # the EEA included (DPA 2018 Sch. 21 para 5)
    areas: dict[str, frozenset[str]]  # generator label ("eu", "uk", "cn") -> member countries
    region_countries: dict[str, frozenset[str]]  # region of processing activities -> countries

    def regime(self, country: str) -> str:
        """"eu", "uk", "cn", or "other" for a country."""
        for label, members in self.areas.items():
            if country in members:
                return label
        return "other"

    def subject_regime(self, locations: list[str]) -> str:
        first = locations[0]
        if first in ("EEA", "EU", "WORLD"):
            return "eu"
        return self.regime(first)


def _adequate(rulebook: Rulebook, regime: str, as_of: dt.date) -> frozenset[str]:
    return frozenset(
        c for c in iso_countries()
        if any(d.requires_certification is None for d in rulebook.adequacy(regime, c, as_of)))


def jurisdictions(rulebook: Rulebook | None = None, as_of: dt.date = AS_OF) -> Jurisdictions:
    rulebook = rulebook or default_rulebook()
    areas = {label: rulebook.area(regime, as_of) for regime, label in _REGIME_LABEL.items()}
    eea = areas["eu"]
    return Jurisdictions(
        eea=eea,
        eu_adequate=_adequate(rulebook, "gdpr", as_of),
        uk_adequate=_adequate(rulebook, "uk-gdpr", as_of),
        areas=areas,
        # Order matters for determinism: the generator walks the regions in this order.
        region_countries={"eu": eea, **REGION_COUNTRIES_OUTSIDE_EEA, "global": eea},
    )
