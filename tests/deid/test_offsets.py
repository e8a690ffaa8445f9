"""Tests for alia_clin.deid.offsets.OffsetMap (synthetic offsets and texts only)."""

from __future__ import annotations

import json
import random

import pytest
import srsly

from alia_clin.deid.offsets import OffsetMap, identity_map
from alia_clin.errors import AliaClinValueError

# Original "Hola Ana, 53 años." with "Ana" [5, 8) → "[NOMBRE]" (8 chars) and "53" [10, 12) → "" .
ORIG = "Hola Ana, 53 años."
NEW = "Hola [NOMBRE],  años."
REPS = [(5, 8, 5, 13), (10, 12, 15, 15)]


@pytest.fixture()
def omap() -> OffsetMap:
    return OffsetMap(REPS, len(ORIG))


def test_lengths_and_replacements(omap: OffsetMap) -> None:
    assert omap.orig_length == len(ORIG)
    assert omap.new_length == len(NEW)
    assert omap.replacements == REPS
    assert len(omap) == 2


@pytest.mark.parametrize(
    ("orig_span", "new_span"),
    [
        ((0, 4), (0, 4)),  # before every replacement: exact
        ((0, 5), (0, 5)),  # touching the start of a replacement
        ((5, 8), (5, 13)),  # exactly the PHI span
        ((6, 7), (5, 13)),  # fully inside the PHI span: whole replacement
        ((3, 6), (3, 13)),  # starts before, ends inside: widened
        ((8, 9), (13, 14)),  # right after the replacement: exact
        ((12, 18), (15, 21)),  # after the redacted span: shifted by both deltas
        ((13, 17), (16, 20)),  # "años"
        ((10, 12), (15, 15)),  # the redacted span itself maps to an empty span
        ((0, 18), (0, 21)),  # everything
        ((4, 4), (4, 4)),  # empty span outside PHI
    ],
)
def test_to_new(omap: OffsetMap, orig_span: tuple[int, int], new_span: tuple[int, int]) -> None:
    assert omap.to_new(*orig_span) == new_span


def test_text_outside_phi_maps_exactly(omap: OffsetMap) -> None:
    assert NEW[slice(*omap.to_new(0, 4))] == ORIG[0:4]
    assert NEW[slice(*omap.to_new(13, 17))] == "años"
    assert NEW[slice(*omap.to_new(8, 10))] == ", "


@pytest.mark.parametrize(
    ("new_span", "orig_span"),
    [
        ((0, 4), (0, 4)),
        ((5, 13), (5, 8)),  # the tag maps back to the PHI span
        ((7, 9), (5, 8)),  # inside the tag
        ((13, 14), (8, 9)),
        ((16, 20), (13, 17)),  # "años" after the redaction
        ((15, 15), (10, 10)),  # empty span at the redaction: before the removed text
        ((14, 16), (9, 13)),  # " " + " " around the removed text: the removed PHI is inside
        ((15, 16), (12, 13)),  # starting at the redaction: after the removed text
        ((13, 15), (8, 10)),  # ending at the redaction: before the removed text
    ],
)
def test_to_original(omap: OffsetMap, new_span: tuple[int, int], orig_span: tuple[int, int]) -> None:
    assert omap.to_original(*new_span) == orig_span


def test_single_offsets(omap: OffsetMap) -> None:
    assert omap.offset_to_new(0) == 0
    assert omap.offset_to_new(6) == 5
    assert omap.offset_to_new(18) == 21
    assert omap.offset_to_original(9) == 5
    assert omap.offset_to_original(21) == 18


@pytest.mark.parametrize("span", [(-1, 2), (2, 1), (0, 19), (19, 19)])
def test_out_of_range_spans_raise_e003(omap: OffsetMap, span: tuple[int, int]) -> None:
    with pytest.raises(AliaClinValueError) as err:
        omap.to_new(*span)
    assert err.value.code == "E003"


def test_out_of_range_new_span_raises_e003(omap: OffsetMap) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E003\]"):
        omap.to_original(0, 22)


@pytest.mark.parametrize("offset", [-1, 19])
def test_out_of_range_offset_raises_e014(omap: OffsetMap, offset: int) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E014\]"):
        omap.offset_to_new(offset)


@pytest.mark.parametrize(
    "reps",
    [
        [(5, 8, 5, 13), (7, 12, 12, 12)],  # overlapping
        [(10, 12, 10, 10), (5, 8, 5, 13)],  # unsorted
        [(5, 5, 5, 8)],  # empty original span
        [(5, 8, 6, 13)],  # inconsistent new start
        [(5, 30, 5, 10)],  # beyond the text
        [(5, 8, 5)],  # not four values
    ],
)
def test_invalid_replacements_raise_e050(reps: list[tuple[int, ...]]) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E050\]"):
        OffsetMap(reps, len(ORIG))  # type: ignore[arg-type]


