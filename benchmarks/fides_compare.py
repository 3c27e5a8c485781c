"""Side-by-side with Fides: `fides --local evaluate` against `flowaudit audit` on the same organisation.

For each size (100, 1,000 and 3,000 systems by default) this writes one synthetic
organisation twice:

- as a flowaudit inventory (`flowaudit.synth`, 20 flows per system), and
- as a fideslang manifest derived from that inventory: one Fides `system` per flowaudit
  system, with one privacy declaration per processing activity the system takes part in
  (data categories, data use and data subjects mapped onto fideslang's default taxonomy),
  `egress`/`ingress` for the flows between systems, and one `policy` whose rules reject,
  e.g., marketing uses of health, biometric or financial data;

then times, each in a fresh child process (wall clock, peak RSS of the child):
`fides --local evaluate MANIFESTS` and `flowaudit audit INVENTORY --format json -o FILE`.

The two tools do not do the same work: Fides checks each declaration against the policy's
rules (no graph, no countries, no transfers); flowaudit loads, validates, builds the graph and
runs its whole rule catalogue. The comparison is what it costs to get an answer from each on
the same organisation.

Fides is installed by this script into its own virtual environment
(`benchmarks/.venv-fides`, git-ignored) from PyPI as `ethyca-fides` (pinned, see
FIDES_VERSION); `--local` evaluation needs no server, no database and no config file (it falls
back to default settings), and anonymous usage analytics are switched off through the
environment. Usage:

    python benchmarks/fides_compare.py [--sizes 100,1000,3000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-fides"
FIDES_PACKAGE = "ethyca-fides"
FIDES_VERSION = "2.78.2"  # the version this comparison was built and checked with
DEFAULT_SIZES = (100, 1000, 3000)
FLOWS_PER_SYSTEM = 20
FIDES_ENV = {"FIDES__USER__ANALYTICS_OPT_OUT": "true", "FIDES__CLI__LOCAL_MODE": "true"}

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# --------------------------------------------------------------------------------------------
# Installing Fides


def fides_executable(venv: Path = VENV) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / "fides"


def ensure_fides(venv: Path = VENV, version: str = FIDES_VERSION, log=print) -> Path:
    """Create the virtual environment and install Fides into it, unless it is there already."""
    exe = fides_executable(venv)
    python = exe.parent / "python"
    if exe.exists():
        probe = subprocess.run([str(exe), "--version"], check=False, capture_output=True, text=True, env=_fides_env())
        if probe.returncode == 0 and version in probe.stdout:
            return exe
    log(f"installing {FIDES_PACKAGE}=={version} into {venv} (a few minutes, once)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"{FIDES_PACKAGE}=={version}"], check=True)
    probe = subprocess.run([str(exe), "--version"], check=False, capture_output=True, text=True, env=_fides_env())
    if probe.returncode != 0:
        raise RuntimeError(f"fides does not start after installation:\n{probe.stderr[-2000:]}")
    return exe


def _fides_env() -> dict[str, str]:
    return {**os.environ, **FIDES_ENV}


# --------------------------------------------------------------------------------------------
# flowaudit inventory -> fideslang manifest

# flowaudit processing activity (its name without the region) -> fideslang data use
DATA_USE = {
    "Order fulfilment": "essential.service", "Customer account management": "essential.service",
    "Customer support": "essential.service.operations.support",
    "Payment processing": "essential.service.payment_processing", "Fraud prevention": "essential.fraud_detection",
    "Credit checks": "finance", "Email marketing": "marketing.communications.email",
    "Personalised recommendations": "personalize.content.profiling",
    "Loyalty programme": "marketing.communications", "Product analytics": "analytics.reporting",
    "Delivery tracking": "essential.service.operations", "Tax and accounting records": "essential.legal_obligation",
    "Identity verification": "essential.service.authentication",
    "Customer satisfaction surveys": "functional.service.improve", "Warranty and returns": "essential.service",
    "Debt collection": "finance", "Market research": "analytics", "Health insurance add-on": "sales",
    "Phone banking authentication": "essential.service.authentication",
    "Payroll": "employment", "Performance management": "employment", "Occupational health": "employment",
    "Time and attendance": "employment", "Workplace access control": "essential.service.security",
    "IT security monitoring": "essential.service.security", "Pension administration": "employment",
    "Diversity monitoring": "employment", "Trade union dues": "employment", "Business travel": "employment",
    "Expense management": "finance", "Training and development": "employment", "Employee directory": "employment",
    "Workforce analytics": "analytics.reporting", "Background screening": "employment.recruitment",
    "Sickness absence management": "employment",
    "Recruitment": "employment.recruitment", "Candidate assessment": "employment.recruitment",
    "Talent pool": "employment.recruitment", "Pre-employment screening": "employment.recruitment",
    "Reasonable adjustments": "employment.recruitment", "Equal opportunities monitoring": "employment.recruitment",
    "Website analytics": "analytics.reporting", "Online advertising": "marketing.advertising.third_party.targeted",
    "Support community": "essential.service", "Community moderation": "essential.service.security",
    "Security logging": "essential.service.security",
    "Cookie consent records": "functional.storage.privacy_preferences",
    "E-learning delivery": "essential.service", "Progress reports to parents": "essential.service.notifications.email",
    "Learning analytics": "analytics", "Accessibility support": "essential.service",
    "Parent newsletter": "marketing.communications.email", "Course billing": "essential.service.payment_processing",
    "Telehealth consultations": "essential.service", "Clinical study management": "operations",
    "Adverse event reporting": "essential.legal_obligation", "Remote patient monitoring": "essential.service",
    "Health service billing": "essential.service.payment_processing",
    "Supplier management": "operations", "Partner portal": "essential.service",
    "Sanctions screening": "essential.legal_obligation", "Event management": "marketing.communications",
    "Shareholder register": "essential.legal_obligation", "B2B marketing": "marketing.communications.email",
}
FUNCTION_USE = {"Marketing": "marketing", "HR": "employment", "Finance": "finance",
                "Legal": "essential.legal_obligation"}

SUBJECT = {"customers": "customer", "employees": "employee", "contractors": "consultant",
           "job-applicants": "job_applicant", "website-visitors": "visitor", "community-members": "customer",
           "students": "trainee", "parents": "next_of_kin", "patients-eea": "patient",
           "trial-participants": "patient", "supplier-contacts": "supplier_vendor",
           "partner-contacts": "supplier_vendor", "shareholders": "shareholder"}

# element id suffix (or category) -> fideslang data category
BY_SUFFIX = [  # first match wins; a needle matches whole hyphen-separated words
    ("ip-address", "user.device.ip_address"), ("device-fingerprint", "user.device"),
    ("browser-fingerprint", "user.device"), ("email-engagement", "user.behavior"),
    ("email-metadata", "user.behavior"),
    ("first-name", "user.name.first"), ("last-name", "user.name.last"), ("name", "user.name"),
    ("photo", "user.content.self_image"), ("avatar", "user.content.self_image"),
    ("passport-number", "user.government_id.passport_number"),
    ("drivers-licence", "user.government_id.drivers_license_number"),
    ("work-permit", "user.government_id.immigration"), ("right-to-work", "user.government_id.immigration"),
    ("email", "user.contact.email"), ("phone", "user.contact.phone_number"), ("mobile", "user.contact.phone_number"),
    ("address", "user.contact.address"), ("profile-url", "user.contact.url"),
    ("username", "user.account.username"), ("password-hash", "user.authorization.password"),
    ("cookie-id", "user.device.cookie_id"), ("device-id", "user.device.device_id"),
    ("pseudonymous", "user.unique_id.pseudonymous"), ("trial-code", "user.unique_id.pseudonymous"),
    ("gps", "user.location.precise"),
    ("purchase-history", "user.behavior.purchase_history"), ("browsing-history", "user.behavior.browsing_history"),
    ("clickstream", "user.behavior.browsing_history"), ("page-views", "user.behavior.browsing_history"),
    ("search-queries", "user.behavior.search_history"),
    ("date-of-birth", "user.demographic.date_of_birth"), ("gender", "user.demographic.gender"),
    ("language", "user.demographic.language"), ("marital-status", "user.demographic.marital_status"),
    ("age", "user.demographic.age_range"), ("job-title", "user.job_title"),
    ("iban", "user.financial.bank_account"), ("bank-account", "user.financial.bank_account"),
    ("card-token", "user.financial.credit_card"),
    ("insurance-number", "user.health_and_medical.insurance_beneficiary_id"),
    ("fingerprint", "user.biometric.fingerprint"), ("voice", "user.biometric.voice"),
]
BY_CATEGORY = {
    "identity": "user.name", "government-id": "user.government_id.national_identification_number",
    "contact": "user.contact", "account": "user.account", "credentials": "user.authorization.credentials",
    "online-identifier": "user.unique_id", "device": "user.device", "location": "user.location.imprecise",
    "behavioural": "user.behavior", "content": "user.content.private", "demographic": "user.demographic",
    "professional": "user.workplace", "financial": "user.financial", "criminal": "user.criminal_history",
    "special:health": "user.health_and_medical", "special:genetic": "user.health_and_medical.genetic",
    "special:biometric": "user.biometric", "special:racial-ethnic": "user.demographic.race_ethnicity",
    "special:political": "user.demographic.political_opinion",
    "special:religious": "user.demographic.religious_belief", "special:trade-union": "user.workplace",
    "special:sex-life": "user.demographic.sexual_orientation",
}

ALL_SUBJECTS = sorted(set(SUBJECT.values()))
POLICY: dict[str, Any] = {
    "fides_key": "flowaudit_benchmark_policy",
    "name": "Sensitive data and purpose limitation",
    "description": "Rules a privacy office would write; the same intent as part of flowaudit's catalogue.",
    "rules": [
        {"name": "No marketing or personalisation with sensitive data",
         "data_categories": {"matches": "ANY", "values": [
             "user.health_and_medical", "user.biometric", "user.demographic.race_ethnicity",
             "user.demographic.religious_belief", "user.demographic.political_opinion",
             "user.demographic.sexual_orientation", "user.criminal_history", "user.financial", "user.childrens"]},
         "data_uses": {"matches": "ANY", "values": ["marketing", "personalize", "sales"]},
         "data_subjects": {"matches": "ANY", "values": ALL_SUBJECTS}},
        {"name": "Credentials stay in the service",
         "data_categories": {"matches": "ANY", "values": ["user.authorization"]},
         "data_uses": {"matches": "ANY", "values": ["marketing", "analytics", "personalize", "third_party_sharing"]},
         "data_subjects": {"matches": "ANY", "values": ALL_SUBJECTS}},
        {"name": "No marketing to staff and candidates",
         "data_categories": {"matches": "ANY", "values": ["user"]},
         "data_uses": {"matches": "ANY", "values": ["marketing", "personalize", "sales"]},
         "data_subjects": {"matches": "ANY", "values": ["employee", "job_applicant", "consultant"]}},
        {"name": "Precise location is not used for advertising",
         "data_categories": {"matches": "ANY", "values": ["user.location.precise"]},
         "data_uses": {"matches": "ANY", "values": ["marketing.advertising", "personalize"]},
         "data_subjects": {"matches": "ANY", "values": ALL_SUBJECTS}},
        {"name": "Health data is analysed only pseudonymously",
         "data_categories": {"matches": "ANY", "values": ["user.health_and_medical", "user.name",
                                                          "user.contact"]},
         "data_uses": {"matches": "ANY", "values": ["analytics", "train_ai_system"]},
         "data_subjects": {"matches": "ANY", "values": ["patient"]}},
    ],
}


def _category(element: dict) -> str:
    words = f"-{element['id'].split('.', 1)[1]}-"
    for needle, key in BY_SUFFIX:
        if f"-{needle}-" in words:
            return key
    return BY_CATEGORY[element["category"]]


def _data_use(purpose: dict) -> str:
    base = re.sub(r" \([^)]*\)$", "", purpose["name"])
    return DATA_USE.get(base) or FUNCTION_USE.get(purpose.get("business_function", ""), "essential.service")


def _subject(subject_id: str) -> str:
    return SUBJECT.get(subject_id) or SUBJECT.get(subject_id.split("-")[0], "customer")


def _load(inventory: Path) -> dict[str, list[dict]]:
    sections: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(inventory.rglob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=yaml.CSafeLoader) or {}
        for key, entries in doc.items():
            sections[key].extend(entries or [])
    return sections


def write_fides_manifest(inventory: Path, out: Path, systems_per_file: int = 40) -> dict[str, int]:
    """Write the fideslang manifest of a flowaudit inventory into `out`; return counts."""
    inv = _load(inventory)
    elements = {e["id"]: e for e in inv["elements"]}
    purposes = {p["id"]: p for p in inv["purposes"]}
    systems = {s["id"]: s for s in inv["systems"]}
    subjects = {s["id"] for s in inv["subjects"]}
    children = {s["id"] for s in inv["subjects"] if s.get("children")}
    orgs = {o["id"]: o for o in inv["organisations"]}
    declared: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    egress: dict[str, set[str]] = defaultdict(set)
    ingress: dict[str, set[str]] = defaultdict(set)
    for flow in inv["flows"]:
        a, b = flow["from"], flow["to"]
        for end in (a, b):
            if end in systems:
                for p in flow["purposes"]:
                    declared[end][p].update(flow["elements"])
        if a in systems and b in systems:
            egress[a].add(b)
            ingress[b].add(a)
        elif a in subjects and b in systems:
            ingress[b].add("user")
    out.mkdir(parents=True, exist_ok=True)
    docs: list[dict] = []
    n_decl = 0
    for sid in sorted(systems):
        system = systems[sid]
        declarations = []
        for pid in sorted(declared.get(sid, {})):
            purpose = purposes[pid]
            categories = {_category(elements[e]) for e in declared[sid][pid]}
            if children.intersection(purpose["subjects"]):
                categories.add("user.childrens")  # fideslang marks minors' data as a category
            declarations.append({
                "name": purpose["name"],
                "data_categories": sorted(categories),
                "data_use": _data_use(purpose),
                "data_subjects": sorted({_subject(s) for s in purpose["subjects"]}),
            })
        n_decl += len(declarations)
        operator = orgs[system["operator"]]
        doc: dict[str, Any] = {
            "fides_key": sid,
            "name": system["name"],
            "description": f"Operated by {operator['name']} in {', '.join(system.get('locations', []))}",
            "system_type": "Service",
            "administrating_department": operator["name"],
            "privacy_declarations": declarations,
        }
        if egress.get(sid):
            doc["egress"] = [{"fides_key": k, "type": "system"} for k in sorted(egress[sid])]
        if ingress.get(sid):
            doc["ingress"] = [{"fides_key": k, "type": "user" if k == "user" else "system"}
                              for k in sorted(ingress[sid])]
        docs.append(doc)
    for i in range(0, len(docs), systems_per_file):
        chunk = {"system": docs[i:i + systems_per_file]}
        (out / f"systems-{i // systems_per_file + 1:03d}.yml").write_text(
            yaml.dump(chunk, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    (out / "policy.yml").write_text(yaml.dump({"policy": [POLICY]}, Dumper=yaml.CSafeDumper, sort_keys=False),
                                    encoding="utf-8")
    return {"systems": len(docs), "declarations": n_decl}


# --------------------------------------------------------------------------------------------
# Timing


class Measured(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds, user + system
    peak_mb: float
    returncode: int
    stderr_tail: str


# Runs one step and reports on it. It is a small interpreter of its own (-S, no imports beyond
# os, time, json and resource) because on Linux a process's ru_maxrss starts from the high-water
# mark of the process it was forked from: measured straight from the benchmark, whose own
# footprint grows with the inventories it writes, every step would look at least that big.
_WRAPPER = """
import json, os, resource, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status = os.waitpid(pid, 0)
wall = time.perf_counter() - start
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(report, "w") as f:
    json.dump({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss,
               "returncode": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured(cmd: list[str], *, stdout=subprocess.DEVNULL, env: dict[str, str] | None = None,
                 cwd: Path | None = None, timeout: float | None = None) -> Measured:
    """Run `cmd` in a fresh child process (through `_WRAPPER`) and measure it.

    CPU time (user + system) is reported beside the wall clock because it barely moves when
    other processes share the machine; the wall clock does.
    """
    with tempfile.TemporaryDirectory(prefix="flowaudit-measure-") as tmp:
        report = Path(tmp) / "measured.json"
        err_path = Path(tmp) / "stderr"
        with err_path.open("wb") as err:
            proc = subprocess.Popen([sys.executable, "-S", "-c", _WRAPPER, str(report), *cmd], stdout=stdout,
                                    stderr=err, env=env, cwd=cwd, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return Measured(float("inf"), float("inf"), 0.0, -9, "timeout")
        tail = err_path.read_bytes()[-3000:].decode("utf-8", "replace")
        if not report.exists():
            return Measured(float("inf"), float("inf"), 0.0, proc.returncode or -1, tail or "the wrapper failed")
        m = json.loads(report.read_text(encoding="utf-8"))
    return Measured(m["wall"], m["cpu"], m["maxrss_kb"] / 1024, m["returncode"], tail)


def compare(sizes: tuple[int, ...] = DEFAULT_SIZES, work: Path | None = None, timeout: float = 3600,
            log=print) -> list[dict[str, Any]]:
    """Run the comparison; one row per size."""
    from flowaudit.synth import synthesize

    fides = ensure_fides(log=log)
    rows = []
    with tempfile.TemporaryDirectory(prefix="flowaudit-fides-") as tmp:
        base = work or Path(tmp)
        for n_systems in sizes:
            inv = base / f"flowaudit-{n_systems}"
            manifest = base / f"fides-{n_systems}"
            counts = synthesize(inv, n_systems * FLOWS_PER_SYSTEM, seed=0)
            fcounts = write_fides_manifest(inv, manifest)
            log(f"{n_systems} systems: {counts['systems']} flowaudit systems, {counts['flows']} flows; "
                f"{fcounts['systems']} Fides systems, {fcounts['declarations']} privacy declarations")
            out_json = base / f"findings-{n_systems}.json"
            fa_wall, fa_cpu, fa_peak, fa_rc, fa_err = run_measured(
                [sys.executable, "-m", "flowaudit", "audit", str(inv), "--format", "json", "-o", str(out_json)],
                cwd=ROOT, timeout=timeout)
            if fa_rc not in (0, 1):
                raise RuntimeError(f"flowaudit audit failed (exit {fa_rc}):\n{fa_err}")
            findings = _count_findings(out_json)
            fides_out = base / f"fides-{n_systems}.out"
            with fides_out.open("wb") as fh:
                fi_wall, fi_cpu, fi_peak, fi_rc, fi_err = run_measured(
                    [str(fides), "--local", "evaluate", str(manifest)], stdout=fh, env=_fides_env(), cwd=base,
                    timeout=timeout)
            if fi_rc not in (0, 1):
                raise RuntimeError(f"fides evaluate failed (exit {fi_rc}):\n{fi_err}")
            violations = fides_out.read_text(encoding="utf-8", errors="replace").count("'detail':")
            row = {"systems": counts["systems"], "flows": counts["flows"], "declarations": fcounts["declarations"],
                   "fides_s": fi_wall, "fides_cpu": fi_cpu, "fides_mb": fi_peak, "violations": violations,
                   "flowaudit_s": fa_wall, "flowaudit_cpu": fa_cpu, "flowaudit_mb": fa_peak, "findings": findings,
                   "ratio": fi_wall / fa_wall if fa_wall else float("nan"), "timeout": fi_rc == -9}
            log(f"  fides evaluate {_secs(fi_wall)} (CPU {_secs(fi_cpu)}, {violations} violations), flowaudit audit "
                f"{_secs(fa_wall)} (CPU {_secs(fa_cpu)}, {findings} findings): fides/flowaudit = {row['ratio']:.2f}")
            rows.append(row)
    return rows


def _count_findings(path: Path) -> int:
    try:
        return len(json.loads(path.read_text(encoding="utf-8"))["findings"])
    except (OSError, ValueError, KeyError):
        return -1


def _secs(s: float) -> str:
    return "timeout" if s == float("inf") else f"{s:.2f} s"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        (f"Fides {FIDES_VERSION} (`fides --local evaluate`) against `flowaudit audit --format json` on the "
         "same synthetic organisation; wall clock of a fresh process each, peak RSS of that process."),
        "",
        ("| systems | flows | Fides declarations | Fides s (CPU s) | Fides peak MB | Fides violations "
         "| flowaudit s (CPU s) | flowaudit peak MB | flowaudit findings | Fides / flowaudit |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['systems']:,} | {r['flows']:,} | {r['declarations']:,} "
            f"| {_secs(r['fides_s'])[:-2]} ({_secs(r['fides_cpu'])[:-2]}) | {r['fides_mb']:.0f} | {r['violations']:,} "
            f"| {r['flowaudit_s']:.2f} ({r['flowaudit_cpu']:.2f}) | {r['flowaudit_mb']:.0f} "
            f"| {r['findings']:,} | {r['ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="numbers of systems, comma-separated (default %(default)s)")
    parser.add_argument("--keep", type=Path, help="write the inventories and manifests here and keep them")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run before giving up")
    parser.add_argument("--install-only", action="store_true", help="install Fides into its venv and stop")
    args = parser.parse_args(argv)
    if args.install_only:
        print(ensure_fides())
        return 0
    sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    rows = compare(sizes, args.keep, args.timeout)
    print()
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
