"""Observed traffic (SPEC §10): the declared inventory against connections seen in logs.

These rules are not run by `audit`: their evidence is traffic, which only
`flowaudit observe` (and `flowaudit report --logs`) reads and aggregates, on DuckDB or Spark.
Their metadata lives here, beside the other rules, so that the documentation, the
configuration (`severity`, `skip`), waivers and the SARIF rule list treat them alike. Each
check below only documents when the finding fires; the computation over aggregated traffic
is `flowaudit.observe.findings`, which reads this metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..rule import Context, rule, selector
from ..findings import Hit, Severity


@selector("nothing during `audit`: `flowaudit observe` computes these findings from observed traffic")
def computed_by_observe(ctx: Context) -> Iterable[Any]:
    return ()  # the evidence is traffic: `flowaudit observe` computes these findings


@rule("OBS-001", title="Observed traffic between two inventory nodes follows a declared flow",
      severity=Severity.HIGH, legal=("GDPR Art. 30(1)", "GDPR Art. 5(2)"), subject="system or organisation",
      over=computed_by_observe,
      remediation="Declare the flow (`flowaudit register flow --from A --to B …`) with its elements and "
                  "purposes, or stop the traffic; then re-run the audit for the new flow.",
      example="""
systems:
  - {id: web, name: Web shop, operator: acme, endpoints: [10.20.0.0/16]}
organisations:
  - {id: mixpanel, name: Mixpanel, country: US, relation: processor, endpoints: ["*.mixpanel.com"]}
# logs show 10.20.0.7 -> api.mixpanel.com, and no flow joins web and mixpanel: fires on web
""")
def undeclared_traffic(ctx: Context, item: Any) -> Hit | None:
    """Connections in the logs join two nodes that `endpoints:` map (systems or organisations),
    and no declared flow joins them, in either direction (who opens a connection says little
    about which way the data goes; a system's traffic is also covered by flows of its operator
    organisation). One finding per source node; `details.destinations` gives, for each
    undeclared destination, the connections, bytes, first and last seen, example hosts and any
    elements the logs name. Traffic between a system and its own operator organisation is
    not a flow between two parties and is left out. The record of processing (Art. 30(1)) must
    list the recipients; a controller that cannot show its flows fails accountability
    (Art. 5(2))."""
    return None


@rule("OBS-002", title="A system's traffic goes to hosts the inventory knows",
      severity=Severity.MEDIUM, legal=("GDPR Art. 30(1)(d)", "GDPR Art. 5(2)"), subject="system",
      over=computed_by_observe,
      remediation="Find out who runs the host: add its `endpoints:` to the organisation or system it "
                  "belongs to (and declare the flow), or block the traffic if it carries no personal data.",
      example="""
systems:
  - {id: web, name: Web shop, operator: acme, endpoints: [10.20.0.0/16]}
# logs show 10.20.0.7 -> cdn.unknown-tracker.example, which no endpoint maps: fires on web
""")
def unknown_destination(ctx: Context, item: Any) -> Hit | None:
    """A system (its traffic's source maps to it) sends traffic to hosts or addresses that no
    `endpoints:` entry maps. One finding per system, with the number of unknown hosts, the
    total connections and bytes, first and last seen, and the top unknown hosts by volume
    (bytes, then connections) in `details.hosts`. Sources that map to nothing, or only to an
    organisation, are not reported: the finding is about a system the inventory describes."""
    return None


@rule("OBS-003", title="A declared flow shows traffic in the observed window",
      severity=Severity.LOW, legal=("GDPR Art. 30(1)", "GDPR Art. 5(1)(d)"), subject="flow",
      over=computed_by_observe,
      remediation="If the flow has stopped, remove it from the inventory (and from the record of processing); "
                  "if it runs elsewhere, add the missing `endpoints:`; if it is rare, widen the window.",
      example="""
flows:
  - {id: web-to-crm, from: web, to: crm, elements: [email], purposes: [sales]}
# web and crm both have endpoints, and the logs show no connection between them: fires
""")
def silent_flow(ctx: Context, item: Any) -> Hit | None:
    """A declared flow between two nodes that can be observed (both ends, or their operator
    organisations, have `endpoints:`) and no connection between them, in either direction,
    in the window of the logs (`--since`/`--until`, or the span the logs cover). Flows from
    data subjects (collection) cannot be observed this way and are never reported. A record
    that lists recipients who no longer receive data is inaccurate (Art. 5(1)(d), 30(1))."""
    return None


@rule("OBS-004", title="Observed traffic reaches the countries the inventory declares",
      severity=Severity.HIGH, legal=("GDPR Art. 44", "GDPR Art. 30(1)(e)"), subject="system or organisation",
      over=computed_by_observe,
      remediation="Correct the system's `locations` (or the organisation's `country`) so that the transfer "
                  "analysis sees the real destination, then re-run the audit; or route the traffic to "
                  "the declared region.",
      example="""
systems:
  - {id: crm, name: CRM, operator: cloudco, locations: [DE], endpoints: ["*.crm.example"]}
# the logs' `country` column shows eu.crm.example answering from US: fires on crm
""")
def country_mismatch(ctx: Context, item: Any) -> Hit | None:
    """The logs carry the destination's country (an optional `country` column, as GeoIP
    enrichment of proxy or flow logs gives) and traffic to a mapped node shows a country that
    the inventory does not declare for it: for a system, its `locations` (default its
    operator's country); for an organisation, its country and the locations of the systems it
    operates. One finding per destination node; `details.countries` lists each undeclared
    country with connections, bytes, first and last seen, example hosts and sources. The
    transfer rules (Chapter V, Art. 44) reason from the declared countries, so an undeclared
    destination country can hide a restricted transfer."""
    return None
