"""State operations of the gateway: items with ETags, create-if-absent, transactions."""

from __future__ import annotations

from typing import Any, Collection, Iterable, Sequence

from .connection import Connection
from .errors import Conflict, TooLarge, Unavailable, _is_create_refused, _is_transaction_etag_failure
from .sdk import (Concurrency, Consistency, StateOptions, TransactionalStateOperation, TransactionOperationType,
                  grpc)
from .values import Delete, Item, SharedValues, Upsert, _dumps, _loads


class StateOperations(Connection):
    """The state store."""

    shared_values = SharedValues()  # per process (a forked worker starts with the master's, which is empty)

    def get(self, key: str) -> Item:
        """Read one item; a missing key gives ``Item(value=None, etag=None)``."""
        try:
            resp = self.client.get_state(self.settings.state_store, key)
        except Exception as err:
            raise self._fail(err, f"get {key}") from err
        value = _loads(resp.data)
        return Item(key, value, resp.etag or None if value is not None else None, len(resp.data or b""))

    def get_many(self, keys: Sequence[str], shared: Collection[str] = ()) -> list[Item]:
        """Read many items in one sidecar call, in the order of ``keys``.

        An answer past the message limit is read again in halves (a call each), so a bulk read
        is bounded by bytes, not by its number of keys; ``TooLarge`` only for one item that is.
        ``shared``: keys whose values the caller only reads: decoded once per stored version and the same object
        for every such reader (``SharedValues``); the caller must not change them.
        """
        if not keys:
            return []
        try:
            resp = self.client.get_bulk_state(self.settings.state_store, list(keys), parallelism=16)
        except Exception as err:
            error = self._fail(err, f"bulk get of {len(keys)} keys")
            if isinstance(error, TooLarge) and len(keys) > 1:
                half = len(keys) // 2
                return self.get_many(keys[:half], shared) + self.get_many(keys[half:], shared)
            raise error from err
        by_key = {}
        for entry in resp.items:
            if entry.error:
                raise Unavailable(f"bulk get {entry.key}: {entry.error}")
            data = entry.data
            value = self.shared_values.decode(entry.key, data) if data and entry.key in shared else _loads(data)
            by_key[entry.key] = Item(entry.key, value, entry.etag or None if value is not None else None,
                                     len(data or b""))
        return [by_key.get(k, Item(k, None, None)) for k in keys]

    def derived(self, key: str, value: Any, name: str, compute) -> Any:
        """What ``compute()`` gives for the shared ``value`` of ``key`` (read with ``get_many(shared=...)``),
        computed once per stored version (``SharedValues.derived``): read-only."""
        return self.shared_values.derived(key, value, name, compute)

    def save(self, key: str, value: Any, etag: str | None = None, ttl_seconds: int | None = None) -> None:
        """Write one item; with ``etag``, raise ``Conflict`` if it changed since."""
        options = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong) if etag else None
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else None
        try:
            self.client.save_state(self.settings.state_store, key, _dumps(value), etag=etag,
                                   options=options, state_metadata=metadata)
        except Exception as err:
            raise self._fail(err, f"save {key}") from err

    def create(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        """Write ``value`` at ``key`` only if the key is absent; ``Conflict`` if it exists.

        First-write concurrency without an ETag: SQL stores insert-if-absent; Dapr's
        Redis store refuses it on a key written with first-write concurrency before
        (so every later write of such a key must carry its ETag).
        """
        options = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)
        metadata = {"ttlInSeconds": str(ttl_seconds)} if ttl_seconds else None
        try:
            self.client.save_state(self.settings.state_store, key, _dumps(value), options=options,
                                   state_metadata=metadata)
        except Exception as err:
            error = self._fail(err, f"create {key}")
            if isinstance(err, grpc.RpcError) and _is_create_refused(err):
                error = Conflict(str(error))
            raise error from err

    def save_versioned(self, key: str, value: Any, etag: str | None, ttl_seconds: int | None = None) -> None:
        """An optimistic write of what was read at ``etag``: over that version, or (``etag`` None) only
        if the key is still absent. ``Conflict`` when someone wrote first."""
        if etag is None:
            self.create(key, value, ttl_seconds=ttl_seconds)
        else:
            self.save(key, value, etag=etag, ttl_seconds=ttl_seconds)

    def delete(self, key: str, etag: str | None = None) -> None:
        """Delete one item; with ``etag``, raise ``Conflict`` if it changed since."""
        options = StateOptions(concurrency=Concurrency.first_write) if etag else None
        try:
            self.client.delete_state(self.settings.state_store, key, etag=etag, options=options)
        except Exception as err:
            raise self._fail(err, f"delete {key}") from err

    def transact(self, operations: Iterable[Upsert | Delete]) -> None:
        """Apply the operations as one state transaction.

        Raises ``Conflict`` when any ETag did not match, ``ValueError`` for an ETag-guarded upsert with a
        TTL (Redis would apply the TTL even when the guard fails) unless it ``expires_anyway``.
        """
        ops = []
        for op in operations:
            if isinstance(op, Upsert) and op.etag and op.ttl_seconds and not op.expires_anyway:
                # Redis applies a TTL even when the write's ETag check fails: never both in a transaction.
                raise ValueError(f"a guarded write with a TTL in a transaction: {op.key}")
            if isinstance(op, Upsert):
                metadata = {"ttlInSeconds": str(op.ttl_seconds)} if op.ttl_seconds else {}
                ops.append(TransactionalStateOperation(
                    key=op.key, data=_dumps(op.value), etag=op.etag,
                    operation_type=TransactionOperationType.upsert, metadata=metadata))
            else:
                ops.append(TransactionalStateOperation(
                    key=op.key, etag=op.etag, operation_type=TransactionOperationType.delete))
        try:
            self.client.execute_state_transaction(self.settings.state_store, ops)
        except Exception as err:
            error = self._fail(err, f"transaction of {len(ops)} operations")
            if isinstance(err, grpc.RpcError) and _is_transaction_etag_failure(err):
                error = Conflict(str(error))
            raise error from err
