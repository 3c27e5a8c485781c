"""YAML scalars written as text (`yaml.dump` is far too slow at 100,000 flows).

Block mappings with flow-style lists; free text as JSON strings, which YAML reads the same."""

from __future__ import annotations

import json

_YAML11_WORDS = frozenset({"NO", "ON", "OFF", "YES", "Y", "N", "TRUE", "FALSE", "NULL"})


def _cc(code: str) -> str:
    """A country code; `NO` (Norway) would load as false in YAML 1.1."""
    return f'"{code}"' if code in _YAML11_WORDS else code


def _q(text: str) -> str:
    """Free text as a double-quoted scalar (JSON's escapes are a subset of YAML's)."""
    return json.dumps(text)


def _list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"
