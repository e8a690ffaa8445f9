"""The curated terminology table and :class:`alia_clin.clinical.terminology.Terminology`."""

from __future__ import annotations

from pathlib import Path

import pytest

from alia_clin.clinical.terminology import (
    CATEGORIES,
    Terminology,
    code_span,
    is_valid_atc,
    is_valid_icd10,
    is_valid_loinc,
    is_valid_snomed,
    normalize,
)
from alia_clin.errors import AliaClinValueError


@pytest.fixture(scope="module")
def term() -> Terminology:
    return Terminology.load()


def _ids(term: Terminology, text: str, **kw: object) -> list[str]:
    return [m.concept_id for m in term.lookup(text, **kw)]  # type: ignore[arg-type]


def _codes(term: Terminology, cid: str) -> dict[str, str]:
    return term.concepts[cid].codes


def test_header_and_size(term: Terminology) -> None:
    for key in ("version", "date", "sources", "notes"):
        assert term.header.get(key), key
    assert len(term) >= 250
    assert term.n_terms() >= 1000
    assert {c.category for c in term.concepts.values()} == set(CATEGORIES)


def test_every_code_well_formed(term: Terminology) -> None:
    checks = {
        "snomed_ct": is_valid_snomed,
        "cie10es": is_valid_icd10,
        "atc": is_valid_atc,
        "loinc": is_valid_loinc,
    }
    n = 0
    for concept in term.concepts.values():
        for system, code in concept.codes.items():
            assert checks[system](code), (concept.concept_id, system, code)
            n += 1
        if concept.category == "drug":
            assert "atc" in concept.codes, concept.concept_id
        if concept.category == "measurement":
            assert "loinc" in concept.codes, concept.concept_id
    assert n > 300


@pytest.mark.parametrize(
    ("cid", "system", "code"),
    [
        ("HF", "snomed_ct", "84114007"),
        ("HF", "cie10es", "I50.9"),
        ("FUROSEMIDE", "atc", "C03CA01"),
        ("TORASEMIDE", "atc", "C03CA04"),
        ("SACUBITRIL_VALSARTAN", "atc", "C09DX04"),
        ("DAPAGLIFLOZIN", "atc", "A10BK01"),
        ("EMPAGLIFLOZIN", "atc", "A10BK03"),
        ("SPIRONOLACTONE", "atc", "C03DA01"),
        ("EPLERENONE", "atc", "C03DA04"),
        ("BISOPROLOL", "atc", "C07AB07"),
        ("CARVEDILOL", "atc", "C07AG02"),
        ("OXALIPLATIN", "atc", "L01XA03"),
        ("FLUOROURACIL", "atc", "L01BC02"),
        ("TENOFOVIR", "atc", "J05AF"),
        ("LVEF", "loinc", "10230-1"),
        ("NT_PROBNP", "loinc", "33762-6"),
    ],
)
def test_key_codes(term: Terminology, cid: str, system: str, code: str) -> None:
    assert _codes(term, cid)[system] == code


def test_code_validators() -> None:
    assert is_valid_snomed("84114007") and is_valid_snomed("22298006")
    assert not is_valid_snomed("84114008")  # Verhoeff check digit
    assert not is_valid_snomed("84114")  # too short
    assert is_valid_loinc("33762-6") and is_valid_loinc("8480-6") and is_valid_loinc("718-7")
    assert not is_valid_loinc("33762-5") and not is_valid_loinc("33762")
    assert is_valid_icd10("I50.9") and is_valid_icd10("E78.00") and is_valid_icd10("J90")
    assert not is_valid_icd10("I509") and not is_valid_icd10("50.9")
    assert is_valid_atc("C03CA01") and is_valid_atc("C07") and is_valid_atc("A10BK")
    assert not is_valid_atc("C3CA01") and not is_valid_atc("C03CA1")


