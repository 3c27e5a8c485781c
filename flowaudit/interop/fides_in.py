"""`flowaudit import fides`: fideslang manifests into inventory YAML.

A manifest is a YAML (or JSON) file, or a folder of them, holding `system`, `dataset`,
`organization` and `policy` documents and taxonomy extensions (`data_category`, `data_use`,
`data_subject`). How they become an inventory:

- the `organization` fills `self`: its controller's name and contact, the data protection
  officer, the representative; the country is read from the controller's address (or
  `--country`);
- each system becomes a system operated by `self` (or by the vendor its `legal_name` and
  `legal_address` name, a new organisation marked for review);
- privacy declarations become purposes (one per declaration name and data use, merged across
  systems): `legal_basis_for_processing`, `special_category_legal_basis`, `retention_period`,
  and a legal basis where the data use itself states one (`essential.legal_obligation`);
- data categories become elements, filed under SPEC's categories by the data file
  `flowaudit.data/mappings/fideslang.yaml`; `user.childrens` marks the data subjects as
  children; `system.*` is not personal data;
- data subjects become subjects; datasets (`dataset_references`) give the elements a system
  stores; `egress`/`ingress` become flows; a system with no ingress at all gets collection
  flows from the data subjects it declares (marked for review);
- `third_country_transfers` (fideslang 1.x) and `legal_basis_for_transfers` become a flow to
  a recipient in each country with its mechanism; `dpa_location`, `dpo`,
  `data_security_practices` and other free text are kept in notes.

Policies are not imported: flowaudit's rule catalogue takes their place (listed in the report).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from .common import (
    ImportError_,
    ImportResult,
    Ids,
    address_country,
    countries_in,
    country_code,
    key_id,
    mapping,
    retention_period,
    slug,
    unique,
)

ORG_TAG = "flowaudit:organisation"
_YAML_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x the pure-Python reader
DOCUMENT_KINDS = ("organization", "system", "dataset", "policy", "data_category", "data_use", "data_subject",
                  "registry", "evaluation")
_SECURITY_WORDS = (
    (r"\btls\b|\bssl\b|https|encrypt\w* in transit", "tls"),
    (r"encrypt\w* at rest|at-rest encryption|disk encryption", "encryption-at-rest"),
    (r"access control|\brbac\b|least privilege", "access-control"),
    (r"\blogging\b|audit log", "logging"),
    (r"\bbackups?\b", "backup"),
    (r"pseudonymi[sz]", "pseudonymisation"),
    (r"password hash|hashed password|bcrypt|argon2|scrypt", "password-hashing"),
)


def read_manifests(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """The documents of a manifest file or folder: (file name, document) pairs, and the files read."""
    if not path.exists():
        raise ImportError_(f"{path}: no such file or directory")
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.suffix.lower() in (".yml", ".yaml", ".json") and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts))
    docs: list[tuple[str, dict[str, Any]]] = []
    names: list[str] = []
    for file in files:
        name = file.name if path.is_file() else file.relative_to(path).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix.lower() == ".json" else yaml.load(text, Loader=_YAML_LOADER)
        except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportError_(f"{file}: not a YAML/JSON file: {exc}") from None
        if data is None:
            continue
        if not isinstance(data, dict) or not any(k in data for k in DOCUMENT_KINDS):
            if path.is_file():
                raise ImportError_(f"{file}: not a fideslang manifest: expected top-level keys among "
                                   f"{', '.join(DOCUMENT_KINDS[:4])}")
            continue  # a folder may hold other YAML (docker-compose, config)
        docs.append((name, data))
        names.append(name)
    if not docs:
        raise ImportError_(f"{path}: no fideslang manifest found (YAML files with top-level `system`, "
                           "`dataset`, `organization` or `policy`)")
    return docs, names


def _list(file: str, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ImportError_(f"{file}: {key}: expected a list of mappings")
    return value


def _need(file: str, where: str, item: dict[str, Any], key: str) -> Any:
    if not item.get(key):
        raise ImportError_(f"{file}: {where}: missing `{key}`")
    return item[key]


class _Importer:
    def __init__(self, docs: list[tuple[str, dict[str, Any]]], country: str | None):
        self.docs = docs
        self.country = country
        self.map = mapping("fideslang")
        self.result = ImportResult(title="import fides")
        self.ids = Ids()
        self.by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for file, doc in docs:
            for key in doc:
                if key in DOCUMENT_KINDS:
                    for item in _list(file, doc, key):
                        self.by_kind[key].append((file, item))
                else:
                    self.result.skipped.append(f"{file}: top-level key `{key}` (not a fideslang resource)")
        self.custom_categories = self._custom("data_category")
        self.custom_subjects = self._custom("data_subject")
        self.custom_uses = self._custom("data_use")
        self.elements: dict[str, dict[str, Any]] = {}  # fides category key -> element entry
        self.subjects: dict[str, dict[str, Any]] = {}  # fides subject key -> subject entry
        self.children_subjects: set[str] = set()
        self.datasets: dict[str, tuple[str, dict[str, Any]]] = {}
        self.system_ids: dict[str, str] = {}  # fides key -> inventory id

    # --- taxonomy -------------------------------------------------------------------------

    def _custom(self, kind: str) -> dict[str, dict[str, Any]]:
        """The manifest's own resources of one taxonomy kind, by fides key."""
        return {str(i["fides_key"]): i for _, i in self.by_kind[kind] if i.get("fides_key")}

    def _category_rule(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The data file's rule for a category key: longest dotted prefix, through a custom
        category's parents and legacy keys."""
        rules = self.map["data_categories"]
        seen: set[str] = set()
        current: str | None = self.map["legacy_data_categories"].get(key, key)
        while current and current not in seen:
            seen.add(current)
            parts = current.split(".")
            for n in range(len(parts), 0, -1):
                prefix = ".".join(parts[:n])
                if prefix in rules:
                    return prefix, rules[prefix]
                if prefix in self.map["legacy_data_categories"]:
                    return self._category_rule(self.map["legacy_data_categories"][prefix])
            custom = self.custom_categories.get(current)
            current = str(custom["parent_key"]) if custom and custom.get("parent_key") else None
        return None

    def element_for(self, key: str, where: str) -> str | None:
        """The element id for a fideslang data category (created on first use); None when the
        category is not personal data or marks children."""
        key = str(key)
        if key in self.elements:
            return self.elements[key]["id"]
        found = self._category_rule(key)
        custom = self.custom_categories.get(key)
        if found is None:
            entry: dict[str, Any] = {"id": self.ids.take(key_id(key.removeprefix("user.").replace(".", "-"))),
                                     "name": (custom or {}).get("name") or key, "category": "content", "subjects": [],
                                     "source": f"fideslang data category {key}"}
            self.elements[key] = entry
            self.result.sections["elements"].append(entry)
            self.result.review("element", entry, f"fideslang category `{key}` ({where}) is not in the mapping; "
                                                 "filed as content")
            return entry["id"]
        matched, rule = found
        if rule.get("personal") is False:
            self.result.skipped.append(f"data category `{key}` ({where}): not personal data")
            self.elements[key] = {"id": None}
            return None
        if rule.get("children"):
            return None
        if custom is not None:
            # a manifest's own category (e.g. written by `flowaudit export fides`): its last
            # segment is the element's id, its name the element's name
            ident = _tag_id(custom) or key_id(key.rsplit(".", 1)[-1])
            name = custom.get("name") or key
        else:
            if key == "user":
                ident = "user-data"
            else:
                ident = key_id(key.removeprefix("user.").replace(".", "-").replace("_", "-"))
            name = self.map["data_category_names"].get(key) or _title(key)
        entry = {"id": self.ids.take(ident), "name": name, "category": rule["category"]}
        if rule.get("identifier"):
            entry["identifier"] = rule["identifier"]
        if rule.get("state"):
            entry["state"] = rule["state"]
        entry["subjects"] = []
        entry["source"] = f"fideslang data category {key}" + (f" (filed as {matched})" if matched != key else "")
        if custom is not None and custom.get("description"):
            entry["notes"] = str(custom["description"])
        self.elements[key] = entry
        self.result.sections["elements"].append(entry)
        if rule.get("review"):
            self.result.review("element", entry, rule["review"])
        return entry["id"]

    def marks_children(self, key: str) -> bool:
        found = self._category_rule(str(key))
        return bool(found and found[1].get("children"))

    def subject_for(self, key: str) -> str:
        key = str(key)
        if key in self.subjects:
            return self.subjects[key]["id"]
        custom = self.custom_subjects.get(key, {})
        name = custom.get("name") or self.map["data_subjects"].get(key) or _title(key)
        entry: dict[str, Any] = {"id": self.ids.take(_tag_id(custom) or key_id(key.replace("_", "-"))), "name": name,
                                 "locations": [], "source": f"fideslang data subject {key}"}
        self.subjects[key] = entry
        self.result.sections["subjects"].append(entry)
        for tag in custom.get("tags") or []:  # written by `export fides`
            if str(tag).startswith("flowaudit:locations:"):
                entry["locations"] = [c for c in str(tag).split(":", 2)[2].split(",") if c]
        if entry["locations"]:
            return entry["id"]
        self.result.review("subject", entry, "fideslang does not record where data subjects live: add `locations` "
                                             "(they decide which regimes apply)")
        return entry["id"]

    # --- organisation ---------------------------------------------------------------------

    def organisation(self) -> dict[str, Any]:
        orgs = self.by_kind["organization"]
        if len(orgs) > 1:
            for file, extra in orgs[1:]:
                self.result.skipped.append(f"{file}: organization `{extra.get('fides_key')}` (only the first "
                                           "organisation becomes `self`)")
        file, org = orgs[0] if orgs else ("", {})
        key = str(org.get("fides_key") or self._system_org_key() or "default_organization")
        controller = org.get("controller") or {}
        country = address_country(controller.get("address")) or self.country
        entry: dict[str, Any] = {"id": self.ids.take(_tag_id(org) or key_id(key.replace("_", "-"))),
                                 "name": org.get("name") or controller.get("name") or _title(key),
                                 "country": country or "", "relation": "self"}
        contact = _contact(controller)
        if contact:
            entry["contact"] = contact
        dpo = org.get("data_protection_officer") or {}
        if dpo.get("name") or dpo.get("email"):
            entry["dpo"] = {k: str(dpo[k]) for k in ("name", "email") if dpo.get(k)}
        rep = org.get("representative") or {}
        if rep.get("name"):
            rep_country = address_country(rep.get("address"))
            if rep_country:
                entry["representative"] = {"name": str(rep["name"]), "country": rep_country}
            else:
                self.result.review("organisation", entry, f"representative {rep['name']!r}: no country could be "
                                                          f"read from the address {rep.get('address')!r}")
        if org.get("description"):
            entry["notes"] = str(org["description"])
        entry["source"] = f"fideslang organization {key}" + (f" ({file})" if file else "")
        if not country:
            where = f"{file}: organization.controller.address" if orgs else "the manifest has no `organization`"
            raise ImportError_(f"{where}: no country could be read for the controller; pass --country CC "
                               "(ISO 3166-1 alpha-2, where the controller is established)")
        if not controller.get("address") and country == self.country:
            entry["source"] += "; country from --country"
        self.result.sections["organisations"].append(entry)
        if org.get("security_policy"):
            entry["notes"] = _join(entry.get("notes"), f"security policy: {org['security_policy']}")
        return entry

    def _system_org_key(self) -> str | None:
        for _, system in self.by_kind["system"]:
            if system.get("organization_fides_key"):
                return str(system["organization_fides_key"])
        return None

    # --- systems, purposes, flows ---------------------------------------------------------

    def run(self) -> ImportResult:
        me = self.organisation()
        for file, ds in self.by_kind["dataset"]:
            key = str(_need(file, "dataset", ds, "fides_key"))
            self.datasets[key] = (file, ds)
        for file, policy in self.by_kind["policy"]:
            self.result.skipped.append(f"{file}: policy `{policy.get('fides_key')}` ({len(policy.get('rules') or [])} "
                                       "rules): flowaudit's rule catalogue takes the place of Fides policies")
        for kind in ("registry", "evaluation"):
            for file, item in self.by_kind[kind]:
                self.result.skipped.append(f"{file}: {kind} `{item.get('fides_key')}`")
        systems = self.by_kind["system"]
        for file, system in systems:
            key = str(_need(file, "system", system, "fides_key"))
            if key in self.system_ids:
                raise ImportError_(f"{file}: system {key}: fides_key used twice")
            if ORG_TAG in (system.get("tags") or []):
                continue  # an organisation with no modelled system (written by `export fides`)
            self.system_ids[key] = self.ids.take(_tag_id(system) or key_id(key.replace("_", "-")))
        purposes: dict[tuple[str, str], dict[str, Any]] = {}
        declared: dict[str, list[tuple[dict[str, Any], list[str], list[str], bool, dict[str, Any]]]] = defaultdict(list)
        stored: dict[str, list[str]] = {}
        vendors: dict[str, dict[str, Any]] = {}
        for file, system in systems:
            key = str(system["fides_key"])
            if ORG_TAG in (system.get("tags") or []):
                org = self._vendor(system, me, vendors, None)
                self.system_ids[key] = org["id"]
                sid = org["id"]
                entry = {}
            else:
                sid = self.system_ids[key]
                entry = {"id": sid, "name": system.get("name") or _title(key), "operator": me["id"]}
                entry["source"] = f"fideslang system {key} ({file})"
                self.result.sections["systems"].append(entry)
                operator = self._vendor(system, me, vendors, entry)
                entry["operator"] = operator["id"]
            for i, decl in enumerate(system.get("privacy_declarations") or []):
                where = f"{file}: system {key}: privacy_declarations[{i}]"
                if not isinstance(decl, dict):
                    raise ImportError_(f"{where}: expected a mapping")
                use = str(_need(file, f"system {key}: privacy_declarations[{i}]", decl, "data_use"))
                categories = [str(c) for c in decl.get("data_categories") or []]
                subject_ids = [self.subject_for(s) for s in decl.get("data_subjects") or []]
                children = any(self.marks_children(c) for c in categories)
                element_ids = unique(self.element_for(c, where) for c in categories)
                purpose = self._purpose(purposes, decl, use, system, where)
                purpose["elements"] = unique([*purpose["elements"], *element_ids])
                purpose["subjects"] = unique([*purpose["subjects"], *subject_ids])
                if children:
                    self.children_subjects.update(subject_ids)
                for e in element_ids:
                    el = next(x for x in self.result.sections["elements"] if x["id"] == e)
                    el["subjects"] = unique([*el.get("subjects", []), *subject_ids])
                declared[sid].append((purpose, element_ids, subject_ids, children, decl))
                for ref in decl.get("dataset_references") or []:
                    stored.setdefault(sid, [])
                    stored[sid] = unique([*stored[sid], *self._dataset_elements(str(ref), where, subject_ids)])
            for ref in system.get("dataset_references") or []:
                from_dataset = self._dataset_elements(str(ref), f"{file}: system {key}", [])
                stored[sid] = unique([*stored.get(sid, []), *from_dataset])
            if not entry:
                continue
            if sid in stored:
                entry["elements"] = stored[sid]
            self._system_extras(system, entry, file)
        for sub in self.subjects.values():
            if sub["id"] in self.children_subjects:
                sub["children"] = True
                self.result.review("subject", sub, "declared with `user.childrens`: set `youngest` (the age of the "
                                                   "youngest) for the age-of-consent rules")
        for ds_key, (file, _) in self.datasets.items():
            if not any(ds_key in (s.get("dataset_references") or []) or any(
                    ds_key in (d.get("dataset_references") or []) for d in s.get("privacy_declarations") or [])
                    for _, s in systems):
                # a dataset no system references: its elements are still personal data the
                # organisation holds; import them and say so
                self._dataset_elements(ds_key, file, [])
                self.result.reviews.append(_review("—", ds_key, f"dataset `{ds_key}` ({file}) is referenced by no "
                                                                "system: its elements are stored nowhere"))
        self._flows(systems, declared, me)
        for entry in self.result.sections["elements"]:
            entry["subjects"] = sorted(entry.get("subjects", []))
        self.result.sections["elements"] = [e for e in self.result.sections["elements"] if e.get("id")]
        return self.result

    def _vendor(self, system: dict[str, Any], me: dict[str, Any], vendors: dict[str, dict[str, Any]],
                entry: dict[str, Any] | None) -> dict[str, Any]:
        tagged = _operator_tag(system)
        if tagged is not None:  # written by `export fides`: the organisation's id and relation
            ident, relation = tagged
            if ident == me["id"]:
                return me
            if ident not in vendors:
                vendors[ident] = {"id": self.ids.take(ident), "name": str(system.get("legal_name") or ident),
                                  "country": address_country(system.get("legal_address")) or me["country"],
                                  "relation": relation, "source": f"fideslang system {system.get('fides_key')}"}
                self.result.sections["organisations"].append(vendors[ident])
            return vendors[ident]
        legal_name = system.get("legal_name")
        if not legal_name or str(legal_name).strip().lower() == str(me["name"]).strip().lower():
            return me
        name = str(legal_name).strip()
        if name in vendors:
            return vendors[name]
        country = address_country(system.get("legal_address"))
        responsibility = [str(r) for r in system.get("responsibility") or []]
        relation = "sub-processor" if "Sub-Processor" in responsibility else (
            "processor" if "Processor" in responsibility or not responsibility else "third-party")
        org: dict[str, Any] = {"id": self.ids.take(slug(name, "vendor")), "name": name,
                               "country": country or me["country"], "relation": relation,
                               "source": f"fideslang system {system.get('fides_key')}: legal_name"}
        if system.get("legal_address"):
            org["contact"] = str(system["legal_address"])
        vendors[name] = org
        self.result.sections["organisations"].append(org)
        what = f"operator of system {entry['id'] if entry else '?'} from its legal_name; relation {relation} assumed"
        if not country:
            what += f"; no country in legal_address {system.get('legal_address')!r}, the controller's used"
        self.result.review("organisation", org, what)
        return org

    def _purpose(self, purposes: dict[tuple[str, str], dict[str, Any]], decl: dict[str, Any], use: str,
                 system: dict[str, Any], where: str) -> dict[str, Any]:
        name = str(decl.get("name") or "").strip()
        found = purposes.get((name, use))
        if found is None:
            use_info = self._use_rule(use)
            use_name = ((self.custom_uses.get(use) or {}).get("name") or self.map["data_use_names"].get(use)
                        or _title(use))
            ident = _tag_id(self.custom_uses.get(use)) or (
                key_id(name) if name and re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name) else slug(name or use, "purpose"))
            found = {"id": self.ids.take(ident), "name": name or use_name,
                     "description": f"fideslang data use {use}" + (f" ({use_name})" if name else ""),
                     "business_function": system.get("administrating_department") or None,
                     "legal_basis": None, "special_condition": None, "elements": [], "subjects": [],
                     "retention": None, "profiling": bool(use_info.get("profiling")) or None,
                     "source": f"fideslang privacy declaration ({where.split(': ')[0]})"}
            purposes[(name, use)] = found
            self.result.sections["purposes"].append(found)
            basis = decl.get("legal_basis_for_processing")
            if basis:
                mapped = self.map["legal_basis"].get(str(basis))
                if mapped:
                    found["legal_basis"] = mapped
                else:
                    self.result.review("purpose", found,
                                       f"legal_basis_for_processing {basis!r} is not a GDPR Art. 6 basis")
            elif use_info.get("legal_basis"):
                found["legal_basis"] = use_info["legal_basis"]
            else:
                self.result.review("purpose", found, f"no legal basis: the declaration states none and data use "
                                                     f"`{use}` implies none")
            special = decl.get("special_category_legal_basis")
            if special:
                mapped = self.map["special_category_legal_basis"].get(str(special))
                if mapped:
                    found["special_condition"] = mapped
                else:
                    self.result.review("purpose", found, f"special_category_legal_basis {special!r} not understood")
            retention = decl.get("retention_period")
            if retention:
                period = retention_period(str(retention))
                if period:
                    found["retention"] = period
                else:
                    self.result.review("purpose", found, f"retention_period {retention!r} is not a period")
            if decl.get("impact_assessment_location"):
                found["notes"] = _join(found.get("notes"), f"impact assessment: {decl['impact_assessment_location']}")
                self.result.review("purpose", found, "an impact assessment is referenced: record its date as `dpia`")
            if decl.get("data_shared_with_third_parties") and decl.get("third_parties"):
                found["notes"] = _join(found.get("notes"), f"shared with third parties: {decl['third_parties']}")
                self.result.review("purpose", found, f"shared with {decl['third_parties']!r}: model the recipients "
                                                     "as organisations and flows")
        elif found.get("business_function") != system.get("administrating_department") and system.get(
                "administrating_department"):
            found["business_function"] = found.get("business_function") or system.get("administrating_department")
        if system.get("uses_profiling"):
            found["profiling"] = True
        return found

    def _use_rule(self, use: str) -> dict[str, Any]:
        rules = self.map["data_uses"]
        current: str | None = use
        seen: set[str] = set()
        while current and current not in seen:
            seen.add(current)
            parts = current.split(".")
            for n in range(len(parts), 0, -1):
                if ".".join(parts[:n]) in rules:
                    return rules[".".join(parts[:n])]
            custom = self.custom_uses.get(current)
            current = str(custom["parent_key"]) if custom and custom.get("parent_key") else None
        return {}

    def _dataset_elements(self, key: str, where: str, subject_ids: list[str]) -> list[str]:
        if key not in self.datasets:
            self.result.skipped.append(f"{where}: dataset_references `{key}`: no such dataset in the manifest")
            return []
        file, ds = self.datasets[key]
        found: list[str] = []
        fields_by_element: dict[str, list[str]] = defaultdict(list)

        def visit(categories: Any, path: str) -> None:
            for c in categories or []:
                e = self.element_for(str(c), f"{file}: dataset {key}: {path}")
                if e:
                    found.append(e)
                    fields_by_element[e].append(path)

        visit(ds.get("data_categories"), "(dataset)")
        for coll in ds.get("collections") or []:
            cname = str(coll.get("name", "?"))
            visit(coll.get("data_categories"), cname)

            def fields(items: Any, prefix: str) -> None:
                for fld in items or []:
                    if not isinstance(fld, dict):
                        continue
                    path = f"{prefix}.{fld.get('name', '?')}"
                    visit(fld.get("data_categories"), path)
                    fields(fld.get("fields"), path)

            fields(coll.get("fields"), cname)
        for entry in self.result.sections["elements"]:
            if entry.get("id") in fields_by_element:
                note = f"dataset {key}: " + ", ".join(sorted(set(fields_by_element[entry["id"]]))[:20])
                if note not in entry.get("source", ""):
                    entry["source"] = _join(entry.get("source"), note)
                entry["subjects"] = unique([*entry.get("subjects", []), *subject_ids])
        return unique(found)

    def _system_extras(self, system: dict[str, Any], entry: dict[str, Any], file: str) -> None:
        notes: list[str] = []
        if system.get("description"):
            notes.append(str(system["description"]))
        practices = system.get("data_security_practices")
        if practices:
            text = str(practices).lower()
            measures = [m for pattern, m in _SECURITY_WORDS if re.search(pattern, text)]
            if measures:
                entry["security"] = unique(measures)
            notes.append(f"security practices: {practices}")
        for field_name, label in (("dpa_location", "DPA/DPIA location"), ("dpa_progress", "DPA/DPIA progress"),
                                  ("dpo", "DPO"), ("joint_controller_info", "joint controller"),
                                  ("privacy_policy", "privacy policy"), ("reason_for_exemption", "exempt because")):
            if system.get(field_name):
                notes.append(f"{label}: {system[field_name]}")
        if system.get("joint_controller_info") or system.get("joint_controller"):
            self.result.review("system", entry, "a joint controller is named: model it as an organisation with "
                                                "relation joint-controller and its Art. 26 arrangement")
        if system.get("requires_data_protection_assessments") or system.get("data_protection_impact_assessment"):
            self.result.review("system", entry, "fideslang says a DPIA is required: record its date as `dpia` on the "
                                                "purposes")
        if notes:
            entry["notes"] = _join(entry.get("notes"), "; ".join(notes))

    def _flows(self, systems: list[tuple[str, dict[str, Any]]],
               declared: dict[str, list[tuple[Any, ...]]],
               me: dict[str, Any]) -> None:
        flows: dict[tuple[str, str], dict[str, Any]] = {}
        has_ingress: set[str] = set()
        per_element: dict[str, dict[str, set[str]]] = {}
        receivers: dict[str, set[str]] = {}

        def add(src: str, dst: str, elements: list[str], purposes: list[str], source: str,
                review: str | None = None) -> dict[str, Any] | None:
            # an element must not return to where it came from (the validator refuses a cycle):
            # drop it from the flow that would close one, and say so
            # (only where dst sends the element on and something sends it to src can there be a cycle)
            closing = [e for e in elements if dst in per_element.get(e, {}) and src in receivers.get(e, ())
                       and _reaches(per_element[e], dst, src)]
            if closing:
                elements = [e for e in elements if e not in closing]
                self.result.skipped.append(f"{source}: {src} → {dst}: {', '.join(closing)} left off, it would "
                                           "flow back to where it came from (a cycle)")
            for e in elements:
                per_element.setdefault(e, {}).setdefault(src, set()).add(dst)
                receivers.setdefault(e, set()).add(dst)
            if not elements or src == dst:
                if not elements:
                    self.result.skipped.append(f"{source}: {src} → {dst} carries no personal data category")
                return None
            key = (src, dst)
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = {"id": self.ids.take(f"{src}-to-{dst}"), "from": src, "to": dst,
                                     "elements": [], "purposes": [], "source": source}
                self.result.sections["flows"].append(flow)
                if review:
                    self.result.review("flow", flow, review)
            flow["elements"] = unique([*flow["elements"], *elements])
            flow["purposes"] = unique([*flow["purposes"], *purposes])
            return flow

        def decl_of(sid: str) -> tuple[list[str], list[str], list[str]]:
            entries = declared.get(sid, [])
            return (unique(e for _, els, *_ in entries for e in els), unique(p["id"] for p, *_ in entries),
                    unique(s for _, _, subs, *_ in entries for s in subs))

        def carried(src: str, dst: str, link: dict[str, Any], where: str, src_key: str, dst_key: str
                    ) -> tuple[list[str], list[str], str | None]:
            src_e, src_p, _ = decl_of(src)
            dst_e, _, _ = decl_of(dst)
            if link.get("data_categories"):
                elements = unique(self.element_for(str(c), where) for c in link["data_categories"])
                review = None
            else:
                common = [e for e in src_e if e in dst_e]
                elements = common or src_e  # what the sender declares; nothing when it declares no personal data
                review = ("the manifest names no data categories on this flow: taken from the declarations of both "
                          "systems" if common else "the manifest names no data categories on this flow: taken from "
                          "one system's declarations")
            # declarations that name this flow (their egress/ingress lists of systems) say its
            # purposes; otherwise the receiving system's purposes that use what arrives, else the sender's
            named = [p["id"] for p, _, _, _, d in declared.get(src, []) if dst_key in (d.get("egress") or [])]
            named += [p["id"] for p, _, _, _, d in declared.get(dst, []) if src_key in (d.get("ingress") or [])]
            if named:
                return elements, unique(named), review
            purposes = [p["id"] for p, els, *_ in declared.get(dst, []) if set(els) & set(elements)]
            if not purposes:
                purposes = [p["id"] for p, els, *_ in declared.get(src, []) if set(els) & set(elements)] or src_p
            return elements, unique(purposes), review

        for file, system in systems:
            key = str(system["fides_key"])
            sid = self.system_ids[key]
            for direction in ("egress", "ingress"):
                for i, link in enumerate(system.get(direction) or []):
                    where = f"{file}: system {key}: {direction}[{i}]"
                    if not isinstance(link, dict) or not link.get("fides_key"):
                        raise ImportError_(f"{where}: expected a mapping with `fides_key` and `type`")
                    other_key, kind = str(link["fides_key"]), str(link.get("type", "system"))
                    if kind == "system":
                        other = self.system_ids.get(other_key)
                        if other is None:
                            self.result.skipped.append(f"{where}: system `{other_key}` is not in the manifest")
                            continue
                        src, dst = (sid, other) if direction == "egress" else (other, sid)
                        keys = (key, other_key) if direction == "egress" else (other_key, key)
                        elements, purposes, review = carried(src, dst, link, where, *keys)
                        if add(src, dst, elements, purposes, f"fideslang {direction} ({file})", review):
                            has_ingress.add(dst)
                    elif kind in ("user", "data_subject"):
                        if direction == "egress":
                            self.result.skipped.append(f"{where}: egress to a user (data returned to the data "
                                                       "subject) is not a flow of the inventory")
                            continue
                        has_ingress.add(sid)
                        if other_key in self.custom_subjects or other_key in self.subjects:
                            # ingress from one named data subject, with its data categories
                            subject = self.subject_for(other_key)
                            if link.get("data_categories"):
                                elements = unique(self.element_for(str(c), where) for c in link["data_categories"])
                            else:
                                elements = unique(e for _, els, subs, *_ in declared.get(sid, []) if subject in subs
                                                  for e in els)
                            purposes = unique(p["id"] for p, els, subs, *_ in declared.get(sid, [])
                                              if subject in subs and set(els) & set(elements))
                            add(subject, sid, elements, purposes, f"fideslang ingress from users ({file})")
                        else:
                            self._collect(sid, declared, add, f"fideslang ingress from users ({file})", None)
                    elif kind == "dataset":
                        refs = self._dataset_elements(other_key, where, [])
                        for s in self.result.sections["systems"]:
                            if s["id"] == sid and refs:
                                s["elements"] = unique([*s.get("elements", []), *refs])
                        if direction == "ingress":
                            has_ingress.add(sid)
                    else:
                        self.result.skipped.append(f"{where}: flow of type `{kind}` not understood")
        for file, system in systems:
            sid = self.system_ids[str(system["fides_key"])]
            if ORG_TAG in (system.get("tags") or []):
                continue
            if sid not in has_ingress and declared.get(sid):
                self._collect(sid, declared, add, f"fideslang privacy declarations ({file})",
                              "the manifest names no ingress for this system: assumed collected directly from the "
                              "data subjects it declares")

    def _collect(self, sid: str, declared: dict[str, list[tuple[Any, ...]]],
                 add: Any, source: str, review: str | None) -> None:
        by_subject: dict[str, tuple[list[str], list[str]]] = {}
        for purpose, elements, subjects, *_ in declared.get(sid, []):
            for s in subjects:
                els, ps = by_subject.setdefault(s, ([], []))
                els.extend(elements)
                ps.append(purpose["id"])
        for s in sorted(by_subject):
            els, ps = by_subject[s]
            add(s, sid, unique(els), unique(ps), source, review)


