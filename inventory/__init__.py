"""The inventory: models, loading, validation and the graph view. Imports neither audits nor reports."""

from __future__ import annotations

from pathlib import Path

from .cache import Cache, Staged
from .errors import FlowauditError, InventoryError, Problem
from .loader import Parser, discover, place_in_inventory, read_file
from .validate import Inventory, InventoryBuilder


# The files' texts are kept as read up to this many characters in all (a 50,000-flow file is 13
# million), beyond it compressed (`SourceFile.pack`: 270 MB of text at 1,000,000 flows, a tenth of
# that packed): below it, compressing and decompressing for the few lines reported costs more
# time (60 ms for that file) than the memory is worth.
KEEP_TEXTS = 32 * 2**20


def load_inventory(path: str | Path, *, parser: Parser = "auto", cache: Cache | None = None) -> Inventory:
    """Read, shape-check and reference-check the inventory at `path` (a file or a directory).

    `parser`: "auto" (ryaml when the `fast` extra is installed, else PyYAML's C loader),
    "pyyaml" or "ryaml"; every reader gives the same inventory. With a `cache` (see
    `inventory.cache`), files unchanged since a run that stored them are not parsed again.
    Raises `InventoryError` listing every problem, each with file, line, column and field.
    """
    root = Path(path)
    builder = InventoryBuilder()
    unreadable: list[Problem] = []
    staged: list[Staged | None] = []
    kept = 0  # characters of the files' texts read so far
    try:
        # File by file: each parsed document (a dict per entry) lives only until its entries are
        # checked, so the documents of the whole inventory never sit in memory beside its entries.
        for file in discover(root):
            source, problems = read_file(file, parser=parser, cache=cache)
            unreadable.extend(problems)
            if source is None:
                continue
            place_in_inventory(source, file, root)
            if not unreadable:  # after a file that cannot be read, only reading problems are reported
                shape_ok = builder.add(source)
                # A file of the right shape holds nothing JSON would change (a key that is not
                # a string is a shape error); it is stored only once the whole inventory passes.
                if cache is not None and shape_ok and not source.cached and source.cache_key is not None:
                    staged.append(cache.stage_document(source.cache_key, source.document))
            source.document = {}
            kept += len(source.text)
            if kept > KEEP_TEXTS:
                source.pack()
        if unreadable:
            raise InventoryError(unreadable)
        inventory = builder.finish()
    except BaseException:
        Cache.discard(staged)
        raise
    if cache is not None:
        cache.commit(staged)
        if cache.wrote:
            cache.prune()
    return inventory


__all__ = ["Cache", "FlowauditError", "Inventory", "InventoryError", "Problem", "load_inventory"]
