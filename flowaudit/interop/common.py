"""What the importers share: ids, countries, retention phrases, the review list, writing YAML.

An importer never guesses silently: every value it could not map, or mapped only
approximately, becomes a `Review` line in `import-report.md` and `notes: imported, needs
review: …` on the entry it concerns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from flowaudit.inventory.models import ID_PATTERN, iso_countries
from flowaudit.inventory.periods import DURATION, RETENTION_KEYWORDS

NEEDS_REVIEW = "imported, needs review"
SECTIONS = ("organisations", "subjects", "elements", "purposes", "systems", "flows")
_ID = re.compile(ID_PATTERN)


class ImportError_(Exception):  # trailing underscore: not the builtin ImportError
    """Input that cannot be imported at all; the message names the file and key, or the sheet,
    row and column."""


@cache
def mapping(name: str) -> dict[str, Any]:
    """A mapping data file shipped in flowaudit.data/mappings/ (e.g. 'fideslang')."""
    text = resources.files("flowaudit.data").joinpath("mappings", f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def slug(text: str, fallback: str = "entry") -> str:
    """An inventory id from free text: 'Cookie House (EU)' -> 'cookie-house-eu'."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii").lower()
    value = re.sub(r"[^a-z0-9._-]+", "-", ascii_text).strip("-._")
    value = re.sub(r"-{2,}", "-", value)
    return value if value and _ID.match(value) else fallback


def key_id(key: str) -> str:
    """An inventory id from a machine key (a fides_key): kept when it is already valid."""
    low = str(key).strip().lower()
    return low if _ID.match(low) else slug(low)


class Ids:
    """Unique ids across the whole inventory being built."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.used:
            candidate = f"{wanted}-{n}"
            n += 1
        self.used.add(candidate)
        return candidate


# --- countries ---------------------------------------------------------------------------------

_ALIASES = {"UK": "GB", "EL": "GR", "USA": "US", "U.S.": "US", "U.S.A.": "US", "UNITED STATES OF AMERICA": "US",
            "ENGLAND": "GB", "SCOTLAND": "GB", "WALES": "GB", "NORTHERN IRELAND": "GB", "GREAT BRITAIN": "GB",
            "EU": "EU", "EEA": "EEA", "EUROPEAN UNION": "EU", "EUROPEAN ECONOMIC AREA": "EEA",
            "SOUTH KOREA": "KR", "KOREA": "KR", "RUSSIA": "RU", "TAIWAN": "TW", "VIETNAM": "VN", "IRAN": "IR",
            "HOLLAND": "NL", "THE NETHERLANDS": "NL", "CZECHIA": "CZ", "TURKEY": "TR", "SWITZERLAND": "CH"}


def country_code(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (or EU/EEA) for a code, an alpha-3 code or a country name."""
    value = str(text).strip().strip(".").strip()
    if not value:
        return None
    upper = value.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if len(value) == 2 and upper in iso_countries():
        return upper
    import pycountry

    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(value)
    except LookupError:
        return None
    return found[0].alpha_2 if len(found) == 1 else None


def countries_in(text: str) -> tuple[list[str], list[str]]:
    """Country codes in a free-text list ('USA, India; Japan'), and the parts not understood."""
    codes: list[str] = []
    rest: list[str] = []
    for part in re.split(r"[,;/\n]|\band\b", str(text)):
        part = part.strip()
        if not part or part.lower() in ("none", "n/a", "na", "-", "no"):
            continue
        code = country_code(re.sub(r"\s*\([^)]*\)", "", part))
        if code and code not in codes:
            codes.append(code)
        elif not code:
            rest.append(part)
    return codes, rest


def address_country(address: str | None) -> str | None:
    """The country of a postal address, read from its last comma-separated part."""
    if not address:
        return None
    parts = [p.strip() for p in str(address).split(",") if p.strip()]
    for part in reversed(parts[-2:]):
        code = country_code(part)
        if code and code in iso_countries():
            return code
    return None


# --- retention ---------------------------------------------------------------------------------

_PERIOD = re.compile(r"(\d+(?:[.,]\d+)?)\s*(years?|yrs?|months?|weeks?|days?)\b", re.I)
_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
          "nine": "9", "ten": "10", "twelve": "12", "eighteen": "18", "twenty": "20", "thirty": "30"}


