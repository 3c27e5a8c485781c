"""Red-team case (issue 9, item 6): report bytes depended on the working folder. Paths in outputs
are relative to the inventory's root and the inventory is named by its root's own name (SPEC §5),
so the same inventory gives byte-identical `audit` (json, sarif, junit, text) and `report` output
from any working folder, whether PATH is relative, absolute, `.` or a symbolic link.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF_TEXT, ROOT, require_program

from flowaudit.cli import main

FIXTURE = ROOT / "tests" / "fixtures" / "golden" / "mixed"  # several files, findings, a waiver of each kind
FORMATS = ("json", "sarif", "junit", "text")


@pytest.fixture
def places(tmp_path: Path) -> list[tuple[Path, str]]:
    """(working folder, PATH as typed) pairs that all name the same inventory."""
    inv = tmp_path / "work" / "mixed"
    shutil.copytree(FIXTURE, inv)
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    (tmp_path / "elsewhere" / "link").symlink_to(inv, target_is_directory=True)
    return [
        (tmp_path / "work", "mixed"),            # relative, from its parent
        (elsewhere, str(inv)),                   # absolute, from an unrelated folder
        (inv, "."),                              # the inventory folder itself
        (elsewhere, "../link"),                  # through a symbolic link
        (inv / "..", "../work/mixed/"),          # a roundabout relative path with a trailing slash
    ]


def run(cwd: Path, *args: str) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_audit_bytes_do_not_depend_on_the_working_folder_or_the_path(places: list[tuple[Path, str]],
                                                                     tmp_path: Path, fmt: str) -> None:
    outputs = []
    for i, (cwd, path) in enumerate(places):
        out_file = tmp_path / f"out-{i}.{fmt}"
        code, out = run(cwd, "audit", path, "--as-of", AS_OF_TEXT, "--format", fmt, "-o", str(out_file))
        assert code in (0, 1), out
        outputs.append(out_file.read_bytes())
        code, printed = run(cwd, "audit", path, "--as-of", AS_OF_TEXT, "--format", fmt)
        assert printed.encode("utf-8") == outputs[-1], (cwd, path)
    assert all(o == outputs[0] for o in outputs), [o[:300] for o in outputs]
    text = outputs[0].decode("utf-8")
    assert str(tmp_path) not in text and "work/" not in text and "link" not in text


def test_paths_in_findings_are_relative_to_the_inventory_root(places: list[tuple[Path, str]]) -> None:
    cwd, path = places[1]
    _, out = run(cwd, "audit", path, "--as-of", AS_OF_TEXT, "--format", "json")
    doc = json.loads(out)
    assert doc["inventory"] == "mixed"
    files = {f["location"]["file"] for f in doc["findings"] if f.get("location")}
    assert files and files <= {p.name for p in FIXTURE.glob("*.yaml")}, files
    assert {w["location"]["file"] for w in doc["unused_waivers"]} == {"waivers.yaml"}
    _, sarif = run(cwd, "audit", path, "--as-of", AS_OF_TEXT, "--format", "sarif")
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(sarif)["runs"][0]["results"]
            for loc in r.get("locations", [])}
    assert uris == files


def test_a_file_in_a_symlinked_subfolder_is_named_by_its_place_in_the_inventory(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shutil.copytree(FIXTURE, shared)
    inv = tmp_path / "inv"
    inv.mkdir()
    for name in ("organisations.yaml", "waivers.yaml"):
        (shared / name).rename(inv / name)
    (inv / "team").symlink_to(shared, target_is_directory=True)
    _, out = run(tmp_path, "audit", str(inv), "--as-of", AS_OF_TEXT, "--format", "json")
    files = {f["location"]["file"] for f in json.loads(out)["findings"] if f.get("location")}
    assert files and all(f.startswith("team/") or f in ("organisations.yaml",) for f in files), files


def test_report_bytes_do_not_depend_on_the_working_folder_or_the_path(places: list[tuple[Path, str]],
                                                                      tmp_path: Path) -> None:
    require_program("dot", "graphviz draws the data-flow diagram")
    bundles = []
    for i, (cwd, path) in enumerate(places[:4]):
        out_dir = tmp_path / f"report-{i}"
        code, out = run(cwd, "report", path, "--as-of", AS_OF_TEXT, "-o", str(out_dir))
        assert code == 0, out
        bundles.append({p.name: p.read_bytes() for p in sorted(out_dir.iterdir())})
    assert set(bundles[0]) >= {"ropa.xlsx", "report.html", "findings.json", "dataflow.svg"}
    for other in bundles[1:]:
        assert set(other) == set(bundles[0])
        different = [name for name in bundles[0] if other[name] != bundles[0][name]]
        assert not different, different
    assert str(tmp_path).encode() not in bundles[0]["report.html"]
