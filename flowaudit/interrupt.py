"""Interruptions in the CLI: SIGTERM handled like Ctrl-C, and both ending in a message.

A process that writes files must get the chance to clean up when it is stopped. Python turns
Ctrl-C (SIGINT) into `KeyboardInterrupt`, so `finally:` blocks run; SIGTERM (what `kill`, a CI
runner's timeout, `systemctl stop` send) kills it outright unless handled. `stoppable()` turns
SIGTERM into the same exception for the duration of a command and remembers which signal came,
so the command can exit 130 (SIGINT) or 143 (SIGTERM) with a message instead of a traceback.
This is process-wide state, so it belongs to the CLI, never to the library.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

import click


class Stopped(KeyboardInterrupt):
    """SIGTERM, raised where the process was, so that cleanup runs."""


@contextlib.contextmanager
def stoppable(what: str) -> Iterator[None]:
    """Run the body; on Ctrl-C or SIGTERM print `what` was interrupted and exit 130 or 143."""

    def on_sigterm(signum: int, frame: object) -> None:
        raise Stopped

    previous = signal.getsignal(signal.SIGTERM)
    installed = False
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        signal.signal(signal.SIGTERM, on_sigterm)
        installed = True
    try:
        yield
    except KeyboardInterrupt as exc:
        name = "terminated (SIGTERM)" if isinstance(exc, Stopped) else "interrupted (Ctrl-C)"
        click.echo(f"\n{what}: {name}", err=True)
        sys.exit(143 if isinstance(exc, Stopped) else 130)
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)
