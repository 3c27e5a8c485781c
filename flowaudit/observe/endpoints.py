"""The inventory's `endpoints:` as three small lookup tables the engines join log hosts against.

A host belongs to the most specific endpoint that matches it: an exact host name, else the
longest wildcard suffix, else the longest CIDR prefix. Ties between nodes (the same endpoint
written on two entries) go to a system before an organisation, then to the smaller id, so both
engines see tables with unique keys and give the same answer.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import cast

from flowaudit.inventory.models import endpoint_kind
from flowaudit.inventory.validate import Inventory


@dataclass(frozen=True)
class EndpointTables:
    hosts: list[tuple[str, str]]  # (host, node)
    suffixes: list[tuple[str, str]]  # (domain of '*.domain', node)
    networks: list[tuple[str, int, str, str]]  # (family 'v4'|'v6', prefix length, prefix bits, node)
    conflicts: list[str] = field(default_factory=list)  # endpoints written on more than one node

    @property
    def prefix_lengths(self) -> list[tuple[str, int]]:
        return sorted({(family, length) for family, length, _, _ in self.networks})

    def __bool__(self) -> bool:
        return bool(self.hosts or self.suffixes or self.networks)


def network_bits(text: str) -> tuple[str, int, str]:
    """('v4'|'v6', prefix length, the prefix as a string of 0/1) for an address or CIDR range."""
    network = ipaddress.ip_network(text, strict=True)
    width = 32 if network.version == 4 else 128
    bits = format(int(network.network_address), f"0{width}b")[: network.prefixlen]
    return f"v{network.version}", network.prefixlen, bits


def build_tables(inventory: Inventory) -> EndpointTables:
    owners: dict[tuple[str, object], list[tuple[int, str]]] = {}
    texts: dict[tuple[str, object], str] = {}
    entries = [(0, s.id, s.endpoints) for s in inventory.systems.values()]
    entries += [(1, o.id, o.endpoints) for o in inventory.organisations.values()]
    for rank, node, endpoints in entries:
        for text in endpoints:
            kind, value = endpoint_kind(text)
            key: object = network_bits(value) if kind == "cidr" else value
            owners.setdefault((kind, key), []).append((rank, node))
            texts.setdefault((kind, key), text)
    hosts: list[tuple[str, str]] = []
    suffixes: list[tuple[str, str]] = []
    networks: list[tuple[str, int, str, str]] = []
    conflicts: list[str] = []
    for (kind, key), nodes in sorted(owners.items(), key=lambda item: (item[0][0], str(item[0][1]))):
        nodes.sort()
        node = nodes[0][1]
        if len({n for _, n in nodes}) > 1:
            conflicts.append(f"{texts[(kind, key)]}: {', '.join(sorted({n for _, n in nodes}))} "
                             f"(mapped to {node})")
        if kind == "host":
            hosts.append((str(key), node))
        elif kind == "wildcard":
            suffixes.append((str(key), node))
        else:
            family, length, bits = cast(tuple[str, int, str], key)  # a cidr key is network_bits(...)
            networks.append((family, length, bits, node))
    return EndpointTables(hosts, suffixes, networks, conflicts)
