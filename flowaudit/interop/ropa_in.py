"""`flowaudit import ropa`: a record-of-processing workbook into inventory YAML.

Two layouts are read, found by their column headings (matched tolerantly: case, spacing,
punctuation, "(if applicable)" and small wording changes do not matter):

- the UK ICO's documentation templates for controllers and for processors (one row per
  processing activity; the controller's, DPO's and representative's details in label/value
  rows of any sheet), and
- flowaudit's own `ropa.xlsx` (`flowaudit report`), whose `Purpose id` column ties each row to
  the inventory, so that a DPO's edits can be applied back (`--into`, `ropa_edit.py`).

Free text is parsed where it can be: country names to ISO codes, "SCCs"/"IDTA"/"adequacy" to
mechanisms, "6 years" to P6Y, "Art. 6(1)(b)"/"contract" to a legal basis, category prefixes
("contact: Email, Phone") to elements; what cannot be parsed is kept in `notes` and listed in
import-report.md. A workbook whose headings are not recognised is refused with the list of
columns expected (exit 2), and a bad cell is named by sheet, row and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zipfile
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .common import (
    ImportError_,
    ImportResult,
    Ids,
    address_country,
    countries_in,
    country_code,
    retention_period,
    slug,
    unique,
)

# field -> headings as the ICO templates and flowaudit's ropa.xlsx spell them
FIELDS: dict[str, tuple[str, ...]] = {
    "purpose_id": ("Purpose id",),
    "business_function": ("Business function",),
    "purpose": ("Purpose of processing", "Purposes of the processing", "Purpose", "Categories of processing",
                "Processing activity"),
    "joint_controller": ("Name and contact details of joint controller",),
    "subjects": ("Categories of individuals", "Categories of data subjects"),
    "data": ("Categories of personal data",),
    "recipients": ("Categories of recipients", "Categories of recipients (and names)", "Sub-processors and recipients"),
    "contract": ("Link to contract with processor",),
    "countries": ("Names of third countries or international organisations that personal data are transferred to",
                  "Names of third countries or international organisations"),
    "safeguards": ("Safeguards for exceptional transfers of personal data to third countries or international "
                   "organisations", "Safeguards for exceptional transfers"),
    "retention": ("Retention schedule",),
    "security": ("General description of technical and organisational security measures",),
    "basis": ("Article 6 lawful basis for processing personal data", "Art. 6 lawful basis", "Lawful basis"),
    "special": ("Article 9 basis for processing special category data", "Art. 9 condition (special category data)"),
    "legit": ("Legitimate interests for the processing", "Legitimate interests (if applicable)"),
    "adm": ("Existence of automated decision-making, including profiling",
            "Rights available / automated decision-making and profiling"),
    "source": ("The source of the personal data", "Source of personal data"),
    "location": ("Location of personal data",),
    "dpia": ("Data Protection Impact Assessment required?", "DPIA required / date"),
    "controller": ("Name and contact details of the controller", "Name and contact details of controller"),
}
REQUIRED = ("purpose",)
EXPECTED_HINT = ("Business function", "Purpose of processing", "Categories of individuals",
                 "Categories of personal data", "Categories of recipients",
                 "Names of third countries or international organisations",
                 "Safeguards for exceptional transfers", "Retention schedule",
                 "General description of technical and organisational security measures",
                 "Article 6 lawful basis for processing personal data",
                 "Article 9 basis for processing special category data")

_BASIS_LETTER = {"a": "consent", "b": "contract", "c": "legal-obligation", "d": "vital-interests", "e": "public-task",
                 "f": "legitimate-interests"}
_BASIS_WORDS = (("legitimate interest", "legitimate-interests"), ("legal obligation", "legal-obligation"),
                ("vital interest", "vital-interests"), ("public task", "public-task"),
                ("official authority", "public-task"), ("public interest", "public-task"), ("contract", "contract"),
                ("consent", "consent"))
_SPECIAL_LETTER = {"a": "explicit-consent", "b": "employment", "c": "vital-interests", "d": "not-for-profit",
                   "e": "made-public", "f": "legal-claims", "g": "substantial-public-interest", "h": "health-care",
                   "i": "public-health", "j": "archiving-research"}
_SPECIAL_WORDS = (("explicit consent", "explicit-consent"), ("employment", "employment"),
                  ("vital interest", "vital-interests"), ("not-for-profit", "not-for-profit"),
                  ("made public", "made-public"), ("legal claim", "legal-claims"),
                  ("substantial public interest", "substantial-public-interest"),
                  ("health or social care", "health-care"),
                  ("public health", "public-health"), ("archiving", "archiving-research"))
_MECHANISMS = ((r"\buk addendum\b|\baddendum\b", "uk-addendum"), (r"\bidta\b", "idta"),
               (r"\bsccs?\b|standard contractual clauses|model clauses", "scc"),
               (r"\bbcrs?\b|binding corporate rules", "bcr"), (r"\badequa", "adequacy"),
               (r"\bexplicit consent\b", "explicit-consent"), (r"code of conduct", "code-of-conduct"),
               (r"certification", "certification"))
_NONE = {"", "none", "n/a", "na", "not applicable", "-", "no", "not indicated", "none recorded", "missing"}
# keywords -> category, for the free text of "Categories of personal data"; first match wins
_DATA_WORDS = (
    (r"health|medical|sickness|illness|disabilit|diagnos", "special:health"), (r"genetic|dna", "special:genetic"),
    (r"biometric|fingerprint|facial", "special:biometric"), (r"racial|ethnic", "special:racial-ethnic"),
    (r"political", "special:political"), (r"relig|belief", "special:religious"),
    (r"trade union", "special:trade-union"), (r"sex life|sexual", "special:sex-life"),
    (r"criminal|conviction|offence", "criminal"), (r"passport|national insurance|social security|id card|licen[cs]e",
                                                   "government-id"),
    (r"password|credential|pin\b", "credentials"),
    (r"bank|card|payment|salary|payroll|financ|tax|pension", "financial"),
    (r"e-?mail|phone|telephone|address|contact", "contact"),
    (r"\bip\b|cookie|online identifier|device id", "online-identifier"),
    (r"device", "device"), (r"location|gps", "location"),
    (r"usage|behaviou?r|browsing|purchase history", "behavioural"),
    (r"date of birth|age\b|gender|nationality|language|marital", "demographic"),
    (r"job|employ|title|cv\b|qualification|professional|work", "professional"), (r"account|username|login", "account"),
    (r"name|signature|photo", "identity"), (r"message|content|correspondence|feedback|comment", "content"),
)
_CATEGORIES = ("identity", "government-id", "contact", "account", "credentials", "online-identifier", "device",
               "location", "behavioural", "content", "demographic", "professional", "financial", "criminal",
               "special:health", "special:genetic", "special:biometric", "special:racial-ethnic", "special:political",
               "special:religious", "special:trade-union", "special:sex-life")
_RELATIONS = ("self", "affiliate", "processor", "sub-processor", "joint-controller", "partner", "third-party",
              "authority")


def _norm(text: str) -> str:
    value = str(text).lower().replace("&", " and ")
    value = re.sub(r"\((if applicable|if possible|and names)\)", " ", value)
    value = re.sub(r"\bart\b\.?", "article", value)
    value = re.sub(r"[^a-z0-9]+", " ", value)
    return re.sub(r"\s+", " ", value).strip()


_NORMED = {f: tuple(_norm(h) for h in hs) for f, hs in FIELDS.items()}


def match_heading(text: Any) -> str | None:
    """The field a column heading names, or None."""
    if text is None:
        return None
    return _match(str(text))


@lru_cache(maxsize=4096)
def _match(text: str) -> str | None:
    heading = _norm(text)
    if not heading:
        return None
    for name, variants in _NORMED.items():
        if heading in variants:
            return name
    best, score = None, 0.0
    for name, variants in _NORMED.items():
        for v in variants:
            if len(v) >= 12 and len(heading) >= 12 and (heading.startswith(v) or v.startswith(heading)):
                ratio = 0.9
            elif abs(len(v) - len(heading)) > 0.3 * max(len(v), len(heading)):
                continue  # too different in length to be a rewording
            else:
                matcher = difflib.SequenceMatcher(None, heading, v)
                if matcher.real_quick_ratio() < 0.85 or matcher.quick_ratio() < 0.85:
                    continue
                ratio = matcher.ratio()
            if ratio > score:
                best, score = name, ratio
    return best if score >= 0.85 else None


@dataclass
class Sheet:
    name: str
    header_row: int  # 1-based
    columns: dict[str, int]  # field -> 1-based column
    headings: dict[str, str]  # field -> heading as written
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, field -> value)
    processor: bool = False


@dataclass
class Workbook:
    path: Path
    sheets: list[Sheet]
    labels: dict[str, tuple[str, Any]]  # normalised label -> (sheet!cell, value) from label/value rows
    flowaudit: bool  # flowaudit's own ropa.xlsx (has Purpose id)


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


def read_workbook(path: Path) -> Workbook:
    """Find the record sheets and their header rows; raise ImportError_ listing the columns
    expected when no sheet is laid out as a record of processing."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ImportError_(f"{path}: not an Excel workbook (.xlsx): {exc}") from None
    sheets: list[Sheet] = []
    labels: dict[str, tuple[str, Any]] = {}
    seen_headings: list[str] = []
    try:
        for ws in wb.worksheets:
            grid = [list(r) for r in ws.iter_rows(values_only=True)]
            best: tuple[int, dict[str, int], dict[str, str]] | None = None
            for i, row in enumerate(grid[:40], start=1):
                found: dict[str, int] = {}
                written: dict[str, str] = {}
                for j, cell in enumerate(row, start=1):
                    name = match_heading(cell) if isinstance(cell, str) and len(cell) < 200 else None
                    if name and name not in found:
                        found[name] = j
                        written[name] = str(cell)
                if len(found) >= 3 and "purpose" in found and (best is None or len(found) > len(best[1])):
                    best = (i, found, written)
                if i <= 12 and row and isinstance(row[0], str) and len(row) > 1 and row[1] not in (None, ""):
                    labels.setdefault(_norm(row[0]), (f"{ws.title}!B{i}", row[1]))
            if best is None:
                if grid:
                    seen_headings += [str(c) for c in grid[0] if isinstance(c, str)][:8]
                continue
            header, columns, written = best
            sheet = Sheet(ws.title, header, columns, written,
                          processor="controller" in columns or ws.title.lower().startswith("processor"))
            for n, row in enumerate(grid[header:], start=header + 1):
                values = {f: (row[c - 1] if c - 1 < len(row) else None) for f, c in columns.items()}
                if all(v in (None, "") for v in values.values()):
                    continue
                sheet.rows.append((n, values))
            sheets.append(sheet)
    finally:
        wb.close()
    if not sheets:
        seen = f" (found headings such as: {', '.join(repr(h) for h in seen_headings[:6])})" if seen_headings else ""
        raise ImportError_(f"{path}: no sheet is laid out as a record of processing{seen}. Expected a header row "
                           "with 'Purpose of processing' and at least two of: " + "; ".join(EXPECTED_HINT[:1] +
                                                                                             EXPECTED_HINT[2:]))
    return Workbook(path, sheets, labels, flowaudit=any("purpose_id" in s.columns for s in sheets))


