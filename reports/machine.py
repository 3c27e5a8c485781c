"""Machine-readable audit output: JSON, SARIF 2.1.0, JUnit XML; and the text table.

Each renderer is a function from the audit result to a string, looked up in `RENDERERS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from json.encoder import encode_basestring  # the C escaper (ensure_ascii=False), when built

from flowaudit.audits import AuditResult, Severity
from flowaudit.audits.findings import Finding
from flowaudit.audits.catalogue import BY_ID
from flowaudit.reports import jsontext
from flowaudit.reports.meta import version

TOOL = "flowaudit"
INFORMATION_URI = "https://github.com/flowaudit/flowaudit"


def _version() -> str:
    return version()


def result_dict(result: AuditResult, inventory_label: str, *, stream: bool = False) -> dict[str, Any]:
    """The documented JSON shape (SPEC §5): findings sorted by rule then subject id (with
    `stream`, made one at a time as `jsontext` writes them)."""
    findings = (f.as_dict() for f in result.findings)
    return {
        "tool": TOOL,
        "version": _version(),
        "as_of": result.as_of.isoformat(),
        "inventory": inventory_label,
        "summary": result.summary(),
        "waived": result.waived_count,
        "findings": jsontext.Stream(findings) if stream else list(findings),
        "unused_waivers": result.unused_waivers,
    }


def render_json(result: AuditResult, inventory_label: str) -> str:
    return jsontext.dumps(_json_document(result, inventory_label), end="\n")


def render_json_bytes(result: AuditResult, inventory_label: str) -> bytes:
    """`render_json(...).encode("utf-8")`, without the whole text as one string first."""
    return jsontext.dumpb(_json_document(result, inventory_label), end="\n")


def _json_document(result: AuditResult, inventory_label: str) -> dict[str, Any]:
    data = result_dict(result, inventory_label, stream=True)  # its findings are written below instead
    data["findings"] = jsontext.Stream(result.findings, _finding_writer())
    return data


def _finding_writer() -> jsontext.Writer:
    """Writes a `Finding` as `jsontext.write(finding.as_dict(), ...)` would, byte for byte, without
    making the dict: the parts a rule repeats in every finding (rule, title, severity, legal
    references, remediation) are written once per render and reused (a 50,000-flow chain has
    50,000 findings of two rules). tests/test_chain_scale.py holds the two writers together."""
    heads: dict[tuple[Any, ...], str] = {}
    middles: dict[tuple[Any, ...], str] = {}
    layouts: dict[str, tuple[str, ...]] = {}
    text = encode_basestring

    def layout(newline: str) -> tuple[str, ...]:
        """The fixed text between a finding's values at the indentation `newline` gives."""
        inner = newline + "  "
        comma, deeper = "," + inner, inner + "  "
        return (inner, comma, "{" + deeper + '"kind": ', "," + deeper + '"id": ', inner + "}" + comma + '"message": ',
                comma + '"waived": true', comma + '"waived": false', comma + '"location": {' + deeper + '"file": ',
                "," + deeper + '"line": ', inner + "}" + newline + "}", newline + "}")

    def write(f: Finding, out: list[str], newline: str) -> None:
        fixed = layouts.get(newline)
        if fixed is None:
            fixed = layouts[newline] = layout(newline)
        inner, comma, kind, ident, message, waived, unwaived, file, line, closed, close = fixed
        head = heads.get((f.rule, f.title, f.severity, newline))
        if head is None:
            head = heads[f.rule, f.title, f.severity, newline] = (
                "{" + inner + '"rule": ' + text(f.rule) + comma + '"title": ' + text(f.title) + comma
                + '"severity": ' + text(f.severity.value) + comma + '"subject": ')
        middle = middles.get((f.legal, f.remediation, newline))
        if middle is None:
            legal: list[str] = []
            jsontext.write(list(f.legal), legal, inner)
            middle = middles[f.legal, f.remediation, newline] = (
                comma + '"legal": ' + "".join(legal) + comma + '"remediation": ' + text(f.remediation)
                + comma + '"details": ')
        # pieces, joined once with the rest of the finding (not concatenated here, a copy each)
        out += (head, kind, text(f.subject_kind), ident, text(f.subject_id), message, text(f.message), middle)
        details = f.details
        if not details:
            out.append("{}")
        elif not jsontext.write_flat_dict(details, out, inner):  # most details are written as they are
            jsontext.write_dict(f.plain_details(), out, inner)
        out.append(waived if f.waived else unwaived)
        if f.waiver is not None:
            out.append(comma + '"waiver": ')
            jsontext.write(f.waiver.as_dict(), out, inner)
        if f.waiver_expired is not None:
            out.append(comma + '"waiver_expired": ')
            jsontext.write(f.waiver_expired.as_dict(), out, inner)
        location = f.location
        if location is not None:  # {"file": ..., "line": ...} as `jsontext.write` lays it out
            number = location[1]
            out += (file, text(location[0]), line, "null" if number is None else int.__repr__(number), closed)
        else:
            out.append(close)

    return write  # type: ignore[return-value]


_SARIF_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
                Severity.LOW: "note", Severity.INFO: "note"}


