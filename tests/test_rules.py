"""One fixture inventory per rule: the exact set of subjects that must fire, and near-misses that must not.

Each `tests/fixtures/rules/<RULE-ID>/` holds an `inventory.yaml` and an `expected.yaml`:

    as_of: 2026-01-01            # optional, default 2026-01-01
    config:                      # optional: severity overrides and limits, as in [tool.flowaudit]
      limits: {max_external_organisations: 5}
    fires: [subject-id, ...]     # exactly the subjects the rule reports
    must_not_fire: [id, ...]     # near-misses designed on the boundary of the rule's definition
    severity: {subject-id: critical}     # optional: expected severity of some findings
    details: {subject-id: {key: value}}  # optional: expected entries of some findings' details

A rule may have more cases under `variants/<name>/` (same two files), for boundaries that need
another inventory, such as another controller.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from flowaudit.audits.catalogue import CATALOGUE
from flowaudit.audits.config import DEFAULT_LIMITS, Config
from flowaudit.audits.engine import Rule, run_audit
from flowaudit.audits.findings import Severity
from flowaudit.inventory import load_inventory

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
DEFAULT_AS_OF = dt.date(2026, 1, 1)
EXPECTED_KEYS = {"as_of", "config", "fires", "must_not_fire", "severity", "details"}


def _cases() -> list:
    cases = []
    for rule in CATALOGUE:
        folder = FIXTURES / rule.id
        cases.append(pytest.param(rule, folder, id=rule.id))
        variants = folder / "variants"
        if variants.is_dir():
            for variant in sorted(p for p in variants.iterdir() if p.is_dir()):
                cases.append(pytest.param(rule, variant, id=f"{rule.id}/{variant.name}"))
    return cases


def _config(table: dict | None) -> Config:
    table = table or {}
    unknown = set(table) - {"severity", "limits"}
    assert not unknown, f"unknown config keys in expected.yaml: {unknown}"
    return Config(severity={k: Severity(v) for k, v in (table.get("severity") or {}).items()},
                  limits={**DEFAULT_LIMITS, **(table.get("limits") or {})})


def _kinds(rule: Rule) -> set[str]:
    return {k.strip() for k in rule.subject.split(" or ")}


@pytest.mark.parametrize(("rule", "folder"), _cases())
def test_rule_fixture(rule: Rule, folder: Path) -> None:
    assert (folder / "inventory.yaml").is_file(), f"{rule.id}: no fixture inventory at {folder}"
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    assert set(expected) <= EXPECTED_KEYS, f"unknown keys in expected.yaml: {set(expected) - EXPECTED_KEYS}"
    fires = set(expected.get("fires") or ())
    must_not = set(expected.get("must_not_fire") or ())
    assert not fires & must_not, f"expected.yaml lists {fires & must_not} both ways"

    inventory = load_inventory(folder / "inventory.yaml")
    known = set(inventory.origins)
    assert fires | must_not <= known, f"expected.yaml names unknown ids {sorted((fires | must_not) - known)}"

    result = run_audit(inventory, expected.get("as_of", DEFAULT_AS_OF), config=_config(expected.get("config")),
                       only=[rule.id])
    errors = [f.message for f in result.findings if "error" in f.details]
    assert not errors, f"{rule.id} raised: {errors}"
    fired = {f.subject_id for f in result.findings}
    assert not fired & must_not, f"{rule.id} fired on near-misses {sorted(fired & must_not)}"
    assert fired == fires, (f"{rule.id}: missing {sorted(fires - fired)}, unexpected {sorted(fired - fires)}")

    text = (folder / "inventory.yaml").read_text(encoding="utf-8").splitlines()
    for f in result.findings:
        assert f.rule == rule.id and f.title == rule.title
        assert f.subject_kind in _kinds(rule), f"{f.subject_id}: kind {f.subject_kind}, rule says {rule.subject}"
        assert inventory.kind_of(f.subject_id) == f.subject_kind
        assert f.legal and all(ref.strip() for ref in f.legal)
        assert f.remediation.strip() and f.message.strip()
        assert f.location is not None, f"{f.subject_id}: no location"
        file, line = f.location
        assert (folder / file).resolve() == (folder / "inventory.yaml").resolve()  # relative to the root
        assert line is not None and 1 <= line <= len(text)
        assert re.search(rf"\bid:\s*[\"']?{re.escape(f.subject_id)}[\"']?\s*[,}}#]?", text[line - 1]), \
            f"{f.subject_id}: line {line} is not its `id:` line: {text[line - 1]!r}"

    by_subject = {f.subject_id: f for f in result.findings}
    for subject, severity in (expected.get("severity") or {}).items():
        assert by_subject[subject].severity is Severity(severity), f"{subject}: {by_subject[subject].severity}"
    for subject, details in (expected.get("details") or {}).items():
        for key, value in details.items():
            assert by_subject[subject].details.get(key) == value, \
                f"{subject}: details.{key} is {by_subject[subject].details.get(key)!r}, expected {value!r}"


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_fixture_has_near_misses(rule: Rule) -> None:
    """Every rule's fixtures, variants included, fire somewhere and hold several near-misses."""
    folders = [FIXTURES / rule.id, *sorted((FIXTURES / rule.id / "variants").glob("*/"))]
    fires, near = set(), set()
    for folder in folders:
        expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
        fires |= {(folder, s) for s in expected.get("fires") or ()}
        near |= {(folder, s) for s in expected.get("must_not_fire") or ()}
    assert fires, f"{rule.id}: no fixture makes it fire"
    assert len(near) >= 2, f"{rule.id}: fewer than two near-misses"
