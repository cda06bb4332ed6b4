"""Log levels of the package's functions (the processor and the responders)."""

from __future__ import annotations

import logging


def configure(level_name: str) -> None:
    """``level_name`` (LOG_LEVEL) for the package's loggers; the SDK's stay at WARNING or above."""
    level = logging.getLevelName(level_name)
    if isinstance(level, int):
        logging.getLogger("webhook_processor").setLevel(level)
    # botocore's DEBUG output includes request and response bodies, i.e. GetSecretValue's
    # SecretString: keep the SDK quiet even when the function's log level is DEBUG.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).getEffectiveLevel()))
