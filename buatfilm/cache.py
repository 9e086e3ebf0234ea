"""The Redis cache as an optimisation, never a dependency (issue 10, point 2).

PostgreSQL is the truth; Redis only holds rate-limit counters. `FailOpenRedisCache` is Django's
RedisCache whose every operation, when Redis is unreachable (refused, timed out, out of memory),
answers as an empty cache would instead of raising: reads miss, writes are dropped, `incr`
raises the `ValueError` of a missing key, which django-ratelimit (`RATELIMIT_FAIL_OPEN`) turns
into "not limited". One warning is logged when Redis goes away and one line when it is back.

After a failure the process skips Redis for `SKIP_SECONDS` (answering at once, so a dead or
black-holed Redis costs one short connect timeout per few seconds, not one per cache call) and
then tries again: rate limits resume by themselves when Redis returns.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class FailOpenRedisCache(RedisCache):
    SKIP_SECONDS = 5.0
    _lock = threading.Lock()
    _down_until = 0.0  # monotonic; per process, shared by every instance
    _down = False

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.skip_seconds = float(options.pop("fail_open_skip_seconds", self.SKIP_SECONDS))
        super().__init__(server, {**params, "OPTIONS": options})

    def _guarded(self, operation: str, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        cls = type(self)
        if cls._down and time.monotonic() < cls._down_until:
            return fallback()
        try:
            result = call()
        except RedisError as exc:
            with cls._lock:
                if not cls._down:
                    logger.warning(
                        "event=cache_unavailable operation=%s error=%s: Redis unreachable; "
                        "cache and rate limits fail open until it answers again",
                        operation,
                        type(exc).__name__,
                    )
                cls._down = True
                cls._down_until = time.monotonic() + self.skip_seconds
            return fallback()
        if cls._down:
            with cls._lock:
                if cls._down:
                    cls._down = False
                    logger.warning("event=cache_available: Redis answers again; rate limits on")
        return result

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        return self._guarded(
            "add",
            lambda: super(FailOpenRedisCache, self).add(
                key, value, version=version, timeout=timeout
            ),
            lambda: False,
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guarded(
            "get",
            lambda: super(FailOpenRedisCache, self).get(key, default, version),
            lambda: default,
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._guarded(
            "set",
            lambda: super(FailOpenRedisCache, self).set(
                key, value, version=version, timeout=timeout
            ),
            lambda: None,
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        return self._guarded(
            "touch",
            lambda: super(FailOpenRedisCache, self).touch(key, version=version, timeout=timeout),
            lambda: False,
        )

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._guarded(
            "delete", lambda: super(FailOpenRedisCache, self).delete(key, version), lambda: False
        )

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._guarded(
            "get_many", lambda: super(FailOpenRedisCache, self).get_many(keys, version), dict
        )

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._guarded(
            "has_key", lambda: super(FailOpenRedisCache, self).has_key(key, version), lambda: False
        )

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        def missing() -> int:
            raise ValueError(f"Key '{key}' not found (cache unavailable)")

        return self._guarded(
            "incr", lambda: super(FailOpenRedisCache, self).incr(key, delta, version), missing
        )

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> list[Any]:
        return self._guarded(
            "set_many",
            lambda: super(FailOpenRedisCache, self).set_many(
                data, version=version, timeout=timeout
            ),
            lambda: list(data),
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._guarded(
            "delete_many",
            lambda: super(FailOpenRedisCache, self).delete_many(keys, version),
            lambda: None,
        )

    def clear(self) -> None:
        self._guarded("clear", lambda: super(FailOpenRedisCache, self).clear(), lambda: None)
