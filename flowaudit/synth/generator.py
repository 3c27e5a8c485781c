"""The generator: draws a group, its teams, systems, purposes and flows from the vocabulary,
with a small share of faults so that every rule has something to find, and writes it as YAML."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowaudit.synth.jurisdictions import Jurisdictions, jurisdictions
from flowaudit.synth.model import Element, Org, Purpose, System
from flowaudit.synth.vocabulary import (
    AFFILIATES,
    APPROVERS,
    BCR_GROUP,
    BRAND_A,
    BRAND_B,
    CONTROLLER_ID,
    DERIVED_NOTE,
    DEROGATIONS,
    DOMAIN_PREFIX,
    DOMAIN_WEIGHTS,
    ELEMENTS,
    LEGAL_FORM,
    MEASURES,
    PARTNER_KINDS,
    PROCESSOR_COUNTRIES,
    PROCESSOR_SEED_COUNTRIES,
    PURPOSES,
    RECIPIENTS,
    REGION_LABEL,
    REGION_SUBJECTS,
    REGIONS,
    RETENTIONS,
    SECURITY_EXTRA,
    SERVICES,
    SPECIAL_CONDITIONS,
    SUBJECTS,
    SUBPROCESSOR_COUNTRIES,
    SYSTEM_COUNTRIES,
    SYSTEM_DOMAIN,
    SYSTEM_KINDS,
    THIRD_PARTY_KINDS,
    TIER_WEIGHTS,
    WAIVER_REASONS,
    PurposeTemplate,
)
from flowaudit.synth.logs import organisation_endpoints, system_endpoints
from flowaudit.synth.yamltext import _cc, _list, _q

__all__ = ["synthesize"]


def _date(rng: random.Random, start: str, end: str) -> str:
    a = dt.date.fromisoformat(start).toordinal()
    b = dt.date.fromisoformat(end).toordinal()
    return dt.date.fromordinal(rng.randint(a, b)).isoformat()


def _round2(n: float) -> int:
    """Two significant figures, as people write volumes."""
    n = int(n)
    if n < 100:
        return max(1, n)
    digits = len(str(n)) - 2
    return round(n, -digits)


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Activity:
    """One processing activity's flows being made: its pipeline and what each system holds."""

    pi: int
    p: Purpose
    members: list[int]  # the pipeline's systems, by rank
    entries: list[int]  # where collection lands
    derived: list[int]
    plain: list[int]
    by_subject: dict[int, list[int]]
    subjects: list[int]
    budget: int  # internal flows still to make
    need: set[int]  # the elements the activity needs (an element beyond them is a MIN-002 fault)
    holdings: dict[int, set[int]] = field(default_factory=dict)
    pairs: set[tuple[int, int]] = field(default_factory=set)
    holders: list[int] = field(default_factory=list)


