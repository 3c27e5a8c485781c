"""`flowaudit register` against the red team's cases (issue 9, item 6), each with its reproducer:
different paths to one file, someone else's edit meanwhile, the lock in `git status`, read-only
files and their owner, non-UTF-8 arguments, errors that name a temporary file."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from flowaudit.inventory import FlowauditError, load_inventory

from flowaudit.cli import main
from flowaudit.register import PAUSE_ENV, register_entry

FIXTURE = Path(__file__).parent / "fixtures" / "register" / "inventory"
AS_OF = "2025-06-01"
N_ELEMENTS = 8


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(FIXTURE, target)
    return target


def _one_file_inventory(folder: Path) -> Path:
    """The fixture merged into folder/inventory.yaml, with extra elements el-0… to carry."""
    merged: dict[str, list] = {}
    for f in sorted(FIXTURE.glob("*.yaml")):
        for key, value in yaml.safe_load(f.read_text()).items():
            merged.setdefault(key, []).extend(value)
    merged["elements"].extend({"id": f"el-{i}", "name": f"E{i}", "category": "contact", "subjects": ["customers"]}
                              for i in range(N_ELEMENTS))
    folder.mkdir()
    path = folder / "inventory.yaml"
    path.write_text("# the whole inventory in one file\n" + yaml.safe_dump(merged, sort_keys=False))
    return path


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _process(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowaudit", "register", *args, "--as-of", AS_OF],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


# --- different paths to the same file ------------------------------------------------------------

def _register_via(path: str, element: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    barrier.wait(timeout=30)
    try:
        reg = register_entry(path, "flow", {"from": "crm", "to": "de-mailer", "elements": [element],
                                            "purposes": ["newsletter"]})
        results.put(reg.entry_id)
    except Exception as exc:  # any error is reported to the test
        results.put(f"failed: {exc!r}")


def test_concurrent_registrations_through_different_paths_lose_nothing(tmp_path: Path) -> None:
    """Red team: a symlink, a folder and a file in it took different locks; in 10 trials one entry
    was lost twice, with exit 0. The lock is on the resolved file now."""
    context = multiprocessing.get_context("fork")
    for trial in range(10):
        folder = tmp_path / f"trial-{trial}"
        path = _one_file_inventory(folder)
        (tmp_path / f"link-{trial}.yaml").symlink_to(path)
        (tmp_path / f"dir-link-{trial}").symlink_to(folder, target_is_directory=True)
        ways = [str(folder), str(path), str(tmp_path / f"link-{trial}.yaml"), str(tmp_path / f"dir-link-{trial}")]
        barrier, results = context.Barrier(len(ways)), context.Queue()
        workers = [context.Process(target=_register_via, args=(way, f"el-{i}", barrier, results))
                   for i, way in enumerate(ways)]
        for worker in workers:
            worker.start()
        ids = [results.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert not [i for i in ids if i.startswith("failed")], ids
        flows = load_inventory(path).flows
        assert len(set(ids)) == len(ways), ids
        assert set(ids) <= set(flows), f"trial {trial}: lost {set(ids) - set(flows)}"
        assert (tmp_path / f"link-{trial}.yaml").is_symlink()  # written through, not replaced
        assert sorted(p.name for p in folder.iterdir()) == ["inventory.yaml"]  # no lock, no leftovers


def test_a_registration_landing_between_reading_and_checking_is_seen(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Found under load: a registration through the file landed after another one (through the
    folder) had read the inventory but before it stamped it, so the stale id it picked clashed
    with the fresh file and it was refused. The files are stamped before they are read now: the
    change shows, the registration starts again and both entries land, each with its own id."""
    import flowaudit.register as register_module

    path = _one_file_inventory(tmp_path / "inventory")
    real_read_files = register_module.read_files
    landed: list[str] = []

    def read_then_someone_registers(*args, **kwargs):  # type: ignore[no-untyped-def]
        sources = real_read_files(*args, **kwargs)
        if not landed:  # the other registration, through the file itself, lands now
            landed.append("")
            landed[0] = register_entry(path, "flow", {"from": "crm", "to": "de-mailer", "elements": ["el-1"],
                                                      "purposes": ["newsletter"]}).entry_id
        return sources

    monkeypatch.setattr(register_module, "read_files", read_then_someone_registers)
    mine = register_entry(path.parent, "flow", {"from": "crm", "to": "de-mailer", "elements": ["el-0"],
                                                "purposes": ["newsletter"]}).entry_id
    flows = load_inventory(path).flows
    assert mine != landed[0]
    assert {mine, landed[0]} <= set(flows)


# --- someone else's edit while register validates -------------------------------------------------