def where(book: Workbook, sheet: Sheet, row: int, fld: str) -> str:
    col = sheet.columns[fld]
    return f"{book.path.name}: sheet {sheet.name!r}, row {row}, column {_letter(col)} ({sheet.headings[fld]!r})"


# --- parsing cells -----------------------------------------------------------------------------

def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value).strip()


def is_none(value: Any) -> bool:
    return text(value).lower().rstrip(".") in _NONE


def _by_point(t: str, point: str, letters: dict[str, str], words: Iterable[tuple[str, str]]) -> str | None:
    """The value an article's lettered point names: by its citation ("6(1)(b)"), its own id, or a
    word of the template's wording; None when none matches."""
    m = re.search(point, t)
    if m:
        return letters[m.group(1)]
    if t in letters.values():
        return t
    return next((value for word, value in words if word in t), None)


def legal_basis(value: Any) -> str | None:
    t = text(value).lower()
    if is_none(t):
        return None
    return _by_point(t, r"6\s*\(\s*1\s*\)\s*\(\s*([a-f])\s*\)", _BASIS_LETTER, _BASIS_WORDS)


def special_condition(value: Any) -> str | None:
    t = text(value).lower()
    if is_none(t) or t.startswith("missing"):
        return None
    return _by_point(t, r"9\s*\(\s*2\s*\)\s*\(\s*([a-j])\s*\)", _SPECIAL_LETTER, _SPECIAL_WORDS)


