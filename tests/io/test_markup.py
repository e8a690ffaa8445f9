"""Markup detection, and RTF conversion on real note text (every CardioCCC train note survives a
round trip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alia_clin.io.markup import detect_markup, rtf_text, to_plain_text

from ..rtf import as_rtf


def test_cardioccc_train_notes_round_trip_through_rtf(corpora: Path) -> None:
    notes = sorted((corpora / "cardioccc" / "train").glob("*.txt"))
    assert len(notes) > 200
    changed = [p.name for p in notes if rtf_text(as_rtf(text := p.read_text(encoding="utf-8"))) != text]
    assert changed == []  # names only: never note text in a failure message


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<div><b>Paciente:</b> Inventada Ficticia<br>NHC: 1</div>", "html"),  # EHR column fragment
        ("<p>Disnea de esfuerzo.</p>", "html"),
        ("<table border=1><tr><td>FEVI</td><td>35 %</td></tr></table>", "html"),
        ("<!DOCTYPE html><html><body>x</body></html>", "html"),
        ("{\\rtf1\\ansi x}", "rtf"),
        ("<5 mg de furosemida al día.", None),  # a plain note that opens with "<"
        ("<b>sin cierre ni salto", None),
        ("Nota con <p>etiquetas</p> en medio.", None),
        ("FEVI <35 %.", None),
    ],
)
def test_detect_markup(text: str, markup: str | None) -> None:
    assert detect_markup(text) == markup


def test_an_html_fragment_gives_its_plain_text() -> None:
    text, markup = to_plain_text("<div><b>Paciente:</b> Inventada Ficticia<br>NHC: 1</div>")
    assert (text, markup) == ("Paciente: Inventada Ficticia\nNHC: 1", "html")
