"""The command line. Wires inventory → audits → reports and translates errors into exit codes:
0 fine, 1 findings at or above --fail-on, 2 invalid input or usage. Nothing else lives here."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import click

from flowaudit.audits import AuditResult, Config, Severity, load_config
from flowaudit.inventory import Cache, FlowauditError

from .cliutil import (DATE, SEVERITY_CHOICE, atomic_write, cache_choice, cache_option, finish, guard, parser_choice,
                      split_ids, tune_process)

# The names command modules used before they moved to `cliutil` (import them from there).
_guard, _split, _atomic_write = guard, split_ids, atomic_write
__all__ = ["DATE", "SEVERITY_CHOICE", "console_main", "main"]


def console_main() -> None:
    """The `flowaudit` executable: process tuning, then the command group."""
    tune_process()
    main()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="flowaudit")
def main() -> None:
    """flowaudit: a personal-data inventory as code, audited against the GDPR, the UK GDPR and PIPL."""


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@cache_option
@guard
def validate(path: Path, no_cache: bool) -> None:
    """Check the inventory at PATH: shapes, references, unique ids. Exit 0 valid, 2 invalid."""
    from flowaudit.api import load
    from flowaudit.audits.catalogue import check_waivers

    inv = load(path, parser=parser_choice(), cache=cache_choice(no_cache))
    check_waivers(inv)  # a waiver names a rule of the catalogue
    click.echo(f"{path}: valid ({len(inv.organisations)} organisations, {len(inv.subjects)} subjects, "
               f"{len(inv.elements)} elements, {len(inv.purposes)} purposes, {len(inv.systems)} systems, "
               f"{len(inv.flows)} flows, {len(inv.waivers)} waivers)")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
@guard
def schema(output: Path | None) -> None:
    """Print the JSON Schema of an inventory file, for editors (yaml-language-server)."""
    from flowaudit.inventory.schema import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        atomic_write(output, text)
    else:
        click.echo(text, nl=False)


REGIME_HELP = ("Audit only these regimes (ids from data/rulebook/: gdpr, uk-gdpr, pipl, ch-fadp, br-lgpd, "
               "us-ca-ccpa; repeat or comma-separate): their transfers and their own rules.")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--as-of", type=DATE, help="Audit the law as it stood on DATE (default today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "junit"]), default="text",
              show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
@click.option("--fail-on", type=SEVERITY_CHOICE, default=None,
              help="Exit 1 when an unwaived finding is at or above this severity [default: high].")
@click.option("--rule", "rules", multiple=True,
              help="Run only these rules (ids or families; repeat or comma-separate).")
@click.option("--skip", "skips", multiple=True, help="Skip these rules (ids or families).")
@click.option("--regime", "regimes", multiple=True, help=REGIME_HELP)
@cache_option
@guard
def audit(path: Path, as_of: dt.date | None, fmt: str, output: Path | None, fail_on: str | None,
          rules: tuple[str, ...], skips: tuple[str, ...], regimes: tuple[str, ...], no_cache: bool) -> None:
    """Run the rules on the inventory at PATH. Exit 0 clean, 1 findings at or above --fail-on, 2 invalid."""
    from flowaudit import audit_cache
    from flowaudit.audits.catalogue import unknown_rule

    for option, names in (("--rule", rules), ("--skip", skips)):
        for name in split_ids(names):
            if (problem := unknown_rule(name)) is not None:
                raise FlowauditError(f"{option}: {problem}")
    config = load_config(path)
    threshold = Severity(fail_on) if fail_on else config.fail_on
    # the inventory by its root's name, not the path as typed: the same bytes from any folder (SPEC §5)
    label, as_of, cache = Path(path).resolve().name, as_of or dt.date.today(), cache_choice(no_cache)
    # a terminal: the table, as wide as the terminal; piped or to a file: one finding a line
    tty = fmt == "text" and output is None and sys.stdout.isatty()
    width = shutil.get_terminal_size((120, 40)).columns if tty else 0
    selection = {"rules": split_ids(rules), "skip": split_ids(skips), "regimes": split_ids(regimes)}
    mode = audit_cache.output_mode(width)
    key = audit_cache.output_key(path, config=config, as_of=as_of, fmt=fmt, label=label, mode=mode,
                                 **selection) if cache else None
    hit = audit_cache.cached_output(cache, key) if cache and key else None
    result = None
    if hit is not None:  # nothing the audit reads has changed: the bytes the last run wrote
        payload, unwaived = hit[0], list(hit[1])
    else:
        payload, unwaived, result = _audit_output(path, as_of, config, selection, fmt, label, width, cache)
        if cache and key:
            audit_cache.store_output(cache, key, payload, unwaived)
    if output:
        atomic_write(output, payload)
    else:
        click.echo(payload.decode("utf-8"), nl=False)
    del payload
    finish(1 if audit_cache.failing(unwaived, threshold) else 0, result)


def _audit_output(path: Path, as_of: dt.date, config: Config, selection: dict[str, list[str]], fmt: str,
                  label: str, width: int, cache: Cache | None) -> tuple[bytes, list[str], AuditResult]:
    """The audit's output in `fmt` (`width` > 0: the table for a terminal) as UTF-8, the
    severities of its unwaived findings and the result (which `finish` need not free)."""
    from flowaudit.api import audit as run
    from flowaudit.reports.machine import ENCODED_RENDERERS, RENDERERS

    result = run(path, as_of, config=config, parser=parser_choice(), cache=cache,
                 rules=selection["rules"], skip=selection["skip"], regimes=selection["regimes"])
    unwaived = [f.severity.value for f in result.findings if not f.waived]
    if fmt in ENCODED_RENDERERS and not width:  # no whole text before its bytes (68 MB of JSON, a 50,000-flow chain)
        return ENCODED_RENDERERS[fmt](result, label), unwaived, result
    if width or fmt == "text":
        from flowaudit.reports.text import render_lines, render_text  # here: `rich` is 50 ms of a start

        text = render_text(result, label, color=True, width=width) if width else render_lines(result, label)
    else:
        text = RENDERERS[fmt](result, label)
    payload = text.encode("utf-8")
    del text  # one copy of the output at a time (173 MB of JSON at 1,000,000 flows)
    return payload, unwaived, result


from flowaudit.observe_cmd import logs_options  # noqa: E402 - after the group's helpers


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--as-of", type=DATE, help="Audit the law as it stood on DATE (default today).")
@click.option("--regime", "regimes", multiple=True, help=REGIME_HELP)
@click.option("--logs", multiple=True,
              help="Observed traffic (file, folder or glob; repeat): adds OBS findings, as `observe`.")
@logs_options
@cache_option
@guard
def report(path: Path, out_dir: Path, as_of: dt.date | None, regimes: tuple[str, ...], logs: tuple[str, ...],
           no_cache: bool, **observe_options) -> None:
    """Write ropa.xlsx, report.html, findings.json and dataflow.svg for the inventory at PATH."""
    from rich.console import Console

    from flowaudit.api import audit as run
    from flowaudit.interrupt import stoppable
    from flowaudit.reports import write_report

    console = Console(stderr=True)
    stopped = f"report: nothing was changed in {out_dir} (any previous report there is whole)"
    with stoppable(stopped), console.status("loading and auditing the inventory…") as status:
        result = run(path, as_of, config=load_config(path), regimes=split_ids(regimes), parser=parser_choice(),
                     cache=cache_choice(no_cache))
        if logs:
            from flowaudit.observe_cmd import with_observed

            status.update("reading the logs…")
            result = with_observed(result, list(logs), **observe_options)

        def progress(message: str) -> None:
            if message.startswith("warning:"):
                console.print(message, style="yellow", markup=False, highlight=False)
            else:
                status.update(message)

        written = write_report(result, out_dir, progress=progress)
    for p in written:
        click.echo(str(p))


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("element")
@click.option("--as-of", type=DATE, help="Law as it stood on DATE (default today).")
@click.option("--limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="Show at most N flows (and N systems, organisations); 0 shows all.")
@cache_option
@guard
def lineage(path: Path, element: str, as_of: dt.date | None, limit: int, no_cache: bool) -> None:
    """Where ELEMENT comes from and goes, with countries and safeguards."""
    from flowaudit.api import load
    from flowaudit.audits import default_rulebook
    from flowaudit.reports.lineage import render_lineage

    inv = load(path, parser=parser_choice(), cache=cache_choice(no_cache))
    click.echo(render_lineage(inv, element, as_of or dt.date.today(), default_rulebook(), limit=limit or None),
               nl=False)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--element", help="Draw only this element's lineage.")
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "dot"]), default="svg", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (default stdout for dot/svg).")
@click.option("--as-of", type=DATE, help="Law as it stood on DATE (default today).")
@cache_option
@guard
def graph(path: Path, element: str | None, fmt: str, output: Path | None, as_of: dt.date | None,
          no_cache: bool) -> None:
    """Draw the data-flow diagram (graphviz), or one element's lineage."""
    from flowaudit.api import audit as run
    from flowaudit.reports.diagram import render_graph

    result = run(path, as_of, config=load_config(path), parser=parser_choice(), cache=cache_choice(no_cache))
    data = render_graph(result, element=element, fmt=fmt)
    if output:
        atomic_write(output, data)
        click.echo(str(output))
    elif fmt == "png":
        raise FlowauditError("PNG output needs -o FILE")
    else:
        click.echo(data.decode("utf-8"), nl=False)


