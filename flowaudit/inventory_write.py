"""Replacing an inventory file safely: locks outside the working tree, a check that nobody else
changed the file meanwhile, owner, group and mode kept, atomic replace.

Used by `flowaudit register`. The rules it keeps, each from a case that went wrong:

- **One lock per resolved path.** Two registrations reaching the same file through different
  paths (a symlink; a folder and a file in it) must wait for each other, so the lock is keyed by
  the real path (`os.path.realpath`), not by the path as typed.
- **Locks stay out of the working tree.** A lock file beside the inventory shows in
  `git status`. Locks live in the repository's git directory when the inventory is inside a git
  working tree (so everyone working in that checkout shares them), else in the user's cache
  directory; their names are a hash of the real path.
- **Nobody else's edit is overwritten.** Just before the replace, the target's bytes are compared
  with those the registration read (and the other inventory files' size, mtime and inode with
  what was validated); when anything changed, `ChangedMeanwhile` is raised and the caller reads
  and validates again.
- **The file's owner, group and mode are kept**, and a read-only file is not rewritten. When the
  owner or group cannot be kept (another user's file), nothing is written.
- **Only our own leftovers are removed.** A temporary file carries its writer's process id; a
  leftover is removed only when that process no longer runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from flowaudit.inventory import FlowauditError

__all__ = ["ChangedMeanwhile", "Stamp", "lock_file", "locked", "replace_file", "stamp", "temporary_name"]

Stamp = tuple[int, int, int, int]  # (device, inode, size, mtime in ns)


class ChangedMeanwhile(Exception):
    """A file changed between reading and replacing it."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


def stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


# --- locks -------------------------------------------------------------------------------------

def lock_file(path: Path, scope: str) -> Path:
    """The lock for the real `path` (a `scope` such as "inventory" or "file" keeps the locks of
    a folder and of a file apart): in the git directory, else in the user's cache directory."""
    real = Path(os.path.realpath(path))
    key = hashlib.sha256(os.fsencode(real)).hexdigest()[:40]
    problems = []
    for folder in _lock_folders(real):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror or exc}")
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder / f"{scope}-{key}.lock"
        problems.append(f"{folder}: not writable")
    raise FlowauditError("no place to keep the registration lock: " + "; ".join(problems))


def _lock_folders(real: Path) -> Iterator[Path]:
    git_dir = _git_dir(real if real.is_dir() else real.parent)
    if git_dir is not None:
        yield git_dir / "flowaudit-locks"
    yield _user_cache() / "locks"


def _git_dir(start: Path) -> Path | None:
    """The git directory of the working tree holding `start` (a `.git` folder, or the folder a
    `.git` file points at in a linked worktree)."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                first = dot_git.read_text(encoding="utf-8").splitlines()[0]
            except (OSError, UnicodeDecodeError, IndexError):
                return None
            if first.startswith("gitdir:"):
                target = Path(first.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (folder / target).resolve()
            return None
    return None


def _user_cache() -> Path:
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - platformdirs comes with most installs; a plain fallback
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "flowaudit"
    return Path(user_cache_dir("flowaudit", appauthor=False))


@contextlib.contextmanager
def locked(lock_path: Path, timeout: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path), timeout=timeout, mode=0o666)
    try:
        lock.acquire()
    except Timeout:
        raise FlowauditError(f"another registration has held the lock {lock_path} for more than "
                             f"{timeout:.0f} s; try again") from None
    except OSError as exc:
        raise FlowauditError(f"{lock_path}: cannot take the inventory lock: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()


# --- temporary files and the replace -------------------------------------------------------------

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{8}\.tmp$")


def temporary_name(real: Path) -> Path:
    """A hidden name beside `real` (the loader never reads hidden files) that says whose it is."""
    return real.parent / f".{real.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def remove_dead_writers_temporaries(real: Path) -> None:
    """A writer killed before its replace leaves its temporary file; remove those whose writer
    is gone, and nobody else's."""
    for leftover in real.parent.glob(f".{real.name}.*.tmp"):
        found = _TEMPORARY.match(leftover.name)
        if found is None or found["name"] != real.name:
            continue
        pid = int(found["pid"])
        if pid != os.getpid() and not _running(pid):
            leftover.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def check_replaceable(real: Path, display: str) -> os.stat_result:
    """The stat of an existing file we may replace; refuses a read-only one."""
    st = real.stat()
    if not stat.S_ISREG(st.st_mode):
        raise FlowauditError(f"{display}: not a regular file; nothing was written")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise FlowauditError(f"{display} is read-only (mode {stat.filemode(st.st_mode)}); nothing was written. "
                             "Make it writable first if the entry belongs there.")
    return st


def create_temporary(real: Path, data: bytes, like: os.stat_result | None, display: str) -> Path:
    """Write `data` to a new temporary file beside `real`, fsynced, with the owner, group and mode
    of `like` (the file it will replace), or the default mode of a new file (umask applied)."""
    tmp = temporary_name(real)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                 0o666 if like is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if like is not None:
            _same_owner_and_mode(tmp, like, display)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _same_owner_and_mode(tmp: Path, like: os.stat_result, display: str) -> None:
    mine = tmp.stat()
    if (mine.st_uid, mine.st_gid) != (like.st_uid, like.st_gid) and hasattr(os, "chown"):
        try:
            os.chown(tmp, like.st_uid, like.st_gid)
        except PermissionError:
            raise FlowauditError(
                f"{display} belongs to {_user(like.st_uid)}:{_group(like.st_gid)}; replacing it would make it "
                f"{_user(mine.st_uid)}:{_group(mine.st_gid)}'s; nothing was written. Register as its owner, "
                "or ask them to.") from None
    os.chmod(tmp, stat.S_IMODE(like.st_mode))  # after chown, which may clear set-id bits


def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def replace_file(tmp: Path, real: Path, expected: bytes | None, others: dict[Path, Stamp | None]) -> None:
    """Move `tmp` over `real` when `real` still holds `expected` (None: does not exist) and the
    `others` still have their stamps; else raise `ChangedMeanwhile` (and remove `tmp`)."""
    try:
        try:
            current: bytes | None = real.read_bytes()
        except FileNotFoundError:
            current = None
        if current != expected:
            raise ChangedMeanwhile(real)
        for other, before in others.items():
            if stamp(other) != before:
                raise ChangedMeanwhile(other)
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(real.parent)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
