"""flowaudit: a personal-data inventory as code, audited against the GDPR, the UK GDPR and PIPL.

The public Python API:

    >>> import flowaudit
    >>> inventory = flowaudit.load("data/examples/support-community")
    >>> result = flowaudit.audit(inventory)              # doctest: +SKIP
    >>> flowaudit.report(inventory, "out/")              # doctest: +SKIP
    >>> tables = flowaudit.frames(result)                # doctest: +SKIP
"""

from __future__ import annotations

from .api import audit, frames, load, report
from .reports.meta import version as _version

__version__ = _version()

__all__ = ["__version__", "audit", "frames", "load", "report"]
