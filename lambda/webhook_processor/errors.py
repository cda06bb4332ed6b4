"""Exception types shared by the processor's modules."""

from __future__ import annotations


class ConfigError(Exception):
    """The function's environment (not the message) is wrong."""


class TransientError(Exception):
    """A failure worth retrying: the record goes back to SQS (and to the DLQ eventually).

    ``code`` is a short machine-readable code for logs and metrics.
    """

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
