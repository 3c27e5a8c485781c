"""Meta-tests over the rule catalogue (STYLE.md "Tests"): every rule has a unique id, metadata,
a fixture and a docs entry; the catalogue is SPEC §4's; the generated docs are current; and
the packages import each other in one direction only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from flowaudit.audits.catalogue import BY_ID, CATALOGUE, CORE_MODULES, FAMILIES, regime_modules, rules_of
from flowaudit.audits.docs import REGENERATE, render_rules_markdown
from flowaudit.audits.rule import Rule
from flowaudit.audits.findings import Severity
from flowaudit.audits.rulebook import default_rulebook

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rules"
DOCS = ROOT / "docs" / "rules.md"
SPEC = ROOT.parent / "shared" / "SPEC.md"

# SPEC §4, the rule catalogue: the contract.
SPEC_RULES = {
    "PUR-001", "PUR-002", "PUR-003", "PUR-004", "SPC-001", "CHD-001",
    "MIN-001", "MIN-002", "MIN-003", "MIN-004",
    "TRF-001", "TRF-002", "TRF-003", "TRF-004", "TRF-005", "TRF-006", "TRF-007", "TRF-008", "TRF-009", "TRF-010",
    "TPX-001", "TPX-002", "TPX-003", "TPX-004", "TPX-005",
    "GOV-001", "GOV-002", "SEC-001", "PIPL-001", "PIPL-002", "PIPL-003",
}
SUBJECT_KINDS = {"organisation", "subject", "element", "purpose", "system", "flow"}


def _beyond_spec() -> set[str]:
    """Rules of regime modules (a regime's folder names its module) that SPEC §4 does not list:
    they are documented in docs/rules.md like every rule, and only a regime's module may add them."""
    from flowaudit.audits.rulebook import default_rulebook

    regime_rules = {r.id for m in regime_modules(default_rulebook()).values() for r in rules_of(m)}
    extra = {r.id for r in CATALOGUE} - SPEC_RULES
    assert extra <= regime_rules, \
        f"rules outside SPEC §4 that no regime module declares: {sorted(extra - regime_rules)}"
    return extra


def test_catalogue_is_the_specs() -> None:
    ids = [r.id for r in CATALOGUE]
    assert len(ids) == len(set(ids)), "duplicate rule ids"
    assert set(ids) - _beyond_spec() == SPEC_RULES
    assert {r.id for m in CORE_MODULES for r in rules_of(m)} <= SPEC_RULES, "a core rule outside SPEC §4"


def test_catalogue_matches_spec_document() -> None:
    """Where the shared SPEC.md is at hand (beside the repository), its §4 table lists the same ids."""
    if not SPEC.is_file():
        pytest.skip("the shared SPEC.md is not beside this checkout")
    text = SPEC.read_text(encoding="utf-8")
    section = text.split("## 4.", 1)[1].split("\n## 5.", 1)[0]
    listed = set(re.findall(r"^\| ([A-Z]+-\d{3}) \|", section, re.MULTILINE))
    assert listed == {r.id for r in CATALOGUE} - (_beyond_spec() - listed)


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_rule_metadata(rule: Rule) -> None:
    assert re.fullmatch(r"[A-Z]+-\d{3}", rule.id)
    assert BY_ID[rule.id] is rule
    assert rule.family in FAMILIES, f"{rule.id}: family {rule.family} has no name in FAMILIES"
    assert rule.title.strip() and rule.title == rule.title.strip()
    assert isinstance(rule.severity, Severity)
    assert rule.legal and all(isinstance(ref, str) and ref.strip() for ref in rule.legal)
    assert rule.remediation.strip()
    assert rule.doc.strip(), f"{rule.id}: the check has no docstring saying when it fires"
    assert {k.strip() for k in rule.subject.split(" or ")} <= SUBJECT_KINDS
    assert callable(rule.check) and callable(rule.over)


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_rule_example_is_yaml(rule: Rule) -> None:
    assert rule.example.strip(), f"{rule.id}: no example"
    assert isinstance(yaml.safe_load(rule.example), dict), f"{rule.id}: the example is not a YAML mapping"


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_rule_has_fixture(rule: Rule) -> None:
    folder = FIXTURES / rule.id
    assert (folder / "inventory.yaml").is_file(), f"no fixture inventory for {rule.id}"
    assert (folder / "expected.yaml").is_file(), f"no expected.yaml for {rule.id}"


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.id)
def test_rule_has_docs_entry(rule: Rule) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"### {rule.id}: {rule.title}" in text, f"docs/rules.md has no entry for {rule.id}; run: {REGENERATE}"


