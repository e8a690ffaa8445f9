"""Checksum validators for Spanish identifiers.

Every function reads one candidate string (as found in a note: spaces, dots and hyphens between
groups are tolerated and removed first) and returns ``True`` only when the control characters
agree. They never raise on bad input and never log the value.
"""

from __future__ import annotations

import re

__all__ = [
    "dni_letter",
    "is_valid_cif",
    "is_valid_date",
    "is_valid_dni",
    "is_valid_iban",
    "is_valid_ipv4",
    "is_valid_luhn",
    "is_valid_nass",
    "is_valid_nie",
    "is_valid_nif",
    "nass_control",
    "normalize_id",
]

_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_NIE_PREFIX = {"X": "0", "Y": "1", "Z": "2"}
_CIF_LETTERS = "JABCDEFGHI"
_CIF_LETTER_CONTROL = frozenset("KPQRSNW")  # these entity types always use a control letter
_CIF_DIGIT_CONTROL = frozenset("ABEH")  # these always use a control digit
_SEPARATORS = re.compile(r"[\s./-]+")
_IBAN_LENGTHS = {
    "ES": 24, "AD": 24, "PT": 25, "FR": 27, "DE": 22, "IT": 27, "GB": 22, "NL": 18, "BE": 16,
    "CH": 21, "AT": 20, "IE": 22, "LU": 20, "MC": 27, "SE": 24, "NO": 15, "DK": 18, "FI": 18,
    "PL": 28, "CZ": 24, "GR": 27, "RO": 24, "BG": 22, "HU": 28, "SK": 24, "SI": 19, "HR": 21,
}


def normalize_id(value: str) -> str:
    """Return ``value`` upper-cased without whitespace, dots, slashes or hyphens."""
    return _SEPARATORS.sub("", value).upper()


def dni_letter(number: int) -> str:
    """Return the DNI/NIF control letter for an 8-digit DNI number (``number mod 23``)."""
    return _DNI_LETTERS[number % 23]


def is_valid_dni(value: str) -> bool:
    """Read a DNI/NIF such as ``"12345678Z"`` (separators allowed); True when its letter matches."""
    v = normalize_id(value)
    if len(v) != 9 or not v[:8].isdigit() or not v[8].isalpha():
        return False
    return dni_letter(int(v[:8])) == v[8]


def is_valid_nie(value: str) -> bool:
    """Read a NIE (``X``/``Y``/``Z`` + 7 digits + letter); True when its control letter matches."""
    v = normalize_id(value)
    if len(v) != 9 or v[0] not in _NIE_PREFIX or not v[1:8].isdigit() or not v[8].isalpha():
        return False
    return dni_letter(int(_NIE_PREFIX[v[0]] + v[1:8])) == v[8]


def is_valid_nif(value: str) -> bool:
    """Read a personal NIF (DNI or NIE form); True when either check passes."""
    return is_valid_dni(value) or is_valid_nie(value)


def _cif_control_digit(digits: str) -> int:
    """Return the CIF control digit (0-9) for the 7 central digits."""
    even = sum(int(d) for d in digits[1::2])
    odd = 0
    for d in digits[0::2]:
        doubled = int(d) * 2
        odd += doubled // 10 + doubled % 10
    return (10 - (even + odd) % 10) % 10


def is_valid_cif(value: str) -> bool:
    """Read a CIF (entity letter + 7 digits + control digit or letter); True when the control agrees."""
    v = normalize_id(value)
    if len(v) != 9 or v[0] not in "ABCDEFGHJNPQRSUVW" or not v[1:8].isdigit():
        return False
    control = _cif_control_digit(v[1:8])
    last = v[8]
    if v[0] in _CIF_LETTER_CONTROL:
        return last == _CIF_LETTERS[control]
    if v[0] in _CIF_DIGIT_CONTROL:
        return last == str(control)
    return last in (str(control), _CIF_LETTERS[control])


def nass_control(province: str, number: str) -> int:
    """Return the 2-digit control of a Seguridad Social number.

    Reads the 2-digit province and the 8-digit (or shorter) sequence number. Numbers below
    10,000,000 use ``province * 10**8 + number``; others the concatenation; the control is that
    value mod 97.
    """
    num = int(number)
    base = int(province) * 10**8 + num if num < 10_000_000 else int(province + number)
    return base % 97


def is_valid_nass(value: str) -> bool:
    """Read a 12-digit NASS (``PP NNNNNNNN CC``, separators allowed); True when its control matches."""
    v = normalize_id(value)
    if len(v) != 12 or not v.isdigit():
        return False
    return nass_control(v[:2], v[2:10]) == int(v[10:])


def is_valid_iban(value: str) -> bool:
    """Read an IBAN (spaces allowed); True when the ISO 13616 mod-97 check gives 1 and length fits."""
    v = normalize_id(value)
    if len(v) < 15 or len(v) > 34 or not v[:2].isalpha() or not v[2:4].isdigit() or not v.isalnum():
        return False
    expected = _IBAN_LENGTHS.get(v[:2])
    if expected is not None and len(v) != expected:
        return False
    rearranged = v[4:] + v[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def is_valid_luhn(value: str) -> bool:
    """Read a digit string (separators allowed); True when it passes the Luhn mod-10 check."""
    v = normalize_id(value)
    if len(v) < 2 or not v.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(v)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_valid_ipv4(value: str) -> bool:
    """Read a dotted quad; True when it has four parts, each 0-255 without a leading zero."""
    parts = value.strip().split(".")
    if len(parts) != 4:
        return False
    for part in parts:
        if not part.isdigit() or int(part) > 255 or (len(part) > 1 and part[0] == "0"):
            return False
    return True


_DATE_PARTS = re.compile(r"\d+")


def is_valid_date(value: str) -> bool:
    """Read a numeric date (``d/m/y``, ``d-m-y``, ``d.m.y`` or ``y-m-d``); True when day and month fit.

    Two-digit years are accepted. Only the ranges are checked (day 1-31, month 1-12).
    """
    parts = _DATE_PARTS.findall(value)
    if len(parts) != 3:
        return False
    if len(parts[0]) == 4:
        year, month, day = parts
    else:
        day, month, year = parts
    if len(year) not in (2, 4):
        return False
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12
