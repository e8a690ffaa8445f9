"""Tests for alia_clin.deid.surrogates (synthetic values only; hypothesis is not installed, so the
date properties run over deterministic, seeded samples instead)."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta

import pytest

from alia_clin.deid.surrogates import (
    FAKER_LOCALES,
    SurrogateGenerator,
    date_shift_days,
    dni_check_letter,
    fold,
    nass_control,
    random_date_text,
    shift_date_text,
)
from alia_clin.errors import AliaClinValueError

SECRET = "clau-de-proves-no-real"


def _gen(patient: str = "pac-001", language: str = "es", secret: str = SECRET) -> SurrogateGenerator:
    return SurrogateGenerator(secret, patient, language)


def _dni_valid(value: str) -> bool:
    compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return bool(re.fullmatch(r"\d{8}[A-Z]", compact)) and dni_check_letter(int(compact[:8])) == compact[8]


def _shape(value: str) -> str:
    return re.sub(r"[^\W\d_]", "a", re.sub(r"\d", "9", value))


# -- keys, determinism ----------------------------------------------------------------------


def test_faker_locales_documented() -> None:
    assert set(FAKER_LOCALES) == {"es", "ca", "eu", "gl"}
    assert set(FAKER_LOCALES.values()) == {"es_ES"}


def test_same_inputs_same_surrogate_across_generators() -> None:
    for label, value in [
        ("NOMBRE_SUJETO_ASISTENCIA", "Iker Etxeberria Zubiri"),
        ("ID_SUJETO_ASISTENCIA", "1234567"),
    ]:
        assert _gen().surrogate(label, value) == _gen().surrogate(label, value)


def test_normalized_value_gives_same_surrogate() -> None:
    gen = _gen()
    spaced = gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Lucía  Ferrándiz") or ""
    assert "  " in spaced  # the original spacing is kept
    assert gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Lucía Ferrándiz") == spaced.replace("  ", " ")
    upper = gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "LUCÍA FERRÁNDIZ")
    assert upper is not None and upper.isupper()
    assert fold(upper) == fold(gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Lucía Ferrándiz") or "")


def test_different_secret_or_patient_changes_surrogates() -> None:
    values = [
        ("NOMBRE_SUJETO_ASISTENCIA", "Rosalía Castro Vilar"),
        ("ID_SUJETO_ASISTENCIA", "88123456"),
        ("NUMERO_TELEFONO", "612 345 678"),
        ("CORREO_ELECTRONICO", "rcastro@example.org"),
    ]
    base = [_gen().surrogate(label, v) for label, v in values]
    other_secret = [_gen(secret="otra-clave").surrogate(label, v) for label, v in values]
    other_patient = [_gen(patient="pac-002").surrogate(label, v) for label, v in values]
    assert all(a != b for a, b in zip(base, other_secret, strict=True))
    assert all(a != b for a, b in zip(base, other_patient, strict=True))


def test_name_words_consistent_across_mentions_and_name_labels() -> None:
    gen = _gen()
    full = gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Marta Ibarra Soler") or ""
    short = gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Sra. Ibarra") or ""
    relative = gen.surrogate("FAMILIARES_SUJETO_ASISTENCIA", "Pablo Ibarra") or ""
    surname = full.split()[1]
    assert short == f"Sra. {surname}"
    assert relative.split()[1] == surname
    assert "Ibarra" not in full + short + relative


def test_name_keeps_titles_initials_and_word_count() -> None:
    out = _gen().surrogate("NOMBRE_PERSONAL_SANITARIO", "Dra. Núria M. Puig-Ferrer") or ""
    assert re.fullmatch(r"Dra\. \S+ [A-Z]\. \S+-\S+", out)
    assert "Núria" not in out and "Puig" not in out and "Ferrer" not in out


def test_given_name_keeps_sex() -> None:
    from faker.providers.person.es_ES import Provider

    out = _gen().surrogate("NOMBRE_SUJETO_ASISTENCIA", "Carmen") or ""
    assert out in Provider.first_names_female
    out = _gen().surrogate("NOMBRE_SUJETO_ASISTENCIA", "Francisco") or ""
    assert out in Provider.first_names_male


def test_catalan_given_names_come_from_es_ca_provider() -> None:
    from faker.providers.person.es_CA import Provider

    out = _gen(language="ca").surrogate("NOMBRE_SUJETO_ASISTENCIA", "Montserrat") or ""
    assert out in Provider.first_names_female


def test_avoid_values_are_never_produced() -> None:
    plain = _gen().surrogate("NOMBRE_SUJETO_ASISTENCIA", "Ibarra") or ""
    gen = SurrogateGenerator(SECRET, "pac-001", "es", avoid=["Ibarra", plain])
    assert gen.surrogate("NOMBRE_SUJETO_ASISTENCIA", "Ibarra") not in {plain, "Ibarra"}


@pytest.mark.parametrize("secret", ["", b""])
def test_empty_secret_raises_e053(secret: str | bytes) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E053\]"):
        SurrogateGenerator(secret)


def test_unknown_language_raises_e005() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E005\]"):
        SurrogateGenerator(SECRET, language="fr")


# -- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize("dni", ["12345678Z", "00000023T", "87654321-X", "11.222.333-B", "45678912 l"])
@pytest.mark.parametrize("patient", ["p1", "p2", "p3"])
def test_dni_surrogate_has_valid_letter_and_shape(dni: str, patient: str) -> None:
    out = _gen(patient).surrogate("ID_SUJETO_ASISTENCIA", dni) or ""
    assert _dni_valid(out)
    assert _shape(out) == _shape(dni)
    assert out[-1].islower() == dni[-1].islower()
    assert fold(out) != fold(dni)


def test_nie_surrogate_is_valid() -> None:
    out = _gen().surrogate("ID_SUJETO_ASISTENCIA", "X1234567L") or ""
    assert re.fullmatch(r"[XYZ]\d{7}[A-Z]", out)
    assert dni_check_letter(int("XYZ".index(out[0]) * 10**7 + int(out[1:8]))) == out[8]


@pytest.mark.parametrize("nass", ["28/12345678/40", "08 00000001 27", "281234567840"])
def test_valid_nass_surrogate_has_valid_control(nass: str) -> None:
    digits = re.sub(r"\D", "", nass)
    assert nass_control(int(digits[:2]), int(digits[2:10])) == int(digits[10:])  # the input is valid
    out = _gen().surrogate("ID_ASEGURAMIENTO", nass) or ""
    new = re.sub(r"\D", "", out)
    assert _shape(out) == _shape(nass)
    assert nass_control(int(new[:2]), int(new[2:10])) == int(new[10:])
    assert 1 <= int(new[:2]) <= 52


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("ID_SUJETO_ASISTENCIA", "NHC-0045123"),
        ("ID_ASEGURAMIENTO", "PUIG 1234567 89"),
        ("ID_TITULACION_PERSONAL_SANITARIO", "28/28/54321"),
        ("ID_CONTACTO_ASISTENCIAL", "EP2024-000731"),
        ("NUMERO_BI_ID", "ab-778"),
    ],
)
def test_identifiers_keep_shape(label: str, value: str) -> None:
    out = _gen().surrogate(label, value) or ""
    assert _shape(out) == _shape(value)
    assert out != value


@pytest.mark.parametrize(
    "phone", ["612 345 678", "+34 612 345 678", "(+34) 934-567-890", "0034 971 22 33 44", "93.456.78.90"]
)
def test_phone_keeps_format_country_code_and_first_digit(phone: str) -> None:
    out = _gen().surrogate("NUMERO_TELEFONO", phone) or ""
    assert _shape(out) == _shape(phone)
    assert out != phone
    national = re.sub(r"^\D*(?:(?:\+|00)\s*34)?\D*", "", phone)
    assert re.sub(r"^\D*(?:(?:\+|00)\s*34)?\D*", "", out)[0] == national[0]


def test_email_looks_like_an_email_and_keeps_free_mail_domain() -> None:
    out = _gen().surrogate("CORREO_ELECTRONICO", "nerea.olano@gmail.com") or ""
    assert re.fullmatch(r"[\w.+-]+@gmail\.com", out)
    out = _gen().surrogate("CORREO_ELECTRONICO", "nolano@ospitalea-proba.eus") or ""
    assert re.fullmatch(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", out)
    assert "ospitalea-proba" not in out


# -- ages, sex, places ------------------------------------------------------------------------


@pytest.mark.parametrize("age", [18, 25, 53, 70, 89])
def test_age_keeps_unit_and_moves_a_little(age: int) -> None:
    out = _gen().surrogate("EDAD_SUJETO_ASISTENCIA", f"{age} años") or ""
    match = re.fullmatch(r"(\d+) años", out)
    assert match is not None
    new = int(match.group(1))
    assert new != age and abs(new - age) <= 5 and 1 <= new <= 89


@pytest.mark.parametrize(
    ("value", "expected"), [("93 años", "90 años"), ("101 anys", "90 anys"), ("95 urte", "90 urte")]
)
def test_ages_over_89_are_top_coded(value: str, expected: str) -> None:
    assert _gen().surrogate("EDAD_SUJETO_ASISTENCIA", value) == expected


def test_sub_year_ages_are_not_top_coded() -> None:
    out = _gen().surrogate("EDAD_SUJETO_ASISTENCIA", "95 días") or ""
    assert out.endswith(" días") and out != "90 días" and out != "95 días"


def test_written_age_falls_back_to_tag() -> None:
    assert _gen().surrogate("EDAD_SUJETO_ASISTENCIA", "cincuenta años") is None


@pytest.mark.parametrize("sex", ["H", "M", "varón", "mujer", "dona", "emakumea"])
def test_sex_is_kept(sex: str) -> None:
    assert _gen().surrogate("SEXO_SUJETO_ASISTENCIA", sex) == sex


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("C/ Mayor 12, 3º B", "C/ "),
        ("Avda. de la Constitución, 145", "Avda. de "),
        ("Carrer de Pujades 77", "Carrer de "),
        ("Rúa do Vilar 4", "Rúa do "),
        ("Calle Alcalá s/n", "Calle "),
    ],
)
def test_street_keeps_type_prefix(value: str, prefix: str) -> None:
    out = _gen().surrogate("CALLE", value) or ""
    assert out.startswith(prefix)
    assert out != value
    assert all(word not in out for word in ("Mayor", "Constitución", "Pujades", "Vilar", "Alcalá"))


def test_basque_street_keeps_type_suffix() -> None:
    out = _gen(language="eu").surrogate("CALLE", "Nagusia kalea 5, 2. ezk.") or ""
    assert re.fullmatch(r".+ kalea \d, \d\. ezk\.", out) and "Nagusia" not in out


@pytest.mark.parametrize(
    ("label", "value", "kept"),
    [
        ("HOSPITAL", "Hospital Universitario Ribera Alta", "Hospital Universitario"),
        ("CENTRO_SALUD", "Centro de Salud Las Acacias", "Centro de Salud"),
        ("CENTRO_SALUD", "CAP Sant Roc", "CAP"),
        ("HOSPITAL", "Complexo Hospitalario de Lugo Norte", "Complexo Hospitalario de"),
    ],
)
def test_facility_keeps_type_words(label: str, value: str, kept: str) -> None:
    out = _gen().surrogate(label, value) or ""
    assert out.startswith(kept) and out != value


def test_territory_postcode_and_city() -> None:
    out = _gen().surrogate("TERRITORIO", "08001 Barcelona") or ""
    assert re.fullmatch(r"\d{5} \S.*", out) and "Barcelona" not in out and not out.startswith("08001")


@pytest.mark.parametrize("label", ["OTROS_SUJETO_ASISTENCIA", "ETIQUETA_NUEVA"])
def test_labels_without_generator_return_none(label: str) -> None:
    assert _gen().surrogate(label, "algo") is None


# -- dates -------------------------------------------------------------------------------------


def test_date_shift_is_nonzero_and_bounded() -> None:
    shifts = [date_shift_days(SECRET, f"pac-{i}") for i in range(300)]
    assert all(s != 0 and -365 <= s <= 365 for s in shifts)
    assert any(s < 0 for s in shifts) and any(s > 0 for s in shifts)
    assert date_shift_days(SECRET, "pac-1") == date_shift_days(SECRET, "pac-1")
    assert date_shift_days(SECRET, "pac-1") != date_shift_days("otra-clave", "pac-1")


_NUMERIC_FORMATS = {
    "d/m/yyyy": (lambda d: f"{d.day}/{d.month}/{d.year}", r"\d{1,2}/\d{1,2}/\d{4}"),
    "dd/mm/yy": (lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}", r"\d{2}/\d{2}/\d{2}"),
    "dd-mm-yyyy": (lambda d: f"{d.day:02d}-{d.month:02d}-{d.year}", r"\d{2}-\d{2}-\d{4}"),
    "dd.mm.yyyy": (lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}", r"\d{2}\.\d{2}\.\d{4}"),
    "yyyy-mm-dd": (lambda d: f"{d.year}-{d.month:02d}-{d.day:02d}", r"\d{4}-\d{2}-\d{2}"),
}


def _parse_numeric(fmt: str, text: str) -> date:
    nums = [int(n) for n in re.findall(r"\d+", text)]
    if fmt == "yyyy-mm-dd":
        return date(nums[0], nums[1], nums[2])
    year = nums[2] + (2000 if nums[2] < 50 else 1900) if fmt == "dd/mm/yy" else nums[2]
    return date(year, nums[1], nums[0])


def _sample_dates(seed: int, count: int) -> list[date]:
    rnd = random.Random(seed)
    base = date(2001, 1, 1)
    return [base + timedelta(days=rnd.randrange(365 * 40)) for _ in range(count)] + [
        date(2016, 2, 29),
        date(2019, 12, 31),
    ]


@pytest.mark.parametrize("fmt", sorted(_NUMERIC_FORMATS))
@pytest.mark.parametrize("days", [-365, -40, -1, 1, 17, 300, 365])
def test_numeric_dates_keep_format_and_intervals(fmt: str, days: int) -> None:
    render, pattern = _NUMERIC_FORMATS[fmt]
    dates = _sample_dates(days, 30)
    shifted = []
    for d in dates:
        out = shift_date_text(render(d), days) or ""
        assert re.fullmatch(pattern, out), (fmt, out)
        shifted.append(_parse_numeric(fmt, out))
        assert shifted[-1] == d + timedelta(days=days)
    assert all((b - a) == (d - c) for a, b, c, d in zip(dates, dates[1:], shifted, shifted[1:], strict=False))


_WRITTEN = {
    "es": (
        "{d} de {m} de {y}",
        (
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
    ),
    "gl": (
        "{d} de {m} de {y}",
        (
            "xaneiro",
            "febreiro",
            "marzo",
            "abril",
            "maio",
            "xuño",
            "xullo",
            "agosto",
            "setembro",
            "outubro",
            "novembro",
            "decembro",
        ),
    ),
    "ca": (
        "{d}{sep}{m} del {y}",
        (
            "gener",
            "febrer",
            "març",
            "abril",
            "maig",
            "juny",
            "juliol",
            "agost",
            "setembre",
            "octubre",
            "novembre",
            "desembre",
        ),
    ),
}


def _render_written(language: str, d: date) -> str:
    template, months = _WRITTEN[language]
    month = months[d.month - 1]
    sep = " d'" if month[0] in "aeiou" else " de "
    return template.format(d=d.day, m=month, y=d.year, sep=sep)


@pytest.mark.parametrize("language", ["es", "ca", "gl"])
@pytest.mark.parametrize("days", [-200, -3, 29, 365])
def test_written_dates_keep_language_and_intervals(language: str, days: int) -> None:
    for d in _sample_dates(days + 1000, 25):
        assert shift_date_text(_render_written(language, d), days, language) == _render_written(
            language, d + timedelta(days=days)
        )


_EU_MONTHS_GEN = (
    "urtarrilaren",
    "otsailaren",
    "martxoaren",
    "apirilaren",
    "maiatzaren",
    "ekainaren",
    "uztailaren",
    "abuztuaren",
    "irailaren",
    "urriaren",
    "azaroaren",
    "abenduaren",
)


@pytest.mark.parametrize(
    ("text", "days", "expected"),
    [
        ("2015eko martxoaren 3an", 30, "2015eko apirilaren 2an"),
        ("2015eko martxoaren 3an", 300, "2015eko abenduaren 28an"),
        ("2015eko abenduaren 20an", 12, "2016ko urtarrilaren 1ean"),
        ("2010eko urriaren 1ean", 10, "2010eko urriaren 11n"),
        ("2015eko martxoan", 300, "2016ko urtarrilean"),
        ("2000ko maiatzaren 5ean", -366, "1999ko maiatzaren 5ean"),
    ],
)
def test_basque_dates(text: str, days: int, expected: str) -> None:
    assert shift_date_text(text, days, "eu") == expected


@pytest.mark.parametrize(
    ("text", "days", "expected"),
    [
        ("3 de marzo de 2015", 30, "2 de abril de 2015"),
        ("03 de Marzo de 2015", 1, "04 de Marzo de 2015"),
        ("marzo de 2015", 300, "enero de 2016"),
        ("3 de març del 2015", 30, "2 d'abril del 2015"),
        ("3 d’abril de 2015", 30, "3 de maig de 2015"),
        ("3 de xaneiro de 2015", -40, "24 de novembro de 2014"),
        ("03/2015", 40, "04/2015"),
        ("3/3/2015 a las 10:30", 1, "4/3/2015 a las 10:30"),
        ("12 de diciembre", 30, "11 de enero"),
        ("2015", 200, "2016"),
        ("2015", 30, "2015"),
        (" 1.2.2020 ", -1, " 31.1.2020 "),
    ],
)
def test_date_examples(text: str, days: int, expected: str) -> None:
    assert shift_date_text(text, days, "es") == expected


@pytest.mark.parametrize("text", ["ayer", "hace 3 días", "31/02/2015", "primavera de 2015"])
def test_unparseable_dates_get_a_random_date(text: str) -> None:
    assert shift_date_text(text, 10) is None
    out = _gen().surrogate("FECHAS", text) or ""
    assert out != text
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}|\d{1,2} de \w+ de \d{4}", out)


def test_random_date_text_formats() -> None:
    rnd = random.Random(0)
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", random_date_text(rnd, "es", written=False))
    assert re.fullmatch(r"\d{4}k?o \w+ \d{1,2}e?a?n", random_date_text(rnd, "eu", written=True))
    assert re.fullmatch(r"\d{1,2} d(e |')\w+ de \d{4}", random_date_text(rnd, "ca", written=True))


def test_generator_dates_use_the_patient_shift() -> None:
    gen = _gen()
    out = gen.surrogate("FECHAS", "15/06/2020") or ""
    assert _parse_numeric("dd-mm-yyyy", out) == date(2020, 6, 15) + timedelta(days=gen.date_shift_days)


def test_spanish_country_code_without_plus_is_kept() -> None:
    from alia_clin.deid.surrogates import SurrogateGenerator

    gen = SurrogateGenerator("secret-x", "patient-7")
    out = gen.surrogate("NUMERO_TELEFONO", "34 955 630 418")
    assert out is not None and out.startswith("34 9") and out != "34 955 630 418"
    assert len(out) == len("34 955 630 418")
