"""Credentials never reach a screen or a log: masking of passwords in URLs and messages.

A storage URL such as ``postgresql+psycopg://bob:s3cret@db/tunelab`` carries a password;
database drivers repeat the URL or a ``password=...`` connection string in their errors.
Every place that prints a URL or a driver's message passes it through :func:`mask`.
"""

from __future__ import annotations

import re

MASK = "***"
"""What a password is replaced with."""

_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)[^\s'\"]*(?=@)")
_KEY_PASSWORD = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<quote>['\"]?)[^\s&;'\"]+",
                           re.IGNORECASE)


def mask(text: str) -> str:
    """``text`` with every password replaced by ``***``: the ``user:password@`` part of any
    URL and any ``password=...`` pair (query strings, libpq connection strings)."""
    text = _URL_PASSWORD.sub(lambda m: m["head"] + MASK, text)
    return _KEY_PASSWORD.sub(lambda m: m["head"] + m["quote"] + MASK, text)


__all__ = ["MASK", "mask"]
