"""What the Art. 30 record, the transfer report and the exposure matrix say, computed once
from the audit result and its inventory view, and shared by the Excel, HTML and diagram
renderers. Everything is plain data (strings, numbers, lists), in a stable order, so the
renderers stay simple and their output deterministic.

`ReportData` is put together from three rooms, each readable on its own:
`record_art30.Art30Record` (the Art. 30 records), `record_transfers.TransferRecords` (the
restricted transfers) and `record_tables.InventoryTables` (findings, elements, systems,
recipients, exposure); the words and shared indexes are in `records_base`.
"""

from __future__ import annotations

from .record_art30 import Art30Record
from .record_tables import InventoryTables
from .record_transfers import TransferRecords
from .records_base import (
    BASIS_TEXT,
    CONDITION_TEXT,
    RETENTION_TEXT,
    RIGHTS,
    SAFEGUARD_TEXT,
    SAFEGUARDS,
    SEVERITY_NAMES,
    STATUSES,
    ReportBase,
    Table,
    country_name,
    inventory_label,
    join,
    retention_text,
)

__all__ = [
    'BASIS_TEXT',
    'CONDITION_TEXT',
    'RETENTION_TEXT',
    'RIGHTS',
    'SAFEGUARDS',
    'SAFEGUARD_TEXT',
    'SEVERITY_NAMES',
    'STATUSES',
    'Art30Record',
    'InventoryTables',
    'ReportBase',
    'ReportData',
    'Table',
    'TransferRecords',
    'country_name',
    'inventory_label',
    'join',
    'retention_text',
]


class ReportData(Art30Record, TransferRecords, InventoryTables):
    """Everything the renderers show, computed lazily, once."""
