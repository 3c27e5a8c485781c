"""No inventory file is skipped silently (SPEC §7; red team, issue 9): symlinked folders are
followed (a loop ends), upper-case suffixes are YAML, and a broken symlink, a FIFO or an
unreadable folder is an error with its path, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowaudit.cli import main
from flowaudit.inventory import InventoryError
from flowaudit.inventory.loader import discover

SELF = "organisations:\n  - {id: me, name: Me, country: DE, relation: self}\n"
SUBJECTS = "subjects:\n  - {id: users, name: Users, locations: [DE]}\n"


def _tree(root: Path) -> Path:
    (root / "inv").mkdir()
    (root / "inv" / "orgs.yaml").write_text(SELF, encoding="utf-8")
    (root / "team").mkdir()
    (root / "team" / "subjects.yaml").write_text(SUBJECTS, encoding="utf-8")
    return root / "inv"


def _validate(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.output


def test_a_symlinked_folder_is_followed_and_a_loop_ends(tmp_path: Path) -> None:
    inv = _tree(tmp_path)
    (inv / "team").symlink_to(tmp_path / "team", target_is_directory=True)
    (inv / "loop").symlink_to(inv, target_is_directory=True)  # a folder linking back to the root
    files = discover(inv)
    assert [p.relative_to(inv).as_posix() for p in files] == ["orgs.yaml", "team/subjects.yaml"]
    code, out = _validate(inv)
    assert code == 0, out


def test_upper_case_suffixes_are_yaml(tmp_path: Path) -> None:
    inv = _tree(tmp_path)
    (inv / "SUBJECTS.YAML").write_text(SUBJECTS, encoding="utf-8")
    assert [p.name for p in discover(inv)] == ["SUBJECTS.YAML", "orgs.yaml"]


@pytest.mark.parametrize("kind", ["dangling", "fifo"])
def test_what_cannot_be_read_is_an_error(tmp_path: Path, kind: str) -> None:
    inv = _tree(tmp_path)
    bad = inv / "flows.yaml"
    if kind == "dangling":
        bad.symlink_to(tmp_path / "gone.yaml")
        expected = "broken symbolic link"
    else:
        os.mkfifo(bad)
        expected = "not a regular file"
    with pytest.raises(InventoryError) as caught:
        discover(inv)
    assert expected in str(caught.value) and "flows.yaml" in str(caught.value)
    code, out = _validate(inv)
    assert code == 2 and expected in out and "Traceback" not in out


def test_an_unreadable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inv = _tree(tmp_path)
    (inv / "locked").mkdir()
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":  # root reads any folder, so refuse it here as chmod 000 would
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InventoryError) as caught:
        discover(inv)
    assert "cannot read this folder" in str(caught.value) and "locked" in str(caught.value)
