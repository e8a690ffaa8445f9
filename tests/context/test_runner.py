"""The folder contract with gold entities: ``process_folder(..., entities_from=..., tasks=["context"])``
on a pipeline with alia_sections + alia_context writes BRAT ``A`` lines for the assertions."""

from __future__ import annotations

from pathlib import Path

from alia_clin.runner import process_folder

from .conftest import make_nlp


def test_process_folder_writes_assertion_attributes(tmp_path: Path) -> None:
    text = (
        "Antecedentes familiares: madre con asma.\nEnfermedad actual: no presenta fiebre. Posible neumonía.\n"
    )
    notes, gold, out = tmp_path / "in", tmp_path / "gold", tmp_path / "out"
    notes.mkdir()
    gold.mkdir()
    (notes / "n1.txt").write_text(text, encoding="utf-8", newline="")
    lines = []
    for k, word in enumerate(["asma", "fiebre", "neumonía"], start=1):
        i = text.index(word)
        lines.append(f"T{k}\tENT {i} {i + len(word)}\t{word}")
    (gold / "n1.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = process_folder(
        make_nlp(), notes, out, input_format="brat", entities_from=gold, tasks=["context"]
    )
    assert summary.processed == 1 and summary.failed == 0
    ann = (out / "n1.ann").read_text(encoding="utf-8")
    attrs = sorted(line.split("\t")[1].split()[0] for line in ann.splitlines() if line.startswith("A"))
    assert attrs == ["Family", "Negated", "Uncertain"]
