"""report.html in a real browser (Playwright driving Debian's Chromium; never a downloaded one).

The example's report: filters work and the counts shown match findings.json, no console
error, no network request; a screenshot goes to tests/artifacts/. The hostile fixture's
report: no dialog fires and no injected element exists, whatever the reader clicks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AS_OF, require_program
from flowaudit.reports import write_report

from flowaudit.api import audit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
INJECTION = ROOT / "tests" / "fixtures" / "reports" / "injection"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_program(CHROMIUM, "the HTML report's browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _build(path: Path, out: Path) -> Path:
    write_report(audit(path, AS_OF), out, label=path.relative_to(ROOT).as_posix())
    return out


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(EXAMPLE, tmp_path_factory.mktemp("browser") / "example")


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(INJECTION, tmp_path_factory.mktemp("browser") / "hostile")


class Watch:
    """Console messages, page errors, dialogs and every request a page makes."""

    def __init__(self, page: Any):
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        page.on("request", lambda r: self.requests.append(r.url))

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [m for m in self.console if m[0] in ("error", "pageerror", "warning")]

    def network(self, page_url: str) -> list[str]:
        return [u for u in self.requests if u != page_url and not u.startswith("data:")]


def _count(page: Any, selector: str) -> int:
    return int(page.locator(selector).get_attribute("data-count"))


def _wait_for_count_other_than(page: Any, selector: str, before: int) -> None:
    """Searches are debounced; poll from here (wait_for_function evaluates strings, which the
    report's Content Security Policy forbids)."""
    for _ in range(100):
        if _count(page, selector) != before:
            return
        page.wait_for_timeout(20)


def test_example_report_in_a_browser(browser: Any, example_dir: Path) -> None:
    findings = json.loads((example_dir / "findings.json").read_text(encoding="utf-8"))
    items = findings["findings"]
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    watch = Watch(page)
    url = (example_dir / "report.html").as_uri()
    page.goto(url)
    page.wait_for_load_state("load")

    # the summary matches findings.json
    for severity, n in findings["summary"].items():
        assert _count(page, f".sev-card[data-severity={severity}]") == n, severity
    assert _count(page, "#summary-total") == len(items)
    assert _count(page, "#findings-count") == len(items)
    shown = min(100, len(items))
    assert page.locator("#findings-table tbody tr").count() == shown

    # severity chips: only the high ones
    by_severity = Counter(f["severity"] for f in items)
    for chip in page.locator("#f-severity .chip").all():
        if chip.get_attribute("data-severity") != "high":
            chip.click()
    assert _count(page, "#findings-count") == by_severity["high"]
    assert set(page.locator("#findings-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.severity)")) <= {"high"}
    page.click("#f-reset")
    assert _count(page, "#findings-count") == len(items)

    # rule, subject kind and regime filters
    rule, n = Counter(f["rule"] for f in items).most_common(1)[0]
    page.select_option("#f-rule", rule)
    assert _count(page, "#findings-count") == n
    page.click("#f-reset")
    kind, n = Counter(f["subject"]["kind"] for f in items).most_common(1)[0]
    page.select_option("#f-kind", kind)
    assert _count(page, "#findings-count") == n
    page.click("#f-reset")
    gdpr = sum(1 for f in items if f["details"].get("regime") == "gdpr")
    page.select_option("#f-regime", "gdpr")
    assert _count(page, "#findings-count") >= gdpr
    page.click("#f-reset")
    subject = items[0]["subject"]["id"]
    page.fill("#f-search", subject)
    _wait_for_count_other_than(page, "#findings-count", len(items))
    assert _count(page, "#findings-count") >= sum(1 for f in items if f["subject"]["id"] == subject)
    page.click("#f-reset")

    # a summary card filters the findings to its severity
    page.click(".sev-card[data-severity=medium]")
    assert _count(page, "#findings-count") == by_severity["medium"]
    page.click("#f-reset")

    # transfers: all listed; a country row filters them
    result = audit(EXAMPLE, AS_OF)
    transfers = list(result.view.transfers())
    assert _count(page, "#transfers-count") == len(transfers)
    first = page.locator(".country-row").first
    country = first.get_attribute("data-country")
    first.click()
    assert _count(page, "#transfers-count") == sum(1 for t in transfers if country in t.destination_countries)

    # lineage opens lazily; the record, the exposure heat map and the inventory tabs render
    details = page.locator("details.lineage").first
    details.locator("summary").click()
    details.locator(".lineage-body h5").nth(2).wait_for()  # filled in on toggle: wait, don't race
    assert details.locator(".lineage-body h5").count() >= 3
    controller_purposes = sum(1 for p in result.inventory.purposes.values() if p.role.value == "controller")
    assert page.locator("#record-table tr.record-row").count() == min(50, controller_purposes)
    page.locator("#record-table button.expand").first.click()
    assert page.locator("#record-table tr.record-detail-row dt").count() >= 18  # the whole Art. 30(1) entry
    assert page.locator("#exposure-host td.v").count() > 0
    page.click(".tab[data-table=systems]")
    assert page.locator("#inventory-table tbody tr").count() == min(50, len(result.inventory.systems))
    assert page.locator("#diagram-host svg").count() == 1

    page.evaluate("window.scrollTo(0, 0)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"))
    page.locator("#countries").screenshot(path=str(ARTIFACTS / "report-countries.png"))
    page.locator("#findings").screenshot(path=str(ARTIFACTS / "report-findings.png"))

    assert watch.errors == []
    assert watch.network(url) == []
    assert watch.dialogs == []
    page.close()


