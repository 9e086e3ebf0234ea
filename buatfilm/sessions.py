"""One `requests.Session` per process and purpose, so outgoing calls reuse kept-alive
connections (no TCP/TLS handshake per checkout or per WhatsApp message).

`shared_session(key, factory)` builds the session on first use (under a lock) and returns the
same one afterwards. A forked child (gunicorn and celery prefork workers) starts with an empty
registry: it must never write on a socket its parent also uses. Sessions hold no per-call
state here: timeouts are passed per request and the Midtrans deadline is thread-local, so
threads of one process share a session (urllib3's pool hands each thread its own connection).
"""

import os
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar, cast

import requests

S = TypeVar("S", bound=requests.Session)
_lock = threading.Lock()
_sessions: dict[Hashable, requests.Session] = {}


def shared_session(key: Hashable, factory: Callable[[], S]) -> S:
    """This process's session for `key`, made by `factory()` the first time."""
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = factory()
    return cast(S, session)


def reset_after_fork() -> None:
    """Forget the parent's sessions (without closing them: their sockets are the parent's)."""
    global _lock
    _lock = threading.Lock()
    _sessions.clear()


os.register_at_fork(after_in_child=reset_after_fork)
