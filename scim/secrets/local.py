"""Secret stores without Azure: in memory (tests) and a 0600 JSON file (local development)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from scim.secrets._base import SecretVersion, check_expiry, check_name, is_version_id, live

T = TypeVar("T")
_Table = dict[str, list[SecretVersion]]


def _add(table: _Table, key: str, value: str, expires_on: datetime | None) -> SecretVersion:
    # Same shape as a Key Vault version id (32 hex characters), so callers cannot depend on the store.
    # os.urandom rather than the secrets module: same source, without importing hashlib and random at start-up.
    made = SecretVersion(os.urandom(16).hex(), value, datetime.now(UTC), expires_on, enabled=True)
    table.setdefault(key, []).append(made)
    return made


def _update(table: _Table, key: str, version: str, **changes: Any) -> bool:
    found = table.get(key, [])
    for i, v in enumerate(found):
        if v.version == version:
            found[i] = replace(v, **changes)
            return True
    return False


class MemorySecretStore:
    """Secrets in a dict: for tests and SCIM_STORE=memory runs; nothing survives the process."""

    def __init__(self) -> None:
        self._table: _Table = {}

    async def versions(self, name: str) -> list[SecretVersion]:
        """Enabled, unexpired versions, newest first; [] when the secret does not exist."""
        return live(self._table.get(check_name(name), []))

    async def add_version(self, name: str, value: str, *, expires_on: datetime | None = None) -> SecretVersion:
        """Store a new enabled version and return it."""
        return _add(self._table, check_name(name), value, check_expiry(expires_on))

    async def disable_version(self, name: str, version: str) -> bool:
        """Disable one version; False when it does not exist."""
        return _update(self._table, check_name(name), version, enabled=False)

    async def set_expiry(self, name: str, version: str, expires_on: datetime) -> bool:
        """Set one version's expiry; False when it does not exist."""
        key, expires = check_name(name), check_expiry(expires_on)
        return _update(self._table, key, version, expires_on=expires)

    async def delete(self, name: str) -> bool:
        """Delete every version; False when the secret does not exist."""
        return self._table.pop(check_name(name), None) is not None

    async def close(self) -> None:
        """Nothing to release."""


# One lock per file for threads of this process; flock (where available) covers other processes (scimctl, devhost).
_FILE_LOCKS: dict[Path, threading.Lock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


class FileSecretStore:
    """Secrets in a JSON file (mode 0600, replaced atomically) for local development without a vault."""

    def __init__(self, path: Path, *, refuse_creation: str | None = None) -> None:
        """``refuse_creation``: when the file is missing, a write raises FileNotFoundError with this message."""
        self._path = Path(path)
        self._refuse_creation = refuse_creation
        with _FILE_LOCKS_GUARD:
            self._lock = _FILE_LOCKS.setdefault(self._path.resolve(), threading.Lock())

    async def versions(self, name: str) -> list[SecretVersion]:
        """Enabled, unexpired versions, newest first; [] when the secret does not exist."""
        key = check_name(name)
        return await self._run(lambda table: live(table.get(key, [])), write=False)

    async def add_version(self, name: str, value: str, *, expires_on: datetime | None = None) -> SecretVersion:
        """Store a new enabled version and return it."""
        key, expires = check_name(name), check_expiry(expires_on)
        return await self._run(lambda table: _add(table, key, value, expires), write=True)

    async def disable_version(self, name: str, version: str) -> bool:
        """Disable one version; False when it does not exist."""
        key = check_name(name)
        return await self._run(lambda table: _update(table, key, version, enabled=False), write=True)

    async def set_expiry(self, name: str, version: str, expires_on: datetime) -> bool:
        """Set one version's expiry; False when it does not exist."""
        key, expires = check_name(name), check_expiry(expires_on)
        return await self._run(lambda table: _update(table, key, version, expires_on=expires), write=True)

    async def delete(self, name: str) -> bool:
        """Delete every version; False when the secret does not exist."""
        key = check_name(name)
        return await self._run(lambda table: table.pop(key, None) is not None, write=True)

    async def close(self) -> None:
        """Nothing to release: every call opens and closes the file."""

    async def _run(self, change: Callable[[_Table], T], *, write: bool) -> T:
        # File I/O goes to a thread so a slow disk never stalls the event loop serving requests.
        return await asyncio.to_thread(self._locked, change, write)

    def _locked(self, change: Callable[[_Table], T], write: bool) -> T:
        if self._refuse_creation is not None and not self._path.exists():
            if not write:
                return change({})
            raise FileNotFoundError(self._refuse_creation)
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, self._flock():
            table = self._load()
            result = change(table)
            if write:
                self._save(table)
            return result

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        try:
            import fcntl  # POSIX only; Windows relies on the in-process lock
        except ImportError:
            yield
            return
        fd = os.open(self._path.with_name(self._path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _load(self) -> _Table:
        try:
            raw = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            return {key: [_decode(v) for v in found] for key, found in data["secrets"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            # No chained error: a decoder message may quote the file, and the file holds secrets.
            raise ValueError(f"secret file {self._path} is not a valid secret store") from None

    def _save(self, table: _Table) -> None:
        data = {"format": 1, "secrets": {key: [_encode(v) for v in found] for key, found in table.items() if found}}
        tmp = self._path.with_name(f".{self._path.name}.{os.urandom(4).hex()}.tmp")
        # O_EXCL with 0600: the secret never exists on disk with wider permissions, even for an instant.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _encode(v: SecretVersion) -> dict[str, Any]:
    expires = None if v.expires_on is None else v.expires_on.isoformat()
    return {
        "version": v.version,
        "value": v.value,
        "created": v.created.isoformat(),
        "expires_on": expires,
        "enabled": v.enabled,
    }


def _decode(d: dict[str, Any]) -> SecretVersion:
    expires = None if d["expires_on"] is None else datetime.fromisoformat(d["expires_on"])
    if not is_version_id(d["version"]) or not isinstance(d["value"], str) or not isinstance(d["enabled"], bool):
        raise ValueError("malformed version")
    return SecretVersion(d["version"], d["value"], datetime.fromisoformat(d["created"]), expires, d["enabled"])