def test_no_fixture_without_rule() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= set(BY_ID)


def test_docs_are_current() -> None:
    assert DOCS.is_file(), f"docs/rules.md is missing; run: {REGENERATE}"
    if DOCS.read_text(encoding="utf-8") != render_rules_markdown():
        pytest.fail(f"docs/rules.md is stale: the rule catalogue changed. Regenerate it with: {REGENERATE}")


# --- layering (STYLE.md "One direction of data") ---------------------------------------------

PACKAGE_NAMES = {"inventory": "flowaudit.inventory", "audits": "flowaudit.audits",
                 "reports": "flowaudit.reports", "data": "flowaudit.data", "flowaudit": "flowaudit"}


def _module_name(path: Path, root: Path) -> str:
    """The import name of a file: inventory/graph.py → flowaudit.inventory.graph."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    parts[0] = PACKAGE_NAMES.get(parts[0], parts[0])
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Per module file of `package`, the absolute modules it imports (anywhere in the file;
    relative imports resolved, so `from ...reports import x` is seen too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        me = _module_name(path, root)
        here = me if path.name == "__init__.py" else me.rpartition(".")[0]
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
        found[path.relative_to(root).as_posix()] = names
    return found


def _violations(package: str, allowed: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """Imports of `flowaudit` modules outside the layers `package` may use (one direction:
    inventory → audits → reports → the CLI and API in `flowaudit`)."""
    out = []
    for file, names in _imports(package, root).items():
        for name in sorted(names):
            if (name == "flowaudit" or name.startswith("flowaudit.")) and not any(
                    name == a or name.startswith(a + ".") for a in allowed):
                out.append(f"{file} imports {name}")
    return out


@pytest.mark.parametrize(("package", "allowed"), [
    ("inventory", ("flowaudit.inventory",)),
    ("audits", ("flowaudit.inventory", "flowaudit.audits")),
    ("reports", ("flowaudit.inventory", "flowaudit.audits", "flowaudit.reports")),
])
def test_layering(package: str, allowed: tuple[str, ...]) -> None:
    assert _imports(package), f"no modules found in {package}/"
    assert not _violations(package, allowed)


def test_layering_check_catches_a_backward_import(tmp_path: Path) -> None:
    """The checker itself works: a backward import, even inside a function, is reported."""
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "bad.py").write_text("def f():\n    from flowaudit.audits.engine import run_audit\n")
    assert _violations("inventory", ("flowaudit.inventory",), tmp_path) == [
        "inventory/bad.py imports flowaudit.audits.engine",
        "inventory/bad.py imports flowaudit.audits.engine.run_audit"]


# Within a package, one direction too: each entry forbids the arrows that would point back.
# (module file pattern, imports it must not make)
BACKWARD = [
    # audits: rulebook/findings/config ← rule ← selectors ← rules ← catalogue ← engine ← docs
    ("audits/rulebook.py", ("flowaudit.audits.rule", "flowaudit.audits.rules", "flowaudit.audits.catalogue",
                            "flowaudit.audits.engine", "flowaudit.audits.selectors", "flowaudit.audits.docs")),
    ("audits/findings.py", ("flowaudit.audits.rule", "flowaudit.audits.rules", "flowaudit.audits.catalogue",
                            "flowaudit.audits.engine", "flowaudit.audits.rulebook", "flowaudit.audits.docs")),
    ("audits/config.py", ("flowaudit.audits.rule", "flowaudit.audits.rules", "flowaudit.audits.catalogue",
                          "flowaudit.audits.engine", "flowaudit.audits.docs")),
    ("audits/rule.py", ("flowaudit.audits.rules", "flowaudit.audits.selectors", "flowaudit.audits.catalogue",
                        "flowaudit.audits.engine", "flowaudit.audits.docs")),
    ("audits/selectors.py", ("flowaudit.audits.rules", "flowaudit.audits.catalogue", "flowaudit.audits.engine",
                             "flowaudit.audits.docs")),
    ("audits/rules/*.py", ("flowaudit.audits.catalogue", "flowaudit.audits.engine", "flowaudit.audits.docs")),
    ("audits/catalogue.py", ("flowaudit.audits.engine", "flowaudit.audits.docs")),
    ("audits/engine.py", ("flowaudit.audits.docs",)),
    # inventory: errors ← models ← loader ← validate ← graph
    ("inventory/models.py", ("flowaudit.inventory.loader", "flowaudit.inventory.validate",
                             "flowaudit.inventory.graph")),
    ("inventory/loader.py", ("flowaudit.inventory.validate", "flowaudit.inventory.graph")),
    ("inventory/validate.py", ("flowaudit.inventory.graph",)),
    # flowaudit: the command group (`cli`) is imported by nothing but `python -m flowaudit`;
    # command modules share `cliutil`; the API knows no command line.
    ("flowaudit/[!_]*.py", ("flowaudit.cli",)),
    ("flowaudit/__init__.py", ("flowaudit.cli", "flowaudit.cliutil", "flowaudit.register", "flowaudit.diff")),
    ("flowaudit/cliutil.py", ("flowaudit.register", "flowaudit.diff", "flowaudit.api")),
    ("flowaudit/api.py", ("flowaudit.cli", "flowaudit.cliutil", "flowaudit.register", "flowaudit.diff")),
]


def _backward(root: Path = ROOT) -> list[str]:
    out = []
    for pattern, forbidden in BACKWARD:
        package = pattern.split("/")[0]
        for file, names in _imports(package, root).items():
            if not Path(file).match(pattern) or file == "flowaudit/cli.py":
                continue
            out.extend(f"{file} imports {name}" for name in sorted(names)
                       if any(name == f or name.startswith(f + ".") for f in forbidden))
    return out


def test_no_backward_arrow_within_a_package() -> None:
    assert not _backward()


def test_backward_check_catches_register_importing_cli(tmp_path: Path) -> None:
    (tmp_path / "flowaudit").mkdir()
    (tmp_path / "flowaudit" / "register.py").write_text("from flowaudit.cli import DATE\n")
    (tmp_path / "audits" / "rules").mkdir(parents=True)
    (tmp_path / "audits" / "rules" / "x.py").write_text("from ..engine import run_audit\n")
    assert _backward(tmp_path) == ["audits/rules/x.py imports flowaudit.audits.engine",
                                   "audits/rules/x.py imports flowaudit.audits.engine.run_audit",
                                   "flowaudit/register.py imports flowaudit.cli",
                                   "flowaudit/register.py imports flowaudit.cli.DATE"]


def test_the_catalogue_collects_every_rule_a_module_defines() -> None:
    """A rule defined in a listed module is in the catalogue without being listed anywhere else."""
    import types

    from flowaudit.audits import catalogue, selectors
    from flowaudit.audits.findings import Severity as S
    from flowaudit.audits.rule import rule

    module = types.ModuleType("flowaudit.audits.rules.scratch")
    exec(  # a throwaway rule module defined in the test
        "def check(ctx, item):\n    return None\n", module.__dict__)
    module.forgotten = rule("ZZZ-001", title="t", severity=S.LOW, legal=("x",), remediation="r",
                            subject="flow", over=selectors.purposes)(module.check)
    assert [r.id for r in catalogue.rules_of(module)] == ["ZZZ-001"]
    modules = (*catalogue.CORE_MODULES, *regime_modules(default_rulebook()).values())
    assert {r.id for m in modules for r in catalogue.rules_of(m)} == {r.id for r in CATALOGUE}


def test_a_rule_needs_a_named_selector() -> None:
    from flowaudit.audits.rule import rule

    with pytest.raises(TypeError, match="named Selector"):
        rule("ZZZ-002", title="t", severity=Severity.LOW, legal=("x",), remediation="r", subject="flow",
             over=lambda ctx: [])  # type: ignore[arg-type]
