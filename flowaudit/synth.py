"""A synthetic inventory of realistic shape, for benchmarks and scale tests (SPEC §5 `synth`).

`synthesize(out_dir, flows, seed)` writes a fictitious multinational group ("Norda Group SE",
established in DE) as the teams of a real organisation would keep it: central
`organisations.yaml`, `subjects.yaml`, `elements.yaml`, `purposes.yaml`, `waivers.yaml`, and
`teams/team-NNN.yaml` each holding one team's systems and the flows of its processing
activities (about 750 flows a file). Roughly one purpose per 100 flows and one system per 20.

The shape follows what a privacy office sees: most processing stays in the EEA, a minority of
flows leave it (to US processors, the CN and IN affiliates, ad networks...) under a mix of
safeguards, and a small share of everything is wrong on purpose so that every rule of the
catalogue has something to find (missing DPAs, stale TIAs, 2010 SCCs, wrong modules, Art. 49
derogations used continuously, unlisted sub-processors, purposes without retention...).

Output is deterministic: one `random.Random(seed)`, no set iteration over strings, fixed dates
(never "today"), so the same (flows, seed) gives byte-identical files. The YAML is written as
text (block mappings, flow-style lists) because `yaml.dump` is far too slow at 100,000 flows.
No element flows in a cycle (the validator refuses that): systems have a global rank (tier,
then index) and ordinary flows only go up it; the few flows that go back down (and so make the
graph cyclic, as real enrichment loops do) carry only derived scores that never go up.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["synthesize"]

EEA = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
})
# Destinations the generator treats as adequate (SPEC §8); the US only for eu-us-dpf importers.
EU_ADEQUATE = frozenset({"AD", "AR", "BR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"})
UK_ADEQUATE = EEA | frozenset({"GI", "CH", "CA", "AR", "GG", "IM", "JE", "AD", "IL", "UY", "NZ", "JP", "KR"})

CONTROLLER_ID = "norda-group"
DERIVED_NOTE = "derived in the group's systems, never collected"

# ---------------------------------------------------------------------------------------------
# YAML scalars


_YAML11_WORDS = frozenset({"NO", "ON", "OFF", "YES", "Y", "N", "TRUE", "FALSE", "NULL"})


def _cc(code: str) -> str:
    """A country code; `NO` (Norway) would load as false in YAML 1.1."""
    return f'"{code}"' if code in _YAML11_WORDS else code


def _q(text: str) -> str:
    """Free text as a double-quoted scalar (JSON's escapes are a subset of YAML's)."""
    return json.dumps(text)


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


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


# ---------------------------------------------------------------------------------------------
# Catalogues


# (country, legal name, member of the group's BCR)
AFFILIATES: list[tuple[str, str, bool]] = [
    ("IE", "Norda Ireland Ltd", True), ("FR", "Norda France SAS", True),
    ("NL", "Norda Nederland B.V.", True), ("ES", "Norda Iberia S.L.", True),
    ("IT", "Norda Italia S.r.l.", True), ("PL", "Norda Polska sp. z o.o.", True),
    ("SE", "Norda Sverige AB", True), ("NO", "Norda Norge AS", True), ("AT", "Norda Austria GmbH", True),
    ("GB", "Norda UK Ltd", True), ("CH", "Norda Schweiz AG", True), ("US", "Norda Inc.", True),
    ("CA", "Norda Canada Inc.", True), ("MX", "Norda Mexico S.A. de C.V.", False),
    ("BR", "Norda Brasil Ltda.", True), ("CN", "Norda (Shanghai) Co., Ltd.", True),
    ("IN", "Norda India Pvt. Ltd.", True), ("JP", "Norda Japan K.K.", True), ("KR", "Norda Korea Ltd.", True),
    ("SG", "Norda Asia Pacific Pte. Ltd.", True), ("AU", "Norda Australia Pty Ltd", True),
    ("ZA", "Norda South Africa (Pty) Ltd", False), ("AE", "Norda Middle East FZ-LLC", False),
    ("PH", "Norda Shared Services Philippines Inc.", False),
]
BCR_GROUP = "Norda Group BCR"

LEGAL_FORM = {
    "US": "Inc.", "IE": "Ltd", "GB": "Ltd", "DE": "GmbH", "NL": "B.V.", "FR": "SAS", "IN": "Pvt. Ltd.",
    "SG": "Pte. Ltd.", "CA": "Inc.", "JP": "K.K.", "BR": "Ltda.", "CN": "Co., Ltd.", "PL": "sp. z o.o.",
    "SE": "AB", "IL": "Ltd.", "PH": "Inc.", "ES": "S.L.", "AU": "Pty Ltd", "CH": "AG", "KR": "Co., Ltd.",
}
BRAND_A = ["Cloud", "Data", "Pay", "Mail", "Tele", "Secure", "Net", "Quanta", "Blue", "Nimbus", "Vector",
           "Atlas", "Orbit", "Pixel", "Helix", "Nova", "Zen", "Lumen", "Apex", "Summit", "Arc", "Bright",
           "Clear", "Swift", "True", "Iron", "Silver", "North", "Delta", "Prism", "Cobalt", "Maple"]
BRAND_B = ["ly", "works", "stack", "flow", "base", "hub", "sense", "point", "grid", "forge", "desk", "link",
           "path", "scale", "box", "ware", "loop", "wave", "cast", "mind"]
SERVICES = ["cloud hosting", "email delivery", "payment processing", "CRM software", "product analytics",
            "call centre", "payroll", "ticketing", "identity management", "log management", "translation",
            "print and mail", "background screening", "e-signature", "survey tools", "content delivery",
            "backup", "video conferencing", "applicant tracking", "learning platform", "customer data platform",
            "fraud scoring", "SMS gateway", "data labelling", "IT support"]
PROCESSOR_COUNTRIES = [("US", 30), ("IE", 12), ("DE", 12), ("NL", 7), ("FR", 5), ("GB", 7), ("IN", 8),
                       ("SG", 3), ("CA", 2), ("JP", 2), ("BR", 2), ("CN", 2), ("PL", 3), ("SE", 2), ("IL", 2),
                       ("PH", 3)]
# Forced first so that every region has someone to host its systems, even in small inventories.
PROCESSOR_SEED_COUNTRIES = ["US", "IE", "DE", "IN", "GB", "US", "SG", "NL", "JP", "BR", "CN", "US"]
SUBPROCESSOR_COUNTRIES = [("US", 35), ("IE", 10), ("DE", 8), ("NL", 6), ("IN", 14), ("PH", 8), ("GB", 6),
                          ("SG", 4), ("PL", 4), ("CA", 3), ("IL", 2)]

# (id, name, country, relation, kind) of recipients that have no modelled system
RECIPIENTS: list[tuple[str, str, str, str]] = [
    ("hanse-kreditbank", "Hanse Kreditbank AG", "DE", "joint-controller"),
    ("lumo-insurance", "Lumo Insurance plc", "GB", "joint-controller"),
    ("sakura-card", "Sakura Card K.K.", "JP", "joint-controller"),
    ("meridian-retail", "Meridian Retail Group Inc.", "US", "joint-controller"),
    ("aurora-travel", "Aurora Travel Alliance B.V.", "NL", "joint-controller"),
    ("finanzamt-muenchen", "Finanzamt Muenchen", "DE", "authority"),
    ("deutsche-rentenversicherung", "Deutsche Rentenversicherung Bund", "DE", "authority"),
    ("bfdi", "Bundesbeauftragte fuer den Datenschutz und die Informationsfreiheit", "DE", "authority"),
    ("revenue-ie", "Office of the Revenue Commissioners", "IE", "authority"),
    ("hmrc", "HM Revenue & Customs", "GB", "authority"),
    ("irs", "Internal Revenue Service", "US", "authority"),
    ("cn-sta", "State Taxation Administration", "CN", "authority"),
    ("bfarm", "Bundesinstitut fuer Arzneimittel und Medizinprodukte", "DE", "authority"),
    ("ema", "European Medicines Agency", "NL", "authority"),
    ("in-epfo", "Employees' Provident Fund Organisation", "IN", "authority"),
]
PARTNER_KINDS = [("Distribution", "partner"), ("Reseller", "partner"), ("Logistics", "partner"),
                 ("Marketing", "partner")]
THIRD_PARTY_KINDS = [("Ad Network", "US"), ("Credit Bureau", "DE"), ("Credit Reference", "GB"),
                     ("Pension Fund", "DE"), ("Audit", "DE"), ("Insurance", "FR"), ("Bank", "IE"),
                     ("Market Research", "GB"), ("Data Broker", "US"), ("Law Firm", "DE"),
                     ("Benefits Provider", "US"), ("Occupational Health", "DE"), ("Ad Exchange", "SG"),
                     ("Debt Collection", "NL")]

# (id, name, locations, children, count, domain)
SUBJECTS: list[tuple[str, str, list[str], bool, int, str]] = [
    ("customers-eea", "Customers in the EEA", ["EEA"], False, 4_200_000, "customer"),
    ("customers-gb", "Customers in the United Kingdom", ["GB"], False, 900_000, "customer"),
    ("customers-us", "Customers in North America", ["US", "CA"], False, 2_600_000, "customer"),
    ("customers-cn", "Customers in mainland China", ["CN"], False, 1_800_000, "customer"),
    ("customers-in", "Customers in India", ["IN"], False, 650_000, "customer"),
    ("customers-br", "Customers in Latin America", ["BR", "MX"], False, 420_000, "customer"),
    ("customers-jp", "Customers in Japan", ["JP"], False, 310_000, "customer"),
    ("customers-apac", "Customers in Singapore, Korea and Australia", ["SG", "KR", "AU"], False, 350_000,
     "customer"),
    ("employees-eea", "Employees in the EEA", ["DE", "IE", "FR", "NL", "ES", "IT", "PL", "SE", "NO", "AT"],
     False, 18_000, "employee"),
    ("employees-gb", "Employees in the United Kingdom", ["GB"], False, 2_500, "employee"),
    ("employees-us", "Employees in North America", ["US", "CA", "MX"], False, 6_000, "employee"),
    ("employees-cn", "Employees in China", ["CN"], False, 4_100, "employee"),
    ("employees-in", "Employees in India", ["IN"], False, 7_500, "employee"),
    ("employees-apac", "Employees in Japan, Korea, Singapore, Australia and the Philippines",
     ["JP", "KR", "SG", "AU", "PH"], False, 3_200, "employee"),
    ("employees-latam", "Employees in Brazil and Mexico", ["BR", "MX"], False, 1_400, "employee"),
    ("contractors", "Contractors and temporary staff", ["WORLD"], False, 3_000, "employee"),
    ("job-applicants", "Job applicants", ["WORLD"], False, 60_000, "applicant"),
    ("website-visitors", "Website and app visitors", ["WORLD"], False, 25_000_000, "visitor"),
    ("community-members", "Support community members (from age 13)", ["WORLD"], True, 800_000, "visitor"),
    ("students", "Learners on the academy platform", ["EEA", "GB"], True, 120_000, "student"),
    ("parents", "Parents and guardians of learners", ["EEA", "GB"], False, 90_000, "student"),
    ("patients-eea", "Patients of the telehealth service", ["DE", "FR", "NL", "ES"], False, 45_000, "patient"),
    ("trial-participants", "Clinical study participants", ["EEA", "US"], False, 8_000, "patient"),
    ("supplier-contacts", "Supplier contact persons", ["WORLD"], False, 15_000, "b2b"),
    ("partner-contacts", "Partner and reseller contact persons", ["WORLD"], False, 9_000, "b2b"),
    ("shareholders", "Registered shareholders", ["EEA", "GB", "US"], False, 30_000, "b2b"),
]

DOMAIN_PREFIX = {"customer": "cust", "employee": "emp", "applicant": "appl", "visitor": "web",
                 "student": "edu", "patient": "pat", "b2b": "b2b"}

# Element catalogue: domain -> (suffix, name, category, options). Options: `only` (subject ids),
# `identifier`, `state`, `derived` (a score computed in the group's systems).
_E = tuple[str, str, str, dict]
ELEMENTS: dict[str, list[_E]] = {
    "customer": [
        ("full-name", "Full name", "identity", {}), ("first-name", "First name", "identity", {}),
        ("last-name", "Last name", "identity", {}), ("title", "Form of address", "identity", {}),
        ("national-id", "National identity number", "government-id", {}),
        ("passport-number", "Passport number", "government-id", {}),
        ("tax-id", "Tax identification number", "government-id", {}),
        ("drivers-licence", "Driving licence number", "government-id", {}),
        ("email", "Email address", "contact", {}), ("phone", "Phone number", "contact", {}),
        ("mobile", "Mobile number", "contact", {}), ("postal-address", "Postal address", "contact", {}),
        ("billing-address", "Billing address", "contact", {}),
        ("delivery-address", "Delivery address", "contact", {}),
        ("customer-number", "Customer number", "account", {}), ("username", "Username", "account", {}),
        ("account-status", "Account status", "account", {}), ("loyalty-id", "Loyalty card number", "account", {}),
        ("subscription-tier", "Subscription tier", "account", {"identifier": "none"}),
        ("password-hash", "Password hash", "credentials", {}), ("mfa-secret", "MFA secret", "credentials", {}),
        ("security-answers", "Security question answers", "credentials", {}),
        ("api-token", "API token", "credentials", {}),
        ("ip-address", "IP address", "online-identifier", {}), ("cookie-id", "Cookie identifier", "online-identifier", {}),
        ("advertising-id", "Mobile advertising ID", "online-identifier", {}),
        ("session-id", "Session identifier", "online-identifier", {}),
        ("device-id", "Device identifier", "device", {}), ("device-model", "Device model", "device", {}),
        ("os-version", "Operating system version", "device", {}),
        ("browser-fingerprint", "Browser fingerprint", "device", {}),
        ("gps-location", "Precise location", "location", {}), ("delivery-geo", "Delivery geolocation", "location", {}),
        ("store-visits", "Store visits", "location", {}),
        ("purchase-history", "Purchase history", "behavioural", {}),
        ("browsing-history", "Browsing history", "behavioural", {}), ("clickstream", "Clickstream", "behavioural", {}),
        ("app-usage", "App usage events", "behavioural", {}), ("search-queries", "Search queries", "behavioural", {}),
        ("preferences", "Preferences", "behavioural", {}), ("email-engagement", "Email opens and clicks", "behavioural", {}),
        ("support-tickets", "Support tickets", "content", {}), ("chat-transcripts", "Chat transcripts", "content", {}),
        ("reviews", "Product reviews", "content", {}), ("call-recordings", "Call recordings", "content", {}),
        ("age-band", "Age band", "demographic", {}), ("gender", "Gender", "demographic", {}),
        ("language", "Preferred language", "demographic", {}), ("date-of-birth", "Date of birth", "demographic", {}),
        ("household-size", "Household size", "demographic", {}),
        ("employer", "Employer", "professional", {}), ("job-title", "Job title", "professional", {}),
        ("card-token", "Payment card token", "financial", {}), ("iban", "Bank account (IBAN)", "financial", {}),
        ("credit-score", "Credit score", "financial", {}), ("payment-history", "Payment history", "financial", {}),
        ("income-band", "Income band", "financial", {}), ("invoice-amounts", "Invoice amounts", "financial", {}),
        ("health-declaration", "Health declaration for insurance", "special:health", {}),
        ("face-template", "Face template for identity verification", "special:biometric", {}),
        ("voice-print", "Voice print for phone banking", "special:biometric", {}),
        ("pseudonymous-id", "Pseudonymous customer key", "account",
         {"identifier": "quasi", "state": "pseudonymised"}),
        ("sales-aggregates", "Aggregated sales statistics", "behavioural", {"state": "anonymised"}),
        ("customer-segment", "Customer segment", "behavioural", {"derived": True}),
        ("fraud-score", "Fraud risk score", "financial", {"derived": True}),
    ],
    "employee": [
        ("full-name", "Full name", "identity", {}), ("photo", "Staff photo", "identity", {}),
        ("national-insurance-number", "Social insurance number", "government-id", {}),
        ("tax-id", "Tax identification number", "government-id", {}),
        ("passport-number", "Passport number", "government-id", {}),
        ("work-permit", "Work permit", "government-id", {}),
        ("work-email", "Work email address", "contact", {}), ("personal-email", "Personal email address", "contact", {}),
        ("home-address", "Home address", "contact", {}), ("phone", "Phone number", "contact", {}),
        ("emergency-contact", "Emergency contact", "contact", {}),
        ("employee-number", "Employee number", "account", {}), ("directory-account", "Directory account", "account", {}),
        ("badge-id", "Badge number", "account", {}),
        ("password-hash", "Password hash", "credentials", {}), ("mfa-secret", "MFA secret", "credentials", {}),
        ("vpn-certificate", "VPN certificate", "credentials", {}),
        ("ip-address", "IP address", "online-identifier", {}),
        ("laptop-serial", "Laptop serial number", "device", {}), ("mobile-device-id", "Mobile device ID", "device", {}),
        ("badge-access-log", "Building access log", "location", {}),
        ("vehicle-gps", "Company vehicle GPS track", "location", {}),
        ("travel-itinerary", "Travel itinerary", "location", {}),
        ("it-usage-logs", "IT usage logs", "behavioural", {}), ("email-metadata", "Email metadata", "behavioural", {}),
        ("training-records", "Training records", "behavioural", {}),
        ("hr-case-notes", "HR case notes", "content", {}), ("mailbox-content", "Mailbox content", "content", {}),
        ("gender", "Gender", "demographic", {}), ("nationality", "Nationality", "demographic", {}),
        ("marital-status", "Marital status", "demographic", {}), ("date-of-birth", "Date of birth", "demographic", {}),
        ("job-title", "Job title", "professional", {}), ("department", "Department", "professional", {}),
        ("manager", "Line manager", "professional", {}), ("employment-history", "Employment history", "professional", {}),
        ("qualifications", "Qualifications", "professional", {}), ("work-schedule", "Work schedule", "professional", {}),
        ("performance-rating", "Performance rating", "professional", {}),
        ("salary", "Salary", "financial", {}), ("bank-account", "Bank account", "financial", {}),
        ("bonus", "Bonus", "financial", {}), ("pension-contributions", "Pension contributions", "financial", {}),
        ("expense-claims", "Expense claims", "financial", {}), ("tax-class", "Tax class", "financial", {}),
        ("sick-leave", "Sick leave records", "special:health", {}),
        ("occupational-health-notes", "Occupational health notes", "special:health", {}),
        ("disability-status", "Disability status", "special:health", {}),
        ("ethnicity", "Ethnic origin (diversity monitoring)", "special:racial-ethnic", {}),
        ("church-tax", "Church tax liability (reveals religion)", "special:religious", {"only": ["employees-eea"]}),
        ("union-membership", "Trade union membership", "special:trade-union", {}),
        ("fingerprint-template", "Fingerprint template for time clocks", "special:biometric", {}),
        ("sexual-orientation", "Sexual orientation (diversity survey)", "special:sex-life", {}),
        ("criminal-record-check", "Criminal record check", "criminal", {}),
        ("pseudonymous-id", "Pseudonymous employee key", "account", {"identifier": "quasi", "state": "pseudonymised"}),
        ("headcount-aggregates", "Headcount statistics", "professional", {"state": "anonymised", "identifier": "none"}),
        ("attrition-risk", "Attrition risk score", "behavioural", {"derived": True}),
    ],
    "applicant": [
        ("full-name", "Full name", "identity", {}), ("email", "Email address", "contact", {}),
        ("phone", "Phone number", "contact", {}), ("address", "Postal address", "contact", {}),
        ("profile-url", "Professional profile URL", "online-identifier", {}),
        ("candidate-account", "Candidate account", "account", {}),
        ("password-hash", "Password hash", "credentials", {}),
        ("cv", "CV", "professional", {}), ("cover-letter", "Cover letter", "content", {}),
        ("interview-notes", "Interview notes", "content", {}), ("references", "References", "professional", {}),
        ("salary-expectation", "Salary expectation", "financial", {}),
        ("right-to-work", "Right-to-work documents", "government-id", {}),
        ("assessment-scores", "Assessment scores", "behavioural", {}),
        ("criminal-record-check", "Criminal record check", "criminal", {}),
        ("adjustments", "Reasonable adjustments needed", "special:health", {}),
        ("ethnicity", "Ethnic origin (equal opportunities)", "special:racial-ethnic", {}),
        ("date-of-birth", "Date of birth", "demographic", {}),
        ("candidate-fit", "Candidate fit score", "behavioural", {"derived": True}),
    ],
    "visitor": [
        ("ip-address", "IP address", "online-identifier", {}),
        ("cookie-id", "Cookie identifier", "online-identifier", {"only": ["website-visitors"]}),
        ("user-agent", "User agent", "device", {}),
        ("device-fingerprint", "Device fingerprint", "device", {"only": ["website-visitors"]}),
        ("clickstream", "Clickstream", "behavioural", {"only": ["website-visitors"]}),
        ("page-views", "Page views", "behavioural", {}), ("referrer", "Referrer", "behavioural", {}),
        ("consent-record", "Consent record", "account", {}),
        ("approximate-location", "Approximate location", "location", {}),
        ("community-username", "Community username", "account", {"only": ["community-members"]}),
        ("display-name", "Display name", "identity", {"only": ["community-members"]}),
        ("email", "Email address", "contact", {"only": ["community-members"]}),
        ("forum-posts", "Forum posts", "content", {"only": ["community-members"]}),
        ("private-messages", "Private messages", "content", {"only": ["community-members"]}),
        ("avatar", "Profile picture", "identity", {"only": ["community-members"]}),
        ("password-hash", "Password hash", "credentials", {"only": ["community-members"]}),
        ("reputation-points", "Reputation points", "behavioural", {"only": ["community-members"]}),
        ("age-confirmation", "Age confirmation", "demographic", {"only": ["community-members"]}),
        ("pseudonymous-visitor-id", "Pseudonymous visitor key", "online-identifier",
         {"identifier": "quasi", "state": "pseudonymised"}),
        ("traffic-aggregates", "Aggregated traffic statistics", "behavioural", {"state": "anonymised"}),
        ("audience-segment", "Audience segment", "behavioural", {"derived": True, "only": ["website-visitors"]}),
    ],
    "student": [
        ("full-name", "Learner name", "identity", {"only": ["students"]}),
        ("date-of-birth", "Date of birth", "demographic", {"only": ["students"]}),
        ("school", "School", "professional", {"only": ["students"]}),
        ("grade-level", "Grade level", "demographic", {"only": ["students"]}),
        ("student-id", "Learner account", "account", {"only": ["students"]}),
        ("password-hash", "Password hash", "credentials", {"only": ["students"]}),
        ("learning-progress", "Learning progress", "behavioural", {"only": ["students"]}),
        ("quiz-results", "Quiz results", "behavioural", {"only": ["students"]}),
        ("essays", "Submitted work", "content", {"only": ["students"]}),
        ("accessibility-needs", "Accessibility needs", "special:health", {"only": ["students"]}),
        ("ip-address", "IP address", "online-identifier", {}),
        ("device-id", "Device identifier", "device", {}),
        ("parent-name", "Parent name", "identity", {"only": ["parents"]}),
        ("parent-email", "Parent email address", "contact", {"only": ["parents"]}),
        ("parent-phone", "Parent phone number", "contact", {"only": ["parents"]}),
        ("billing-iban", "Parent bank account", "financial", {"only": ["parents"]}),
        ("pseudonymous-learner-id", "Pseudonymous learner key", "account",
         {"identifier": "quasi", "state": "pseudonymised", "only": ["students"]}),
        ("learning-level", "Estimated learning level", "behavioural", {"derived": True, "only": ["students"]}),
    ],
    "patient": [
        ("full-name", "Full name", "identity", {}), ("date-of-birth", "Date of birth", "demographic", {}),
        ("insurance-number", "Health insurance number", "government-id", {}),
        ("email", "Email address", "contact", {}), ("phone", "Phone number", "contact", {}),
        ("address", "Postal address", "contact", {}), ("patient-account", "Patient portal account", "account", {}),
        ("password-hash", "Password hash", "credentials", {}),
        ("diagnosis", "Diagnoses", "special:health", {}), ("medications", "Medications", "special:health", {}),
        ("consultation-notes", "Consultation notes", "special:health", {}),
        ("heart-rate", "Wearable heart-rate readings", "special:health", {}),
        ("genetic-test", "Genetic test results", "special:genetic", {"only": ["trial-participants"]}),
        ("adverse-events", "Adverse event reports", "special:health", {}),
        ("home-location", "Location during remote monitoring", "location", {}),
        ("device-id", "Device identifier", "device", {}),
        ("ethnicity", "Ethnic origin (study stratification)", "special:racial-ethnic", {"only": ["trial-participants"]}),
        ("trial-code", "Study participant code", "account",
         {"identifier": "quasi", "state": "pseudonymised", "only": ["trial-participants"]}),
        ("study-aggregates", "Aggregated study results", "special:health",
         {"state": "anonymised", "identifier": "none"}),
        ("risk-score", "Clinical risk score", "special:health", {"derived": True}),
    ],
    "b2b": [
        ("full-name", "Full name", "identity", {}), ("work-email", "Work email address", "contact", {}),
        ("work-phone", "Work phone number", "contact", {}), ("company", "Company", "professional", {}),
        ("job-title", "Job title", "professional", {}), ("profile-url", "Professional profile URL", "online-identifier", {}),
        ("portal-account", "Partner portal account", "account", {"only": ["partner-contacts"]}),
        ("password-hash", "Password hash", "credentials", {"only": ["partner-contacts"]}),
        ("bank-account", "Bank account", "financial", {}),
        ("sanctions-result", "Sanctions screening result", "criminal", {}),
        ("meeting-notes", "Meeting notes", "content", {}),
        ("dietary-requirements", "Dietary requirements (events)", "special:religious", {}),
        ("shareholding", "Shareholding", "financial", {"only": ["shareholders"]}),
        ("shareholder-address", "Registered address", "contact", {"only": ["shareholders"]}),
        ("shareholder-tax-id", "Tax identification number", "government-id", {"only": ["shareholders"]}),
        ("supplier-rating", "Supplier rating", "professional", {"derived": True, "only": ["supplier-contacts"]}),
    ],
}

# Purpose templates: (name, business function, legal basis, categories it needs, options).
# Options: profiling, automated, needs, special (Art. 9(2) condition), criminal, recipients.
_P = tuple[str, str, str, list[str], dict]
PURPOSES: dict[str, list[_P]] = {
    "customer": [
        ("Order fulfilment", "Sales", "contract", ["identity", "contact", "account", "financial", "behavioural"], {}),
        ("Customer account management", "Customer Service", "contract",
         ["identity", "contact", "account", "credentials", "online-identifier"], {}),
        ("Customer support", "Customer Service", "contract", ["identity", "contact", "account", "content", "device"], {}),
        ("Payment processing", "Finance", "contract", ["identity", "financial", "account", "contact"], {}),
        ("Fraud prevention", "Risk", "legitimate-interests",
         ["identity", "financial", "online-identifier", "device", "location", "behavioural"],
         {"profiling": True, "automated": True}),
        ("Credit checks", "Risk", "legitimate-interests", ["identity", "government-id", "financial", "contact"],
         {"automated": True}),
        ("Email marketing", "Marketing", "consent", ["identity", "contact", "behavioural", "demographic"],
         {"profiling": True}),
        ("Personalised recommendations", "Marketing", "consent",
         ["account", "behavioural", "online-identifier", "demographic"], {"profiling": True}),
        ("Loyalty programme", "Marketing", "contract", ["identity", "contact", "account", "behavioural", "financial"], {}),
        ("Product analytics", "Product", "legitimate-interests",
         ["online-identifier", "device", "behavioural", "account"], {"needs": "pseudonymised"}),
        ("Delivery tracking", "Operations", "contract", ["identity", "contact", "location"], {}),
        ("Tax and accounting records", "Finance", "legal-obligation", ["identity", "financial", "contact"],
         {"statutory": True}),
        ("Identity verification", "Risk", "legal-obligation", ["identity", "government-id", "special:biometric"],
         {"weight": 0.25, "special": "explicit-consent"}),
        ("Customer satisfaction surveys", "Customer Service", "legitimate-interests",
         ["contact", "content", "demographic"], {}),
        ("Warranty and returns", "Operations", "contract", ["identity", "contact", "account", "content"], {}),
        ("Debt collection", "Finance", "legitimate-interests", ["identity", "contact", "financial"], {}),
        ("Market research", "Marketing", "consent", ["demographic", "behavioural"], {"needs": "anonymised"}),
        ("Health insurance add-on", "Sales", "consent", ["identity", "special:health", "financial", "contact"],
         {"weight": 0.25, "special": "explicit-consent"}),
        ("Phone banking authentication", "Customer Service", "consent", ["identity", "special:biometric", "account"],
         {"weight": 0.25, "special": "explicit-consent"}),
    ],
    "employee": [
        ("Payroll", "HR", "contract",
         ["identity", "government-id", "financial", "professional", "contact", "special:religious"],
         {"special": "employment", "statutory": True}),
        ("Performance management", "HR", "contract", ["identity", "professional", "behavioural"], {"profiling": True}),
        ("Occupational health", "HR", "legal-obligation", ["identity", "special:health", "professional"],
         {"weight": 0.25, "special": "employment"}),
        ("Time and attendance", "HR", "contract", ["identity", "account", "location", "special:biometric"],
         {"weight": 0.25, "special": "employment"}),
        ("Workplace access control", "Facilities", "legitimate-interests", ["identity", "account", "location"], {}),
        ("IT security monitoring", "IT", "legitimate-interests",
         ["account", "online-identifier", "device", "behavioural", "credentials"], {"profiling": True}),
        ("Pension administration", "HR", "legal-obligation", ["identity", "government-id", "financial", "demographic"],
         {"statutory": True}),
        ("Diversity monitoring", "HR", "consent", ["demographic", "special:racial-ethnic", "special:sex-life"],
         {"weight": 0.25, "special": "explicit-consent", "needs": "pseudonymised"}),
        ("Trade union dues", "HR", "consent", ["identity", "financial", "special:trade-union"],
         {"weight": 0.25, "special": "employment"}),
        ("Business travel", "Operations", "contract", ["identity", "government-id", "contact", "location", "financial"], {}),
        ("Expense management", "Finance", "contract", ["identity", "financial", "professional"], {}),
        ("Training and development", "HR", "contract", ["identity", "professional", "behavioural"], {}),
        ("Employee directory", "HR", "legitimate-interests", ["identity", "contact", "professional"], {}),
        ("Workforce analytics", "HR", "legitimate-interests", ["professional", "demographic", "behavioural"],
         {"profiling": True, "needs": "pseudonymised"}),
        ("Background screening", "HR", "legal-obligation", ["identity", "government-id", "criminal"],
         {"weight": 0.25, "special": "substantial-public-interest"}),
        ("Sickness absence management", "HR", "legal-obligation", ["identity", "special:health", "professional"],
         {"weight": 0.25, "special": "employment"}),
    ],
    "applicant": [
        ("Recruitment", "HR", "legitimate-interests", ["identity", "contact", "professional", "content", "account"], {}),
        ("Candidate assessment", "HR", "legitimate-interests", ["professional", "behavioural", "content"],
         {"automated": True, "profiling": True}),
        ("Talent pool", "HR", "consent", ["identity", "contact", "professional"], {}),
        ("Pre-employment screening", "HR", "legal-obligation", ["identity", "government-id", "criminal"],
         {"weight": 0.25, "special": "substantial-public-interest"}),
        ("Reasonable adjustments", "HR", "legal-obligation", ["identity", "special:health", "contact"],
         {"weight": 0.25, "special": "employment"}),
        ("Equal opportunities monitoring", "HR", "consent", ["demographic", "special:racial-ethnic"],
         {"weight": 0.25, "special": "explicit-consent", "needs": "pseudonymised"}),
    ],
    "visitor": [
        ("Website analytics", "Marketing", "consent", ["online-identifier", "device", "behavioural", "location"],
         {"needs": "pseudonymised"}),
        ("Online advertising", "Marketing", "consent", ["online-identifier", "device", "behavioural"],
         {"profiling": True}),
        ("Support community", "Customer Service", "contract",
         ["account", "identity", "content", "credentials", "contact", "demographic"], {}),
        ("Community moderation", "Trust and Safety", "legitimate-interests",
         ["account", "content", "online-identifier"], {"automated": True}),
        ("Security logging", "IT", "legitimate-interests", ["online-identifier", "device"], {}),
        ("Cookie consent records", "Legal", "legal-obligation", ["online-identifier", "account"], {}),
    ],
    "student": [
        ("E-learning delivery", "Education", "contract",
         ["identity", "account", "credentials", "behavioural", "content"], {}),
        ("Progress reports to parents", "Education", "contract", ["identity", "contact", "behavioural"], {}),
        ("Learning analytics", "Education", "consent", ["behavioural", "demographic", "online-identifier"],
         {"profiling": True, "needs": "pseudonymised"}),
        ("Accessibility support", "Education", "consent", ["identity", "special:health", "account"],
         {"weight": 0.25, "special": "explicit-consent"}),
        ("Parent newsletter", "Marketing", "consent", ["identity", "contact"], {}),
        ("Course billing", "Finance", "contract", ["identity", "contact", "financial"], {}),
    ],
    "patient": [
        ("Telehealth consultations", "Health", "contract",
         ["identity", "contact", "special:health", "government-id", "account"], {"special": "health-care"}),
        ("Clinical study management", "R&D", "consent",
         ["account", "special:health", "special:genetic", "demographic", "special:racial-ethnic"],
         {"special": "explicit-consent", "needs": "pseudonymised"}),
        ("Adverse event reporting", "R&D", "legal-obligation", ["special:health", "demographic", "identity"],
         {"special": "public-health"}),
        ("Remote patient monitoring", "Health", "consent", ["special:health", "device", "location", "identity"],
         {"special": "explicit-consent", "profiling": True}),
        ("Health service billing", "Finance", "contract", ["identity", "government-id", "contact"], {}),
    ],
    "b2b": [
        ("Supplier management", "Procurement", "contract", ["identity", "contact", "professional", "financial"], {}),
        ("Partner portal", "Sales", "contract", ["identity", "contact", "account", "credentials", "professional"], {}),
        ("Sanctions screening", "Legal", "legal-obligation", ["identity", "professional", "criminal"],
         {"weight": 0.25, "special": "substantial-public-interest"}),
        ("Event management", "Marketing", "legitimate-interests",
         ["identity", "contact", "professional", "special:religious"], {"weight": 0.25, "special": "explicit-consent"}),
        ("Shareholder register", "Legal", "legal-obligation", ["identity", "contact", "financial", "government-id"],
         {"statutory": True}),
        ("B2B marketing", "Marketing", "legitimate-interests", ["identity", "contact", "professional", "online-identifier"],
         {"profiling": True}),
    ],
}
DOMAIN_WEIGHTS = [("customer", 40), ("employee", 20), ("applicant", 5), ("visitor", 12), ("student", 8),
                  ("patient", 7), ("b2b", 8)]

# Regions of processing activities: subjects per domain and where the entry systems are.
REGIONS = [("eu", 76), ("gb", 6), ("us", 5), ("cn", 4), ("in", 3), ("br", 2), ("jp", 2), ("apac", 1),
           ("global", 1)]
REGION_LABEL = {"eu": "EEA", "gb": "UK", "us": "North America", "cn": "China", "in": "India",
                "br": "Latin America", "jp": "Japan", "apac": "APAC", "global": "global"}
REGION_COUNTRIES = {"eu": EEA, "gb": frozenset({"GB"}), "us": frozenset({"US", "CA", "MX"}),
                    "cn": frozenset({"CN"}), "in": frozenset({"IN"}), "br": frozenset({"BR", "MX"}),
                    "jp": frozenset({"JP"}), "apac": frozenset({"SG", "KR", "AU", "PH"}), "global": EEA}
REGION_SUBJECTS = {
    "customer": {"eu": ["customers-eea"], "gb": ["customers-gb"], "us": ["customers-us"], "cn": ["customers-cn"],
                 "in": ["customers-in"], "br": ["customers-br"], "jp": ["customers-jp"], "apac": ["customers-apac"],
                 "global": ["customers-eea", "customers-gb", "customers-us", "customers-apac"]},
    "employee": {"eu": ["employees-eea"], "gb": ["employees-gb"], "us": ["employees-us"], "cn": ["employees-cn"],
                 "in": ["employees-in"], "br": ["employees-latam"], "jp": ["employees-apac"],
                 "apac": ["employees-apac"], "global": ["employees-eea", "employees-gb", "contractors"]},
}

# System kinds per domain, by tier: 0 entry, 1 core, 2 analytics, 3 archive.
SYSTEM_KINDS: dict[str, list[list[tuple[str, str]]]] = {
    "customer": [
        [("web-shop", "Web shop"), ("mobile-app", "Mobile app backend"), ("customer-portal", "Customer portal"),
         ("call-centre", "Call centre platform"), ("pos", "Point of sale")],
        [("crm", "CRM"), ("order-management", "Order management"), ("billing", "Billing"),
         ("payment-gateway", "Payment gateway"), ("ticketing", "Ticketing"), ("loyalty-engine", "Loyalty engine"),
         ("fraud-engine", "Fraud engine"), ("identity-service", "Customer identity service")],
        [("data-warehouse", "Data warehouse"), ("marketing-automation", "Marketing automation"),
         ("recommender", "Recommendation engine"), ("product-analytics", "Product analytics"),
         ("cdp", "Customer data platform")],
        [("archive", "Records archive"), ("reporting", "Regulatory reporting")],
    ],
    "employee": [
        [("hr-portal", "HR self-service portal"), ("badge-reader", "Badge reader controller"),
         ("careers-site", "Careers site"), ("expense-app", "Expense app")],
        [("hris", "HRIS"), ("payroll-engine", "Payroll engine"), ("time-tracking", "Time tracking"),
         ("directory", "Corporate directory"), ("ats", "Applicant tracking"), ("travel-booking", "Travel booking"),
         ("benefits", "Benefits administration")],
        [("people-analytics", "People analytics"), ("siem", "SIEM")],
        [("hr-archive", "HR archive")],
    ],
    "visitor": [
        [("website", "Public website"), ("community-forum", "Community forum"), ("consent-manager", "Consent manager")],
        [("web-analytics", "Web analytics"), ("tag-manager", "Tag manager"), ("forum-backend", "Forum backend"),
         ("edge-logs", "Edge log collector")],
        [("ad-platform", "Advertising platform"), ("moderation-ml", "Moderation classifier")],
        [("log-archive", "Log archive")],
    ],
    "student": [
        [("learning-app", "Learning app"), ("parent-portal", "Parent portal")],
        [("lms", "Learning management system"), ("student-records", "Learner records")],
        [("learning-analytics", "Learning analytics")],
        [("academy-archive", "Academy archive")],
    ],
    "patient": [
        [("patient-app", "Patient app"), ("telehealth-portal", "Telehealth portal"),
         ("wearable-gateway", "Wearable gateway")],
        [("ehr", "Electronic health record"), ("edc", "Electronic data capture"), ("safety-db", "Safety database")],
        [("research-datamart", "Research data mart")],
        [("clinical-archive", "Clinical archive")],
    ],
    "b2b": [
        [("supplier-portal", "Supplier portal"), ("partner-portal", "Partner portal")],
        [("erp", "ERP"), ("procurement", "Procurement suite"), ("share-registry", "Share registry"),
         ("event-platform", "Event platform")],
        [("bi", "Business intelligence")],
        [("finance-archive", "Finance archive")],
    ],
}
SYSTEM_DOMAIN = {"applicant": "employee"}
TIER_WEIGHTS = [30, 40, 20, 10]
SYSTEM_COUNTRIES = [("DE", 32), ("IE", 16), ("NL", 9), ("FR", 7), ("ES", 4), ("IT", 4), ("PL", 3), ("SE", 2),
                    ("AT", 2), ("NO", 1), ("FI", 1), ("BE", 1), ("GB", 4), ("US", 5), ("CA", 0.5), ("CN", 2),
                    ("IN", 2), ("BR", 1), ("MX", 0.3), ("JP", 1), ("SG", 0.7), ("KR", 0.3), ("AU", 0.3),
                    ("PH", 0.3), ("CH", 0.5)]
SECURITY_EXTRA = ["encryption-at-rest", "backup", "password-hashing", "pseudonymisation", "mfa",
                  "data-loss-prevention", "key-management", "vulnerability-scanning"]
MEASURES = ["encryption-in-transit", "encryption-exporter-keys", "pseudonymisation", "split-processing",
            "access-controls", "transparency-reporting"]
RETENTIONS = ["P30D", "P90D", "P6M", "P1Y", "P2Y", "P3Y", "P6Y", "P10Y", "until-account-deletion",
              "until-purpose-fulfilled", "statutory"]
SPECIAL_CONDITIONS = ["explicit-consent", "employment", "vital-interests", "legal-claims",
                      "substantial-public-interest", "health-care", "public-health", "archiving-research"]
DEROGATIONS = ["explicit-consent", "contract-necessity", "legal-claims", "compelling-legitimate-interests"]
APPROVERS = ["Group DPO", "CISO", "General Counsel", "Head of Privacy Engineering"]
WAIVER_REASONS = {
    "TPX-001": "DPA under negotiation with the vendor; interim confidentiality agreement signed",
    "TPX-002": "Sub-processor notification received; authorisation in the vendor review queue",
    "TPX-005": "Art. 26 arrangement drafted, awaiting signature by the partner",
    "TRF-001": "Transfer being moved to the EU region; SCCs not worth signing for three months",
    "TRF-003": "Module 1 clauses in place while the processing agreement is renegotiated",
    "TRF-004": "TIA refresh scheduled with outside counsel",
    "TRF-005": "Volume drops to occasional after the data migration",
    "TRF-008": "Replacement clauses sent to the importer",
    "MIN-002": "Field dropped in the next release of the interface",
    "MIN-003": "Retention schedule under review by Legal",
    "SEC-001": "Legacy system, decommissioning planned; network-isolated meanwhile",
    "GOV-002": "Security measures being documented by the system owner",
    "PUR-003": "DPIA in progress",
    "SPC-001": "Art. 9(2) condition being confirmed by Legal",
}


# ---------------------------------------------------------------------------------------------
# Model of what is generated (indices into lists; ids only at the edge)


@dataclass(slots=True)
class _Org:
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
class _Element:
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
class _Purpose:
    id: str
    name: str
    domain: str
    region: str
    template: _P
    legal_basis: str | None
    subjects: list[int]
    elements: list[int]
    flows: int = 0
    team: int = 0
    compatible_with: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _System:
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


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, float]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _regime(country: str) -> str:
    if country in EEA:
        return "eu"
    if country == "GB":
        return "uk"
    if country == "CN":
        return "cn"
    return "other"


def _subject_regime(locations: list[str]) -> str:
    first = locations[0]
    if first in ("EEA", "EU", "WORLD"):
        return "eu"
    return _regime(first)


# ---------------------------------------------------------------------------------------------


class _Synth:
    def __init__(self, flows: int, seed: int) -> None:
        if flows < 0:
            raise ValueError("flows must be >= 0")
        self.rng = random.Random(seed)
        self.n_flows = flows
        self.orgs: list[_Org] = []
        self.subjects = SUBJECTS
        self.subject_index = {s[0]: i for i, s in enumerate(SUBJECTS)}
        self.elements: list[_Element] = []
        self.purposes: list[_Purpose] = []
        self.systems: list[_System] = []
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
        self.orgs.append(_Org(CONTROLLER_ID, "Norda Group SE", "DE", "self", [
            '  contact: "Norda Group SE, Privacy Office, Leopoldstrasse 1, 80802 Muenchen, privacy@norda.example"',
            '  dpo: {name: "Dr. Lena Vogt", email: "dpo@norda.example"}',
            f"  bcr_group: {_q(BCR_GROUP)}",
        ], bcr=True))
        for cc, name, bcr in AFFILIATES:
            org = _Org(f"norda-{cc.lower()}", name, cc, "affiliate", [f'  contact: "privacy.{cc.lower()}@norda.example"'],
                       bcr=bcr)
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
        for i in range(n_sub):
            cc = _weighted(rng, SUBPROCESSOR_COUNTRIES)
            slug, name = self._brand(used, cc)
            org = _Org(slug, name, cc, "sub-processor", [f'  contact: "privacy@{slug}.example"'])
            self._processor_terms(org, sub=True)
            self.sub_processors.append(len(self.orgs))
            self.orgs.append(org)
        for i in range(n_proc):
            cc = PROCESSOR_SEED_COUNTRIES[i] if i < len(PROCESSOR_SEED_COUNTRIES) else _weighted(rng, PROCESSOR_COUNTRIES)
            slug, name = self._brand(used, cc)
            org = _Org(slug, name, cc, "processor", [f'  contact: "privacy@{slug}.example"',
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
            org = _Org(rid, name, cc, rel)
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
            self.orgs.append(_Org(slug, name, cc, rel, [f'  contact: "partners@{slug}.example"']))
        n_third = max(6, min(40, n // 4000))
        for i in range(n_third):
            kind, cc = THIRD_PARTY_KINDS[i % len(THIRD_PARTY_KINDS)]
            if i >= len(THIRD_PARTY_KINDS):
                cc = rng.choice(["US", "GB", "DE", "FR", "IN", "SG", "CH", "IL", "NL"])
            slug, name = self._brand(used, cc, "-" + kind.lower().replace(" ", "-"))
            org = _Org(slug, name, cc, "third-party", [f'  contact: "privacy@{slug}.example"'])
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
            self.orgs.append(_Org(slug, name, cc, "third-party", [f'  contact: "dpo@{slug}.example"']))
        self.affiliate_by_country = {o.country: i for i, o in enumerate(self.orgs) if o.relation == "affiliate"}

    def _processor_terms(self, org: _Org, *, sub: bool) -> None:
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
                el = _Element(f"{prefix}.{suffix}", name, category, domain, subjects, opts.get("identifier"),
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
        for (domain, _), count in zip(DOMAIN_WEIGHTS, counts):
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
        for p, f in zip(self.purposes, alloc):
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

    def _purpose(self, seq: int, domain: str, template: _P) -> _Purpose:
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
        p = _Purpose(pid, full, domain, region, template, legal_basis, subjects, elements)
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
            for j in range(1 if i >= n_sub_systems - len(self.sub_processors) else 2):
                if len(self.systems) >= n_systems:
                    break
                seq += 1
                sid = len(self.systems)
                cc = org.country if rng.random() < 0.7 else rng.choice(["IE", "DE", "NL"])
                kind = rng.choice(["hosting", "support-desk", "storage", "messaging", "labelling"])
                self.systems.append(_System(f"{kind}-s{seq:04d}", f"{org.name.split(' ')[0]} {kind} ({cc})", kind,
                                            "customer", 4, sid % self.n_teams, sub, [cc], sub=True))
                org.systems.append(sid)
                self.team_systems[sid % self.n_teams].append(sid)
        # Make sure every region has an entry system somewhere (for its local collection).
        for region, countries in REGION_COUNTRIES.items():
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
        if cc in EEA:
            if r < 0.6:
                op = 0
            elif r < 0.72 and cc in self.affiliate_by_country:
                op = self.affiliate_by_country[cc]
            else:
                local = [p for c in sorted(self.proc_by_country) if c in EEA for p in self.proc_by_country[c]]
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
        self.systems.append(_System(f"{kind}-s{seq:04d}", f"{label} {cc} {seq}", kind, domain, tier, team, op,
                                    locations))
        self.orgs[op].systems.append(sid)
        self.team_systems[team].append(sid)
        self.team_pool[team].setdefault(domain, []).append(sid)
        if tier == 0:
            for region, countries in REGION_COUNTRIES.items():
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

    def _pipeline(self, p: _Purpose, size: int) -> list[int]:
        rng = self.rng
        domain = SYSTEM_DOMAIN.get(p.domain, p.domain)
        pools = self.team_pool[p.team]
        own = pools.get(domain, [])
        others = [s for d in sorted(pools) if d != domain for s in pools[d]]
        # Processing stays mostly at home (the EEA, or the activity's region); a pipeline has at
        # most a couple of systems abroad.
        home = REGION_COUNTRIES[p.region]

        def at_home(s: int) -> bool:
            c = self.systems[s].country
            return (c in EEA or c in home) and (self.orgs[self.systems[s].operator].country in EEA
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

    def _purpose_flows(self, pi: int, p: _Purpose) -> None:
        rng = self.rng
        F = p.flows
        n_coll = max(1, round(F * 0.2))
        n_disc = round(F * 0.06) if F >= 8 else 0
        n_int = F - n_coll - n_disc
        size = max(2, min(30, F // 6 + 2))
        members = self._pipeline(p, size)
        # Local collection for a regional activity: into a system in the region.
        entries: list[int] = []
        if p.region not in ("eu", "global") and self.region_entries.get(p.region) and rng.random() < 0.8:
            entries = rng.sample(self.region_entries[p.region], min(2, len(self.region_entries[p.region])))
            members = [m for m in members if m not in entries]
        entries += [m for m in members if self.systems[m].tier == 0 and m not in entries]
        rank = lambda s: (self.systems[s].tier, s)
        members = sorted(set(members) | set(entries), key=rank)
        if not entries:
            entries = [members[0]]
        entry_set = set(entries)
        need = set(p.elements)
        holdings: dict[int, set[int]] = {}
        derived = [e for e in p.elements if self.elements[e].derived]
        plain = [e for e in p.elements if not self.elements[e].derived]
        if not plain:
            plain = list(p.elements)
        by_subject = {s: [e for e in plain if s in self.elements[e].subjects] for s in p.subjects}
        subjects = [s for s in p.subjects if by_subject[s]] or p.subjects
        team = p.team

        def emit(src: tuple[str, int], dst: tuple[str, int], elems: list[int], kind: str) -> None:
            self._flow(team, pi, p, src, dst, elems, kind, need)

        # collection
        for k in range(n_coll):
            s = subjects[k % len(subjects)] if k < len(subjects) else rng.choice(subjects)
            e = entries[k % len(entries)] if k < len(entries) else rng.choice(entries)
            pool = by_subject.get(s) or plain
            elems = rng.sample(pool, rng.randint(max(1, len(pool) // 2), len(pool)))
            holdings.setdefault(e, set()).update(elems)
            emit(("s", s), ("y", e), elems, "collection")

        pairs: set[tuple[int, int]] = set()
        budget = n_int
        # processor chains: a processor's system hands data to its sub-processor's system
        chain_sources = [m for m in members if self.orgs[self.systems[m].operator].relation == "processor"]
        # the spine: every member gets its data from an earlier one
        for j, b in enumerate(members):
            if budget <= 0:
                break
            if b in entry_set and b in holdings:
                continue
            sources = [a for a in members[:j] if a in holdings]
            if not sources:
                continue
            a = rng.choice(sources)
            elems = self._carry(holdings[a])
            holdings.setdefault(b, set()).update(elems)
            pairs.add((a, b))
            emit(("y", a), ("y", b), elems, "internal")
            budget -= 1
        for a in chain_sources:
            if budget <= 0 or a not in holdings or rng.random() < 0.75:
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
            if (a, b) in pairs:
                continue
            pairs.add((a, b))
            emit(("y", a), ("y", b), self._carry(holdings[a]), "internal")
            budget -= 1
        holders = [m for m in members if m in holdings]
        tries = 0
        while budget > 0:
            tries += 1
            backward = derived and rng.random() < 0.03 and len(holders) >= 2
            i, j = sorted(rng.sample(range(len(members)), 2)) if len(members) >= 2 else (0, 0)
            a, b = members[i], members[j]
            if backward:
                a, b = b, a
            if a == b or a not in holdings or ((a, b) in pairs and tries < 50):
                if tries > 200:  # tiny pipelines: fall back to more collection
                    s = rng.choice(subjects)
                    e = rng.choice(entries)
                    pool = by_subject.get(s) or plain
                    emit(("s", s), ("y", e), rng.sample(pool, rng.randint(1, len(pool))), "collection")
                    budget -= 1
                continue
            tries = 0
            pairs.add((a, b))
            if backward:
                # Enrichment loop: a score goes back to an earlier system; it never goes forward.
                emit(("y", a), ("y", b), list(derived), "backward")
            else:
                elems = self._carry(holdings[a])
                holdings.setdefault(b, set()).update(elems)
                if b not in holders:
                    holders.append(b)
                emit(("y", a), ("y", b), elems, "internal")
            budget -= 1
        # disclosures to organisations with no modelled system
        basis = p.legal_basis or "contract"
        for _ in range(n_disc):
            a = rng.choice(holders)
            rel = self._recipient_kind(basis)
            pool = self.recipients[rel] or self.recipients["third-party"]
            o = rng.choice(pool)
            elems = self._carry(holdings[a])
            if self.orgs[o].relation in ("partner", "third-party"):
                risky = [e for e in elems if self.elements[e].sensitive or self.elements[e].category == "credentials"]
                if risky and rng.random() < 0.9:
                    elems = [e for e in elems if e not in risky] or [min(plain)]
            emit(("y", a), ("o", o), elems, "disclosure")

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

    def _flow(self, team: int, pi: int, p: _Purpose, src: tuple[str, int], dst: tuple[str, int],
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
                    elems = sorted(elems + [rng.choice(extra)])
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
            src_regime = _subject_regime(src_countries)
            # collection into a processor's system is the controller's disclosure to it (SPEC §3)
            exporter = 0 if self.orgs[importer].processor else importer
        else:
            src_regime = _regime(src_countries[0])
        assert exporter is not None
        dests = list(dst_countries)
        imp_cc = self.orgs[importer].country
        if imp_cc not in dests:
            dests.append(imp_cc)
        src_cc = src_countries[0]
        outside = [d for d in dests if _regime(d) != src_regime or (src_regime == "other" and d != src_cc)]
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

    def _transfer(self, fid: str, p: _Purpose, regime: str, dest: str, exporter: int, importer: int,
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
            return head + ["    anonymised: true"], frequency
        if r < 0.06:
            self._fault("TRF-001", fid)
            return [], frequency
        r = rng.random()
        if regime == "cn":
            mech = ("pipl-standard-contract" if r < 0.62 else "pipl-security-assessment" if r < 0.84
                    else "pipl-certification" if r < 0.94 else "scc")
            out = head + [f"    mechanism: {mech}"]
            if p.legal_basis == "consent":
                if rng.random() < 0.85:
                    out.append("    separate_consent: true")
                else:
                    self._fault("PIPL-002", fid)
            return out, frequency
        if regime == "uk":
            adequate = dest in UK_ADEQUATE or (dest == "US" and imp.uk_ext)
            if adequate:
                return (head + ["    mechanism: adequacy"] if r < 0.3 else []), frequency
            if r < 0.5:
                return head + ["    mechanism: idta"] + self._tia(fid, sensitive), frequency
            if r < 0.9:
                return head + ["    mechanism: uk-addendum", self._scc(exporter, importer, fid)] \
                    + self._tia(fid, sensitive), frequency
            return self._derogation(fid, head, frequency)
        adequate = dest in EU_ADEQUATE or (dest == "US" and imp.dpf)
        if adequate:
            if r < 0.55:
                return [], frequency
            if r < 0.92:
                return head + ["    mechanism: adequacy"], frequency
            return head + ["    mechanism: scc", self._scc(exporter, importer, fid)], frequency
        if dest == "US" and r < 0.08:
            self._fault("TRF-002", fid)  # claims adequacy for an importer without DPF certification
            return head + ["    mechanism: adequacy"], frequency
        if exp.relation in ("self", "affiliate") and imp.relation == "affiliate" and r < 0.7:
            if not (exp.bcr and imp.bcr):
                self._fault("TRF-009", fid)
            return head + ["    mechanism: bcr"] + self._tia(fid, sensitive), frequency
        r = rng.random()
        if r < 0.84:
            return head + ["    mechanism: scc", self._scc(exporter, importer, fid)] + self._tia(fid, sensitive), \
                frequency
        if r < 0.94:
            return self._derogation(fid, head, frequency)
        mech = "ad-hoc-clauses" if r < 0.97 else "certification"
        return head + [f"    mechanism: {mech}"] + self._tia(fid, sensitive), frequency

    def _derogation(self, fid: str, head: list[str], frequency: str | None) -> tuple[list[str], str | None]:
        rng = self.rng
        mech = rng.choice(DEROGATIONS)
        if rng.random() < 0.7:
            frequency = "occasional"
        else:
            self._fault("TRF-005", fid)
        return head + [f"    mechanism: {mech}",
                       f"  notes: {_q('Art. 49(1) derogation; documented in the transfer register')}"], frequency

    # -- systems' security, waivers ---------------------------------------------------------------

    def finish_systems(self) -> None:
        rng = self.rng
        for y in self.systems:
            if not y.elements:
                # a system nobody mapped a flow to still stores something of its domain
                pool = self.domain_elements[y.domain if y.domain in self.domain_elements else "customer"]
                y.elements.update(rng.sample(pool, min(len(pool), rng.randint(2, 6))))

    def system_text(self, y: _System) -> str:
        rng = self.rng
        cats = {self.elements[e].category for e in y.elements}
        lines = [f"- id: {y.id}", f"  name: {_q(y.name)}", f"  operator: {self.orgs[y.operator].id}",
                 "  locations: " + _list([_cc(c) for c in y.locations]),
                 "  elements: " + _list([self.elements[e].id for e in sorted(y.elements)])]
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
                     f"  relation: {o.relation}"] + o.lines
            if o.subprocessors:
                lines.append("  subprocessors: " + _list([self.orgs[s].id for s in o.subprocessors]))
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
            lines = [f"- id: {e.id}", f"  name: {_q(e.name)}", f"  category: {_q(e.category) if ':' in e.category else e.category}",
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
            lines = [f"- id: {p.id}", f"  name: {_q(p.name)}"] + p.lines
            if p.compatible_with:
                lines.append("  compatible_with: " + _list([self.purposes[c].id for c in p.compatible_with]))
            if i % 97 == 41 and self.clients:
                # processing on behalf of a client: the Art. 30(2) record
                lines.append("  role: processor")
                lines.append(f"  on_behalf_of: {self.orgs[self.clients[i % len(self.clients)]].id}")
            purs.append("\n".join(lines))
        files["purposes.yaml"] = header + "purposes:\n" + "\n".join(purs) + "\n"

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
