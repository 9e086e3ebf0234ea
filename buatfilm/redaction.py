"""Bearer secrets out of log lines: the order access key (`?key=`, `X-Order-Key`), magic-link
tokens (`/login/<token>/`), Midtrans signatures and anything else named like a secret.

`redact(text)` is applied by the `redact` logging filter (every Django/Celery log line) and by
`buatfilm.gunicorn_logging.RedactingLogger` (gunicorn's access log). It is a last line of
defence: code should not log secrets in the first place.
"""

import re

REDACTED = "[redacted]"
_NAME_PATTERN = (
    r"(?:[\w-]*[_-])?(?:key|token|signature|secret|password|passwd|authorization)(?:[_-][\w-]*)?"
)
# name=value in query strings, form bodies and "k=v" log fields.
_QUERY_PARAM = re.compile(rf"(?i)\b({_NAME_PATTERN}=)[^&\s\"'#;,]+")
# "X-Order-Key: value", "signature_key": "value", 'token': 'value' (headers, JSON, reprs).
_HEADER_OR_JSON = re.compile(
    rf"""(?ix)(["']?\b{_NAME_PATTERN}["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token)\s+)?)"""
    r"""(?!\[redacted\])[^\s"',&}]+"""
)
# Single-use login links: /login/<token>/ (but not the /login/ form itself).
_LOGIN_TOKEN = re.compile(r"(/login/)(?!\[redacted\])[^/\s?\"']+")
# Every pattern above needs one of these (case-insensitively): a line without any of them is
# returned as it is, without running the patterns (most log lines: a few microseconds instead
# of 25-40 for the three scans).
_CLUES = ("key", "token", "signature", "secret", "passw", "authorization", "/login/")


def redact(text: str) -> str:
    if not text:
        return text
    lowered = text.lower()
    if not any(clue in lowered for clue in _CLUES):
        return text
    text = _QUERY_PARAM.sub(rf"\g<1>{REDACTED}", text)
    text = _HEADER_OR_JSON.sub(rf"\g<1>{REDACTED}", text)
    return _LOGIN_TOKEN.sub(rf"\g<1>{REDACTED}", text)
