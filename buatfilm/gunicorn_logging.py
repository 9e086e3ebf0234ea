"""gunicorn's logger with bearer secrets redacted (`gunicorn.conf.py` sets `logger_class`).

The access log would otherwise write the order access key (`?key=`), magic-link tokens
(`/login/<token>/`) and, with a custom format, secret headers such as `X-Order-Key`; the
referer repeats the status page URL with its key. Every atom goes through
`buatfilm.redaction.redact`; header and environ atoms named like a secret are dropped whole.
"""

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

from buatfilm.redaction import REDACTED, redact

_SECRET_ATOM = re.compile(
    r"(?i)^\{.*(key|token|signature|secret|password|authorization|cookie).*\}[ioe]$"
)


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, dict):
            return True  # the access line: its atoms are redacted in `atoms`
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, _RedactFilter) for f in log.filters):
                log.addFilter(_RedactFilter())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if _SECRET_ATOM.match(name):
                atoms[name] = REDACTED
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