class _Synth:
    def __init__(self, flows: int, seed: int) -> None:
        if flows < 0:
            raise ValueError("flows must be >= 0")
        self.rng = random.Random(seed)
        self.law: Jurisdictions = jurisdictions()
        self.n_flows = flows
        self.orgs: list[Org] = []
        self.subjects = SUBJECTS
        self.subject_index = {s[0]: i for i, s in enumerate(SUBJECTS)}
        self.elements: list[Element] = []
        self.purposes: list[Purpose] = []
        self.systems: list[System] = []
        self.flow_text: list[list[str]] = []  # per team
        self.flow_seq = 0
        self.crossing = 0
        self.transfers = 0
        self.faults: dict[str, list[str]] = {}

    # -- organisations -------------------------------------------------------------------------

    def _fault(self, rule: str, subject: str) -> None:
        self.faults.setdefault(rule, []).append(subject)

    def _brand(self, used: set[str], country: str, suffix: str = "") -> tuple[str, str]:
        rng = self.rng
        while True:
            brand = rng.choice(BRAND_A) + rng.choice(BRAND_B)
            slug = f"{brand.lower()}{suffix}-{country.lower()}"
            if slug not in used:
                used.add(slug)
                label = " " + suffix.strip("-").replace("-", " ").title() if suffix else ""
                return slug, f"{brand}{label} {LEGAL_FORM.get(country, 'Ltd')}"

    def make_organisations(self) -> None:
        rng, n = self.rng, self.n_flows
        self.orgs.append(Org(CONTROLLER_ID, "Norda Group SE", "DE", "self", [
            '  contact: "Norda Group SE, Privacy Office, Leopoldstrasse 1, 80802 Muenchen, privacy@norda.example"',
            '  dpo: {name: "Dr. Lena Vogt", email: "dpo@norda.example"}',
            f"  bcr_group: {_q(BCR_GROUP)}",
        ], bcr=True))
        for cc, name, bcr in AFFILIATES:
            org = Org(f"norda-{cc.lower()}", name, cc, "affiliate",
                      [f'  contact: "privacy.{cc.lower()}@norda.example"'], bcr=bcr)
            if bcr:
                org.lines.append(f"  bcr_group: {_q(BCR_GROUP)}")
            if cc == "US":
                org.dpf = org.uk_ext = True
                org.lines.append("  certifications: [eu-us-dpf, uk-us-extension, swiss-us-dpf]")
            self.orgs.append(org)
        used = {o.id for o in self.orgs} | {r[0] for r in RECIPIENTS}

        n_proc = max(12, min(150, n // 800))
        n_sub = max(5, min(70, n // 1500))
        self.processors: list[int] = []
        self.sub_processors: list[int] = []
        for _ in range(n_sub):
            cc = _weighted(rng, SUBPROCESSOR_COUNTRIES)
            slug, name = self._brand(used, cc)
            org = Org(slug, name, cc, "sub-processor", [f'  contact: "privacy@{slug}.example"'])
            self._processor_terms(org, sub=True)
            self.sub_processors.append(len(self.orgs))
            self.orgs.append(org)
        for i in range(n_proc):
            if i < len(PROCESSOR_SEED_COUNTRIES):
                cc = PROCESSOR_SEED_COUNTRIES[i]
            else:
                cc = _weighted(rng, PROCESSOR_COUNTRIES)
            slug, name = self._brand(used, cc)
            org = Org(slug, name, cc, "processor", [f'  contact: "privacy@{slug}.example"',
                                                      f'  notes: {_q("provides " + rng.choice(SERVICES))}'])
            self._processor_terms(org, sub=False)
            self.processors.append(len(self.orgs))
            self.orgs.append(org)
        # Processors that host systems, and those that only receive disclosures (no modelled system).
        self.hosting_processors = [p for k, p in enumerate(self.processors) if k < 12 or rng.random() < 0.85]
        hosting = set(self.hosting_processors)
        self.service_processors = [p for p in self.processors if p not in hosting]
        for p in self.hosting_processors:
            if rng.random() < 0.7:
                k = rng.randint(1, min(3, len(self.sub_processors)))
                self.orgs[p].subprocessors = sorted(rng.sample(self.sub_processors, k))
        self.proc_by_country: dict[str, list[int]] = {}
        for p in self.hosting_processors:
            self.proc_by_country.setdefault(self.orgs[p].country, []).append(p)

        self.recipients: dict[str, list[int]] = {"joint-controller": [], "partner": [], "third-party": [],
                                                 "authority": [], "processor": self.service_processors}
        for rid, name, cc, rel in RECIPIENTS:
            org = Org(rid, name, cc, rel)
            if rel == "authority":
                org.lines.append("  public_body: true")
            else:
                org.lines.append(f'  contact: "privacy@{rid}.example"')
                if rng.random() < 0.7:
                    org.lines.append(f"  arrangement: {{signed: {_date(rng, '2019-01-01', '2026-06-30')}}}")
                else:
                    org.arrangement = False
                    self._fault("TPX-005", rid)
            self.recipients[rel].append(len(self.orgs))
            self.orgs.append(org)
        n_partner = max(4, min(30, n // 5000))
        for i in range(n_partner):
            kind, rel = PARTNER_KINDS[i % len(PARTNER_KINDS)]
            cc = rng.choice(["DE", "FR", "IT", "ES", "GB", "US", "BR", "IN", "JP", "AE", "ZA", "TR", "CN"])
            slug, name = self._brand(used, cc, "-" + kind.lower())
            self.recipients[rel].append(len(self.orgs))
            self.orgs.append(Org(slug, name, cc, rel, [f'  contact: "partners@{slug}.example"']))
        n_third = max(6, min(40, n // 4000))
        for i in range(n_third):
            kind, cc = THIRD_PARTY_KINDS[i % len(THIRD_PARTY_KINDS)]
            if i >= len(THIRD_PARTY_KINDS):
                cc = rng.choice(["US", "GB", "DE", "FR", "IN", "SG", "CH", "IL", "NL"])
            slug, name = self._brand(used, cc, "-" + kind.lower().replace(" ", "-"))
            org = Org(slug, name, cc, "third-party", [f'  contact: "privacy@{slug}.example"'])
            if cc == "US" and rng.random() < 0.5:
                org.dpf = True
                org.lines.append("  certifications: [eu-us-dpf]")
            self.recipients["third-party"].append(len(self.orgs))
            self.orgs.append(org)
        # Clients for whom the group processes as a processor (Art. 30(2) record).
        self.clients: list[int] = []
        for cc in ("DE", "FR", "GB"):
            slug, name = self._brand(used, cc, "-client")
            self.clients.append(len(self.orgs))
            self.orgs.append(Org(slug, name, cc, "third-party", [f'  contact: "dpo@{slug}.example"']))
        self.affiliate_by_country = {o.country: i for i, o in enumerate(self.orgs) if o.relation == "affiliate"}

    def _processor_terms(self, org: Org, *, sub: bool) -> None:
        rng = self.rng
        if rng.random() < (0.90 if sub else 0.93):
            org.lines.append(f"  dpa: {{signed: {_date(rng, '2018-05-25', '2026-09-30')}}}")
        else:
            org.has_dpa = False
            self._fault("TPX-001", org.id)
        if org.country == "US":
            certs = []
            if rng.random() < 0.65:
                certs.append("eu-us-dpf")
                org.dpf = True
                if rng.random() < 0.5:
                    certs.append("uk-us-extension")
                    org.uk_ext = True
                if rng.random() < 0.3:
                    certs.append("swiss-us-dpf")
            if rng.random() < 0.15:
                certs.append("apec-cbpr")
            if certs:
                org.lines.append(f"  certifications: {_list(certs)}")
        elif org.country in ("SG", "JP") and rng.random() < 0.4:
            org.lines.append("  certifications: [apec-cbpr]")

    # -- subjects and elements -------------------------------------------------------------------

    def make_elements(self) -> None:
        self.domain_subjects: dict[str, list[int]] = {}
        for i, s in enumerate(SUBJECTS):
            self.domain_subjects.setdefault(s[5], []).append(i)
        self.domain_elements: dict[str, list[int]] = {}
        self.derived: dict[str, list[int]] = {}
        for domain, rows in ELEMENTS.items():
            prefix = DOMAIN_PREFIX[domain]
            for suffix, name, category, opts in rows:
                only = opts.get("only")
                subjects = ([self.subject_index[s] for s in only] if only else list(self.domain_subjects[domain]))
                el = Element(f"{prefix}.{suffix}", name, category, domain, subjects, opts.get("identifier"),
                              opts.get("state"), bool(opts.get("derived")))
                idx = len(self.elements)
                self.elements.append(el)
                if el.derived:
                    self.derived.setdefault(domain, []).append(idx)
                else:
                    self.domain_elements.setdefault(domain, []).append(idx)

    # -- purposes ------------------------------------------------------------------------------

    def make_purposes(self) -> None:
        rng, n = self.rng, self.n_flows
        n_purposes = max(20, n // 100)
        if n < 3 * n_purposes:
            n_purposes = max(1, n // 3)
        # Domains in blocks so that one team owns one domain's activities.
        total_w = sum(w for _, w in DOMAIN_WEIGHTS)
        counts = [max(1, round(n_purposes * w / total_w)) for _, w in DOMAIN_WEIGHTS]
        while sum(counts) > n_purposes and max(counts) > 1:
            counts[counts.index(max(counts))] -= 1
        while sum(counts) < n_purposes:
            counts[0] += 1
        if n_purposes < len(DOMAIN_WEIGHTS):
            counts = [1 if i < n_purposes else 0 for i in range(len(DOMAIN_WEIGHTS))]
        seq = 0
        for (domain, _), count in zip(DOMAIN_WEIGHTS, counts, strict=True):
            templates = PURPOSES[domain]
            for k in range(count):
                if k < len(templates):
                    template = templates[k]
                else:  # special-category activities are rarer than the everyday ones
                    template = rng.choices(templates, weights=[t[4].get("weight", 1.0) for t in templates])[0]
                seq += 1
                self.purposes.append(self._purpose(seq, domain, template))
        # Flow budget per purpose: random weights, exact total.
        weights = [rng.uniform(0.4, 1.6) for _ in self.purposes]
        total = sum(weights)
        shares = [n * w / total for w in weights]
        alloc = [int(s) for s in shares]
        rest = n - sum(alloc)
        order = sorted(range(len(shares)), key=lambda i: (alloc[i] - shares[i], i))
        for i in order[:rest]:
            alloc[i] += 1
        for p, f in zip(self.purposes, alloc, strict=True):
            p.flows = f
        # Compatibility assessments (Art. 6(4)) between activities of the same domain.
        by_domain: dict[str, list[int]] = {}
        for i, p in enumerate(self.purposes):
            by_domain.setdefault(p.domain, []).append(i)
        self.by_domain = by_domain
        for i, p in enumerate(self.purposes):
            peers = by_domain[p.domain]
            if len(peers) > 1 and rng.random() < 0.12:
                other = rng.choice(peers)
                if other != i:
                    p.compatible_with.append(other)

    def _purpose(self, seq: int, domain: str, template: PurposeTemplate) -> Purpose:
        rng = self.rng
        name, function, basis, categories, opts = template
        region = _weighted(rng, REGIONS) if domain in REGION_SUBJECTS else "eu"
        if domain in REGION_SUBJECTS:
            subjects = [self.subject_index[s] for s in REGION_SUBJECTS[domain][region]]
            if region != "global" and rng.random() < 0.15 and domain == "customer":
                subjects.append(self.subject_index["customers-eea" if region != "eu" else "customers-gb"])
        else:
            pool = self.domain_subjects[domain]
            subjects = sorted(rng.sample(pool, rng.randint(1, len(pool))))
            if domain == "visitor":
                subjects = [self.subject_index["community-members" if "ommunity" in name else "website-visitors"]]
            if domain == "student":
                subjects = [self.subject_index["students"], self.subject_index["parents"]]
        needs = opts.get("needs")
        subj_set = set(subjects)
        candidates = [e for e in self.domain_elements[domain] if subj_set.intersection(self.elements[e].subjects)]
        chosen: list[int] = []
        for cat in categories:
            pool = [e for e in candidates if self.elements[e].category == cat]
            if needs and cat in ("identity", "contact", "government-id", "online-identifier", "account"):
                # A pseudonymised activity uses keys, not names, except where someone slipped (MIN-004).
                pool = [e for e in pool if self.elements[e].state] or ([] if rng.random() < 0.85 else pool)
            if pool:
                chosen.extend(rng.sample(pool, min(len(pool), rng.randint(1, 3))))
        if needs:
            chosen.extend(e for e in candidates if self.elements[e].state == needs and e not in chosen)
        if opts.get("profiling") and domain in self.derived:
            chosen.extend(d for d in self.derived[domain] if subj_set.intersection(self.elements[d].subjects))
        if len(chosen) < 2:
            chosen.extend(e for e in rng.sample(candidates, min(3, len(candidates))) if e not in chosen)
        elements = sorted(set(chosen))
        label = REGION_LABEL[region] if domain in REGION_SUBJECTS else None
        full = f"{name} ({label})" if label else name
        pid = f"pur-{name.lower().replace(' ', '-').replace('&', 'and')}-{seq:04d}"
        legal_basis: str | None = basis
        if rng.random() < 0.01:
            legal_basis = None
            self._fault("PUR-002", pid)
        p = Purpose(pid, full, domain, region, template, legal_basis, subjects, elements)
        L = p.lines
        L.append(f"  description: {_q(name + ': ' + '; '.join(SUBJECTS[s][1] for s in subjects))}")
        L.append(f"  business_function: {_q(function)}")
        if legal_basis:
            L.append(f"  legal_basis: {legal_basis}")
        special = any(self.elements[e].sensitive for e in elements)
        if special:
            cond = opts.get("special") or rng.choice(SPECIAL_CONDITIONS)
            if rng.random() < 0.04:
                self._fault("SPC-001", pid)
            else:
                L.append(f"  special_condition: {cond}")
        p.lines.append("  elements: " + _list([self.elements[e].id for e in elements]))
        p.lines.append("  subjects: " + _list([SUBJECTS[s][0] for s in subjects]))
        if rng.random() < 0.03:
            self._fault("MIN-003", pid)
        else:
            retention = "statutory" if opts.get("statutory") else rng.choice(RETENTIONS)
            L.append(f"  retention: {retention}")
            if retention == "statutory":
                L.append('  notes: "Retention: HGB s. 257 and AO s. 147, 6 to 10 years after the end of the year"')
        if needs:
            L.append(f"  needs: {needs}")
        profiling, automated = bool(opts.get("profiling")), bool(opts.get("automated"))
        if profiling:
            L.append("  profiling: true")
        if automated:
            L.append("  automated_decisions: true")
        if profiling or automated or special:
            if rng.random() < 0.85:
                L.append(f"  dpia: {{date: {_date(rng, '2018-06-01', '2026-10-31')}}}")
            else:
                self._fault("PUR-003", pid)
        elif rng.random() < 0.04:
            L.append(f"  dpia: {{date: {_date(rng, '2018-06-01', '2026-10-31')}}}")
        if legal_basis == "consent" and any(SUBJECTS[s][3] for s in subjects):
            if rng.random() < 0.85:
                L.append("  parental_consent: true")
            else:
                self._fault("CHD-001", pid)
        return p

    # -- teams and systems -----------------------------------------------------------------------

    def make_teams_and_systems(self) -> None:
        rng, n = self.rng, self.n_flows
        self.n_teams = max(1, round(n / 750))
        # Contiguous purposes per team, balanced by flows.
        acc = 0
        for p in self.purposes:
            p.team = min(self.n_teams - 1, (acc * self.n_teams) // max(1, n)) if n else 0
            acc += p.flows
        team_flows = [0] * self.n_teams
        team_domains: list[dict[str, int]] = [{} for _ in range(self.n_teams)]
        for p in self.purposes:
            team_flows[p.team] += p.flows
            d = SYSTEM_DOMAIN.get(p.domain, p.domain)
            team_domains[p.team][d] = team_domains[p.team].get(d, 0) + p.flows
        n_systems = max(8, round(n / 20))
        n_sub_systems = min(len(self.sub_processors) * 2, max(len(self.sub_processors), n_systems // 50))
        n_main = n_systems - n_sub_systems
        # Systems per team in proportion to its flows (at least 4, so that a pipeline has room).
        per_team = [max(4, round(n_main * f / max(1, n))) for f in team_flows]
        t = 0
        while sum(per_team) < n_main:
            per_team[t % self.n_teams] += 1
            t += 1
        while sum(per_team) > n_main and max(per_team) > 4:
            per_team[per_team.index(max(per_team))] -= 1
        self.team_pool: list[dict[str, list[int]]] = [{} for _ in range(self.n_teams)]
        self.team_systems: list[list[int]] = [[] for _ in range(self.n_teams)]
        self.region_entries: dict[str, list[int]] = {}
        seq = 0
        for team in range(self.n_teams):
            domains = sorted((d, w or 1) for d, w in team_domains[team].items()) or [("customer", 1)]
            for k in range(per_team[team]):
                seq += 1
                domain = _weighted(rng, domains)
                # every team gets an entry system and a core system per domain first
                tier = k % 2 if k < 2 * len(domains) else rng.choices(range(4), weights=TIER_WEIGHTS)[0]
                if k < 2 * len(domains):
                    domain = domains[(k // 2) % len(domains)][0]
                self._add_system(seq, team, domain, tier)
        for i, sub in enumerate(self.sub_processors):
            org = self.orgs[sub]
            for _ in range(1 if i >= n_sub_systems - len(self.sub_processors) else 2):
                if len(self.systems) >= n_systems:
                    break
                seq += 1
                sid = len(self.systems)
                cc = org.country if rng.random() < 0.7 else rng.choice(["IE", "DE", "NL"])
                kind = rng.choice(["hosting", "support-desk", "storage", "messaging", "labelling"])
                self.systems.append(System(f"{kind}-s{seq:04d}", f"{org.name.split(' ')[0]} {kind} ({cc})", kind,
                                            "customer", 4, sid % self.n_teams, sub, [cc], sub=True))
                org.systems.append(sid)
                self.team_systems[sid % self.n_teams].append(sid)
        # Make sure every region has an entry system somewhere (for its local collection).
        for region, countries in self.law.region_countries.items():
            if region not in self.region_entries and region not in ("eu", "global") and self.n_flows >= 2000:
                seq += 1
                cc = min(countries)
                self._add_system(seq, seq % self.n_teams, "customer", 0, country=cc)

    def _add_system(self, seq: int, team: int, domain: str, tier: int, country: str | None = None) -> None:
        rng = self.rng
        cc = country or _weighted(rng, SYSTEM_COUNTRIES)
        kinds = SYSTEM_KINDS[domain][tier]
        kind, label = rng.choice(kinds)
        # Who operates it: the controller, the local affiliate, or a processor.
        r = rng.random()
        if cc in self.law.eea:
            if r < 0.6:
                op = 0
            elif r < 0.72 and cc in self.affiliate_by_country:
                op = self.affiliate_by_country[cc]
            else:
                local = [p for c in sorted(self.proc_by_country) if c in self.law.eea for p in self.proc_by_country[c]]
                us = self.proc_by_country.get("US", [])
                op = rng.choice(us) if us and rng.random() < 0.15 else rng.choice(local or self.hosting_processors)
        else:
            if r < 0.55 and cc in self.affiliate_by_country:
                op = self.affiliate_by_country[cc]
            elif r < 0.62:
                op = 0
            else:
                local = self.proc_by_country.get(cc) or self.proc_by_country.get("US") or self.hosting_processors
                op = rng.choice(local)
        locations = [cc]
        if rng.random() < 0.05:
            second = rng.choice(["IE", "NL", "DE", "US", "SG"])
            if second != cc:
                locations.append(second)
        sid = len(self.systems)
        self.systems.append(System(f"{kind}-s{seq:04d}", f"{label} {cc} {seq}", kind, domain, tier, team, op,
                                    locations))
        self.orgs[op].systems.append(sid)
        self.team_systems[team].append(sid)
        self.team_pool[team].setdefault(domain, []).append(sid)
        if tier == 0:
            for region, countries in self.law.region_countries.items():
                if cc in countries:
                    self.region_entries.setdefault(region, []).append(sid)

    # -- flows ---------------------------------------------------------------------------------

    def make_flows(self) -> None:
        self.flow_text = [[] for _ in range(self.n_teams)]
        self.purpose_index = {p.id: i for i, p in enumerate(self.purposes)}
        self.compatible_users: dict[int, list[int]] = {}
        for i, p in enumerate(self.purposes):
            for other in p.compatible_with:
                self.compatible_users.setdefault(other, []).append(i)
        for pi, p in enumerate(self.purposes):
            if p.flows:
                self._purpose_flows(pi, p)

    def _pipeline(self, p: Purpose, size: int) -> list[int]:
        rng = self.rng
        domain = SYSTEM_DOMAIN.get(p.domain, p.domain)
        pools = self.team_pool[p.team]
        own = pools.get(domain, [])
        others = [s for d in sorted(pools) if d != domain for s in pools[d]]
        # Processing stays mostly at home (the EEA, or the activity's region); a pipeline has at
        # most a couple of systems abroad.
        home = self.law.region_countries[p.region]

        def at_home(s: int) -> bool:
            c = self.systems[s].country
            return (c in self.law.eea or c in home) and (self.orgs[self.systems[s].operator].country in self.law.eea
                                                or self.orgs[self.systems[s].operator].country in home)

        def pick(pools: list[list[int]], k: int) -> list[int]:
            out: list[int] = []
            for pool in pools:  # the team's systems of this domain first
                take = min(k - len(out), len(pool))
                if take > 0:
                    out.extend(rng.sample(pool, take))
            return out

        r = rng.random()
        n_abroad = 0 if r < 0.45 else 1 if r < 0.85 else 2
        abroad = pick([[s for s in own if not at_home(s)], [s for s in others if not at_home(s)]], n_abroad)
        members = pick([[s for s in own if at_home(s)], [s for s in others if at_home(s)]], size - len(abroad))
        members += abroad
        # A shared platform of another team now and then (the data warehouse everyone feeds).
        if rng.random() < 0.15 and self.n_teams > 1:
            t = rng.randrange(self.n_teams)
            pool = self.team_pool[t].get(domain) or []
            if pool:
                s = rng.choice(pool)
                if s not in members:
                    members.append(s)
        return members

    def _purpose_flows(self, pi: int, p: Purpose) -> None:
        """The flows of one processing activity: collection into its entry systems, a spine
        through its pipeline (and processor chains), extra internal flows, disclosures."""
        F = p.flows
        n_coll = max(1, round(F * 0.2))
        n_disc = round(F * 0.06) if F >= 8 else 0
        run = self._plan(pi, p, budget=F - n_coll - n_disc)
        self._collect(run, n_coll)
        self._spine(run)
        self._processor_chains(run)
        self._more_internal(run)
        self._disclose(run, n_disc)

    def _plan(self, pi: int, p: Purpose, budget: int) -> _Activity:
        rng = self.rng
        members = self._pipeline(p, max(2, min(30, p.flows // 6 + 2)))
        # Local collection for a regional activity: into a system in the region.
        entries: list[int] = []
        if p.region not in ("eu", "global") and self.region_entries.get(p.region) and rng.random() < 0.8:
            entries = rng.sample(self.region_entries[p.region], min(2, len(self.region_entries[p.region])))
            members = [m for m in members if m not in entries]
        entries += [m for m in members if self.systems[m].tier == 0 and m not in entries]
        members = sorted(set(members) | set(entries), key=lambda s: (self.systems[s].tier, s))
        if not entries:
            entries = [members[0]]
        derived = [e for e in p.elements if self.elements[e].derived]
        plain = [e for e in p.elements if not self.elements[e].derived] or list(p.elements)
        by_subject = {s: [e for e in plain if s in self.elements[e].subjects] for s in p.subjects}
        subjects = [s for s in p.subjects if by_subject[s]] or p.subjects
        return _Activity(pi, p, members, entries, derived, plain, by_subject, subjects, budget, set(p.elements))

    def _emit(self, run: _Activity, src: tuple[str, int], dst: tuple[str, int], elems: list[int], kind: str) -> None:
        self._flow(run.p.team, run.pi, run.p, src, dst, elems, kind, run.need)

    def _collect(self, run: _Activity, n: int) -> None:
        rng = self.rng
        for k in range(n):
            s = run.subjects[k % len(run.subjects)] if k < len(run.subjects) else rng.choice(run.subjects)
            e = run.entries[k % len(run.entries)] if k < len(run.entries) else rng.choice(run.entries)
            pool = run.by_subject.get(s) or run.plain
            elems = rng.sample(pool, rng.randint(max(1, len(pool) // 2), len(pool)))
            run.holdings.setdefault(e, set()).update(elems)
            self._emit(run, ("s", s), ("y", e), elems, "collection")

    def _spine(self, run: _Activity) -> None:
        """Every member of the pipeline gets its data from an earlier one."""
        entry_set = set(run.entries)
        for j, b in enumerate(run.members):
            if run.budget <= 0:
                break
            if b in entry_set and b in run.holdings:
                continue
            sources = [a for a in run.members[:j] if a in run.holdings]
            if not sources:
                continue
            a = self.rng.choice(sources)
            elems = self._carry(run.holdings[a])
            run.holdings.setdefault(b, set()).update(elems)
            run.pairs.add((a, b))
            self._emit(run, ("y", a), ("y", b), elems, "internal")
            run.budget -= 1

    def _processor_chains(self, run: _Activity) -> None:
        """A processor's system hands data to its sub-processor's system (now and then to one
        that is not listed: TPX-002)."""
        rng = self.rng
        for a in [m for m in run.members if self.orgs[self.systems[m].operator].relation == "processor"]:
            if run.budget <= 0 or a not in run.holdings or rng.random() < 0.75:
                continue
            org = self.orgs[self.systems[a].operator]
            listed = [s for s in org.subprocessors if self.orgs[s].systems]
            if listed and rng.random() < 0.93:
                sub = rng.choice(listed)
            else:
                candidates = [s for s in self.sub_processors if self.orgs[s].systems and s not in org.subprocessors]
                if not candidates:
                    continue
                sub = rng.choice(candidates)
                self._fault("TPX-002", self.orgs[sub].id)
            b = rng.choice(self.orgs[sub].systems)
            if (a, b) in run.pairs:
                continue
            run.pairs.add((a, b))
            self._emit(run, ("y", a), ("y", b), self._carry(run.holdings[a]), "internal")
            run.budget -= 1

    def _more_internal(self, run: _Activity) -> None:
        """The rest of the budget: random forward flows, and a few enrichment loops back."""
        rng, members, holdings = self.rng, run.members, run.holdings
        run.holders = [m for m in members if m in holdings]
        tries = 0
        while run.budget > 0:
            tries += 1
            backward = run.derived and rng.random() < 0.03 and len(run.holders) >= 2
            i, j = sorted(rng.sample(range(len(members)), 2)) if len(members) >= 2 else (0, 0)
            a, b = members[i], members[j]
            if backward:
                a, b = b, a
            if a == b or a not in holdings or ((a, b) in run.pairs and tries < 50):
                if tries > 200:  # tiny pipelines: fall back to more collection
                    s = rng.choice(run.subjects)
                    e = rng.choice(run.entries)
                    pool = run.by_subject.get(s) or run.plain
                    self._emit(run, ("s", s), ("y", e), rng.sample(pool, rng.randint(1, len(pool))), "collection")
                    run.budget -= 1
                continue
            tries = 0
            run.pairs.add((a, b))
            if backward:
                # Enrichment loop: a score goes back to an earlier system; it never goes forward.
                self._emit(run, ("y", a), ("y", b), list(run.derived), "backward")
            else:
                elems = self._carry(holdings[a])
                holdings.setdefault(b, set()).update(elems)
                if b not in run.holders:
                    run.holders.append(b)
                self._emit(run, ("y", a), ("y", b), elems, "internal")
            run.budget -= 1

    def _disclose(self, run: _Activity, n: int) -> None:
        """Disclosures to organisations with no modelled system."""
        rng = self.rng
        basis = run.p.legal_basis or "contract"
        for _ in range(n):
            a = rng.choice(run.holders)
            rel = self._recipient_kind(basis)
            pool = self.recipients[rel] or self.recipients["third-party"]
            o = rng.choice(pool)
            elems = self._carry(run.holdings[a])
            if self.orgs[o].relation in ("partner", "third-party"):
                risky = [e for e in elems if self.elements[e].sensitive or self.elements[e].category == "credentials"]
                if risky and rng.random() < 0.9:
                    elems = [e for e in elems if e not in risky] or [min(run.plain)]
            self._emit(run, ("y", a), ("o", o), elems, "disclosure")

    def _carry(self, held: set[int]) -> list[int]:
        pool = sorted(held)
        return self.rng.sample(pool, self.rng.randint(max(1, (len(pool) + 1) // 2), len(pool)))

    def _recipient_kind(self, basis: str) -> str:
        r = self.rng.random()
        if basis == "legal-obligation":
            return "authority" if r < 0.7 else "third-party"
        if basis == "consent":
            return "third-party" if r < 0.5 else "partner" if r < 0.8 else "joint-controller"
        if basis == "contract":
            return "processor" if r < 0.4 else "partner" if r < 0.7 else "third-party"
        return "third-party" if r < 0.5 else "joint-controller" if r < 0.7 else "processor"

    # -- one flow ------------------------------------------------------------------------------

    def _endpoint(self, node: tuple[str, int]) -> tuple[str, int | None, list[str]]:
        """id, operating organisation, countries."""
        kind, i = node
        if kind == "s":
            s = SUBJECTS[i]
            return s[0], None, s[2]
        if kind == "y":
            y = self.systems[i]
            return y.id, y.operator, y.locations
        return self.orgs[i].id, i, [self.orgs[i].country]

    def _flow(self, team: int, pi: int, p: Purpose, src: tuple[str, int], dst: tuple[str, int],
              elems: list[int], kind: str, need: set[int]) -> None:
        rng = self.rng
        self.flow_seq += 1
        fid = f"flow-{self.flow_seq:06d}"
        elems = sorted(elems)
        purposes = [p.id]
        if kind != "backward":
            r = rng.random()
            if r < 0.02:
                # an element no purpose of the flow needs (MIN-002)
                extra = [e for e in self.domain_elements[p.domain] if e not in need]
                if extra:
                    elems = sorted([*elems, rng.choice(extra)])
                    self._fault("MIN-002", fid)
            elif r < 0.03 and kind != "collection":
                # re-use for an unrelated activity (PUR-001)
                peers = self.by_domain[p.domain]
                other = rng.choice(peers)
                if other != pi and pi not in self.purposes[other].compatible_with:
                    purposes.append(self.purposes[other].id)
                    self._fault("PUR-001", fid)
            elif r < 0.08 and pi in self.compatible_users and kind != "collection":
                purposes.append(self.purposes[rng.choice(self.compatible_users[pi])].id)
        src_id, exporter, src_countries = self._endpoint(src)
        dst_id, importer, dst_countries = self._endpoint(dst)
        if dst[0] == "y":
            self.systems[dst[1]].elements.update(elems)
        if src[0] == "y":
            self.systems[src[1]].elements.update(elems)
        # frequency and volume
        if kind == "collection":
            frequency = None if rng.random() < 0.85 else "periodic"
        elif kind == "disclosure":
            r = rng.random()
            frequency = "periodic" if r < 0.4 else "occasional" if r < 0.65 else None
        else:
            frequency = "periodic" if rng.random() < 0.3 else None
        volume = None
        if rng.random() < 0.6:
            base = sum(SUBJECTS[s][4] for s in p.subjects)
            volume = _round2(base * rng.choice([0.002, 0.01, 0.05, 0.1, 0.3, 0.6, 1.0]))
        # cross-border?
        assert importer is not None  # a flow always ends at a system or an organisation
        if src[0] == "s":
            src_regime = self.law.subject_regime(src_countries)
            # collection into a processor's system is the controller's disclosure to it (SPEC §3)
            exporter = 0 if self.orgs[importer].processor else importer
        else:
            src_regime = self.law.regime(src_countries[0])
        assert exporter is not None
        dests = list(dst_countries)
        imp_cc = self.orgs[importer].country
        if imp_cc not in dests:
            dests.append(imp_cc)
        src_cc = src_countries[0]
        outside = [d for d in dests if self.law.regime(d) != src_regime or (src_regime == "other" and d != src_cc)]
        transfer: list[str] = []
        if outside and exporter != importer:
            self.crossing += 1
            if kind != "backward":
                if src_regime == "cn" and volume is None:
                    volume = rng.choice([3_000, 8_000, 40_000, 150_000, 600_000, 1_500_000])
                transfer, frequency = self._transfer(fid, p, src_regime, outside[0], exporter, importer, elems,
                                                     frequency)
                if transfer:
                    self.transfers += 1
        lines = [f"- id: {fid}", f"  from: {src_id}", f"  to: {dst_id}",
                 "  elements: " + _list([self.elements[e].id for e in elems]),
                 "  purposes: " + _list(purposes)]
        if frequency:
            lines.append(f"  frequency: {frequency}")
        if volume is not None:
            lines.append(f"  volume: {volume}")
        lines.extend(transfer)
        self.flow_text[team].append("\n".join(lines))

    def _scc(self, exporter: int, importer: int, fid: str) -> str:
        rng = self.rng
        roles = ("p" if self.orgs[exporter].processor else "c") + "2" + ("p" if self.orgs[importer].processor else "c")
        module = roles
        if rng.random() < 0.07:
            module = rng.choice([m for m in ("c2c", "c2p", "p2p", "p2c") if m != roles])
            self._fault("TRF-003", fid)
        r = rng.random()
        if r < 0.94:
            version, signed = 2021, _date(rng, "2021-09-27", "2026-09-30")
        else:
            version = 2010 if r < 0.98 else 2004
            signed = _date(rng, "2012-01-01", "2021-09-26")
            self._fault("TRF-008", fid)
        return f"    scc: {{module: {module}, version: {version}, signed: {signed}}}"

    def _tia(self, fid: str, sensitive: bool) -> list[str]:
        rng = self.rng
        r = rng.random()
        if r < 0.07:
            self._fault("TRF-004", fid)
            return []
        if r < 0.13:
            self._fault("TRF-004", fid)
            return [f"    tia: {{date: {_date(rng, '2019-01-01', '2024-06-30')}, outcome: acceptable}}"]
        r = rng.random()
        outcome = "acceptable" if r < 0.72 else "measures-required" if r < 0.98 else "not-acceptable"
        if outcome == "not-acceptable":
            self._fault("TRF-004", fid)
        out = [f"    tia: {{date: {_date(rng, '2025-01-01', '2026-10-31')}, outcome: {outcome}}}"]
        want_measures = outcome == "measures-required" or sensitive or rng.random() < 0.4
        if want_measures and rng.random() < 0.9:
            out.append("    measures: " + _list(sorted(rng.sample(MEASURES, rng.randint(1, 3)))))
        elif want_measures:
            self._fault("TRF-010" if sensitive else "TRF-004", fid)
        return out

    def _transfer(self, fid: str, p: Purpose, regime: str, dest: str, exporter: int, importer: int,
                  elems: list[int], frequency: str | None) -> tuple[list[str], str | None]:
        """The `transfer:` block of a flow leaving its regime, sometimes wrong or missing on purpose."""
        rng = self.rng
        exp, imp = self.orgs[exporter], self.orgs[importer]
        sensitive = any(self.elements[e].sensitive for e in elems)
        head = ["  transfer:"]
        r = rng.random()
        anonymous = all(self.elements[e].state == "anonymised" for e in elems)
        if anonymous or (p.template[4].get("needs") == "anonymised" and r < 0.5):
            if not anonymous:
                self._fault("TRF-006", fid)
            return [*head, "    anonymised: true"], frequency
        if r < 0.06:
            self._fault("TRF-001", fid)
            return [], frequency
        r = rng.random()
        if regime == "cn":
            mech = ("pipl-standard-contract" if r < 0.62 else "pipl-security-assessment" if r < 0.84
                    else "pipl-certification" if r < 0.94 else "scc")
            out = [*head, f"    mechanism: {mech}"]
            if p.legal_basis == "consent":
                if rng.random() < 0.85:
                    out.append("    separate_consent: true")
                else:
                    self._fault("PIPL-002", fid)
            return out, frequency
        if regime == "uk":
            adequate = dest in self.law.uk_adequate or (dest == "US" and imp.uk_ext)
            if adequate:
                return ([*head, "    mechanism: adequacy"] if r < 0.3 else []), frequency
            if r < 0.5:
                return [*head, "    mechanism: idta", *self._tia(fid, sensitive)], frequency
            if r < 0.9:
                return [*head, "    mechanism: uk-addendum", self._scc(exporter, importer, fid),
                        *self._tia(fid, sensitive)], frequency
            return self._derogation(fid, head, frequency)
        adequate = dest in self.law.eu_adequate or (dest == "US" and imp.dpf)
        if adequate:
            if r < 0.55:
                return [], frequency
            if r < 0.92:
                return [*head, "    mechanism: adequacy"], frequency
            return [*head, "    mechanism: scc", self._scc(exporter, importer, fid)], frequency
        if dest == "US" and r < 0.08:
            self._fault("TRF-002", fid)  # claims adequacy for an importer without DPF certification
            return [*head, "    mechanism: adequacy"], frequency
        if exp.relation in ("self", "affiliate") and imp.relation == "affiliate" and r < 0.7:
            if not (exp.bcr and imp.bcr):
                self._fault("TRF-009", fid)
            return [*head, "    mechanism: bcr", *self._tia(fid, sensitive)], frequency
        r = rng.random()
        if r < 0.84:
            return [*head, "    mechanism: scc", self._scc(exporter, importer, fid),
                    *self._tia(fid, sensitive)], frequency
        if r < 0.94:
            return self._derogation(fid, head, frequency)
        mech = "ad-hoc-clauses" if r < 0.97 else "certification"
        return [*head, f"    mechanism: {mech}", *self._tia(fid, sensitive)], frequency

    def _derogation(self, fid: str, head: list[str], frequency: str | None) -> tuple[list[str], str | None]:
        rng = self.rng
        mech = rng.choice(DEROGATIONS)
        if rng.random() < 0.7:
            frequency = "occasional"
        else:
            self._fault("TRF-005", fid)
        notes = _q("Art. 49(1) derogation; documented in the transfer register")
        return [*head, f"    mechanism: {mech}", f"  notes: {notes}"], frequency

    # -- systems' security, waivers ---------------------------------------------------------------

    def finish_systems(self) -> None:
        rng = self.rng
        for y in self.systems:
            if not y.elements:
                # a system nobody mapped a flow to still stores something of its domain
                pool = self.domain_elements[y.domain if y.domain in self.domain_elements else "customer"]
                y.elements.update(rng.sample(pool, min(len(pool), rng.randint(2, 6))))

    def system_text(self, y: System) -> str:
        rng = self.rng
        cats = {self.elements[e].category for e in y.elements}
        lines = [f"- id: {y.id}", f"  name: {_q(y.name)}", f"  operator: {self.orgs[y.operator].id}",
                 "  locations: " + _list([_cc(c) for c in y.locations]),
                 "  elements: " + _list([self.elements[e].id for e in sorted(y.elements)]),
                 "  endpoints: " + _list([_q(e) for e in system_endpoints(self._system_seq[y.id], y.id)])]  # SPEC §10
        if rng.random() < 0.015:
            self._fault("GOV-002", y.id)
        else:
            security = ["tls", "access-control", "logging"]
            extra = set(rng.sample(SECURITY_EXTRA, rng.randint(0, 4)))
            if "credentials" in cats:
                if rng.random() < 0.92:
                    extra.add("password-hashing")
                else:
                    extra.discard("password-hashing")
                    self._fault("SEC-001", y.id)
            if any(c.startswith("special:") for c in cats):
                if rng.random() < 0.9:
                    extra.add("encryption-at-rest")
                else:
                    extra.discard("encryption-at-rest")
                    self._fault("SEC-001", y.id)
            security += sorted(extra)
            lines.append("  security: " + _list(security))
        lines.append('  source: "CMDB"')
        return "\n".join(lines)

    def waivers_text(self) -> list[str]:
        rng = self.rng
        n = 6 + self.n_flows // 20000
        rules = sorted(r for r in self.faults if self.faults[r])
        out: list[str] = []
        seen: set[tuple[str, str]] = set()
        for k in range(n):
            if not rules:
                break
            rule = rules[k % len(rules)]
            subject = rng.choice(self.faults[rule])
            if (rule, subject) in seen:
                continue
            seen.add((rule, subject))
            expired = k % 3 == 2
            expires = _date(rng, "2024-01-01", "2025-12-31") if expired else _date(rng, "2027-06-30", "2029-12-31")
            reason = WAIVER_REASONS.get(rule, "Risk accepted by the privacy board; remediation is planned")
            if expired:
                reason += " (accepted for the migration period, which has ended)"
            out.append("\n".join([f"- rule: {rule}", f"  subject: {subject}", f"  reason: {_q(reason)}",
                                  f"  approved_by: {_q(rng.choice(APPROVERS))}", f"  expires: {expires}"]))
        return out

    # -- writing -----------------------------------------------------------------------------------

    def write(self, out: Path) -> dict[str, int]:
        out.mkdir(parents=True, exist_ok=True)
        (out / "teams").mkdir(exist_ok=True)
        header = "# Synthetic inventory written by `flowaudit synth` (fictitious organisation).\n"
        files: dict[str, str] = {}

        orgs = []
        for o in self.orgs:
            lines = [f"- id: {o.id}", f"  name: {_q(o.name)}", f"  country: {_cc(o.country)}",
                     f"  relation: {o.relation}", *o.lines]
            if o.subprocessors:
                lines.append("  subprocessors: " + _list([self.orgs[s].id for s in o.subprocessors]))
            if o.relation != "self":
                lines.append("  endpoints: " + _list([_q(e) for e in organisation_endpoints(o.id)]))
            orgs.append("\n".join(lines))
        files["organisations.yaml"] = header + "organisations:\n" + "\n".join(orgs) + "\n"

        subs = []
        for sid, name, locations, children, count, _ in SUBJECTS:
            subs.append("\n".join([f"- id: {sid}", f"  name: {_q(name)}",
                                   "  locations: " + _list([_cc(c) for c in locations]),
                                   f"  children: {'true' if children else 'false'}", f"  count: {count}"]))
        files["subjects.yaml"] = header + "subjects:\n" + "\n".join(subs) + "\n"

        els = []
        for e in self.elements:
            category = _q(e.category) if ":" in e.category else e.category
            lines = [f"- id: {e.id}", f"  name: {_q(e.name)}", f"  category: {category}",
                     "  subjects: " + _list([SUBJECTS[s][0] for s in e.subjects])]
            if e.identifier:
                lines.append(f"  identifier: {e.identifier}")
            if e.state:
                lines.append(f"  state: {e.state}")
            if e.derived:
                lines.append(f"  notes: {_q(DERIVED_NOTE)}")
            els.append("\n".join(lines))
        files["elements.yaml"] = header + "elements:\n" + "\n".join(els) + "\n"

        purs = []
        for i, p in enumerate(self.purposes):
            lines = [f"- id: {p.id}", f"  name: {_q(p.name)}", *p.lines]
            if p.compatible_with:
                lines.append("  compatible_with: " + _list([self.purposes[c].id for c in p.compatible_with]))
            if i % 97 == 41 and self.clients:
                # processing on behalf of a client: the Art. 30(2) record
                lines.append("  role: processor")
                lines.append(f"  on_behalf_of: {self.orgs[self.clients[i % len(self.clients)]].id}")
            purs.append("\n".join(lines))
        files["purposes.yaml"] = header + "purposes:\n" + "\n".join(purs) + "\n"

        self._system_seq = {y.id: i for i, y in enumerate(self.systems)}
        for team in range(self.n_teams):
            parts = [header, f"# Team {team + 1:03d}: its systems and the flows of its processing activities.\n"]
            systems = [self.system_text(self.systems[s]) for s in self.team_systems[team]]
            if systems:
                parts.append("systems:\n" + "\n".join(systems) + "\n")
            if self.flow_text[team]:
                parts.append("flows:\n" + "\n".join(self.flow_text[team]) + "\n")
            files[f"teams/team-{team + 1:03d}.yaml"] = "".join(parts)

        waivers = self.waivers_text()
        files["waivers.yaml"] = header + ("waivers:\n" + "\n".join(waivers) + "\n" if waivers else "waivers: []\n")

        total = 0
        for name, text in files.items():
            data = text.encode("utf-8")
            (out / name).write_bytes(data)
            total += len(data)
        return {
            "organisations": len(self.orgs), "subjects": len(SUBJECTS), "elements": len(self.elements),
            "purposes": len(self.purposes), "systems": len(self.systems), "flows": self.flow_seq,
            "waivers": len(waivers), "files": len(files), "bytes": total, "cross_border": self.crossing,
            "transfers": self.transfers, "teams": self.n_teams,
        }


def synthesize(out_dir: Path, flows: int, seed: int = 0) -> dict[str, int]:
    """Write a synthetic inventory of `flows` flows into `out_dir`; return what was written, counted.

    Keys of the result: organisations, subjects, elements, purposes, systems, flows, waivers,
    files, bytes, cross_border (flows whose destination is outside the source's regime),
    transfers (flows with a `transfer:` block), teams. Files already in `out_dir` that this
    run does not write are left alone, so write into an empty directory.
    """
    synth = _Synth(flows, seed)
    synth.make_organisations()
    synth.make_elements()
    synth.make_purposes()
    synth.make_teams_and_systems()
    synth.make_flows()
    synth.finish_systems()
    return synth.write(Path(out_dir))

