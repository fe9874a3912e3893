"""Keeping secrets out of output: tokens and URL credentials are masked.

Every message relbot prints passes through :func:`mask` (the CLI's error
handler and output functions call it), and a logging filter does the same for
library logs, after python-semantic-release's ``masking_filter``.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote, quote_plus

MASK = "*****"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/@\s]+)@")
_registered: set[str] = set()
TOKEN_VARIABLES = ("RELBOT_GITLAB_TOKEN", "RELBOT_MR_TOKEN", "RELBOT_RELEASE_TOKEN",
                   "CI_JOB_TOKEN", "GITLAB_TOKEN", "CI_REGISTRY_PASSWORD")


def representations(secret: str) -> set[str]:
    """Every form in which a message may carry ``secret``.

    A message may quote a value with ``repr`` (``'tok\\n'``), JSON, or in a URL
    (percent-encoded, ``+`` for spaces); the secret with and without the
    whitespace around it (a token pasted with a newline) is hidden in each.
    """
    import json  # here: every command imports this module, few register a secret

    forms: set[str] = set()
    for value in {secret, secret.strip()}:
        if not value:
            continue
        forms.update({
            value,
            repr(value)[1:-1],
            value.encode("unicode_escape").decode("ascii"),
            json.dumps(value)[1:-1],
            quote(value, safe=""),
            quote_plus(value, safe=""),
        })
    return {form for form in forms if len(form) >= 4}


def register(secret: str | None) -> None:
    """Remember a secret so that :func:`mask` hides it, in every representation."""
    if secret and len(secret.strip()) >= 4:
        _registered.update(representations(secret))


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
        if record.exc_info:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_logging_filter() -> None:
    """Mask secrets in every log record, whichever library emits it."""
    masking = MaskingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(masking)
    logging.getLogger().addFilter(masking)