def retention_period(text: str | None) -> str | None:
    """An SPEC retention value for a phrase: 'P6Y', '6 years', 'six years after the contract
    ends' -> P6Y; 'until the account is deleted' -> until-account-deletion; None when unclear."""
    if text is None:
        return None
    value = str(text).strip()
    if not value:
        return None
    if value in RETENTION_KEYWORDS or DURATION.fullmatch(value.upper()):
        return value if value in RETENTION_KEYWORDS else value.upper()
    low = value.lower()
    # the report's own wording: "3 years (P3Y)"
    inside = re.search(r"\((P[^()\s]+)\)", value)
    if inside and DURATION.fullmatch(inside.group(1)):
        return inside.group(1)
    if "account" in low and ("delet" in low or "clos" in low):
        return "until-account-deletion"
    if "purpose" in low and ("fulfil" in low or "achiev" in low or "complet" in low):
        return "until-purpose-fulfilled"
    if re.search(r"\bstatut|\bas required by law\b|\blegal retention\b", low):
        return "statutory"
    for word, digit in _WORDS.items():
        low = re.sub(rf"\b{word}\b", digit, low)
    found = _PERIOD.findall(low)
    if len(found) == 1:
        number, unit = found[0]
        if "." in number or "," in number:
            return None
        return f"P{int(number)}{unit[0].upper()}"
    return None


# --- the review list ---------------------------------------------------------------------------

@dataclass
class Review:
    kind: str  # organisation, subject, element, purpose, system, flow, or "—" (not imported)
    id: str
    what: str


@dataclass
class ImportResult:
    """An inventory built by an importer: its sections (plain dicts, as YAML has them), what
    needs review, and what was not imported."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    reviews: list[Review] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    title: str = "import"

    def review(self, kind: str, entry: dict[str, Any] | None, what: str) -> None:
        """Mark `entry` for review (its notes) and list the reason in the report."""
        ident = entry.get("id", "") if entry is not None else ""
        self.reviews.append(Review(kind, ident, what))
        if entry is not None:
            notes = entry.get("notes")
            if not notes:
                entry["notes"] = f"{NEEDS_REVIEW}: {what}"
            elif what not in notes:
                if notes.startswith(NEEDS_REVIEW):
                    entry["notes"] = f"{notes}; {what}"
                else:
                    entry["notes"] = f"{NEEDS_REVIEW}: {what}; {notes}"

    def counts(self) -> dict[str, int]:
        return {s: len(v) for s, v in self.sections.items()}


def _clean(entry: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values, keep the key order (id first)."""
    return {k: v for k, v in entry.items() if v not in (None, [], {}, "")}


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _list_presenter(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    # lists of ids inline, as the hand-written inventories have them; lists of entries as blocks
    flow = all(isinstance(v, (str, int, float, bool)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _str_presenter)
_Dumper.add_representer(list, _list_presenter)


def dump_yaml(document: dict[str, Any], header: str = "") -> str:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    lines = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lines + text


def write_inventory(result: ImportResult, out_dir: Path, report_name: str = "import-report.md") -> list[Path]:
    """Write one YAML file per section and the import report into `out_dir`, then check that
    the folder is a valid inventory (raises InventoryError otherwise, naming the files)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    header = (f"Imported by `flowaudit {result.title}` from: {', '.join(result.sources)}.\n"
              f"Entries marked `notes: {NEEDS_REVIEW}` need a person's look; see {report_name}.")
    for section in SECTIONS:
        entries = [_clean(e) for e in result.sections.get(section, [])]
        if not entries:
            continue
        path = out_dir / f"{section}.yaml"
        path.write_text(dump_yaml({section: entries}, header), encoding="utf-8")
        written.append(path)
    report = out_dir / report_name
    report.write_text(render_report(result), encoding="utf-8")
    written.append(report)
    from flowaudit.inventory import load_inventory

    load_inventory(out_dir)  # the output validates, or the import fails loudly
    return written


def render_report(result: ImportResult) -> str:
    lines = [f"# Import report: `flowaudit {result.title}`", "",
             "Sources: " + ", ".join(f"`{s}`" for s in result.sources), "",
             "Imported: " + ", ".join(f"{n} {s}" for s, n in result.counts().items()), ""]
    lines += ["## Needs review", ""]
    if result.reviews:
        lines += [f"{len(result.reviews)} entries are marked `notes: {NEEDS_REVIEW}` in the YAML.", "",
                  "| kind | id | what to check |", "|---|---|---|"]
        for r in sorted(result.reviews, key=lambda r: (SECTIONS_ORDER.get(r.kind, 9), r.id, r.what)):
            lines.append(f"| {r.kind} | `{r.id}` | {_md(r.what)} |")
    else:
        lines.append("Nothing: every value was mapped.")
    lines += ["", "## Not imported", ""]
    if result.skipped:
        lines += [f"- {_md(s)}" for s in sorted(set(result.skipped))]
    else:
        lines.append("Nothing.")
    return "\n".join(lines) + "\n"


SECTIONS_ORDER = {"organisation": 0, "subject": 1, "element": 2, "purpose": 3, "system": 4, "flow": 5}


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(i for i in items if i is not None))