def test_hostile_report_runs_nothing(browser: Any, hostile_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    url = (hostile_dir / "report.html").as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    # reveal everything the script draws: every lineage, every inventory tab, the print view
    for summary in page.locator("details.lineage > summary").all():
        summary.click()
    for tab in ("systems", "recipients", "elements"):
        page.click(f".tab[data-table={tab}]")
    page.fill("#f-search", "<script>")
    _wait_for_count_other_than(page, "#findings-count", 3)
    page.click("#f-reset")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(100)

    assert watch.dialogs == []
    injected = page.evaluate("""() => ({
        img: document.querySelectorAll('img').length,
        scripts: document.scripts.length,
        handlers: Array.from(document.querySelectorAll('*')).filter(
            e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length,
        bold: document.querySelectorAll('b, i').length,
    })""")
    assert injected == {"img": 0, "scripts": 2, "handlers": 0, "bold": 0}
    text = page.locator("#findings-table").inner_text()
    assert "<script>alert(1)</script> Acme GmbH" in text  # shown as text, literally
    for button in page.locator("#record-table button.expand").all():
        button.click()
    assert '"><img src=x onerror=alert(1)>' in page.locator("#record-table").inner_text()
    # defence in depth: the Content Security Policy refuses any script the report did not ship
    ran = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = 1'; document.body.append(s); return window.__injected === 1; }""")
    assert ran is False
    assert watch.network(url) == []
    assert [m for m in watch.console if m[0] == "pageerror"] == []
    page.close()


def _urgent(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in items if not f["waived"] and f["severity"] in ("critical", "high")]


def test_first_screen_says_what_to_fix_first(browser: Any, example_dir: Path) -> None:
    """The first screen lists the unwaived critical and high findings, critical first, each with
    its remediation and a link that opens it among all findings; the navigation stays on screen."""
    items = json.loads((example_dir / "findings.json").read_text(encoding="utf-8"))["findings"]
    urgent = _urgent(items)
    assert urgent, "the worked example has critical or high findings"
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    watch = Watch(page)
    page.goto((example_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    fix = page.locator("#fix-first")
    box = fix.bounding_box()
    assert box is not None and box["y"] < 900, "What to fix first is on the first screen"
    shown = page.locator(".fix-item")
    assert shown.count() == min(12, len(urgent))
    severities = shown.evaluate_all("items => items.map(i => i.querySelector('.badge').textContent)")
    ranks = {"critical": 0, "high": 1}
    assert severities == sorted(severities, key=ranks.__getitem__), "critical before high"
    first = shown.first
    rule = first.locator(".fix-link").get_attribute("data-rule")
    subject = first.locator(".fix-link").get_attribute("data-subject")
    remediation = next(f["remediation"] for f in urgent if f["rule"] == rule and f["subject"]["id"] == subject)
    assert remediation in first.locator(".fix-how").inner_text()
    first.locator(".fix-link").click()
    target = page.locator("#findings-table tr.target")
    target.wait_for()
    assert target.get_attribute("id") == f"finding-{rule}--{subject}"
    assert target.is_visible()

    # sticky navigation: after scrolling far down it is still at the top of the viewport
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    page.wait_for_timeout(50)
    nav = page.locator("nav.nav").bounding_box()
    assert nav is not None and abs(nav["y"]) < 1 and nav["height"] > 20
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-scrolled-nav.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report-first-screen.png"))
    assert watch.errors == []
    page.close()


def test_transfers_sort_and_search_everything_shown(browser: Any, example_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    watch = Watch(page)
    page.goto((example_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    rows = page.locator("#transfers-table tbody tr")
    statuses = rows.evaluate_all("rs => rs.map(r => r.lastElementChild.querySelector('.badge').textContent)")
    order = {"finding": 0, "waived": 1, "no finding": 2}
    assert statuses == sorted(statuses, key=order.__getitem__), "worst first by default"

    def flow_ids() -> list[str]:
        return rows.evaluate_all("rs => rs.map(r => r.querySelector('td code').textContent)")

    heading = page.locator("#transfers-table th", has_text="Flow")
    heading.locator("button").click()
    assert heading.get_attribute("aria-sort") == "ascending"
    assert flow_ids() == sorted(flow_ids())
    heading.locator("button").click()
    assert heading.get_attribute("aria-sort") == "descending"
    assert flow_ids() == sorted(flow_ids(), reverse=True)
    country = page.locator("#transfers-table th", has_text="To")
    country.locator("button").click()
    to = rows.evaluate_all("rs => rs.map(r => r.children[2].textContent)")
    assert to == sorted(to)

    # the search covers text only shown, not only ids: "no TIA", regime names, safeguard words
    before = _count(page, "#transfers-count")
    page.fill("#t-search", "no tia")
    _wait_for_count_other_than(page, "#transfers-count", before)
    n = _count(page, "#transfers-count")
    assert 0 < n < before
    texts = rows.evaluate_all("rs => rs.map(r => r.textContent)")
    assert all("no TIA" in t for t in texts)
    page.fill("#t-search", "UK GDPR")
    _wait_for_count_other_than(page, "#transfers-count", n)
    assert all("UK GDPR" in t for t in rows.evaluate_all("rs => rs.map(r => r.textContent)"))
    # findings search: a subject's name, not only its id
    page.fill("#f-search", "Public and governmental authorities")
    _wait_for_count_other_than(page, "#findings-count", _count(page, "#findings-count"))
    assert _count(page, "#findings-count") > 0
    assert watch.errors == []
    page.close()


def test_phone_width_has_no_page_scroll(browser: Any, example_dir: Path) -> None:
    """At 390 px the page is no wider than the screen; tables reflow (each cell labelled) or
    scroll inside themselves, and the key columns stay visible."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    watch = Watch(page)
    page.goto((example_dir / "report.html").as_uri())
    page.wait_for_load_state("load")
    for tab in ("systems", "recipients", "elements"):
        page.click(f".tab[data-table={tab}]")
    page.locator("#record-table button.expand").first.click()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width} px"
    # the findings' severity and message, and the transfers' destination and safeguard, are shown
    first_finding = page.locator("#findings-table tbody tr").first
    for label in ("Severity", "Rule", "Finding"):
        cell = first_finding.locator(f"td[data-label='{label}']")
        assert cell.is_visible() and (cell.bounding_box() or {"width": 0})["width"] > 200
    first_transfer = page.locator("#transfers-table tbody tr").first
    for label in ("To", "Safeguard", "Status"):
        assert first_transfer.locator(f"td[data-label='{label}']").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report-phone.png"))
    for section in ("findings", "transfers", "record"):  # the viewport at each section's start
        page.evaluate(f"document.getElementById('{section}').scrollIntoView()")
        page.screenshot(path=str(ARTIFACTS / f"report-phone-{section}.png"))
    assert watch.errors == []
    page.close()


def test_assessment_sections(browser: Any, example_dir: Path, hostile_dir: Path) -> None:
    """The DPIA screening beside each purpose and the TIA drafts (SPEC §9) are on the page, match
    the computation, fit a phone, and show hostile strings as text."""
    from flowaudit.audits.dpia import screen_all
    from flowaudit.reports.tia import needing_tia

    result = audit(EXAMPLE, AS_OF)
    screenings = screen_all(result.view)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(page)
    url = (example_dir / "report.html").as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    rows = page.locator("#dpia-table tbody tr")
    assert rows.count() == len(screenings)
    for s in screenings:
        row = page.locator(f"#dpia-table tr[data-purpose='{s.purpose.id}']")
        assert row.locator("td[data-label='Verdict']").inner_text().strip().lower() == s.verdict
    transfers = needing_tia(result)
    assert page.locator("#tia-table tbody tr").count() == len(transfers)
    drafts = page.locator("details.tia-draft")
    assert drafts.count() == len(transfers)
    drafts.first.locator("summary").click()
    body = drafts.first.inner_text()
    for step in ("1. Know your transfer", "3. Assess the law and practice", "6. Re-evaluate"):
        assert step in body
    assert "? to be answered by" in body
    page.click("nav a[href='#tia']")
    assert watch.errors == [] and watch.network(url) == []
    page.close()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    phone.goto(url)
    phone.wait_for_load_state("load")
    for summary in phone.locator("details.tia-draft > summary").all():
        summary.click()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the assessments make the page scroll sideways: {width} px"
    phone.close()

    hostile = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = Watch(hostile)
    hostile.goto((hostile_dir / "report.html").as_uri())
    hostile.wait_for_load_state("load")
    for summary in hostile.locator("details.tia-draft > summary").all():
        summary.click()
    assert "<script>alert(3)</script>" in hostile.locator("#tia").inner_text()
    assert "<script>alert(1)</script> service" in hostile.locator("#dpia").inner_text()
    assert hostile.evaluate("document.querySelectorAll('#tia img, #tia script, #dpia img, #dpia b').length") == 0
    assert watch.dialogs == []
    hostile.close()
