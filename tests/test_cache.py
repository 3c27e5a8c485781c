"""The cache (issue 9 item 5, SPEC §7 warm run): parsed files and whole audit outputs kept between
runs. A warm run gives the very bytes and exit code a cold one gives, in every format; an edit
shows at once; a broken, foreign or unwritable cache is ignored, never a traceback or a wrong
answer; the library caches only when asked; the cache prunes itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF_TEXT, EXAMPLE, ROOT, write_tree

import flowaudit
from flowaudit import audit_cache
from flowaudit.cli import main
from flowaudit.inventory import InventoryError
from flowaudit.inventory import cache as cache_module
from flowaudit.inventory.cache import Cache

INVENTORY = {
    "organisations.yaml": ("organisations:\n  - {id: acme, name: Acme, country: DE, relation: self}\n"
                           "  - {id: vendor, name: Vendor, country: US, relation: processor}\n"),
    "subjects.yaml": "subjects:\n  - {id: users, name: Users, locations: [DE]}\n",
    "elements.yaml": "elements:\n  - {id: email, name: Email, category: contact, subjects: [users]}\n",
    "purposes.yaml": ("purposes:\n  - {id: service, name: Service, legal_basis: contract, elements: [email],"
                      " subjects: [users], retention: P1Y}\n"),
    "systems.yaml": "systems:\n  - {id: crm, name: CRM, operator: acme, locations: [DE], elements: [email]}\n",
    "flows.yaml": ("flows:\n  - {id: signup, from: users, to: crm, elements: [email], purposes: [service]}\n"
                   "  - {id: export, from: crm, to: vendor, elements: [email], purposes: [service]}\n"),
}
FORMATS = ("text", "json", "sarif", "junit")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def audit(path: Path, fmt: str = "json", *extra: str) -> tuple[int, str]:
    return run("audit", str(path), "--as-of", AS_OF_TEXT, "--format", fmt, *extra)


def cache_dir() -> Path:
    return Path(os.environ["FLOWAUDIT_CACHE_DIR"])


def entries(kind: str) -> list[Path]:
    folder = cache_dir() / kind
    return sorted(folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "inv", INVENTORY)


def test_the_tests_cache_is_not_the_users() -> None:
    assert Path.home() not in cache_dir().parents


@pytest.mark.parametrize("fmt", FORMATS)
def test_warm_output_is_the_cold_output_byte_for_byte(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cold = audit(EXAMPLE, fmt)
    assert entries("audit") and entries("parse")
    # the warm run is served from the cache: the audit itself must not run
    monkeypatch.setattr("flowaudit.cli._audit_output", lambda *a, **k: pytest.fail("the audit ran again"))
    warm = audit(EXAMPLE, fmt)
    assert warm == cold
    monkeypatch.undo()
    assert audit(EXAMPLE, fmt, "--no-cache") == cold


def test_warm_output_to_a_file_and_the_exit_code_follow_fail_on(tmp_path: Path) -> None:
    out1, out2 = tmp_path / "cold.json", tmp_path / "warm.json"
    assert audit(EXAMPLE, "json", "-o", str(out1))[0] == 1
    assert audit(EXAMPLE, "json", "-o", str(out2))[0] == 1
    assert out1.read_bytes() == out2.read_bytes()
    # the same stored output, another threshold: the exit code is this run's
    assert audit(EXAMPLE, "json", "-o", str(out2), "--fail-on", "critical")[0] == \
        audit(EXAMPLE, "json", "-o", str(out1), "--fail-on", "critical", "--no-cache")[0]
    assert len(entries("audit")) == 1


def test_an_edit_updates_the_findings_and_only_the_changed_file_is_parsed(inventory: Path) -> None:
    code, before = audit(inventory)
    assert code == 1 and '"TRF-001"' in before
    flows = inventory / "flows.yaml"
    flows.write_text(INVENTORY["flows.yaml"].replace(
        "purposes: [service]}\n", "purposes: [service], transfer: {mechanism: adequacy}}\n"), encoding="utf-8")
    code, after = audit(inventory)
    assert '"TRF-001"' not in after
    assert (code, after) == audit(inventory, "json", "--no-cache")
    # the library, with the same cache: every file but the edited one comes from it
    loaded = flowaudit.load(inventory, cache=cache_dir())
    assert all(s.cached for s in loaded.sources)
    flows.write_text("# edited\n" + INVENTORY["flows.yaml"], encoding="utf-8")
    loaded = flowaudit.load(inventory, cache=cache_dir())
    assert {s.path.name for s in loaded.sources if not s.cached} == {"flows.yaml"}
    assert audit(inventory) == audit(inventory, "json", "--no-cache")
    (trf,) = [f for f in json.loads(audit(inventory)[1])["findings"] if f["rule"] == "TRF-001"]
    assert trf["location"]["file"].endswith("flows.yaml") and trf["location"]["line"] == 4  # the edited file's lines


def test_errors_name_file_line_and_field_as_without_cache(inventory: Path) -> None:
    assert audit(inventory)[0] == 1  # every file cached
    # an error in the changed file, and one it causes in a cached file (located by its text)
    (inventory / "elements.yaml").write_text(
        "elements:\n\n  - {id: mail, name: Email, category: contact, subjects: [userz]}\n", encoding="utf-8")
    cached = audit(inventory)
    assert cached[0] == 2
    assert "elements.yaml:3" in cached[1] and "purposes.yaml:2" in cached[1] and "flows.yaml:2" in cached[1]
    assert cached == audit(inventory, "json", "--no-cache")
    assert run("validate", str(inventory)) == run("validate", str(inventory), "--no-cache")


def _break(path: Path, how: str) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(b"\x80\x81 not json at all")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "foreign":  # valid JSON, but another format, another key or another shape
        path.write_text(json.dumps({"flowaudit-cache": 99, "key": path.stem, "document": {"flows": []}}))
    elif how == "wrong-key":
        path.write_text(json.dumps({"flowaudit-cache": 1, "key": "0" * 40, "document": {"flows": []}}))
    elif how == "deep":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "unreadable":
        path.chmod(0)


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "foreign", "wrong-key", "deep", "folder",
                                 "unreadable"])
def test_a_broken_cache_entry_is_ignored(inventory: Path, how: str) -> None:
    cold = audit(inventory, "sarif")
    for entry in entries("parse") + entries("audit"):
        _break(entry, how)
    assert audit(inventory, "sarif") == cold
    loaded = flowaudit.load(inventory, cache=cache_dir())
    assert len(loaded.flows) == 2


def test_a_blob_whose_payload_does_not_match_its_digest_is_ignored(inventory: Path) -> None:
    cold = audit(inventory)
    (entry,) = entries("audit")
    header, _, payload = entry.read_bytes().partition(b"\n")
    entry.write_bytes(header + b"\n" + payload.replace(b"TRF-001", b"TRF-002"))  # same size, other bytes
    assert audit(inventory) == cold


def test_a_read_only_cache_folder_disables_writing(inventory: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    monkeypatch.setenv("FLOWAUDIT_CACHE_DIR", str(folder))
    cold = audit(inventory, "json", "--no-cache")
    assert audit(inventory) == cold == audit(inventory)
    assert list(folder.iterdir()) == []


def test_a_cache_folder_that_cannot_be_written_is_ignored(inventory: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cold = audit(inventory, "json", "--no-cache")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for target in (blocker, blocker / "cache", tmp_path / "no" / "such" / "parent" / "cache"):
        monkeypatch.setenv("FLOWAUDIT_CACHE_DIR", str(target))
        assert audit(inventory) == cold
    assert not (tmp_path / "no").exists()  # never a whole tree under a wrong path


def test_writes_that_fail_midway_leave_no_entry(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_module.os, "replace", full)
    cold = audit(inventory, "json", "--no-cache")
    assert audit(inventory) == cold
    assert entries("parse") == entries("audit") == []


def test_no_cache_stores_nothing(inventory: Path) -> None:
    audit(inventory, "json", "--no-cache")
    run("validate", str(inventory), "--no-cache")
    run("report", str(inventory), "-o", str(inventory.parent / "out"), "--no-cache", "--as-of", AS_OF_TEXT)
    assert entries("parse") == entries("audit") == []
    run("validate", str(inventory))
    assert len(entries("parse")) == len(INVENTORY)


def test_entries_are_json_never_code(inventory: Path) -> None:
    audit(inventory)
    for entry in entries("parse"):
        data = json.loads(entry.read_bytes())
        assert set(data) == {"flowaudit-cache", "key", "document"} and data["key"] == entry.stem
    for entry in entries("audit"):
        header = json.loads(entry.read_bytes().split(b"\n", 1)[0])
        assert header["key"] == entry.stem


def test_the_library_caches_only_when_asked(inventory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "default_directory", lambda: pytest.fail("the user's cache folder was used"))
    flowaudit.audit(inventory)
    flowaudit.load(inventory)
    assert not any(cache_dir().iterdir())
    folder = tmp_path / "mine"
    first = flowaudit.audit(inventory, cache=folder)
    second = flowaudit.audit(inventory, cache=folder)
    assert all(s.cached for s in second.inventory.sources) and not any(s.cached for s in first.inventory.sources)
    assert [f.as_dict() for f in first.findings] == [f.as_dict() for f in second.findings]
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    flowaudit.load(inventory, cache=True)
    assert len(list((cache_module.default_directory() / "parse").iterdir())) == len(INVENTORY)


def test_other_inputs_are_part_of_the_key(inventory: Path) -> None:
    base = audit(inventory)
    assert audit(inventory, "json", "--rule", "TRF-001") == audit(inventory, "json", "--rule", "TRF-001", "--no-cache")
    assert audit(inventory, "json", "--skip", "TRF") == audit(inventory, "json", "--skip", "TRF", "--no-cache")
    assert run("audit", str(inventory), "--as-of", "2021-01-01", "--format", "json")[1] != base[1]
    (inventory / "flowaudit.toml").write_text('[severity]\n"TRF-001" = "low"\n')
    assert audit(inventory) == audit(inventory, "json", "--no-cache") != base
    (inventory / "flowaudit.toml").unlink()
    (inventory / "notes.yaml").write_text("flows: []\n")  # a new file
    assert audit(inventory) == audit(inventory, "json", "--no-cache")
    assert audit(inventory)[1] == base[1]
    assert len(entries("audit")) == 6


def test_a_changed_flowaudit_is_a_miss(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audit(inventory)
    monkeypatch.setattr(audit_cache, "code_fingerprint", lambda: "another build")
    monkeypatch.setattr(cache_module, "_parse_semantics", lambda: "another reader")
    audit(inventory)
    assert len(entries("audit")) == 2 and len(entries("parse")) == 2 * len(INVENTORY)


def test_pruning_keeps_the_recently_used_under_the_limit(tmp_path: Path) -> None:
    cache = Cache.open(tmp_path / "c")
    assert cache is not None
    payload = b"x" * 1000
    for i in range(10):
        cache.put_blob("audit", f"{i:040d}", {}, payload)
        os.utime(cache.directory / "audit" / f"{i:040d}.bin", (time.time() - 100 + i,) * 2)
    old = cache.directory / "audit" / ("f" * 40 + ".bin")
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    leftover = cache.directory / "audit" / ".x.bin.1234.tmp"
    leftover.write_bytes(b"half")
    os.utime(leftover, (time.time() - 7200,) * 2)
    assert cache.get_blob("audit", f"{0:040d}") is not None  # used now: kept
    cache.prune(max_bytes=5 * (cache.directory / "audit" / f"{0:040d}.bin").stat().st_size)
    left = sorted(p.name[:40] for p in (cache.directory / "audit").iterdir())
    assert f"{0:040d}" in left and "f" * 40 not in left and not leftover.exists()
    assert left == sorted([f"{0:040d}", *(f"{i:040d}" for i in range(6, 10))])


def test_two_runs_at_once_both_answer_right(inventory: Path) -> None:
    cold = audit(inventory, "json", "--no-cache")[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "flowaudit", "audit", str(inventory), "--as-of", AS_OF_TEXT, "--format", "json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(2)]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 1, err
        assert out.decode("utf-8") == cold
    assert not [p for p in (cache_dir() / "parse").iterdir() if p.name.endswith(".tmp")]
    assert audit(inventory)[1] == cold


def test_an_invalid_inventory_is_not_stored(inventory: Path) -> None:
    (inventory / "flows.yaml").write_text("flows:\n  - {id: x, from: nobody}\n")
    assert audit(inventory)[0] == 2
    assert entries("audit") == []
    with pytest.raises(InventoryError):
        flowaudit.load(inventory, cache=cache_dir())
    assert entries("parse") == []


def test_the_terminal_table_is_keyed_by_what_rich_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain, wide = audit_cache.output_mode(100), audit_cache.output_mode(140)
    monkeypatch.setenv("NO_COLOR", "1")
    assert len({plain, wide, audit_cache.output_mode(100), audit_cache.output_mode(0)}) == 4


def test_report_and_validate_read_the_same_inventory_from_the_cache(tmp_path: Path) -> None:
    cold, warm = tmp_path / "cold", tmp_path / "warm"
    assert run("report", str(EXAMPLE), "-o", str(cold), "--as-of", AS_OF_TEXT)[0] == 0
    assert len(entries("parse")) > 1
    assert run("report", str(EXAMPLE), "-o", str(warm), "--as-of", AS_OF_TEXT)[0] == 0
    for name in ("findings.json", "report.html", "dataflow.svg"):
        assert (cold / name).read_bytes() == (warm / name).read_bytes(), name
    assert run("validate", str(EXAMPLE)) == run("validate", str(EXAMPLE), "--no-cache")
