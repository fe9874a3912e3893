"""Keeping secrets out of output: tokens and URL credentials are masked.

Every message relbot prints passes through :func:`mask` (the CLI's error
handler and output functions call it), and a logging filter does the same for
library logs, after python-semantic-release's ``masking_filter``.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "*****"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")
_registered: set[str] = set()
TOKEN_VARIABLES = ("RELBOT_MR_TOKEN", "RELBOT_RELEASE_TOKEN", "RELBOT_GITLAB_TOKEN", "CI_JOB_TOKEN",
                   "GITLAB_TOKEN", "CI_REGISTRY_PASSWORD")


def register(secret: str | None) -> None:
    """Remember a secret so that :func:`mask` hides it wherever it appears."""
    if secret and len(secret) >= 4:
        _registered.add(secret)


def register_environment(extra: tuple[str, ...] = ()) -> None:
    """Register the tokens found in the usual environment variables."""
    for name in (*TOKEN_VARIABLES, *extra):
        register(os.environ.get(name))


def mask(text: str) -> str:
    """``text`` with every registered secret and every URL credential replaced."""
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


class MaskingFilter(logging.Filter):
    """Masks secrets in log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        return True


def install_logging_filter() -> None:
    """Mask secrets in every log record, whichever library emits it."""
    masking = MaskingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(masking)
    logging.getLogger().addFilter(masking)