def _repository_prefix(result: AuditResult) -> str | None:
    """The inventory root's path inside its git repository ('' at the top), None outside one.

    Code review (GitHub code scanning) resolves a SARIF uri against the repository's root, so SARIF
    names files from there: found from the inventory's real location, it is the same from any
    working folder and however the inventory was named (SPEC §5)."""
    source = next(iter(result.inventory.sources), None)
    if source is None:
        return None
    root = Path(source.path)
    for _ in Path(source.relpath).parts:
        root = root.parent
    real = Path(os.path.realpath(root))
    for folder in (real, *real.parents):
        if (folder / ".git").exists():
            return real.relative_to(folder).as_posix().removeprefix(".")
    return None


def render_sarif(result: AuditResult, inventory_label: str) -> str:
    """SARIF 2.1.0; each result located at the YAML line of its subject's entry: relative to the
    repository's root (`%SRCROOT%`) inside a git repository, else to the inventory's root."""
    rules = [{
        "id": r.id,
        "name": r.check.__name__,
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": r.doc or r.title},
        "help": {"text": r.remediation},
        "defaultConfiguration": {"level": _SARIF_LEVEL[result.config.severity.get(r.id, r.severity)]},
        "properties": {"legal": list(r.legal), "severity": r.severity.value, "tags": [r.family]},
    } for r in result.rules]
    index = {r.id: i for i, r in enumerate(result.rules)}
    prefix = _repository_prefix(result)
    base = "INVENTORYROOT" if prefix is None else "%SRCROOT%"
    results = []
    for f in result.findings:
        item: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.subject_kind} {f.subject_id}: {f.message}"},
            "properties": {"severity": f.severity.value, "subject": {"kind": f.subject_kind, "id": f.subject_id},
                           "legal": list(f.legal), "remediation": f.remediation},
        }
        if f.rule in index:
            item["ruleIndex"] = index[f.rule]
        if f.location is not None:
            file, line = f.location
            uri = file.replace("\\", "/")
            uri = f"{prefix}/{uri}" if prefix else uri
            physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": base}}
            if line:
                physical["region"] = {"startLine": line}
            item["locations"] = [{"physicalLocation": physical,
                                  "logicalLocations": [{"name": f.subject_id, "kind": f.subject_kind}]}]
        if f.waived and f.waiver is not None:
            item["suppressions"] = [{"kind": "inSource", "status": "accepted",
                                     "justification": f"{f.waiver.reason} (approved by {f.waiver.approved_by}, "
                                                      f"expires {f.waiver.expires})"}]
        results.append(item)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": TOOL, "version": _version(), "informationUri": INFORMATION_URI,
                                "rules": rules}},
            "results": results,
            "properties": {"as_of": result.as_of.isoformat(), "inventory": inventory_label},
        }],
    }
    return jsontext.dumps(doc, end="\n")


def render_junit(result: AuditResult, inventory_label: str) -> str:
    """One test suite per rule, one test case per finding (failed unless waived) and one
    passing case for a rule with no finding, so CI dashboards show what was checked."""
    from xml.sax.saxutils import escape, quoteattr  # here: it imports urllib, http and ssl (20 ms a start)

    by_rule: dict[str, list] = {r.id: [] for r in result.rules}
    for f in result.findings:
        by_rule.setdefault(f.rule, []).append(f)
    failing = sum(1 for f in result.findings if not f.waived)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             (f'<testsuites name={quoteattr(TOOL + " " + inventory_label)} tests="{max(1, len(result.findings))}" '
              f'failures="{failing}">')]
    for rule_id, findings in by_rule.items():
        rule = BY_ID.get(rule_id)
        title = rule.title if rule else rule_id
        fails = sum(1 for f in findings if not f.waived)
        lines.append(f'  <testsuite name={quoteattr(rule_id + " " + title)} tests="{max(1, len(findings))}" '
                     f'failures="{fails}" skipped="{len(findings) - fails}">')
        if not findings:
            lines.append(f'    <testcase classname={quoteattr(rule_id)} name="no findings"/>')
        for f in findings:
            where = f"{f.location[0]}:{f.location[1]}" if f.location else ""
            name = quoteattr(f.subject_kind + " " + f.subject_id)
            file = f" file={quoteattr(f.location[0])}" if f.location else ""
            lines.append(f"    <testcase classname={quoteattr(rule_id)} name={name}{file}>")
            if f.waived:
                reason = f.waiver.reason if f.waiver else ""
                lines.append(f"      <skipped message={quoteattr('waived: ' + reason)}/>")
            else:
                lines.append(f"      <failure type={quoteattr(f.severity.value)} message={quoteattr(f.message)}>"
                             f"{escape(where + ' ' + '; '.join(f.legal) + ' — ' + f.remediation)}</failure>")
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


# Formats that a renderer writes straight as UTF-8 (the rest: `RENDERERS[fmt](...).encode()`).
ENCODED_RENDERERS: dict[str, Callable[[AuditResult, str], bytes]] = {"json": render_json_bytes}
RENDERERS: dict[str, Callable[[AuditResult, str], str]] = {
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
}
