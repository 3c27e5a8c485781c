"""A library keeps to itself (STYLE.md; SPEC §5): `flowaudit.load()` and `audit()` may run many
times in one process and leave no process-wide state behind; the result carries the law it ran
with and every report reads that law; caches live on the view or the context."""

from __future__ import annotations

import ast
import gc
import weakref
from pathlib import Path

import pytest
from conftest import AS_OF, EXAMPLE, ROOT
from flowaudit.audits import Rulebook, default_rulebook
from flowaudit.reports.lineage import render_lineage
from flowaudit.reports.records import ReportData

import flowaudit

SOURCES = [p for package in ("flowaudit", "inventory", "audits", "reports")
           for p in sorted((ROOT / package).rglob("*.py"))]


def test_repeated_load_and_audit_leave_the_collector_alone() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    for _ in range(3):
        result = flowaudit.audit(flowaudit.load(EXAMPLE), AS_OF)
        assert result.findings
    assert gc.isenabled(), "the library disabled the garbage collector"
    assert gc.get_freeze_count() == frozen == 0, "the library froze objects out of the collector's sight"


def test_views_are_collectable() -> None:
    """A notebook that audits eight times keeps one view, not eight."""
    refs = []
    for _ in range(3):
        result = flowaudit.audit(EXAMPLE, AS_OF)
        assert list(result.view.transfers())  # transfers built, so any back-reference exists
        refs.append(weakref.ref(result.view))
        del result
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_a_kept_transfer_does_not_keep_its_view_alive() -> None:
    result = flowaudit.audit(EXAMPLE, AS_OF)
    transfer = next(iter(result.view.transfers()))
    ref = weakref.ref(result.view)
    del result
    gc.collect()
    assert ref() is None
    assert transfer.flow.id


def test_no_umask_toggling_and_no_environment_read_at_import() -> None:
    """`os.umask` changes the whole process's umask (a thread creating a file meanwhile gets
    mode 0o777); environment variables read at import fix behaviour before a caller can choose."""
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "umask":
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} uses os.umask")
            if isinstance(node, ast.Attribute) and node.attr in ("freeze", "disable") \
                    and isinstance(node.value, ast.Name) and node.value.id == "gc" \
                    and path.relative_to(ROOT).as_posix() != "flowaudit/cliutil.py":
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} tunes the garbage collector "
                            "(only the executable may: cliutil.tune_process)")
        for node in tree.body:  # module level: import time
            for sub in ast.walk(node):
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                    break
                if isinstance(sub, ast.Attribute) and sub.attr in ("environ", "getenv"):
                    pytest.fail(f"{path.relative_to(ROOT)}:{sub.lineno} reads the environment at import")


def test_the_parser_is_a_parameter(tmp_path: Path) -> None:
    a = flowaudit.load(EXAMPLE, parser="pyyaml")
    b = flowaudit.load(EXAMPLE, parser="auto")
    assert a.flows == b.flows
    with pytest.raises(flowaudit.inventory.FlowauditError, match="unknown parser"):
        flowaudit.load(EXAMPLE, parser="lxml")  # type: ignore[arg-type]


def test_the_cli_tuning_stays_in_the_executable() -> None:
    """Invoking the command group in-process (as tests and embedders do) tunes nothing."""
    from click.testing import CliRunner

    from flowaudit.cli import main

    result = CliRunner().invoke(main, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()


def _renamed_rulebook() -> Rulebook:
    """The shipped law with the EU GDPR under another display name: which law a report reads shows."""
    book = Rulebook()
    book.regimes = {k: v.model_copy(update={"name": "Test GDPR"}) if k == "gdpr" else v
                    for k, v in book.regimes.items()}
    return book


def test_the_result_carries_its_rulebook_and_reports_use_it() -> None:
    book = _renamed_rulebook()
    result = flowaudit.audit(EXAMPLE, AS_OF, rulebook=book)
    assert result.rulebook is book
    data = ReportData(result)
    assert data.rulebook is book
    assert data.regime_name("gdpr") == "Test GDPR"
    assert default_rulebook().regime_name("gdpr") == "EU GDPR"
    from flowaudit.reports.html import render_html

    assert "Test GDPR" in render_html(data, None)


def test_lineage_reads_the_rulebook_it_is_given() -> None:
    inventory = flowaudit.load(EXAMPLE)
    text = render_lineage(inventory, "username", AS_OF, _renamed_rulebook())
    assert "Test GDPR" in text


def test_caches_live_on_the_view_or_the_context() -> None:
    """No rule writes into another object's __dict__, and no method is wrapped in lru_cache
    (which keeps every instance alive in a global cache: ruff B019)."""
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert ".__dict__[" not in text and ".__dict__.get(" not in text, path
        tree = ast.parse(text)
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                for deco in fn.decorator_list:
                    name = ast.unparse(deco)
                    assert "lru_cache" not in name and name != "cache", f"{path.name}: {cls.name}.{fn.name}"


def test_the_tia_age_limit_has_one_source(tmp_path: Path) -> None:
    from flowaudit.audits.config import DEFAULT_LIMITS, load_config

    assert "tia_max_age_months" not in DEFAULT_LIMITS
    (tmp_path / "flowaudit.toml").write_text("[limits]\ntia_max_age_months = 12\n")
    assert load_config(tmp_path).limits["tia_max_age_months"] == 12
    assert default_rulebook().tia_max_age_months == 24