def test_identity_map() -> None:
    omap = identity_map(10)
    assert omap.to_new(2, 7) == (2, 7)
    assert omap.to_original(0, 10) == (0, 10)
    assert omap.new_length == 10


def test_dict_round_trip_json_and_msgpack(omap: OffsetMap) -> None:
    data = omap.to_dict()
    assert all(isinstance(v, int) or all(isinstance(x, int) for x in v) for v in data.values())  # type: ignore[union-attr]
    assert OffsetMap.from_dict(json.loads(json.dumps(data))) == omap
    assert OffsetMap.from_dict(srsly.msgpack_loads(srsly.msgpack_dumps(data))) == omap


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"orig_length": 3},
        {
            "version": 99,
            "orig_length": 3,
            "orig_starts": [],
            "orig_ends": [],
            "new_starts": [],
            "new_ends": [],
        },
        {"orig_length": 18, "orig_starts": [5], "orig_ends": [], "new_starts": [5], "new_ends": [13]},
    ],
)
def test_from_dict_rejects_malformed(data: dict[str, object]) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E050\]"):
        OffsetMap.from_dict(data)


def test_unicode_emoji_and_crlf() -> None:
    orig = "Niño 👶 de Peña\r\nDNI 12345678Z\r\nfin ñ"
    phi_start = orig.index("Peña")
    dni_start = orig.index("12345678Z")
    new = orig[:phi_start] + "[N]" + orig[phi_start + 4 : dni_start] + "#" + orig[dni_start + 9 :]
    delta = 3 - 4
    reps = [
        (phi_start, phi_start + 4, phi_start, phi_start + 3),
        (dni_start, dni_start + 9, dni_start + delta, dni_start + delta + 1),
    ]
    omap = OffsetMap(reps, len(orig))
    assert omap.new_length == len(new)
    emoji = orig.index("👶")
    assert new[slice(*omap.to_new(emoji, emoji + 1))] == "👶"
    crlf = orig.index("\r\n")
    assert new[slice(*omap.to_new(crlf, crlf + 2))] == "\r\n"
    tail = orig.index("fin ñ")
    assert new[slice(*omap.to_new(tail, len(orig)))] == "fin ñ"
    assert omap.to_original(*omap.to_new(tail, len(orig))) == (tail, len(orig))


def _reference_to_new(reps: list[tuple[int, int, int, int]], start: int, end: int) -> tuple[int, int]:
    """Linear-scan reference implementation of the mapping rules."""
    new_start = new_end = None
    shift_start = shift_end = 0
    for o_s, o_e, n_s, n_e in reps:
        if o_s <= start < o_e:
            new_start = n_s
        if o_e <= start:
            shift_start = n_e - o_e
        if o_s < end <= o_e:
            new_end = n_e
        if o_e < end:
            shift_end = n_e - o_e
    return (
        start + shift_start if new_start is None else new_start,
        end + shift_end if new_end is None else new_end,
    )


def _random_replacements(rnd: random.Random, length: int) -> list[tuple[int, int, int, int]]:
    """Return random sorted, non-overlapping (possibly adjacent) replacements over ``length``."""
    cuts = sorted(rnd.choices(range(length + 1), k=2 * rnd.randint(0, 6)))
    reps, delta = [], 0
    for o_s, o_e in zip(cuts[::2], cuts[1::2], strict=True):
        if o_s == o_e:
            continue
        new_len = rnd.choice([0, 1, 5, 25])
        reps.append((o_s, o_e, o_s + delta, o_s + delta + new_len))
        delta += new_len - (o_e - o_s)
    return reps


@pytest.mark.parametrize("seed", range(25))
def test_bisect_matches_linear_reference(seed: int) -> None:
    rnd = random.Random(seed)
    length = rnd.randint(0, 60)
    reps = _random_replacements(rnd, length)
    omap = OffsetMap(reps, length)
    for start in range(length + 1):
        for end in range(start, length + 1):
            assert omap.to_new(start, end) == _reference_to_new(reps, start, end)
    covered = {i for o_s, o_e, _, _ in reps for i in range(o_s, o_e)}
    for start in range(length):
        if start not in covered:
            assert omap.to_original(*omap.to_new(start, start + 1)) == (start, start + 1)