@pytest.mark.parametrize(
    ("text", "cid"),
    [
        ("IC", "HF"),
        ("ICC", "HF_CONGESTIVE"),
        ("insuficiencia cardiaca congestiva", "HF_CONGESTIVE"),
        ("ICFEr", "HF_REDUCED"),
        ("HFrEF", "HF_REDUCED"),
        ("IC con FEVI reducida", "HF_REDUCED"),
        ("ICFEp", "HF_PRESERVED"),
        ("ICFEml", "HF_MILDLY_REDUCED"),
        ("IC aguda", "HF_ACUTE"),
        ("insuficiencia cardiaca descompensada", "HF_DECOMPENSATED"),
        ("fallo cardiaco", "HF"),
        ("HTA", "HTN"),
        ("DM2", "DM2"),
        ("FA", "AF"),
        ("IAM", "MI"),
        ("ERC", "CKD"),
        ("IRC", "CKD"),
        ("EPOC", "COPD"),
        ("ECG", "ECG"),
        ("ETT", "TTE"),
        ("DAI", "ICD_IMPLANT"),
        ("AAS", "ASPIRIN"),
        # table 0.2.0: drugs of CardioCCC train, with brand names and spelling variants
        ("Nolotil", "METAMIZOLE"),
        ("isoproterenol", "ISOPRENALINE"),
        ("Hidroferol", "CALCIFEDIOL"),
        ("trimetoprim/sulfametoxazol", "COTRIMOXAZOLE"),
        ("rtPA", "ALTEPLASE"),
        ("hierro carboximaltosa", "FERRIC_CARBOXYMALTOSE"),
        ("Novorapid", "INSULIN_ASPART"),
        ("Lyrica", "PREGABALIN"),
        ("piperacilina/tazobactam", "PIPERACILLIN_TAZOBACTAM"),
        ("levotiroxina sódica", "LEVOTHYROXINE"),
        # table 0.3.0: tests annotated inside the finding that states their result
        ("Iones", "SERUM_ELECTROLYTES"),
        ("ionograma", "SERUM_ELECTROLYTES"),
        ("estudio de coagulación", "COAGULATION_STUDY"),
        ("perfil hepático", "LIVER_FUNCTION_TESTS"),
        ("auscultación cardiorrespiratoria", "CARDIOPULMONARY_AUSCULTATION"),
        ("urocultivos", "URINE_CULTURE"),
        # table 0.4.0: drugs of PharmaCoNER train + dev, with brand names and spelling variants
        ("oxaliplatino", "OXALIPLATIN"),
        ("5-FU", "FLUOROURACIL"),
        ("5-fluorouracilo", "FLUOROURACIL"),
        ("adriamicina", "DOXORUBICIN"),
        ("isoniacida", "ISONIAZID"),
        ("Adolonta", "TRAMADOL"),
        ("Urbason", "METHYLPREDNISOLONE"),
        ("cefuroxima axetilo", "CEFUROXIME"),
        ("ácido valproico", "VALPROIC_ACID"),
    ],
)
def test_synonyms_and_abbreviations(term: Terminology, text: str, cid: str) -> None:
    assert _ids(term, text)[0] == cid


@pytest.mark.parametrize(
    ("text", "cid"),
    [
        ("Insuficiencia Cardíaca", "HF"),
        ("INSUFICIENCIA CARDIACA", "HF"),
        ("fibrilacion auricular", "AF"),
        ("Disnea Paroxística Nocturna", "PND"),
        ("ecocardiograma  transtoracico", "TTE"),
        ("sacubitrilo-valsartán", "SACUBITRIL_VALSARTAN"),
        ("losartan", "LOSARTAN"),
        ("fibril·lació auricular", "AF"),  # ca
        ("bihotz-gutxiegitasuna", "HF"),  # eu
        ("insuficiencia cardíaca conxestiva", "HF_CONGESTIVE"),  # gl
    ],
)
def test_accents_case_and_languages(term: Terminology, text: str, cid: str) -> None:
    matches = term.lookup(text)
    assert matches[0].concept_id == cid and matches[0].score == 1.0


@pytest.mark.parametrize(
    ("text", "cid"),
    [
        ("insuficiencia cardíca", "HF"),
        ("insufiencia cardiaca", "HF"),
        ("fibrilación auriclar", "AF"),
        ("hipertension arterail", "HTN"),
        ("espironolatona", "SPIRONOLACTONE"),
        ("ecocardiogrma", "ECHO"),
    ],
)
def test_fuzzy_typos(term: Terminology, text: str, cid: str) -> None:
    best = term.lookup(text)[0]
    assert best.concept_id == cid
    assert best.method == "fuzzy" and 0.88 <= best.score < 1.0


@pytest.mark.parametrize(
    "text", ["ic", "fa", "hta", "con", "de", "la", "es", "pa", "ta", "cardiaca", "paciente", ""]
)
def test_no_false_hits_for_short_or_common_words(term: Terminology, text: str) -> None:
    assert term.lookup(text) == []


def test_oxygen_is_not_a_drug_term(term: Terminology) -> None:
    # "oxígeno" would turn every "saturación de oxígeno" into a FARMACO entity
    assert all(term.concepts[m.concept_id].category != "drug" for m in term.lookup("oxígeno", fuzzy=False))