def mechanisms(value: Any) -> list[str]:
    t = text(value).lower()
    return unique(m for pattern, m in _MECHANISMS if re.search(pattern, t))


def items(value: Any) -> list[str]:
    return [p.strip() for p in re.split(r"[;\n]|,(?![^()]*\))", text(value)) if p.strip() and not is_none(p)]


def _labelled(value: Any, label: str, labels: Container[str]) -> Iterator[tuple[str | None, str]]:
    """'a: X, Y (Z); b: W' -> (a, X), (a, Y (Z)), (b, W): groups split on ';' or lines, each with
    an optional label among `labels` (matched by the pattern `label`), items split on commas
    outside parentheses; an unlabelled group gives (None, item)."""
    for group in re.split(r"[;\n]", text(value)):
        group = group.strip()
        if not group or is_none(group):
            continue
        name = None
        m = re.match(rf"^({label})\s*:\s*(.*)$", group)
        if m and m.group(1) in labels:
            name, group = m.group(1), m.group(2)
        for part in re.split(r",(?![^()]*\))", group):
            if part.strip():
                yield name, part.strip()


def recipients(value: Any) -> list[tuple[str | None, str, str | None]]:
    """'processor: Acme (US), Beta (DE); third-party: Gamma' -> (relation, name, country) items."""
    found = []
    for relation, part in _labelled(value, r"[a-z-]+", _RELATIONS):
        name, country = part, None
        cm = re.match(r"^(.*?)\s*\(([^()]*)\)\s*$", part)
        if cm:
            code = country_code(cm.group(2))
            if code and len(code) == 2:
                name, country = cm.group(1).strip(), code
        found.append((relation, name, country))
    return found


