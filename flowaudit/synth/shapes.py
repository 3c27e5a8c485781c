"""Shapes that hurt (SPEC §7): inventories built to stress one graph computation.

- `chain`: one onward chain. Customers in the EEA are collected into the controller's CRM in
  DE, which exports to a US processor; each processor passes the data to the next one, in a
  different country outside the EEA, `flows` flows in all. Every hop after the first is an
  onward transfer (every other one without a mechanism), so onward paths, TRF-007's details
  and `lineage` all meet a chain as long as the inventory.
- `elements`: `flows` personal-data elements, each collected once (in groups of 20 per
  collection flow, into systems of the controller in the EEA, for a purpose that needs them)
  and sent on to a US processor: memory that grows with the square of the element count
  shows here.
- `ring`: systems in a cycle (EEA, US, IN, EEA, ...) passing the same data round and round,
  plus a processor returning results to the system they came from and two systems
  synchronising: every graph computation must terminate and stay linear on cycles.

Each writes one `inventory.yaml` (plus `elements.yaml` for `elements`) into `out_dir` and
returns the counts, like `synthesize`. Deterministic: no randomness at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .yamltext import _cc

SHAPES = ("realistic", "chain", "elements", "ring")
HEADER = "# Synthetic inventory written by `flowaudit synth --shape {shape}` (fictitious organisation).\n"
ABROAD = ("US", "IN", "SG", "AE", "TR", "MX", "ZA", "ID")  # no country with a regime of its own


def _controller(shape: str) -> list[str]:
    """The file's header and the controller (further organisations are appended)."""
    return [
        HEADER.format(shape=shape),
        "organisations:",
        "- id: norda-group",
        "  name: Norda Group SE",
        "  country: DE",
        "  relation: self",
        "  contact: privacy@norda.example",
        "  dpo: {name: Data Protection Officer, email: dpo@norda.example}",
    ]


def _customers(elements: list[str]) -> list[str]:
    """The customers and the one purpose."""
    return [
        "subjects:",
        "- id: customers-eea",
        "  name: Customers in the EEA",
        "  locations: [DE, FR, IE]",
        "  count: 500000",
        "purposes:",
        "- id: customer-service",
        "  name: Customer service",
        "  legal_basis: contract",
        "  retention: P3Y",
        "  subjects: [customers-eea]",
        "  elements: [" + ", ".join(elements[:20]) + "]",
    ]


def _processor(lines: list[str], org_id: str, name: str, country: str) -> None:
    lines += [f"- id: {org_id}", f"  name: {name}", f"  country: {_cc(country)}", "  relation: processor",
              "  dpa: {signed: 2024-01-15}"]


def _scc(module: str) -> str:
    return f"  transfer: {{mechanism: scc, scc: {{module: {module}, version: 2021, signed: 2024-01-15}}}}"


def chain(out_dir: Path, flows: int) -> dict[str, int]:
    elements = ["email", "full-name"]
    lines = _controller("chain")
    orgs = [f"proc-{i:06d}" for i in range(1, flows)]  # the first flow is the collection
    for i, org in enumerate(orgs):
        _processor(lines, org, f"Processor {i + 1}", ABROAD[i % len(ABROAD)])
    lines += _customers(elements)
    lines += ["elements:",
              "- {id: email, name: Email address, category: contact, subjects: [customers-eea]}",
              "- {id: full-name, name: Full name, category: identity, subjects: [customers-eea]}",
              "systems:",
              "- {id: crm, name: CRM, operator: norda-group, locations: [DE], elements: [email, full-name]}",
              "flows:",
              ("- {id: collect, from: customers-eea, to: crm, elements: [email, full-name], "
               "purposes: [customer-service]}")]
    previous = "crm"
    for i, org in enumerate(orgs):
        lines += [f"- id: hop-{i + 1:06d}", f"  from: {previous}", f"  to: {org}",
                  "  elements: [email, full-name]", "  purposes: [customer-service]"]
        if i == 0:
            lines.append(_scc("c2p"))
        elif i % 2 == 0:
            lines.append(_scc("p2p"))
        previous = org
    return _write(out_dir, {"inventory.yaml": lines},
                  organisations=len(orgs) + 1, elements=2, systems=1, flows=flows)