def _wait_for_temporary(proc: subprocess.Popen, folder: Path, name: str) -> None:
    deadline = time.monotonic() + 30
    while not list(folder.glob(f".{name}.*.tmp")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writer never reached its pause"
        time.sleep(0.02)


def test_an_edit_made_meanwhile_is_kept_and_the_entry_revalidated(inv: Path) -> None:
    proc = _process("flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                    "--purposes", "support", "--mechanism", "adequacy", env={PAUSE_ENV: "1"})
    _wait_for_temporary(proc, inv, "flows.yaml")
    with (inv / "flows.yaml").open("a") as handle:  # a colleague saves the file meanwhile
        handle.write("  - {id: by-hand, from: customers, to: crm, elements: [email], purposes: [support]}\n")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 1), (out + err).decode()
    text = (inv / "flows.yaml").read_text()
    assert "id: by-hand" in text and "id: crm-to-us-host" in text  # both: nothing overwritten
    assert {"by-hand", "crm-to-us-host"} <= set(load_inventory(inv).flows)


def test_an_inventory_that_keeps_changing_is_refused_with_the_reason(inv: Path) -> None:
    before_flows = (inv / "flows.yaml").read_text()
    proc = _process("flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                    "--purposes", "support", env={PAUSE_ENV: "0.6"})
    stop = threading.Event()

    def keep_editing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            (inv / "flows.yaml").write_text(before_flows + f"# edit {n}\n")
            time.sleep(0.05)

    editor = threading.Thread(target=keep_editing)
    editor.start()
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        stop.set()
        editor.join()
    assert proc.returncode == 2, (out + err).decode()
    assert "changed by someone else" in err.decode() and "nothing was written" in err.decode()
    assert "crm-to-us-host" not in (inv / "flows.yaml").read_text()
    assert not list(inv.glob(".*.tmp"))


# --- the lock stays out of the working tree -------------------------------------------------------

def test_the_lock_does_not_show_in_git_status(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo / "inventory")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "inventory"], check=True)
    result = run("register", "element", str(repo / "inventory"), "--id", "phone", "--name", "Phone",
                 "--category", "contact", "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.output
    status = subprocess.run([*git, "status", "--porcelain", "--ignored", "--untracked-files=all"],
                            check=True, capture_output=True, text=True).stdout
    assert status.splitlines() == [" M inventory/data.yaml"]
    assert list((repo / ".git" / "flowaudit-locks").glob("*.lock"))  # shared by everyone in this checkout


def test_no_lock_or_temporary_file_in_the_inventory_folder(inv: Path) -> None:
    before = sorted(p.name for p in inv.iterdir())
    result = run("register", "element", str(inv), "--id", "phone", "--name", "Phone", "--category", "contact")
    assert result.exit_code in (0, 1), result.output
    assert sorted(p.name for p in inv.iterdir()) == before


# --- read-only files, owner and group --------------------------------------------------------------

def test_a_read_only_file_is_not_rewritten(inv: Path) -> None:
    target = inv / "flows.yaml"
    before = target.read_bytes()
    target.chmod(0o444)
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", "--mechanism", "adequacy")
    assert result.exit_code == 2, result.output
    assert "read-only" in result.output and "nothing was written" in result.output
    assert target.read_bytes() == before and target.stat().st_mode & 0o777 == 0o444


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_owner_group_and_mode_are_kept_when_replacing(inv: Path) -> None:
    target = inv / "flows.yaml"
    os.chown(target, 65534, 65534)
    target.chmod(0o664)
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", "--mechanism", "adequacy")
    assert result.exit_code in (0, 1), result.output
    st = target.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (65534, 65534, 0o664)
    assert "crm-to-us-host" in target.read_text()


def test_a_file_whose_owner_cannot_be_kept_is_not_replaced(inv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = inv / "flows.yaml"
    before = target.read_bytes()
    real_stat = os.stat

    class Other:
        """The file as another user's: a different owner and group."""

        def __init__(self, st: os.stat_result):
            self._st = st

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            if name in ("st_uid", "st_gid"):
                return getattr(self._st, name) + 4242
            return getattr(self._st, name)

    def fake_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        st = real_stat(path, *args, **kwargs)
        return Other(st) if os.fspath(path) == os.fspath(target) else st

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    monkeypatch.setattr("pathlib.Path.stat", lambda self, **kw: fake_stat(self, **kw))
    with pytest.raises(FlowauditError, match=r"belongs to .*nothing was written"):
        register_entry(inv, "flow", {"from": "crm", "to": "us-host", "elements": ["email"], "purposes": ["support"]})
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert not list(inv.glob(".*.tmp"))


# --- what the user typed, and what the errors name --------------------------------------------------

def test_non_utf8_arguments_give_a_clean_error(inv: Path) -> None:
    before = (inv / "flows.yaml").read_bytes()
    proc = _process(b"flow", os.fsencode(inv), b"--from", b"crm", b"--to", b"us-host", b"--elements", b"email",
                    b"--purposes", b"support", b"--notes", b"caf\xe9 au lait")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out + err).decode(errors="replace")
    message = err.decode("utf-8", errors="replace")
    assert "notes" in message and "not valid UTF-8" in message and "\\xe9" in message
    assert "Traceback" not in message
    assert (inv / "flows.yaml").read_bytes() == before


@pytest.mark.parametrize("extra", [["--mechanism", "sccs"], ["--volume", str(10**30)]])
def test_errors_in_the_new_entry_name_the_real_file(inv: Path, extra: list[str]) -> None:
    """The validator's problems and the parser's (a 30-digit number) name flows.yaml."""
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", *extra)
    assert result.exit_code == 2, result.output
    assert re.search(r"inventory/flows\.yaml:(1[6-9]|2[0-9])\b", result.output), result.output
    assert ".tmp" not in result.output and "flowaudit-register-" not in result.output


def test_leftovers_of_live_writers_are_left_alone(inv: Path) -> None:
    """Only a dead writer's temporary file is cleaned up, never a running one's."""
    alive = inv / f".flows.yaml.{os.getppid()}.0123abcd.tmp"
    dead = inv / ".flows.yaml.999999999.0123abcd.tmp"
    alive.write_text("x")
    dead.write_text("x")
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", "--mechanism", "adequacy")
    assert result.exit_code in (0, 1), result.output
    assert alive.exists() and not dead.exists()
