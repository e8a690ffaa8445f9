"""BRAT reading/writing: offsets, discontinuous spans, attributes, malformed lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.io.brat import format_ann, parse_ann, read_ann, write_ann


def test_parse_entities_attributes_and_discontinuous() -> None:
    content = (
        "T1\tFECHAS 10 20\t03/02/2024\n"
        "T2\tENFERMEDAD 30 35;40 45\tdolor torácico\n"
        "A1\tNegated T2\n"
        "#1\tAnnotatorNotes T1\tnote\n"
    )
    doc = parse_ann(content)
    assert [(e.id, e.label, e.start, e.end) for e in doc.entities] == [
        ("T1", "FECHAS", 10, 20),
        ("T2", "ENFERMEDAD", 30, 45),
    ]
    assert doc.entities[1].fragments == ((30, 35), (40, 45))
    assert [(a.name, a.target) for a in doc.attributes] == [("Negated", "T2")]


def test_malformed_offsets_raise_coded_error() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E008\]"):
        parse_ann("T1\tFECHAS ten 20\tx\n")


def test_format_and_roundtrip(tmp_path: Path) -> None:
    text = "Ingreso el 03/02/2024\ncon\tdisnea."
    items = [(11, 21, "FECHAS"), (26, 32, "SINTOMA")]
    content = format_ann(text, items, [(1, "Negated")])
    assert content.splitlines() == [
        "T1\tFECHAS 11 21\t03/02/2024",
        "T2\tSINTOMA 26 32\tdisnea",
        "A1\tNegated T2",
    ]
    path = tmp_path / "n.ann"
    write_ann(path, content)
    back = read_ann(path)
    assert [(e.start, e.end, e.label) for e in back.entities] == items


def test_span_text_with_newline_is_kept_on_one_line() -> None:
    text = "Calle\nMayor 3"
    assert format_ann(text, [(0, 13, "CALLE")]) == "T1\tCALLE 0 13\tCalle Mayor 3\n"


def test_missing_ann_reads_empty(tmp_path: Path) -> None:
    assert read_ann(tmp_path / "none.ann").entities == []