def data_items(value: Any) -> list[tuple[str | None, str]]:
    """'contact: Email, Phone; identity: Name' -> (category, name); free text -> (None, item)."""
    return list(_labelled(value, r"special:[a-z-]+|[a-z-]+", _CATEGORIES))


def guess_category(name: str) -> str | None:
    low = name.lower()
    for pattern, category in _DATA_WORDS:
        if re.search(pattern, low):
            return category
    return None


def a_date(value: Any) -> str | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    m = re.search(r"\b(\d{4}-\d{2}-\d{2})\b", text(value))
    return m.group(1) if m else None


# --- a new inventory from a workbook -----------------------------------------------------------

def import_ropa(path: str | Path, *, country: str | None = None) -> ImportResult:
    """Read a record-of-processing workbook into an `ImportResult` (not yet written)."""
    book = read_workbook(Path(path))
    return _Builder(book, country).run()


class _Builder:
    def __init__(self, book: Workbook, country: str | None):
        self.book = book
        self.country = country
        self.result = ImportResult(title="import ropa", sources=[book.path.name])
        self.ids = Ids()
        self.subjects: dict[str, dict[str, Any]] = {}
        self.elements: dict[str, dict[str, Any]] = {}
        self.orgs: dict[str, dict[str, Any]] = {}

    def label(self, *names: str) -> tuple[str, Any] | None:
        for n in names:
            for key, found in self.book.labels.items():
                if key.startswith(_norm(n)):
                    return found
        return None

    def controller(self) -> dict[str, Any]:
        # the organisation that keeps the record: the controller, or the processor (its own
        # Art. 30(2) record)
        found = self.label("controller", "name and contact details of controller", "name of controller",
                           "name and contact details of processor", "organisation name")
        name_text = text(found[1]) if found else ""
        code = None
        m = re.search(r"\(([^()]*)\)\s*$", name_text)
        if m:
            parts = [p.strip() for p in m.group(1).split(",")]
            code = next((c for c in (country_code(p) for p in reversed(parts)) if c and len(c) == 2), None)
            name_text = name_text[: m.start()].strip()
        contact = self.label("contact details", "address")
        code = code or address_country(text(contact[1]) if contact else name_text) or (
            country_code(self.country) if self.country else None)
        if not code:
            where = f"{self.book.path.name}: {found[0]}" if found else f"{self.book.path.name}: no controller details"
            raise ImportError_(f"{where}: no country could be read for the controller; pass --country CC")
        name = name_text.split(",")[0].strip() or "Controller"
        me: dict[str, Any] = {"id": self.ids.take(slug(name, "controller")), "name": name, "country": code,
                              "relation": "self", "source": f"{self.book.path.name}: {found[0]}" if found else None}
        if contact and not is_none(contact[1]):
            me["contact"] = text(contact[1])
        elif found and "," in text(found[1]):
            me["contact"] = text(found[1])
        dpo = self.label("data protection officer", "name and contact details of data protection officer", "dpo")
        if dpo and not is_none(dpo[1]):
            parts = [p.strip() for p in text(dpo[1]).split(",")]
            email = next((p for p in parts if "@" in p), None)
            me["dpo"] = {"name": parts[0], **({"email": email} if email else {})}
        rep = self.label("representative", "name and contact details of representative")
        if rep and not is_none(rep[1]):
            rep_text = text(rep[1])
            rep_code = None
            m = re.search(r"\(([^()]*)\)\s*$", rep_text)
            if m:
                rep_code = country_code(m.group(1).split(",")[-1])
                rep_text = rep_text[: m.start()].strip()
            rep_code = rep_code or address_country(rep_text)
            if rep_code and len(rep_code) == 2:
                me["representative"] = {"name": rep_text.split(",")[0], "country": rep_code}
            else:
                self.result.review("organisation", me, f"representative {rep_text!r}: no country could be read")
        self.result.sections["organisations"].append(me)
        return me

    def subject(self, name: str) -> str:
        key = name.lower()
        if key not in self.subjects:
            entry = {"id": self.ids.take(slug(name, "subjects")), "name": name, "locations": []}
            self.subjects[key] = entry
            self.result.sections["subjects"].append(entry)
            self.result.review("subject", entry, "the record does not say where these individuals live: add "
                                                 "`locations`")
        return self.subjects[key]["id"]

    def element(self, category: str | None, name: str, subjects: list[str], at: str) -> str:
        key = name.lower()
        entry = self.elements.get(key)
        if entry is None:
            guessed = category or guess_category(name)
            entry = {"id": self.ids.take(slug(name, "data")), "name": name, "category": guessed or "content",
                     "subjects": [], "source": at}
            self.elements[key] = entry
            self.result.sections["elements"].append(entry)
            if category is None:
                how = "guessed from the words" if guessed else "unknown, filed as content"
                self.result.review("element", entry, f"category {how}: {name!r}")
        entry["subjects"] = unique([*entry["subjects"], *subjects])
        return entry["id"]

    def org(self, relation: str | None, name: str, country: str | None, me: dict[str, Any], at: str) -> dict[str, Any]:
        key = name.lower()
        if key not in self.orgs:
            entry = {"id": self.ids.take(slug(name, "recipient")), "name": name, "country": country or me["country"],
                     "relation": relation or "third-party", "source": at}
            self.orgs[key] = entry
            self.result.sections["organisations"].append(entry)
            missing = [w for w, v in (("relation", relation), ("country", country)) if not v]
            if missing:
                self.result.review("organisation", entry, f"{' and '.join(missing)} not in the record: "
                                                          f"{relation or 'third-party'}, "
                                                          f"{country or me['country']} assumed")
        return self.orgs[key]

    def run(self) -> ImportResult:
        me = self.controller()
        system = {"id": self.ids.take(f"{me['id']}-records"), "name": f"Systems of {me['name']} (from the record)",
                  "operator": me["id"], "elements": [], "source": self.book.path.name}
        self.result.sections["systems"].append(system)
        self.result.review("system", system, "the record names no systems: one system stands for all of them; "
                                             "split it into the real ones")
        for sheet in self.book.sheets:
            for row, values in sheet.rows:
                self.row(sheet, row, values, me, system)
        system["elements"] = unique(system["elements"])
        if not self.result.sections["purposes"]:
            raise ImportError_(f"{self.book.path.name}: the record has no processing activity (no row with a purpose)")
        return self.result

    def row(self, sheet: Sheet, row: int, values: dict[str, Any], me: dict[str, Any], system: dict[str, Any]) -> None:
        purpose_text = text(values.get("purpose"))
        if not purpose_text:
            filled = [v for v in values.values() if not is_none(v)]
            if len(filled) == 1 and isinstance(filled[0], str) and len(filled[0]) > 40:
                return  # a note across the table ("No processing on behalf of other controllers: …")
            if filled:
                raise ImportError_(f"{where(self.book, sheet, row, 'purpose')}: empty, but the row has other "
                                   "values: every processing activity needs its purpose")
            return
        at = f"{self.book.path.name}: {sheet.name} row {row}"
        name = purpose_text
        description = None
        if self.book.flowaudit and ": " in purpose_text:  # the report writes "name: description"
            name, description = purpose_text.split(": ", 1)
        given_id = text(values.get("purpose_id"))
        valid_id = given_id and re.fullmatch(r"[a-z0-9][a-z0-9._-]*", given_id)
        pid = self.ids.take(given_id if valid_id else slug(name, "purpose"))
        purpose: dict[str, Any] = {"id": pid, "name": name[:200],
                                   "business_function": text(values.get("business_function")) or None, "source": at}
        if len(name) > 200 or description:
            purpose["description"] = description or name
        notes: list[str] = []
        self.result.sections["purposes"].append(purpose)
        if sheet.processor:
            purpose["role"] = "processor"
            owner = text(values.get("controller"))
            if owner:
                code = address_country(owner) or None
                org = self.org("third-party", owner.split(",")[0].strip(), code, me, at)
                purpose["on_behalf_of"] = org["id"]
        if "basis" in values and not sheet.processor:
            basis = legal_basis(values["basis"])
            if basis:
                purpose["legal_basis"] = basis
            elif not is_none(values["basis"]):
                notes.append(f"Art. 6 basis as written: {text(values['basis'])}")
                self.result.review("purpose", purpose, f"lawful basis {text(values['basis'])!r} not understood "
                                                       f"({where(self.book, sheet, row, 'basis')})")
        if "special" in values:
            cond = special_condition(values["special"])
            if cond:
                purpose["special_condition"] = cond
            elif not is_none(values["special"]) and not text(values["special"]).lower().startswith("missing"):
                notes.append(f"Art. 9 condition as written: {text(values['special'])}")
                self.result.review("purpose", purpose, f"Art. 9 condition {text(values['special'])!r} not understood")
        if "retention" in values and not is_none(values["retention"]):
            period = retention_period(text(values["retention"]))
            if period:
                purpose["retention"] = period
            else:
                notes.append(f"retention as written: {text(values['retention'])}")
                self.result.review("purpose", purpose, f"retention {text(values['retention'])!r} is not a period "
                                                       f"({where(self.book, sheet, row, 'retention')})")
        adm = text(values.get("adm")).lower()
        if re.search(r"profiling\s*:\s*yes|\bprofiling\b(?!\s*:\s*no)", adm) and "no profiling" not in adm:
            purpose["profiling"] = True
        if re.search(r"automated decisions?\s*:\s*yes", adm):
            purpose["automated_decisions"] = True
        dpia = a_date(values.get("dpia"))
        if dpia:
            purpose["dpia"] = {"date": dpia}
        subjects = [self.subject(s) for s in items(values.get("subjects"))]
        purpose["subjects"] = subjects
        elements = [self.element(c, n, subjects, at) for c, n in data_items(values.get("data"))]
        purpose["elements"] = unique(elements)
        system["elements"] += elements
        if not elements:
            self.result.review("purpose", purpose, "no categories of personal data")
        for s in subjects:
            if elements:
                self.flow(s, system["id"], elements, pid, at, None)
        security = text(values.get("security"))
        if security and not is_none(security):
            from .fides_in import _SECURITY_WORDS

            measures = [m for pattern, m in _SECURITY_WORDS if re.search(pattern, security.lower())]
            system["security"] = unique([*system.get("security", []), *measures])
            system["notes"] = _join(system.get("notes"), f"security ({purpose['id']}): {security}")
        countries, unknown = countries_in(text(values.get("countries")))
        countries = [c for c in countries if c not in ("EU", "EEA")]
        for u in unknown:
            notes.append(f"third country as written: {u}")
            self.result.review("purpose", purpose, f"third country {u!r} not understood "
                                                   f"({where(self.book, sheet, row, 'countries')})")
        safeguard_text = text(values.get("safeguards"))
        mech = mechanisms(safeguard_text)
        if safeguard_text and not is_none(safeguard_text) and not mech:
            notes.append(f"safeguards as written: {safeguard_text}")
            self.result.review("purpose", purpose, f"safeguard {safeguard_text!r} not understood")
        receivers = []
        for relation, rname, rcountry in recipients(values.get("recipients")):
            if not rcountry and len(countries) == 1 and relation not in ("processor", "sub-processor"):
                rcountry = None
            receivers.append(self.org(relation, rname, rcountry, me, at))
        placed = {o["country"] for o in receivers}
        for code in countries:
            if code not in placed:
                receivers.append(self.org(None, f"Recipients in {code}", code, me, at))
        for org in receivers:
            transfer = {"mechanism": mech[0]} if mech and org["country"] != me["country"] else None
            self.flow(system["id"], org["id"], elements, pid, at, transfer)
        joint = text(values.get("joint_controller"))
        if joint and not is_none(joint):
            org = self.org("joint-controller", joint.split(",")[0].strip(), address_country(joint), me, at)
            org["relation"] = "joint-controller"
        for key, label in (("contract", "processor contract"), ("legit", "legitimate interests"),
                           ("source", "source"), ("location", "location")):
            value = text(values.get(key))
            if value and not is_none(value) and not (key == "legit" and value == purpose.get("description")):
                notes.append(f"{label}: {value}")
        if notes:
            purpose["notes"] = _join(purpose.get("notes"), "; ".join(notes))

    def flow(self, src: str, dst: str, elements: list[str], purpose: str, at: str,
             transfer: dict[str, Any] | None) -> None:
        if not elements:
            return
        for f in self.result.sections["flows"]:
            if f["from"] == src and f["to"] == dst:
                f["elements"] = unique([*f["elements"], *elements])
                f["purposes"] = unique([*f["purposes"], purpose])
                if transfer and not f.get("transfer"):
                    f["transfer"] = transfer
                return
        entry: dict[str, Any] = {"id": self.ids.take(f"{src}-to-{dst}"), "from": src, "to": dst,
                                 "elements": list(elements), "purposes": [purpose], "source": at}
        if transfer:
            entry["transfer"] = transfer
        self.result.sections["flows"].append(entry)


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b
