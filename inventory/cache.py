"""The cache: parsed inventory files (and, for the CLI, whole audit outputs) kept between runs.

A run that reads an inventory whose files have not changed since the last run should not parse
them again (SPEC §7: a warm run within 0.3 times the C loader's time). Each entry is keyed by a
hash of what determines it: for a parsed file, its bytes, the flowaudit version, `PARSE_FORMAT`
and the source of the reader (so an edited reader never serves old answers); the reader that
parsed it (PyYAML or ryaml) is not part of the key, since both give the same document.

Safe and self-limiting:
- Entries are JSON (or bytes behind a JSON header), never pickle: reading the cache cannot
  execute code. Every entry names its key (and an opaque one the size and digest of its
  payload); an entry that is corrupt, truncated, foreign or unreadable is ignored and the answer
  computed again: never a traceback, never a wrong answer.
- Writes go to a temporary file in the same folder, then `os.replace`: readers see a whole
  entry or none, and two processes writing at once are fine (both write the same bytes).
- Pruning (after a run that wrote entries): entries not used for `MAX_AGE_DAYS` go, then the
  least recently used ones until the cache is under `MAX_BYTES`; a hit refreshes the entry's
  time. Leftover temporary files older than an hour go too.
- A cache folder that cannot be created or written disables writing silently; one that cannot
  be read is a miss.

Where: `platformdirs.user_cache_dir("flowaudit")` (e.g. ~/.cache/flowaudit), or a folder given
by the caller. Only the caller decides: nothing here reads the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

PARSE_FORMAT = 1  # bump when the meaning or the shape of a cached parse changes
MAX_BYTES = 1 << 30  # 1 GiB: the whole cache, both kinds of entry
MAX_AGE_DAYS = 30
_TMP_AGE = 3600.0
_MARK = "flowaudit-cache"
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# flowaudit's cache (https://bford.info/cachedir/)\n"


def default_directory() -> Path:
    """The user's cache folder for flowaudit (platformdirs; XDG_CACHE_HOME on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("flowaudit", appauthor=False))


