"""Checksum validators: valid identifiers pass, altered control characters fail."""

from __future__ import annotations

import pytest

from alia_clin.deid import validators as v


@pytest.mark.parametrize("value", ["12345678Z", "12345678-Z", "12 345 678 Z", "00000000T"])
def test_dni_valid(value: str) -> None:
    assert v.is_valid_dni(value)


@pytest.mark.parametrize("value", ["12345678A", "1234567Z", "ABCDEFGHZ", ""])
def test_dni_invalid(value: str) -> None:
    assert not v.is_valid_dni(value)


def test_dni_letter() -> None:
    assert v.dni_letter(12345678) == "Z"


def test_nie() -> None:
    assert v.is_valid_nie("X1234567L")
    assert v.is_valid_nie("Y-1234567-X")
    assert not v.is_valid_nie("X1234567A")
    assert not v.is_valid_nie("12345678Z")
    assert v.is_valid_nif("X1234567L") and v.is_valid_nif("12345678Z")


def test_cif() -> None:
    assert v.is_valid_cif("B12345674")
    assert v.is_valid_cif("A58818501")
    assert not v.is_valid_cif("B12345670")
    assert not v.is_valid_cif("Q1234567A")  # Q needs control letter D


def test_nass() -> None:
    assert v.nass_control("28", "12345678") == 40
    assert v.is_valid_nass("28 12345678 40")
    assert v.is_valid_nass("080123456717")  # short number rule: prov * 10**8 + num
    assert not v.is_valid_nass("28 12345678 41")
    assert not v.is_valid_nass("08 26908567 15")
    assert not v.is_valid_nass("2812345678")


def test_iban() -> None:
    assert v.is_valid_iban("ES91 2100 0418 4502 0005 1332")
    assert v.is_valid_iban("es9121000418450200051332")
    assert not v.is_valid_iban("ES92 2100 0418 4502 0005 1332")
    assert not v.is_valid_iban("ES91 2100 0418 4502 0005 133")  # ES must be 24 characters


def test_luhn_ip_date() -> None:
    assert v.is_valid_luhn("4539 1488 0343 6467")
    assert not v.is_valid_luhn("4539 1488 0343 6468")
    assert v.is_valid_ipv4("192.168.1.20") and not v.is_valid_ipv4("300.1.1.1")
    assert v.is_valid_date("03/03/1946") and v.is_valid_date("2015-03-31")
    assert not v.is_valid_date("45/13/2015")