def many_elements(out_dir: Path, count: int) -> dict[str, int]:
    ids = [f"e-{i:06d}" for i in range(count)]
    lines = _controller("elements")
    _processor(lines, "us-host", "US Host Inc", "US")
    lines += _customers(ids)
    systems = (count + 19) // 20
    for s in range(systems):  # each store's purpose needs its elements (no finding per element)
        group = ", ".join(ids[s * 20:(s + 1) * 20])
        lines.append(f"- {{id: service-{s:05d}, name: Service {s}, legal_basis: contract, retention: P3Y, "
                     f"subjects: [customers-eea], elements: [{group}]}}")
    lines.append("systems:")
    for s in range(systems):
        lines.append(f"- {{id: store-{s:05d}, name: Store {s}, operator: norda-group, locations: [DE]}}")
    lines.append("- {id: us-archive, name: US archive, operator: us-host, locations: [US]}")
    lines.append("flows:")
    n = 0
    for s in range(systems):
        group = ", ".join(ids[s * 20:(s + 1) * 20])
        lines.append(f"- {{id: collect-{s:05d}, from: customers-eea, to: store-{s:05d}, elements: [{group}], "
                     f"purposes: [service-{s:05d}]}}")
        lines.append(f"- {{id: archive-{s:05d}, from: store-{s:05d}, to: us-archive, elements: [{group}], "
                     f"purposes: [service-{s:05d}], transfer: {{mechanism: scc, scc: {{module: c2p, version: 2021, "
                     "signed: 2024-01-15}}}")
        n += 2
    categories = ("contact", "identity", "behavioural", "device", "content")
    elements = [HEADER.format(shape="elements"), "elements:"]
    for i, e in enumerate(ids):
        elements.append(f"- {{id: {e}, name: Element {i}, category: {categories[i % len(categories)]}, "
                        "subjects: [customers-eea]}")
    return _write(out_dir, {"inventory.yaml": lines, "elements.yaml": elements},
                  organisations=2, elements=count, systems=systems + 1, flows=n)


def ring(out_dir: Path, flows: int) -> dict[str, int]:
    """`flows` systems in a ring, each operated by its own organisation, plus the collection,
    a processor's return of results and two systems synchronising."""
    elements = ["email", "full-name"]
    lines = _controller("ring")
    size = max(flows - 6, 2)
    countries = ("DE", "US", "IN")
    for i in range(size):
        _processor(lines, f"ring-org-{i:06d}", f"Ring member {i}", countries[i % len(countries)])
    _processor(lines, "us-enricher", "US Enricher Inc", "US")
    lines += _customers(elements)
    lines += ["elements:",
              "- {id: email, name: Email address, category: contact, subjects: [customers-eea]}",
              "- {id: full-name, name: Full name, category: identity, subjects: [customers-eea]}",
              "systems:",
              "- {id: crm, name: CRM, operator: norda-group, locations: [DE], elements: [email, full-name]}",
              "- {id: shop, name: Shop, operator: norda-group, locations: [FR], elements: [email, full-name]}",
              "- {id: enricher, name: Enricher, operator: us-enricher, locations: [US]}"]
    for i in range(size):
        lines.append(f"- {{id: ring-{i:06d}, name: Ring {i}, operator: ring-org-{i:06d}, "
                     f"locations: [{countries[i % len(countries)]}]}}")
    lines += ["flows:",
              ("- {id: collect, from: customers-eea, to: crm, elements: [email, full-name],"
               " purposes: [customer-service]}"),
              # a processor returns results to the system they came from
              ("- {id: enrich, from: crm, to: enricher, elements: [email, full-name], purposes: [customer-service],"
               " transfer: {mechanism: scc, scc: {module: c2p, version: 2021, signed: 2024-01-15}}}"),
              "- {id: enriched, from: enricher, to: crm, elements: [email, full-name], purposes: [customer-service]}",
              # two systems synchronising
              "- {id: sync-to-shop, from: crm, to: shop, elements: [email], purposes: [customer-service]}",
              "- {id: sync-to-crm, from: shop, to: crm, elements: [email], purposes: [customer-service]}",
              (f"- {{id: into-ring, from: crm, to: ring-{0:06d}, elements: [email, full-name], "
               "purposes: [customer-service]}")]
    for i in range(size):
        lines.append(f"- {{id: ring-flow-{i:06d}, from: ring-{i:06d}, to: ring-{(i + 1) % size:06d}, "
                     "elements: [email, full-name], purposes: [customer-service]}")
    return _write(out_dir, {"inventory.yaml": lines},
                  organisations=size + 2, elements=2, systems=size + 3, flows=size + 6)


def _write(out_dir: Path, files: dict[str, list[str]], **counts: int) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, lines in files.items():
        data = ("\n".join(lines) + "\n").encode("utf-8")
        (out_dir / name).write_bytes(data)
        total += len(data)
    return {**counts, "files": len(files), "bytes": total}


BUILDERS: dict[str, Callable[[Path, int], dict[str, int]]] = {
    "chain": chain, "elements": many_elements, "ring": ring}