def digest(*parts: bytes | str) -> str:
    """A hex digest of `parts`: SHA-256 cut to 160 bits (collisions are out of reach). SHA-256
    runs on the processor's SHA extensions where it has them (this project's machines): 68 MB of
    a 50,000-flow chain's findings in 0.05 s, against 0.12 s with BLAKE2b."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:40]


def _parse_semantics() -> str:
    """What a cached parse depends on besides the file: this package's version and the reader's
    own source (loader, fast paths, this module), so a changed reader never serves old answers."""
    import yaml

    from . import blockread, fastload, loader

    try:
        from importlib import metadata

        version = metadata.version("flowaudit")
    except Exception:  # a source tree that was never installed
        version = "0+unknown"
    sources = []
    for module in (loader, fastload, blockread):
        try:
            sources.append(Path(module.__file__ or "").read_bytes())
        except OSError:
            sources.append(b"?")
    sources.append(Path(__file__).read_bytes())
    return digest(str(PARSE_FORMAT), version, yaml.__version__, *sources)


class Staged(NamedTuple):
    """An entry written to `temporary`, to be renamed to `target` (`Cache.commit`) or removed."""

    temporary: Path
    target: Path


class Cache:
    """A cache folder. `Cache.open(directory)` returns None when caching is impossible there."""

    def __init__(self, directory: Path, writable: bool = True) -> None:
        self.directory = directory
        self.writable = writable
        self.wrote = False
        self._semantics: str | None = None

    @classmethod
    def open(cls, directory: str | Path | None = None) -> Cache | None:
        """The cache in `directory` (default: the user's cache folder). It is created when its
        parent or grandparent exists (never a whole tree under a wrong HOME); when it cannot be,
        or cannot be written, entries are only read (or nothing is cached at all)."""
        folder = Path(directory) if directory is not None else default_directory()
        try:
            if not folder.is_dir():
                if not (folder.parent.is_dir() or folder.parent.parent.is_dir()):
                    return None
                folder.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(OSError):
                    (folder / "CACHEDIR.TAG").write_text(_TAG, encoding="utf-8")
            writable = os.access(folder, os.W_OK | os.X_OK)
        except OSError:
            return None
        return cls(folder, writable)

    # -- parsed files -----------------------------------------------------------------------

    def parse_key(self, data: bytes) -> str:
        """The key of the parse of a file whose bytes are `data`."""
        if self._semantics is None:
            self._semantics = _parse_semantics()
        return digest("parse", self._semantics, data)

    def get_document(self, key: str) -> dict[str, Any] | None:
        """The cached document for `key`, or None."""
        entry = self._read_json("parse", key)
        if entry is None:
            return None
        document = entry.get("document")
        return document if isinstance(document, dict) else None

    def put_document(self, key: str, document: dict[str, Any]) -> None:
        self.commit([self.stage_document(key, document)])

    def stage_document(self, key: str, document: dict[str, Any]) -> Staged | None:
        """Write the entry for `key` where no reader looks yet, so that the caller can drop the
        document now and decide later: `commit` puts staged entries in place, `discard` removes
        them (a temporary file left by a crash is pruned after an hour)."""
        try:
            # a reader's document is a tree: no container holds itself, so none is looked for (a
            # quarter of the time of 14 MB of JSON); one too deep is a RecursionError, not cached
            text = json.dumps({_MARK: PARSE_FORMAT, "key": key, "document": document},
                              separators=(",", ":"), check_circular=False)
        except (TypeError, ValueError, RecursionError):  # a value JSON cannot hold: not cached
            return None
        return self._stage("parse", key, ".json", text.encode("ascii"))

    def commit(self, staged: Iterable[Staged | None]) -> None:
        """Put staged entries in place (readers see each whole or not at all)."""
        for entry in staged:
            if entry is None:
                continue
            try:
                os.replace(entry.temporary, entry.target)
            except OSError:  # read-only, full, gone: caching is best effort
                _remove(str(entry.temporary))
                self.writable = False
                continue
            self.wrote = True

    @staticmethod
    def discard(staged: Iterable[Staged | None]) -> None:
        """Remove staged entries that are not to be used."""
        for entry in staged:
            if entry is not None:
                _remove(str(entry.temporary))

    # -- opaque results (bytes with a JSON header) ------------------------------------------

    def get_blob(self, kind: str, key: str) -> tuple[dict[str, Any], bytes] | None:
        """(header, payload) for `key`, the payload checked against its digest; or None."""
        path = self._path(kind, key, ".bin")
        try:
            with path.open("rb") as handle:
                first = handle.readline(1 << 16)
                header = json.loads(first)
                if not isinstance(header, dict) or header.get(_MARK) != 1 or header.get("key") != key:
                    return None
                size = header.get("size")
                if not isinstance(size, int) or size < 0:
                    return None
                payload = handle.read(size + 1)
        except (OSError, ValueError, RecursionError):
            return None
        if len(payload) != size or digest(payload) != header.get("digest"):
            return None
        self._touch(path)
        return header, payload

    def put_blob(self, kind: str, key: str, header: dict[str, Any], payload: bytes) -> None:
        head = {**header, _MARK: 1, "key": key, "size": len(payload), "digest": digest(payload)}
        try:
            line = json.dumps(head, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
        except (TypeError, ValueError):
            return
        self._write(kind, key, ".bin", line, payload)  # written in turn: no copy of a large payload

    # -- storage ----------------------------------------------------------------------------

    def _path(self, kind: str, key: str, suffix: str) -> Path:
        return self.directory / kind / f"{key}{suffix}"

    def _read_json(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self._path(kind, key, ".json")
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):  # missing, unreadable, corrupt, truncated
            return None
        if not isinstance(entry, dict) or entry.get(_MARK) != PARSE_FORMAT or entry.get("key") != key:
            return None  # foreign
        self._touch(path)
        return entry

    def _touch(self, path: Path) -> None:
        """Mark an entry as used (pruning keeps the recently used ones)."""
        if self.writable:
            with contextlib.suppress(OSError):
                os.utime(path)

    def _write(self, kind: str, key: str, suffix: str, *data: bytes) -> None:
        self.commit([self._stage(kind, key, suffix, *data)])

    def _stage(self, kind: str, key: str, suffix: str, *data: bytes) -> Staged | None:
        """`data` (its parts in turn) in a temporary file beside the entry's place (None when it
        cannot be written)."""
        if not self.writable:
            return None
        target = self._path(kind, key, suffix)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            target.parent.mkdir(exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as handle:
                    for part in data:
                        handle.write(part)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError:  # read-only, full, gone: caching is best effort
            self.writable = False
            return None
        return Staged(tmp, target)

    def entries(self) -> Iterable[os.DirEntry[str]]:
        for kind in ("parse", "audit"):
            try:
                with os.scandir(self.directory / kind) as found:
                    yield from list(found)
            except OSError:
                continue

    def prune(self, max_bytes: int = MAX_BYTES, max_age_days: float = MAX_AGE_DAYS) -> None:
        """Drop leftover temporary files, entries unused for `max_age_days`, then the least
        recently used entries until the cache holds at most `max_bytes`."""
        if not self.writable:
            return
        now = time.time()
        kept: list[tuple[float, int, str]] = []
        for entry in self.entries():
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            temporary = entry.name.endswith(".tmp")
            if (temporary and now - st.st_mtime > _TMP_AGE) or (
                    not temporary and now - st.st_mtime > max_age_days * 86400):
                _remove(entry.path)
            elif not temporary:
                kept.append((st.st_mtime, st.st_size, entry.path))
        total = sum(size for _, size, _ in kept)
        for _, size, path in sorted(kept):
            if total <= max_bytes:
                break
            _remove(path)
            total -= size


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def resolve(cache: bool | str | os.PathLike[str] | Cache | None) -> Cache | None:
    """A library call's `cache=` argument as a `Cache` (or None: no caching).
    False/None: none; True: the user's cache folder; a path: that folder; a Cache: itself."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, Cache):
        return cache
    if cache is True:
        return Cache.open()
    return Cache.open(Path(cache))