@main.command()
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--flows", type=click.IntRange(min=1), required=True, help="Number of flows.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shape", type=click.Choice(["realistic", "chain", "elements", "ring"]), default="realistic",
              show_default=True, help="A shape that hurts: one onward chain of N flows, N elements, a ring of N flows.")
@click.option("--logs", "log_rows", type=click.IntRange(min=1), help="Also write N rows of traffic logs with planted "
              "drift into DIR/logs (for `observe`), and DIR/logs/planted.json.")
@click.option("--logs-format", type=click.Choice(["parquet", "csv", "jsonl"]), multiple=True,
              help="Log format(s) [default: parquet]; each into DIR/logs/<format>/.")
@guard
def synth(out_dir: Path, flows: int, seed: int, shape: str, log_rows: int | None, logs_format: tuple[str, ...]) -> None:
    """Write a deterministic synthetic inventory of realistic shape (for benchmarks)."""
    from flowaudit.synth import synthesize
    from flowaudit.synth.shapes import BUILDERS

    counts = synthesize(out_dir, flows, seed) if shape == "realistic" else BUILDERS[shape](out_dir, flows)
    click.echo(f"{out_dir}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if log_rows:
        from flowaudit.synth.logs import write_logs

        try:
            manifest = write_logs(out_dir, out_dir / "logs", log_rows, seed, logs_format or ("parquet",))
        except ValueError as exc:
            raise FlowauditError(str(exc)) from exc
        planted = manifest["expected"]
        click.echo(f"{out_dir / 'logs'}: {log_rows} rows ({', '.join(manifest['files'])}); planted: "
                   f"{sum(len(v) for v in planted['OBS-001'].values())} undeclared flows, "
                   f"{len(planted['OBS-002'])} systems calling unknown hosts "
                   f"({manifest['tail_hosts']} in the long tail), "
                   f"{len(planted['OBS-003'])} silent flows, {len(planted['OBS-004'])} wrong countries "
                   "(planted.json)")


def _register_commands() -> None:
    """`register` and `diff` live in their own modules."""
    from flowaudit.diff import diff
    from flowaudit.observe_cmd import observe
    from flowaudit.register import register

    main.add_command(register)
    main.add_command(diff)
    from flowaudit.assess_cmd import COMMANDS as assessments  # tia, dpia, notice (SPEC §9)

    for command in assessments:
        main.add_command(command)
    main.add_command(observe)


_register_commands()


def _register_interop() -> None:
    """`import` and `export` live in flowaudit/interop_cmd.py."""
    from flowaudit.interop_cmd import register as register_interop

    register_interop(main)


_register_interop()
