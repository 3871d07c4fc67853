"""A least-recently-used cache bounded by the bytes its values hold."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class BoundedCache(Generic[V]):
    """A least-recently-used map bounded by the bytes its values hold (thread-safe)."""

    def __init__(self, max_bytes: int, size_of: Callable[[V], int]) -> None:
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._items: OrderedDict[Any, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Any, value: V) -> None:
        size = self._size_of(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= self._size_of(old)
            if size > self.max_bytes:
                return  # larger than the whole cache: not kept
            self._items[key] = value
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= self._size_of(dropped)

    def discard(self, match: Callable[[Any], bool]) -> None:
        """Drop every entry whose key matches."""
        with self._lock:
            for key in [k for k in self._items if match(k)]:
                self._bytes -= self._size_of(self._items.pop(key))

    @property
    def bytes(self) -> int:
        return self._bytes

    def cached_keys(self) -> list[Any]:
        """The keys held now, least recently used first."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)
