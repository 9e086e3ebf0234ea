"""Hostile text: NUL characters, lone UTF-16 surrogates and absurdly long values.

PostgreSQL text and jsonb refuse NUL (psycopg `DataError`), UTF-8 cannot encode a lone
surrogate (`UnicodeEncodeError` on the way to the database or into a response), and neither is
ever part of a real name, email, order id or key. `HostileInputMiddleware` answers such a
request 400 before any view runs; the Midtrans webhook, whose body must be stored rather than
refused when Midtrans signed it, cleans it with `json_sanitise` instead.
"""

import re
from typing import Any

# Longer than any honest value we take in a URL, query or form field (emails, names, keys and
# tokens are all well under this), and than any header a browser or Midtrans sends.
MAX_VALUE_LENGTH = 4096
MAX_PATH_LENGTH = 2048
_HOSTILE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str, *, max_length: int = MAX_VALUE_LENGTH) -> str | None:
    """Why `value` cannot be taken as text, or None."""
    if "\x00" in value:
        return "NUL character"
    if _HOSTILE.search(value):
        return "lone surrogate"
    if len(value) > max_length:
        return f"longer than {max_length} characters"
    return None


def json_problem(value: Any, *, max_length: int = MAX_VALUE_LENGTH, depth: int = 0) -> str | None:
    """The first hostile string (key or value) anywhere in a parsed JSON document, or None."""
    if depth > 32:
        return "nested too deeply"
    if isinstance(value, str):
        return text_problem(value, max_length=max_length)
    if isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(str(key), max_length=max_length) or json_problem(
                item, max_length=max_length, depth=depth + 1
            )
            if problem:
                return problem
    elif isinstance(value, list):
        for item in value:
            if problem := json_problem(item, max_length=max_length, depth=depth + 1):
                return problem
    return None


def text_sanitise(value: str, *, max_length: int = MAX_VALUE_LENGTH) -> str:
    """NUL removed, lone surrogates replaced by U+FFFD, cut to `max_length`."""
    cleaned = value.replace("\x00", "")
    cleaned = _HOSTILE.sub("\ufffd", cleaned)
    return cleaned[:max_length]


def json_sanitise(value: Any, *, path: str = "", changed: list[str] | None = None) -> Any:
    """A copy of a parsed JSON document with every string sanitised; the JSON paths of the
    strings that changed are appended to `changed`."""
    changed = [] if changed is None else changed
    if isinstance(value, str):
        cleaned = text_sanitise(value)
        if cleaned != value:
            changed.append(path or "$")
        return cleaned
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            clean_key = text_sanitise(str(key), max_length=256)
            if clean_key != key:
                changed.append(f"{path}.<key>")
            result[clean_key] = json_sanitise(item, path=f"{path}.{clean_key}", changed=changed)
        return result
    if isinstance(value, list):
        return [
            json_sanitise(item, path=f"{path}[{index}]", changed=changed)
            for index, item in enumerate(value)
        ]
    return value
