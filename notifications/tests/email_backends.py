"""An email backend for failure tests: anymail's own test ESP, raising queued errors first
(through anymail's send path, exactly where a real ESP's HTTP error would surface)."""

from typing import Any, ClassVar

from anymail.backends.test import EmailBackend


class ScriptedEmailBackend(EmailBackend):
    errors: ClassVar[list[Exception]] = []

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        if ScriptedEmailBackend.errors:
            raise ScriptedEmailBackend.errors.pop(0)
        return super().post_to_esp(payload, message)
