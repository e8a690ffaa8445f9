"""BRAT corpus readers: label mapping, dropped labels, dedup across corpora, dev exclusion, splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.training.corpora import (
    NER_LABELS,
    TaskSources,
    build_training_data,
    canonical_id,
    read_source,
    resolve_overlaps,
)

from .synthetic import PHI_NOTES, make_corpus_tree

NER_TRAIN = ["cardioccc/train", "distemist_symptemist_medprocner/train", "pharmaconer/train"]


def _tasks(fraction: float = 0.3) -> dict[str, TaskSources]:
    return {
        "phi": TaskSources(train=["meddocan/train"], dev=["meddocan/dev"]),
        "ner": TaskSources(
            train=list(NER_TRAIN),
            holdout="cardioccc/train",
            holdout_fraction=fraction,
            labels=list(NER_LABELS),
        ),
    }


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return make_corpus_tree(tmp_path / "corpora")


def test_cardioccc_labels_are_mapped_to_spanish(tree: Path) -> None:
    docs = read_source(tree, "cardioccc/train")
    labels = {lab for ex in docs for _, _, lab in ex.spans}
    assert labels == {"ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"}
    ex = docs[0]
    assert all(ex.text[s:e] for s, e, _ in ex.spans)
    assert ex.annotated == frozenset(NER_LABELS)


def test_pharmaconer_drugs_merge_and_proteins_are_dropped(tree: Path) -> None:
    docs = {ex.id: ex for ex in read_source(tree, "pharmaconer/train")}
    s4 = docs["S0004-1"]
    # NORMALIZABLES and NO_NORMALIZABLES on the same offsets: one FARMACO span; UNCLEAR dropped
    assert [(s4.text[s:e], lab) for s, e, lab in s4.spans] == [("enalapril", "FARMACO")]
    s2 = docs["S0002-1"]
    assert [lab for _, _, lab in s2.spans] == ["FARMACO"]  # PROTEINAS dropped
    assert s2.annotated == frozenset({"FARMACO"})


def test_meddocan_labels_kept_and_crlf_offsets_exact(tree: Path) -> None:
    docs = read_source(tree, "meddocan/train")
    crlf = next(ex for ex in docs if "\r\n" in ex.text)
    assert ("Joan Puig Ferrer", "NOMBRE_PERSONAL_SANITARIO") in {
        (crlf.text[s:e], lab) for s, e, lab in crlf.spans
    }
    assert docs[0].annotated is None  # every PHI label annotated


def test_canonical_id_strips_language_prefix() -> None:
    assert canonical_id("es-S0004-06142005000500011-1") == "S0004-06142005000500011-1"
    assert canonical_id("casos_clinicos_cardiologia10") == "casos_clinicos_cardiologia10"


def test_dedup_merges_shared_documents_and_excludes_dev_documents(tree: Path) -> None:
    data = build_training_data(tree, _tasks())
    ner = data.tasks["ner"]
    train_ids = {ex.id for ex in ner.train}
    # S0001-1 is a MEDDOCAN dev note: its copies in DisTEMIST/PharmaCoNER train are removed
    assert "S0001-1" not in train_ids
    assert data.report["tasks"]["ner"]["train_docs_removed_as_dev_linked"] == 2
    # S0002-1 in DisTEMIST (es-S0002-1) and PharmaCoNER: one example with both annotations
    merged = next(ex for ex in ner.train if ex.id == "S0002-1")
    assert {lab for _, _, lab in merged.spans} == {"ENFERMEDAD", "SINTOMA", "FARMACO"}
    assert merged.annotated == frozenset({"ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"})
    assert len(merged.sources) == 2
    # no dev document (of any task) in any task's train split
    dev_ids = {ex.id for t in data.tasks.values() for ex in t.dev}
    dev_texts = {ex.text for t in data.tasks.values() for ex in t.dev}
    for task in data.tasks.values():
        assert not dev_ids & {ex.id for ex in task.train}
        assert not dev_texts & {ex.text for ex in task.train}
    # the MEDDOCAN train note sharing the dev note's sentences is a different text: kept
    assert data.tasks["phi"].dev[0].text == PHI_NOTES[0][0]
    assert data.report["sources"]["pharmaconer/train"]["labels_dropped"] == {"PROTEINAS": 1, "UNCLEAR": 1}


def test_holdout_split_is_deterministic_and_disjoint(tree: Path) -> None:
    a = build_training_data(tree, _tasks(0.3)).tasks["ner"]
    b = build_training_data(tree, _tasks(0.3)).tasks["ner"]
    assert [ex.id for ex in a.dev] == [ex.id for ex in b.dev]
    assert a.dev and all(ex.id.startswith("casos_clinicos_cardiologia") for ex in a.dev)
    assert not {ex.id for ex in a.dev} & {ex.id for ex in a.train}
    cardio = [ex for ex in a.train if ex.id.startswith("casos_clinicos")]
    assert len(cardio) + len(a.dev) == 10


def test_e3c_is_refused(tree: Path) -> None:
    tasks = {"ner": TaskSources(train=["e3c/Spanish"], dev=["cardioccc/train"])}
    with pytest.raises(AliaClinValueError, match=r"\[E132\]"):
        build_training_data(tree, tasks)


def test_unknown_corpus_and_missing_folder(tree: Path) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E134\]"):
        read_source(tree, "nosuchcorpus/train")
    with pytest.raises(AliaClinValueError, match=r"\[E131\]"):
        read_source(tree, "cantemist/dev1")


def test_task_without_dev_documents_is_an_error(tree: Path) -> None:
    tasks = {"ner": TaskSources(train=["cantemist/train"], holdout="cantemist/train", holdout_fraction=0.0)}
    with pytest.raises(AliaClinValueError, match=r"\[E133\]"):
        build_training_data(tree, tasks)


def test_resolve_overlaps_keeps_longest() -> None:
    spans = [(0, 10, "ENFERMEDAD"), (0, 4, "SINTOMA"), (12, 15, "FARMACO"), (14, 20, "PROCEDIMIENTO")]
    assert resolve_overlaps(spans) == [(0, 10, "ENFERMEDAD"), (14, 20, "PROCEDIMIENTO")]
