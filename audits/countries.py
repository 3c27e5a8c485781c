"""Country profiles: what a destination's law lets public authorities do with transferred data.

Destination facts, not regime facts: one YAML file per country in `data/rulebook/countries/`,
read for step 3 of a transfer-impact assessment (EDPB Recommendations 01/2020; CNIL TIA guide,
2025). Adequacy decisions stay in the regimes' adequacy lists (`Rulebook.adequacy_lists`);
`adequacy_history` joins them to the profile so the assessment shows one history.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from flowaudit.inventory.errors import FlowauditError
from flowaudit.inventory.models import iso_countries

from .rulebook import RULEBOOK_DIR, Rulebook

COUNTRIES_DIR = RULEBOOK_DIR / "countries"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessLaw(_Model):
    law: str
    scope: str
    applies_to: Literal["providers", "all"]
    source: str


class Redress(_Model):
    text: str
    source: str


class CountryProfile(_Model):
    country: str
    name: str
    reviewed: dt.date
    provider_access: bool  # public authorities can compel importers to hand over data in the clear
    summary: str
    government_access: tuple[AccessLaw, ...]
    redress: tuple[Redress, ...]
    adequacy_notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @field_validator("country")
    @classmethod
    def _iso(cls, value: str) -> str:
        if value not in iso_countries():
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code")
        return value


@lru_cache(maxsize=4)
def load_profiles(directory: Path = COUNTRIES_DIR) -> dict[str, CountryProfile]:
    """Every profile, by country code; the file's name must be its country."""
    profiles: dict[str, CountryProfile] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            with path.open(encoding="utf-8") as handle:
                raw = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            profile = CountryProfile.model_validate(raw)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise FlowauditError(f"country profile {path.name} is invalid: {exc}") from exc
        if profile.country != path.stem:
            raise FlowauditError(f"country profile {path.name} describes {profile.country}")
        profiles[profile.country] = profile
    return profiles


def profile(country: str) -> CountryProfile | None:
    return load_profiles().get(country)


def adequacy_history(rulebook: Rulebook, country: str, regime: str | None = None) -> list[str]:
    """Every adequacy decision for `country` (under `regime`, or every regime), past ones
    included, oldest first."""
    lines = []
    for regime_id, found in rulebook.adequacy_lists.items():
        if regime is not None and regime_id != regime:
            continue
        name = rulebook.regime_name(regime_id)
        for d in sorted((d for d in found.decisions if d.country == country), key=lambda d: d.date):
            span = f"from {d.date}" + (f" until {d.until}" if d.until else "")
            scope = f"; scope: {d.scope}" if d.scope else ""
            notes = f"; {d.notes}" if d.notes else ""
            lines.append(f"{name}: {d.decision}, {span}{scope}{notes}")
    return lines
