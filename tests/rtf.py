"""Synthetic RTF for tests: a plain note written the way word processors save it."""

from __future__ import annotations


def _escape(char: str) -> str:
    code = ord(char)
    if char in "\\{}":
        return "\\" + char
    return char if code < 128 else f"\\'{code:02x}" if code < 256 else f"\\u{code}?"


def as_rtf(text: str) -> str:
    """``text`` as RTF: ``\\ { }`` escaped, Latin-1 letters as ``\\'hh``, others as ``\\uN?``, lines
    as ``\\par``."""
    body = "".join(_escape(c) for c in text).replace("\n", "\\par\n")
    return "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}\\f0 " + body + "}"
