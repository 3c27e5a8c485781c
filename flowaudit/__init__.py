"""flowaudit: a personal-data inventory as code, audited against the GDPR, the UK GDPR and PIPL.

The public Python API:

    >>> import flowaudit
    >>> inventory = flowaudit.load("data/examples/support-community")
    >>> result = flowaudit.audit(inventory)              # doctest: +SKIP
    >>> flowaudit.report(inventory, "out/")              # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import audit, load, report

__all__ = ["__version__", "audit", "load", "report"]
