"""RTF conversion on real note text: every CardioCCC train note survives a round trip."""

from __future__ import annotations

from pathlib import Path

from alia_clin.io.markup import rtf_text

from ..rtf import as_rtf


def test_cardioccc_train_notes_round_trip_through_rtf(corpora: Path) -> None:
    notes = sorted((corpora / "cardioccc" / "train").glob("*.txt"))
    assert len(notes) > 200
    changed = [p.name for p in notes if rtf_text(as_rtf(text := p.read_text(encoding="utf-8"))) != text]
    assert changed == []  # names only: never note text in a failure message
