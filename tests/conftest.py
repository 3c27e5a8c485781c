"""Shared test helpers."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
IN_CI = os.environ.get("CI") == "1"

# Shared constants: defined here once, imported by every test module that needs them.
AS_OF = dt.date(2025, 6, 1)  # the as-of date of the fixtures and golden files
AS_OF_TEXT = AS_OF.isoformat()  # the same, as `--as-of` takes it
# The one golden-file regeneration switch, for every golden test:
#     FLOWAUDIT_UPDATE_GOLDEN=1 python -m pytest
UPDATE_GOLDEN = os.environ.get("FLOWAUDIT_UPDATE_GOLDEN") == "1"


def require_program(path_or_name: str, why: str) -> None:
    """Skip when a system program is missing on a developer's machine; fail in CI (CI=1),
    where .ci/run installs it, so that those tests can never silently not run there."""
    found = Path(path_or_name).exists() if "/" in path_or_name else shutil.which(path_or_name)
    if not found:
        # the program's name only: a skip message names nothing outside the repository
        require_or_skip(f"{Path(path_or_name).name} is not installed ({why}); on Debian: apt-get install "
                        "graphviz chromium")


def require_or_skip(message: str) -> None:
    """Something a test needs is missing: skip on a developer's machine, fail in CI (CI=1), where
    .ci/run installs everything, so that no test can silently not run there."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative name → text or bytes) below `root`, creating folders; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the real ~/.cache: the command's cache is a fresh folder per test."""
    monkeypatch.setenv("FLOWAUDIT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE
