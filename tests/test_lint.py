"""The guards of issue 9: ruff and mypy report nothing.

ruff runs with the project's configuration (pyproject's [tool.ruff]: E, F, W, B, UP, SIM, RUF at
120 columns) over the whole repository. mypy checks the installed package, all of it: with an
editable install the mapped subpackages (`flowaudit.inventory` is the folder `inventory/`, and so
on) are found by an import hook that mypy cannot follow, so `mypy -p flowaudit` alone would check
`flowaudit/` only and take every import of the rest for `Any`. The test lays the package out as a
wheel installs it (links into a temporary folder, from pyproject's package-dir) and checks that.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from conftest import ROOT, require_or_skip


def _require(distribution: str) -> None:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        require_or_skip(f"{distribution} is not installed (it is in the test extra: pip install -e '.[test]')")


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def _package_tree(into: Path) -> tuple[Path, dict[str, str]]:
    """The import package `flowaudit` as installed, made of links to the repository's folders;
    with the map from the linked folders back to the repository's, for the messages."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    assert package_dir.get("flowaudit") == "flowaudit", "the layout this test knows: flowaudit/ is the top"
    top = into / "flowaudit"
    top.mkdir(parents=True)
    for entry in (ROOT / "flowaudit").iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    back = {}
    for package, folder in sorted(package_dir.items()):
        if package == "flowaudit":
            continue
        link = into.joinpath(*package.split("."))
        assert not link.exists(), f"{package} is both a folder of flowaudit/ and mapped to {folder}/"
        link.symlink_to(ROOT / folder, target_is_directory=True)
        back["/".join(package.split(".")) + "/"] = folder + "/"
    return into, back


def test_ruff_reports_nothing() -> None:
    _require("ruff")
    done = _run(["ruff", "check", "--no-cache", "--output-format", "concise", "."], ROOT)
    assert done.returncode == 0, f"ruff check . (pyproject's [tool.ruff]):\n{done.stdout}{done.stderr}"


def test_mypy_reports_nothing_on_the_whole_package(tmp_path: Path) -> None:
    _require("mypy")
    _require("types-PyYAML")  # without the stubs every yaml call is Any and goes unchecked
    tree, back = _package_tree(tmp_path / "site")
    env = {**os.environ, "MYPYPATH": str(tree)}
    # mypy's own cache folder of the checkout (git ignores it): a first run takes about a minute,
    # mostly the third-party packages; later ones take seconds
    done = _run(["mypy", "-p", "flowaudit", "--config-file", str(ROOT / "pyproject.toml"),
                 "--cache-dir", str(ROOT / ".mypy_cache")], tree, env)
    out = done.stdout + done.stderr
    for linked, folder in back.items():  # flowaudit/inventory/graph.py:12 -> inventory/graph.py:12
        out = re.sub(rf"^{re.escape(linked)}", folder, out, flags=re.MULTILINE)
    assert done.returncode == 0, f"mypy -p flowaudit (every module of the installed package):\n{out}"
    # it saw every module, the mapped subpackages too (an editable install hides them from mypy)
    modules = sum(name.endswith(".py") for _, _, names in os.walk(tree, followlinks=True) for name in names)
    checked = re.search(r"no issues found in (\d+) source files", out)
    assert checked and int(checked.group(1)) >= modules, f"mypy checked fewer than the {modules} modules:\n{out}"
