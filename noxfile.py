"""Developer sessions: nox -s tests | lint | typecheck | demo | bench."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
PACKAGES = ["flowaudit", "inventory", "audits", "reports", "data"]


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole test suite (needs Debian's graphviz and chromium for the diagram and browser tests)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-n", "auto", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", *PACKAGES, "tests", "benchmarks")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    session.install(".", "mypy", "types-PyYAML")  # the installed package, as users import it
    session.run("mypy", "-p", "flowaudit")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """The worked example's reports in out/support-community/."""
    session.install("-e", ".")
    session.run("flowaudit", "validate", "data/examples/support-community")
    session.run("flowaudit", "report", "data/examples/support-community", "-o", "out/support-community")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The benchmark of SPEC §7 (100k flows and the shapes that hurt; --million, --fides)."""
    session.install("-e", ".")
    session.run("python", "benchmarks/bench.py", *session.posargs)
