"""The rule reference, `docs/rules.md`, generated from the catalogue.

Each rule's metadata and its docstring are the single source: this module only renders
them, grouped by family. Regenerate after changing a rule:

    python -m flowaudit.audits.docs > docs/rules.md

(`tests/test_catalogue.py` fails when the committed file is stale.)
"""

from __future__ import annotations

import inspect
import sys
from collections import defaultdict

from .catalogue import CATALOGUE, FAMILIES, OBSERVED
from .rule import Rule

REGENERATE = "python -m flowaudit.audits.docs > docs/rules.md"


def _paragraphs(doc: str) -> list[str]:
    """A docstring's paragraphs, each unwrapped onto one line."""
    text = inspect.cleandoc(doc)
    return [" ".join(line.strip() for line in block.splitlines()) for block in text.split("\n\n") if block.strip()]


def _anchor(rule: Rule) -> str:
    return rule.id.lower()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _render_rule(rule: Rule) -> list[str]:
    out = [f"### {rule.id}: {rule.title}", ""]
    out.append(f"- **Default severity:** {rule.severity.value}")
    out.append(f"- **Subject:** {rule.subject}")
    out.append(f"- **Legal basis:** {'; '.join(rule.legal)}")
    out.append(f"- **Checks:** {rule.over.description} (selector `{rule.over.name}`)")
    out.append("")
    out.append("**Fires when.** " + (_paragraphs(rule.doc)[0] if rule.doc else rule.title))
    for paragraph in _paragraphs(rule.doc)[1:]:
        out.extend(["", paragraph])
    out.extend(["", f"**Remediation.** {rule.remediation}"])
    if rule.example:
        out.extend(["", "**Example.**", "", "```yaml", rule.example, "```"])
    out.append("")
    return out


def _render_observed() -> list[str]:
    """SPEC §10's rules: their evidence is traffic, so `flowaudit observe` computes them, not `audit`."""
    lines = [f"## {FAMILIES['OBS']} (OBS)", "",
             ("These rules compare the inventory with connection logs (egress proxy, DNS, service mesh or "
              "flow logs). `flowaudit audit` does not run them: `flowaudit observe PATH LOGS…` does, and "
              "`flowaudit report PATH -o DIR --logs LOGS…` adds their findings to the report. Severity, "
              "`skip` and waivers work as for the other rules. See [observe.md](observe.md) for the log "
              "format and the engines."),
             "", "| Rule | Title | Severity | Subject |", "|---|---|---|---|"]
    for rule in OBSERVED:
        lines.append(f"| [{rule.id}](#{_anchor(rule)}) | {_cell(rule.title)} | {rule.severity.value} "
                     f"| {rule.subject} |")
    lines.append("")
    for rule in OBSERVED:
        lines.extend([f'<a id="{_anchor(rule)}"></a>', ""])
        lines.extend(_render_rule(rule))
    return lines


def render_rules_markdown() -> str:
    """docs/rules.md: a summary table, then every rule by family (in `FAMILIES` order)."""
    by_family: dict[str, list[Rule]] = defaultdict(list)
    for rule in CATALOGUE:
        by_family[rule.family].append(rule)
    families = [f for f in FAMILIES if f in by_family] + sorted(set(by_family) - set(FAMILIES))
    lines = [
        "# Rule reference",
        "",
        f"<!-- Generated from the rule catalogue by `{REGENERATE}`; do not edit by hand. -->",
        "",
        (f"flowaudit checks an inventory against {len(CATALOGUE)} rules. Each finding names the rule, a "
         "subject (the inventory entry it is about), the legal references and a remediation. The "
         "severity below is the default; `[tool.flowaudit.severity]` in a pyproject.toml (or a "
         "flowaudit.toml) beside the inventory changes it, and a waiver in the inventory marks a finding "
         "as accepted until it expires. The "
         f"{len(OBSERVED)} [observed-traffic rules](#observed-traffic-obs) at the end compare the inventory "
         "with connection logs and run only in `flowaudit observe`."),
        "",
        "| Rule | Title | Severity | Subject |",
        "|---|---|---|---|",
    ]
    for family in families:
        for rule in by_family[family]:
            lines.append(f"| [{rule.id}](#{_anchor(rule)}) | {_cell(rule.title)} | {rule.severity.value} "
                         f"| {rule.subject} |")
    lines.append("")
    for family in families:
        lines.extend([f"## {FAMILIES.get(family, family)} ({family})", ""])
        for rule in by_family[family]:
            lines.extend([f'<a id="{_anchor(rule)}"></a>', ""])
            lines.extend(_render_rule(rule))
    lines.extend(_render_observed())
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_rules_markdown())
