"""The distribution as a user gets it (issue 9, item 1): the wheel holds one import package,
`flowaudit`, with its rulebook data, templates and `py.typed`; installed into a fresh
environment it audits the worked example exactly as the repository does, from any working
folder; `pip install --target DIR` works too, the rulebook read from DIR (importlib.resources).

Offline and quick: the wheel is built without build isolation (setuptools comes with the test
extra), and the fresh environments reuse this environment's third-party packages through a
`.pth` line to their site-packages, never our editable install (whose finder only a processed
`.pth` file would load), so nothing is downloaded and `flowaudit` can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from conftest import EXAMPLE, ROOT
from test_example import AS_OF as EXAMPLE_AS_OF
from test_example import _readme_table

# Folders of a checkout that are never part of a build's input.
_NOT_SOURCES = {".git", ".venv", "venv", ".nox", ".tox", "build", "dist", "out", "__pycache__",
                ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}


def _project_files() -> list[str]:
    """The checkout's files as a build sees them: what git tracks, and new files it does not ignore."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode()
        return sorted(f for f in listed.split("\0") if f and (ROOT / f).is_file())
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _NOT_SOURCES and not d.endswith(".egg-info")]
        found += [str((Path(folder) / f).relative_to(ROOT)) for f in files if not f.endswith(".pyc")]
    return sorted(found)


def _clean_env(**more: str) -> dict[str, str]:
    """This environment without anything that would point Python at the repository or our venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")}
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_NO_INDEX"] = "1"  # offline: a test never downloads
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(more)
    return env


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
         ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env or _clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in ok, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _build(out: Path) -> Path:
    src = out / "src"
    for name in _project_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    # a copy, so the build's build/ and *.egg-info never land in the checkout (nor race other tests)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", out / "dist", src],
         cwd=out)
    wheels = sorted((out / "dist").glob("flowaudit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once per test run (the xdist workers of a run share it)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:  # one process: nothing to share
        return _build(tmp_path_factory.mktemp("wheel"))
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's own
    with FileLock(str(shared / "wheel.lock")):
        done = shared / "wheel.built"
        if done.exists():
            return Path(done.read_text(encoding="utf-8"))
        built = _build(shared / "wheel")
        done.write_text(str(built), encoding="utf-8")
        return built


def _fresh_venv(where: Path) -> Path:
    """A new environment with no pip and no flowaudit, that sees this environment's third-party
    packages (a plain path in a .pth: the folders' own .pth files, our editable finder among
    them, are not run). Returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(where)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    own = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=where).stdout.strip()
    deps = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    assert deps, sys.path
    Path(own, "zz-flowaudit-test-deps.pth").write_text("".join(f"{p}\n" for p in deps), encoding="utf-8")
    return python


_PROBE = """
import datetime as dt, importlib.util, json, sys
import flowaudit
from flowaudit.audits import default_rulebook
result = flowaudit.audit(sys.argv[1], dt.date.fromisoformat(sys.argv[2]))
print(json.dumps({
    "file": flowaudit.__file__,
    "rulebook": str(result.rulebook.directory),
    "default_rulebook": str(default_rulebook().directory),
    "regimes": sorted(result.rulebook.regimes),
    "pairs": sorted([f.rule, f.subject_id] for f in result.findings),
    "top_level": {name: importlib.util.find_spec(name) is not None
                  for name in ("inventory", "audits", "reports", "data")},
}))
"""


