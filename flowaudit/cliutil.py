"""What every command module shares: parameter types, the error boundary, id splitting, the one
atomic writer and the process tuning of the `flowaudit` executable.

`cli`, `register`, `diff` and any new command module import this; none of them imports `cli`
(which only builds the command group), so the imports point one way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import gc
import os
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import click

from flowaudit.audits import Severity
from flowaudit.inventory import FlowauditError, InventoryError
from flowaudit.inventory.cache import Cache
from flowaudit.inventory.loader import PARSERS, Parser

SEVERITY_CHOICE = click.Choice([s.value for s in Severity], case_sensitive=False)
PARSER_ENV = "FLOWAUDIT_YAML"  # the executable's way to pick the YAML reader (the benchmark sets it)
CACHE_ENV = "FLOWAUDIT_CACHE_DIR"  # the executable's cache folder, instead of the user's cache folder

F = TypeVar("F", bound=Callable[..., Any])


class Date(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not an ISO 8601 date (YYYY-MM-DD)", param, ctx)


DATE = Date()


def fail(problems: Iterable[str], code: int = 2) -> NoReturn:
    """Print each problem on stderr and exit with `code` (2: invalid input or usage)."""
    for line in problems:
        click.echo(line, err=True)
    sys.exit(code)


def guard(func: F) -> F:
    """The one boundary where library errors become messages and exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InventoryError as exc:
            count = len(exc.problems)
            fail([*map(str, exc.problems), f"{count} problem{'s' if count != 1 else ''}"])
        except FlowauditError as exc:
            fail([f"error: {exc}"])
        except BrokenPipeError:
            sys.exit(0)
        except OSError as exc:  # an output path that cannot be written (a folder, no permission, ...)
            target = exc.filename2 or exc.filename  # os.replace(temporary, target) names the target second
            fail([f"error: {f'{target}: ' if target else ''}{exc.strerror or exc}"])

    return cast(F, wrapper)


def split_ids(values: Iterable[str]) -> list[str]:
    """`--rule A,B --rule C` → [A, B, C]."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def parser_choice() -> Parser:
    """The YAML reader for this command: FLOWAUDIT_YAML (auto, pyyaml, ryaml), read when a
    command runs (never at import, and only by the executable, never by the library)."""
    value = os.environ.get(PARSER_ENV, "auto").strip().lower() or "auto"
    if value not in PARSERS:
        raise FlowauditError(f"{PARSER_ENV}={value!r}: expected one of {', '.join(PARSERS)}")
    return cast(Parser, value)


def cache_option(func: F) -> F:
    """`--no-cache` for a command that loads an inventory."""
    return cast(F, click.option("--no-cache", is_flag=True, help=(
        f"Parse every file again and store nothing (the cache is in the user's cache folder, or ${CACHE_ENV})."))(func))


def cache_choice(no_cache: bool) -> Cache | None:
    """The executable's cache: on unless --no-cache, in $FLOWAUDIT_CACHE_DIR (read when the
    command runs, never at import) or the user's cache folder; None when it cannot be used."""
    if no_cache:
        return None
    folder = os.environ.get(CACHE_ENV, "").strip()
    return Cache.open(Path(folder) if folder else None)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` as a whole: readers see the old file or the new one, never half.

    The temporary file sits beside the target (same file system, so the rename is atomic) and
    is created with the target's mode, or 0o666 less the umask for a new file (the kernel applies
    the umask; it is never read or changed). A symlink is written through, not replaced."""
    if str(path) == os.devnull:
        return
    real = Path(os.path.realpath(path))
    real.parent.mkdir(parents=True, exist_ok=True)
    try:
        before: os.stat_result | None = real.stat()
    except FileNotFoundError:
        before = None
    if before is not None and stat.S_ISDIR(before.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    mode = stat.S_IMODE(before.st_mode) if before is not None else 0o666
    tmp = real.with_name(f".{real.name}.{secrets.token_hex(6)}.tmp")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if before is not None:
                os.fchmod(handle.fileno(), mode)  # the target's own mode, whatever the umask
                _keep_owner(handle.fileno(), before)
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, real)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _keep_owner(fd: int, before: os.stat_result) -> None:
    """Give the new file the old one's owner and group where we may (root, or our own group)."""
    if (before.st_uid, before.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.fchown(fd, before.st_uid, before.st_gid)
    except PermissionError:
        with contextlib.suppress(PermissionError):
            os.fchown(fd, -1, before.st_gid)


def tune_process() -> None:
    """Process-wide tuning for the `flowaudit` executable only (never for library calls).

    A run loads millions of objects that live until it exits: the cyclic collector would scan
    them again and again for nothing (a quarter of the load time at 100,000 flows). Reference
    counting still frees what the run drops; the few cycles a run makes die with the process."""
    global _EXECUTABLE
    _EXECUTABLE = True
    gc.disable()


_EXECUTABLE = False  # this process is the `flowaudit` executable (`tune_process` ran)


def finish(code: int, *keep: object) -> NoReturn:
    """End a command with exit status `code`, without freeing the objects `keep` holds (an
    audit's inventory, view and findings: 0.4 s of deallocation at 50,000 flows, longer at
    1,000,000). The executable flushes its output and ends the process as mypy does, by
    `os._exit`: only for a command that has written and closed every file and holds no lock,
    temporary file, thread or child process (`audit`). In-process callers (the tests' CliRunner,
    a host application) get `sys.exit`, and the objects are freed as usual."""
    if not _EXECUTABLE:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    del keep
    os._exit(code)
