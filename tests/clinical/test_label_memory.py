"""Label memory (:mod:`alia_clin.clinical.label_memory`): built from training gold, applied by
``alia_ner`` after decoding, saved with the component."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc

import alia_clin.pipeline.ner  # noqa: F401  (registers the factory)
from alia_clin import TOKENIZER
from alia_clin.clinical.label_memory import (
    FIND_SHARE,
    MIN_COUNT,
    MIN_SHARE,
    LabelMemory,
    build_label_memory,
    memory_key,
)
from alia_clin.errors import AliaClinValueError

TRAIN = [
    ("Cardiomegalia. Disnea.", [(0, 13, "ENFERMEDAD"), (15, 21, "SINTOMA")]),
    ("cardiomegalia  leve", [(0, 13, "ENFERMEDAD"), (0, 19, "SINTOMA")]),
    ("CARDIOMEGALIA", [(0, 13, "ENFERMEDAD")]),
    ("Disnea", [(0, 6, "ENFERMEDAD")]),
    ("Disnea", [(0, 6, "SINTOMA")]),
    ("ECG", [(0, 3, "MEDIDA")]),
]


def test_build_keeps_frequent_unambiguous_wordings_only() -> None:
    memory = build_label_memory(TRAIN, labels=["ENFERMEDAD", "SINTOMA"], min_count=3, min_share=0.9)
    # cardiomegalia: 3 of 3 ENFERMEDAD; disnea: 2 of 3 SINTOMA (< 0.9); leve: once; ECG: other label
    assert memory.labels == {"cardiomegalia": "ENFERMEDAD"}
    looser = build_label_memory(TRAIN, labels=["ENFERMEDAD", "SINTOMA"], min_count=1, min_share=0.6)
    assert looser.labels == {
        "cardiomegalia": "ENFERMEDAD",
        "disnea": "SINTOMA",
        "cardiomegalia leve": "SINTOMA",
    }
    assert memory_key(" Cardiomegalia\n leve ") == "cardiomegalia leve"
    # disnea (2 of 3 SINTOMA) is kept for the finder only; not at all without find_share
    assert memory.found == {"disnea": "SINTOMA"} and memory.find_share == FIND_SHARE
    assert "disnea" in memory.precision
    assert build_label_memory(TRAIN, labels=["SINTOMA"], min_count=3, find_share=None).found == {}
    assert looser.found == {}  # its min_share is at the finder's share: nothing left below it


def test_default_keeps_wordings_seen_twice() -> None:
    train = [
        ("Cardiomegalia.", [(0, 13, "ENFERMEDAD")]),
        ("cardiomegalia", [(0, 13, "ENFERMEDAD")]),
        ("Disnea", [(0, 6, "SINTOMA")]),
    ]
    memory = build_label_memory(train, labels=["ENFERMEDAD", "SINTOMA"])
    assert (memory.min_count, memory.min_share) == (MIN_COUNT, MIN_SHARE) == (2, 0.9)
    assert memory.labels == {"cardiomegalia": "ENFERMEDAD"}  # disnea: once


@pytest.mark.parametrize(
    ("count", "share", "find"), [(0, 0.9, 0.6), (5, 0.5, 0.6), (5, 1.1, 0.6), (5, 0.9, 0.5), (5, 0.9, 1.2)]
)
def test_bad_settings_are_refused(count: int, share: float, find: float) -> None:
    with pytest.raises(AliaClinValueError) as err:
        build_label_memory(TRAIN, labels=["SINTOMA"], min_count=count, min_share=share, find_share=find)
    assert err.value.code == "E107"


def test_round_trip_and_a_file_of_another_kind_is_refused() -> None:
    memory = build_label_memory(
        TRAIN, labels=["ENFERMEDAD", "SINTOMA"], min_count=1, min_share=0.6, sources=["x"]
    )
    assert LabelMemory.from_dict(memory.to_dict()) == memory
    with_found = build_label_memory(TRAIN, labels=["ENFERMEDAD", "SINTOMA"], min_count=3)
    assert with_found.found and LabelMemory.from_dict(with_found.to_dict()) == with_found
    # a memory written before the finder-only wordings existed reads as having none
    old = {k: v for k, v in with_found.to_dict().items() if k not in ("found", "find_share")}
    assert LabelMemory.from_dict(old).found == {}
    with pytest.raises(AliaClinValueError) as err:
        LabelMemory.from_dict({"labels": {}})
    assert err.value.code == "E106"


def _nlp(memory: LabelMemory | None, use: bool = True) -> spacy.language.Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    ner = nlp.add_pipe("alia_ner", config={"label_memory": use})
    ner.set_label_memory(memory)  # type: ignore[attr-defined]
    return nlp


def _annotate(nlp: spacy.language.Language) -> Doc:
    text = "Cardiomegalia y disnea. ECG."
    doc = nlp.make_doc(text)
    spans = [(0, 13, "SINTOMA", 0.9), (16, 22, "SINTOMA", 0.9), (24, 27, "PROCEDIMIENTO", 0.9)]
    nlp.get_pipe("alia_ner")._set_annotations(doc, spans)  # type: ignore[attr-defined]
    return doc


MEMORY = LabelMemory({"cardiomegalia": "ENFERMEDAD", "ecg": "SINTOMA"}, 1, 0.9)


def test_ner_applies_the_memory_to_entities_of_its_labels() -> None:
    doc = _annotate(_nlp(MEMORY))
    # ECG keeps its label: PROCEDIMIENTO is not a label of this memory
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
        (0, 13, "ENFERMEDAD"),
        (16, 22, "SINTOMA"),
        (24, 27, "PROCEDIMIENTO"),
    ]
    assert [e.label_ for e in _annotate(_nlp(MEMORY, use=False)).ents] == [
        "SINTOMA",
        "SINTOMA",
        "PROCEDIMIENTO",
    ]
    assert [e.label_ for e in _annotate(_nlp(None)).ents] == ["SINTOMA", "SINTOMA", "PROCEDIMIENTO"]


def test_memory_is_saved_with_the_component(tmp_path: Path) -> None:
    nlp = _nlp(MEMORY)
    ner = nlp.get_pipe("alia_ner")
    ner.to_disk(tmp_path / "ner")  # type: ignore[attr-defined]
    other = _nlp(None).get_pipe("alia_ner")
    other.from_disk(tmp_path / "ner")  # type: ignore[attr-defined]
    assert other.label_memory == MEMORY  # type: ignore[attr-defined]
    again = _nlp(None).get_pipe("alia_ner")
    again.from_bytes(ner.to_bytes())  # type: ignore[attr-defined]
    assert again.label_memory == MEMORY  # type: ignore[attr-defined]
    # saving without a memory removes the earlier file
    other.set_label_memory(None)  # type: ignore[attr-defined]
    other.to_disk(tmp_path / "ner")  # type: ignore[attr-defined]
    assert not (tmp_path / "ner" / "label_memory.json").exists()


def test_precision_is_the_share_of_training_occurrences_that_are_gold() -> None:
    train = [
        ("Cardiomegalia. Sin cardiomegalia previa.", [(0, 13, "ENFERMEDAD"), (19, 32, "ENFERMEDAD")]),
        ("cardiomegalia", [(0, 13, "ENFERMEDAD")]),
        ("Cardiomegalia y CARDIOMEGALIA", [(0, 13, "ENFERMEDAD")]),  # second occurrence not annotated
    ]
    memory = build_label_memory(train, labels=["ENFERMEDAD"], min_count=3, min_share=0.9)
    assert memory.labels == {"cardiomegalia": "ENFERMEDAD"}
    assert memory.precision == {"cardiomegalia": 0.8}


def _memory(wordings: dict[str, tuple[str, float]]) -> LabelMemory:
    """A memory (min_count 5, min_share .9) from wording -> (label, training-text precision)."""
    return LabelMemory(
        {key: label for key, (label, _) in wordings.items()},
        5,
        0.9,
        precision={key: precision for key, (_, precision) in wordings.items()},
    )


def test_finder_adds_precise_wordings_where_nothing_was_found() -> None:
    memory = _memory(
        {"disnea de esfuerzo": ("SINTOMA", 0.9), "disnea": ("SINTOMA", 0.8), "ecg": ("PROCEDIMIENTO", 0.4)}
    )
    nlp = _nlp(memory)
    text = "Disnea de esfuerzo y disnea. ECG normal. Dolor y disnea."
    doc = nlp.make_doc(text)
    pain = text.index("Dolor y disnea")
    ner = nlp.get_pipe("alia_ner")
    ner._set_annotations(doc, [(pain, pain + 14, "SINTOMA", 0.9)])  # type: ignore[attr-defined]
    # the longest wording wins; ECG is below the precision threshold; inside an entity: nothing
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Disnea de esfuerzo", "SINTOMA"),
        ("disnea", "SINTOMA"),
        ("Dolor y disnea", "SINTOMA"),
    ]
    # PHI tokens are never an entity; a threshold above 1 adds nothing
    doc = nlp.make_doc(text)
    doc.spans["phi"] = [doc[4:5]]
    ner._set_annotations(doc, [])  # type: ignore[attr-defined]
    assert [e.text for e in doc.ents] == ["Disnea de esfuerzo", "disnea"]
    strict = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    strict.add_pipe("alia_ner", config={"memory_min_precision": 1.01}).set_label_memory(memory)  # type: ignore[attr-defined]
    doc = strict.make_doc(text)
    strict.get_pipe("alia_ner")._set_annotations(doc, [])  # type: ignore[attr-defined]
    assert list(doc.ents) == []


@pytest.mark.parametrize("gap", ["  ", "\t", "\u00a0"])
def test_finder_reads_wordings_across_extra_spaces_but_not_across_lines(gap: str) -> None:
    nlp = _nlp(_memory({"disnea de esfuerzo": ("SINTOMA", 0.9)}))
    text = f"Refiere disnea{gap}de esfuerzo.  Disnea\nde esfuerzo."
    doc = nlp.make_doc(text)
    nlp.get_pipe("alia_ner")._set_annotations(doc, [])  # type: ignore[attr-defined]
    assert [(e.text, e.label_) for e in doc.ents] == [(f"disnea{gap}de esfuerzo", "SINTOMA")]


def test_lookup_ignores_accents_but_not_enye_or_conflicting_labels() -> None:
    memory = _memory(
        {
            "cardiopatía isquémica": ("ENFERMEDAD", 0.9),
            "síncope": ("SINTOMA", 0.9),
            "daño renal": ("ENFERMEDAD", 0.9),
        }
    )
    nlp = _nlp(memory)
    doc = nlp.make_doc("Cardiopatia isquemica. Sincope. Dano renal.")
    nlp.get_pipe("alia_ner")._set_annotations(doc, [(0, 21, "SINTOMA", 0.9)])  # type: ignore[attr-defined]
    # relabelled and found without their accents; "dano" is not "daño" (ñ is a letter, not an accent)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Cardiopatia isquemica", "ENFERMEDAD"),
        ("Sincope", "SINTOMA"),
    ]
    # two wordings that differ only by an accent but have different labels: neither is looked up
    clash = _memory({"síncope": ("SINTOMA", 0.9), "sincope": ("ENFERMEDAD", 0.9)})
    assert clash.folded_labels == {}
    nlp = _nlp(clash)
    doc = nlp.make_doc("Síncope. Sincope.")
    nlp.get_pipe("alia_ner")._set_annotations(doc, [(0, 7, "ENFERMEDAD", 0.9)])  # type: ignore[attr-defined]
    assert [(e.text, e.label_) for e in doc.ents] == [("Síncope", "ENFERMEDAD")]


def test_finder_only_wordings_are_added_but_never_relabel() -> None:
    memory = LabelMemory({}, 5, 0.9, precision={"disnea": 0.8}, found={"disnea": "SINTOMA"}, find_share=0.6)
    nlp = _nlp(memory)
    doc = nlp.make_doc("Disnea. Disnea.")
    nlp.get_pipe("alia_ner")._set_annotations(doc, [(0, 6, "ENFERMEDAD", 0.9)])  # type: ignore[attr-defined]
    assert [(e.start_char, e.label_) for e in doc.ents] == [(0, "ENFERMEDAD"), (8, "SINTOMA")]


def test_entities_that_are_part_of_a_precise_wording_are_widened_to_it() -> None:
    memory = _memory(
        {
            "miocardiopatía dilatada no isquémica": ("ENFERMEDAD", 0.8),
            "fa con rvr": ("ENFERMEDAD", 0.9),
            "disnea paroxística nocturna": ("SINTOMA", 0.9),
            "soplo sistólico mitral": ("SINTOMA", 0.3),  # below the finder's precision
        }
    )
    nlp = _nlp(memory)
    text = "Miocardiopatia dilatada no isquémica. FA con RVR. Soplo sistólico mitral. FA con RVR."
    doc = nlp.make_doc(text)
    fa2 = text.rindex("FA con RVR")
    soplo = text.index("Soplo")
    spans = [
        (0, 23, "ENFERMEDAD", 0.9),  # the first words: widened (found without the accent)
        (text.index("RVR"), text.index("RVR") + 3, "ENFERMEDAD", 0.9),  # the last word: widened
        (soplo, soplo + 15, "SINTOMA", 0.9),  # imprecise wording: kept
        (fa2, fa2 + 2, "SINTOMA", 0.9),  # another label: kept (and never relabelled here)
    ]
    nlp.get_pipe("alia_ner")._set_annotations(doc, spans)  # type: ignore[attr-defined]
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Miocardiopatia dilatada no isquémica", "ENFERMEDAD"),
        ("FA con RVR", "ENFERMEDAD"),
        ("Soplo sistólico", "SINTOMA"),
        ("FA", "SINTOMA"),
    ]
    # a middle part, a wording over two entities, or over a PHI token is left alone; off: nothing
    doc = nlp.make_doc(text)
    doc.spans["phi"] = [doc[0:1]]
    spans = [
        (0, 23, "ENFERMEDAD", 0.9),
        (fa2, fa2 + 2, "ENFERMEDAD", 0.9),
        (fa2 + 7, fa2 + 10, "ENFERMEDAD", 0.9),
    ]
    nlp.get_pipe("alia_ner")._set_annotations(doc, spans)  # type: ignore[attr-defined]
    # (the first "FA con RVR" had no entity: the finder adds it)
    assert [e.text for e in doc.ents] == ["Miocardiopatia dilatada", "FA con RVR", "FA", "RVR"]
    doc = nlp.make_doc("Disnea paroxística nocturna.")
    nlp.get_pipe("alia_ner")._set_annotations(doc, [(7, 18, "SINTOMA", 0.9)])  # type: ignore[attr-defined]
    assert [e.text for e in doc.ents] == ["paroxística"]
    off = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    off.add_pipe("alia_ner", config={"memory_extend": False}).set_label_memory(memory)  # type: ignore[attr-defined]
    doc = off.make_doc(text)
    off.get_pipe("alia_ner")._set_annotations(doc, [(0, 23, "ENFERMEDAD", 0.9)])  # type: ignore[attr-defined]
    assert [e.text for e in doc.ents] == ["Miocardiopatia dilatada", "FA con RVR", "FA con RVR"]


def test_short_wordings_written_in_capitals_are_kept_as_such() -> None:
    train = [
        ("FA paroxística. HTA.", [(0, 2, "ENFERMEDAD"), (16, 19, "ENFERMEDAD")]),
        ("Con FA y tos.", [(4, 6, "ENFERMEDAD"), (9, 12, "SINTOMA")]),
        ("hta", [(0, 3, "ENFERMEDAD")]),
        ("HTA", [(0, 3, "ENFERMEDAD")]),
        ("DIGOXINA", [(0, 8, "FARMACO")]),
        ("DIGOXINA", [(0, 8, "FARMACO")]),
    ]
    memory = build_label_memory(train, labels=["ENFERMEDAD", "SINTOMA", "FARMACO"], min_count=1)
    # "hta" is written in capitals in only half of its mentions; long words never count
    assert memory.capitals == frozenset({"fa"})
    assert LabelMemory.from_dict(memory.to_dict()).capitals == memory.capitals


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Catalan "fa" (ago) in a note that uses capitals is not atrial fibrillation
        ("Dona amb dispnea des de fa 10 dies. FA paroxística.", ["FA"]),
        # a note written all in lower case keeps its lower-case abbreviations
        ("mujer con fa paroxística desde hace 10 días.", ["fa"]),
    ],
)
def test_finder_skips_lower_case_abbreviations_in_notes_with_capitals(text: str, found: list[str]) -> None:
    memory = LabelMemory({"fa": "ENFERMEDAD"}, 1, 0.9, precision={"fa": 0.9}, capitals=frozenset({"fa"}))
    nlp = _nlp(memory)
    doc = nlp.make_doc(text)
    nlp.get_pipe("alia_ner")._set_annotations(doc, [])  # type: ignore[attr-defined]
    assert [e.text for e in doc.ents] == found
