"""Audits: the rulebook, the rules, the engine. Imports `inventory`, never `reports`."""

from .config import Config, load_config
from .engine import AuditResult, run_audit
from .findings import Finding, Severity
from .rule import Context, Rule
from .rulebook import Rulebook, default_rulebook

__all__ = ["AuditResult", "Config", "Context", "Finding", "Rule", "Rulebook", "Severity", "default_rulebook",
           "load_config", "run_audit"]