def _probe(python: Path, cwd: Path, env: dict[str, str]) -> dict:
    out = _run([python, "-c", _PROBE, EXAMPLE, EXAMPLE_AS_OF.isoformat()], cwd=cwd, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _pinned_pairs() -> list[list[str]]:
    pairs, _, _ = _readme_table()
    return sorted([rule, subject] for rule, subject in pairs)


def test_wheel_holds_only_the_flowaudit_package_with_its_data(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        metadata = z.read(f"{dist_info}/METADATA").decode()
        top_level = z.read(f"{dist_info}/top_level.txt").decode().split()
    assert {n.split("/")[0] for n in names} == {"flowaudit", dist_info}
    assert top_level == ["flowaudit"]
    assert "License-Expression: Apache-2.0" in metadata  # an SPDX licence string
    assert "flowaudit/py.typed" in names

    # every module of every folder the package maps (a subpackage missing from `packages` would
    # be left out silently), every rulebook and mapping file, every report template
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {folder: package.replace(".", "/") for package, folder in setup["package-dir"].items()}
    expected = set()
    for name in _project_files():
        folder, _, rest = name.partition("/")
        if folder not in folders or "/" not in name:
            continue
        shipped = name.endswith(".py") or name.startswith(("data/rulebook/", "data/mappings/", "reports/templates/"))
        if shipped and not name.endswith(".md"):
            expected.add(f"{folders[folder]}/{rest}")
    assert any(n.startswith("flowaudit/data/rulebook/gdpr/") and n.endswith(".yaml") for n in expected)
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing}"
    assert not any("/examples/" in n or "/tests/" in n for n in names)


def test_wheel_installed_in_a_fresh_venv_audits_the_worked_example(wheel: Path, tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    away = tmp_path / "elsewhere"  # a working folder outside the repository
    away.mkdir()
    env = _clean_env()
    missing = _run([python, "-c", "import flowaudit"], cwd=away, env=env, ok=(1,))
    assert "No module named 'flowaudit'" in missing.stderr  # the editable install does not leak in

    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-compile", wheel],
         cwd=away, env=env)
    venv_dir = (tmp_path / "venv").resolve()
    probe = _probe(python, away, env)
    assert Path(probe["file"]).resolve().is_relative_to(venv_dir)
    assert Path(probe["rulebook"]).resolve().is_relative_to(venv_dir)
    assert probe["default_rulebook"] == probe["rulebook"]
    assert {"gdpr", "uk-gdpr", "pipl"} <= set(probe["regimes"])
    assert not any(probe["top_level"].values()), probe["top_level"]
    assert probe["pairs"] == _pinned_pairs()

    # the installed command, from outside the repository: the same bytes as the checkout's
    command = python.parent / ("flowaudit.exe" if os.name == "nt" else "flowaudit")
    args = ["audit", EXAMPLE, "--as-of", EXAMPLE_AS_OF.isoformat(), "--format", "json"]
    installed = _run([command, *args, "-o", away / "installed.json"], cwd=away, env=env, ok=(0, 1))
    checkout = _run([sys.executable, "-m", "flowaudit", *args, "-o", away / "checkout.json"], cwd=away, ok=(0, 1))
    assert installed.returncode == checkout.returncode == 1  # high findings: --fail-on high
    document = json.loads((away / "installed.json").read_text(encoding="utf-8"))
    assert sorted([f["rule"], f["subject"]["id"]] for f in document["findings"]) == _pinned_pairs()
    assert (away / "installed.json").read_bytes() == (away / "checkout.json").read_bytes()


def test_pip_install_target_reads_the_rulebook_from_the_target(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", target, wheel],
         cwd=tmp_path)
    assert {p.name for p in target.iterdir()} == {"flowaudit", wheel.name.split("-py")[0] + ".dist-info"} | (
        {"bin"} if (target / "bin").exists() else set())
    python = _fresh_venv(tmp_path / "venv")
    away = tmp_path / "elsewhere"
    away.mkdir()
    probe = _probe(python, away, _clean_env(PYTHONPATH=str(target)))
    resolved = target.resolve()
    assert Path(probe["file"]).resolve().is_relative_to(resolved)
    assert Path(probe["rulebook"]).resolve().is_relative_to(resolved)
    assert not any(probe["top_level"].values()), probe["top_level"]
    assert probe["pairs"] == _pinned_pairs()