@pytest.mark.parametrize(
    "text", ["corticoides", "AINEs", "opioides", "benzodiacepinas", "potasio", "creatinina"]
)
def test_no_drug_row_for_classes_or_analytes_left_out(term: Terminology, text: str) -> None:
    # table 0.4.0 left these out: CardioCCC does not annotate drug classes as FARMACO (0 of 41
    # occurrences in its train texts), and analytes measured in blood are not medications
    assert all(term.concepts[m.concept_id].category != "drug" for m in term.lookup(text, fuzzy=False))


@pytest.mark.parametrize(
    "text",
    [
        "hipopotasemia",
        "TC abdominal",
        "insuficiencia cardiaca avanzada",
        "sensación distérmica",
        "hipertiroidismo primario",
        "bloqueo auriculoventricular de primer grado",
    ],
)
def test_fuzzy_rejects_near_misses(term: Terminology, text: str) -> None:
    assert [m.method for m in term.lookup(text)] in ([], ["exact"])
    assert all(
        m.concept_id
        not in (
            "HYPERKALEMIA",
            "ABD_ULTRASOUND",
            "HF_ACUTE",
            "DYSPNEA",
            "HYPOTHYROIDISM",
            "AV_BLOCK_3",
        )
        for m in term.lookup(text)
    )


def test_fuzzy_can_be_disabled(term: Terminology) -> None:
    assert term.lookup("insuficiencia cardíca", fuzzy=False) == []


def test_category_filter(term: Terminology) -> None:
    assert _ids(term, "derrame pleural", category="drug") == []
    assert _ids(term, "derrame pleural", category=["disorder", "finding"]) == ["PLEURAL_EFFUSION"]
    with pytest.raises(AliaClinValueError, match=r"\[E107\]"):
        term.lookup("IC", category="nope")


def test_codings_shape(term: Terminology) -> None:
    m = term.lookup("IC")[0]
    assert [(c.system, c.code) for c in m.codings] == [
        ("http://snomed.info/sct", "84114007"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "I50.9"),
    ]
    assert m.to_dict()["codings"][0]["code"] == "84114007"
    drug = term.lookup("furosemida")[0]
    assert [(c.system, c.code) for c in drug.codings] == [("http://www.whocc.no/atc", "C03CA01")]


@pytest.mark.parametrize(
    ("text", "label", "cid"),
    [
        ("insuficiencia cardiaca", "ENFERMEDAD", "HF"),
        ("ortopnea", "SINTOMA", "ORTHOPNEA"),
        ("ingurgitación yugular", "SYMPTOM", "JVD"),
        ("coronariografía", "PROCEDIMIENTO", "CORONARY_ANGIO"),
        ("Rx de tórax", "PROCEDURE", "CXR"),
        ("bisoprolol", "FARMACO", "BISOPROLOL"),
        ("Sintrom", "MEDICATION", "ACENOCOUMAROL"),
    ],
)
def test_code_span(text: str, label: str, cid: str) -> None:
    m = code_span(text, label)
    assert m is not None and m.concept_id == cid


def test_code_span_wrong_category_and_label() -> None:
    assert code_span("furosemida", "ENFERMEDAD") is None
    with pytest.raises(AliaClinValueError, match=r"\[E107\]"):
        code_span("IC", "ORGANO")


def test_normalize() -> None:
    assert normalize("  Insuf. Cardíaca  (IC) ") == "insuf cardiaca ic"
    assert normalize("fibril·lació") == "fibrillacio"


def test_bad_tables_are_rejected(tmp_path: Path) -> None:
    head = (
        "concept_id\tcategory\tpreferred_es\tsynonyms_es\tabbreviations\tsynonyms_ca\tsynonyms_eu\t"
        "synonyms_gl\tsnomed_ct\tcie10es\tatc\tloinc\n"
    )
    bad_code = tmp_path / "bad_code.tsv"
    bad_code.write_text(head + "X\tdisorder\tx\t\t\t\t\t\t84114008\t\t\t\n", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match=r"\[E201\]"):
        Terminology.load(bad_code)
    bad_row = tmp_path / "bad_row.tsv"
    bad_row.write_text(head + "X\tdisorder\tx\n", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match=r"\[E200\]"):
        Terminology.load(bad_row)
    good = tmp_path / "good.tsv"
    good.write_text(
        "# version: t\n" + head + "X\tfinding\tdolor raro\t\tDR\t\t\t\t\t\t\t\n", encoding="utf-8"
    )
    t = Terminology.load(good)
    assert t.header["version"] == "t" and _ids(t, "DR") == ["X"] and _ids(t, "dr") == []