def _tag_id(item: dict[str, Any] | None) -> str | None:
    """The inventory id an entry exported by flowaudit carries in its tags (`flowaudit:<id>`)."""
    for tag in (item or {}).get("tags") or []:
        tag = str(tag)
        if tag.startswith("flowaudit:") and tag.count(":") == 1 and tag != "flowaudit:organisation":
            return tag.split(":", 1)[1]
    return None


def _operator_tag(item: dict[str, Any]) -> tuple[str, str] | None:
    for tag in item.get("tags") or []:
        parts = str(tag).split(":")
        if len(parts) == 4 and parts[:2] == ["flowaudit", "operator"]:
            return parts[2], parts[3]
    return None


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    if start == goal:
        return True
    seen, stack = {start}, [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _review(kind: str, ident: str, what: str) -> Any:
    from .common import Review

    return Review(kind, ident, what)


def _title(key: str) -> str:
    last = str(key).rsplit(".", 1)[-1].replace("_", " ").replace("-", " ").strip()
    return last[:1].upper() + last[1:] if last else str(key)


def _contact(details: dict[str, Any]) -> str:
    parts = [str(details[k]) for k in ("name", "email", "phone", "address") if details.get(k)]
    return ", ".join(parts)


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b


def import_fides(path: str | Path, *, country: str | None = None) -> ImportResult:
    """Read the fideslang manifest(s) at `path` into an `ImportResult` (not yet written).

    Raises `ImportError_` naming the file and key for input that cannot be imported."""
    if country is not None:
        code = country_code(country)
        if not code or len(code) != 2 or code in ("EU",):
            raise ImportError_(f"--country {country!r}: not an ISO 3166-1 alpha-2 country code")
        country = code
    docs, names = read_manifests(Path(path))
    importer = _Importer(docs, country)
    importer.result.sources = names
    result = importer.run()
    _third_countries(importer, docs)
    return result


def _third_countries(importer: _Importer, docs: list[tuple[str, dict[str, Any]]]) -> None:
    """fideslang 1.x `third_country_transfers` (alpha-3 codes) and `legal_basis_for_transfers`:
    a flow from the system to a recipient in each country, with its mechanism."""
    result = importer.result
    me = result.sections["organisations"][0]
    recipients: dict[str, dict[str, Any]] = {}
    for file, system in importer.by_kind["system"]:
        key = str(system["fides_key"])
        sid = importer.system_ids[key]
        if ORG_TAG in (system.get("tags") or []):
            continue
        countries_raw = system.get("third_country_transfers") or []
        bases = [str(b) for b in system.get("legal_basis_for_transfers") or []]
        if not countries_raw and not (system.get("does_international_transfers") or bases):
            continue
        sys_entry = next(s for s in result.sections["systems"] if s["id"] == sid)
        codes, unknown = countries_in(", ".join(str(c) for c in countries_raw))
        codes = [c for c in codes if c not in ("EU", "EEA")]
        for u in unknown:
            result.review("system", sys_entry, f"third_country_transfers {u!r} is not a country")
        if not codes:
            result.review("system", sys_entry, "fideslang says the system transfers data internationally but names no "
                                               "country: add the recipients and flows")
            continue
        mechanisms = unique(importer.map["transfer_bases"].get(b) for b in bases)
        other = [b for b in bases if b not in importer.map["transfer_bases"]]
        elements = sys_entry.get("elements") or unique(
            e for p in result.sections["purposes"] for e in p["elements"]
            if any(f["to"] == sid and p["id"] in f["purposes"] for f in result.sections["flows"]))
        purposes = unique(p for f in result.sections["flows"] if f["to"] == sid for p in f["purposes"])
        for code in codes:
            org = recipients.get(code)
            if org is None:
                org = recipients[code] = {"id": importer.ids.take(f"recipients-{code.lower()}"),
                                          "name": f"Recipients in {code}", "country": code, "relation": "third-party",
                                          "source": f"fideslang third_country_transfers ({file})"}
                result.sections["organisations"].append(org)
                result.review("organisation", org, "fideslang names only the country of these recipients: name them "
                                                    "and set their relation")
            if not elements:
                result.review("system", sys_entry, f"transfers to {code}: no elements known to transfer")
                continue
            flow: dict[str, Any] = {"id": importer.ids.take(f"{sid}-to-{code.lower()}"), "from": sid, "to": org["id"],
                                    "elements": list(elements), "purposes": list(purposes),
                                    "source": f"fideslang third_country_transfers ({file})"}
            if mechanisms:
                flow["transfer"] = {"mechanism": mechanisms[0]}
                if "Supplementary Measures" in bases:
                    flow["transfer"]["measures"] = ["supplementary-measures"]
            result.sections["flows"].append(flow)
            why = f"a transfer to {code} from third_country_transfers"
            if len(mechanisms) > 1:
                why += f"; bases {', '.join(bases)}: only {mechanisms[0]} recorded"
            leftover = [b for b in other if b != "Supplementary Measures"]
            if leftover:
                why += f"; legal_basis_for_transfers {', '.join(leftover)} not understood"
            result.review("flow", flow, why)
    del me
