"""alia_context: trigger types, pseudo-triggers, terminators, coordination, sentence limits,
Basque morphology, getters, configuration and coded errors (synthetic sentences only)."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Doc

from alia_clin.context import ContextLexicon, load_lexicon_data
from alia_clin.context.sentences import doc_words, split_sentences
from alia_clin.errors import AliaClinRuntimeError, AliaClinValueError

from .conftest import TOKENIZER, Annotate, annotate_with, char_span, context_pipe, make_nlp


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("No presenta fiebre.", "fiebre"),
        ("Paciente sin disnea.", "disnea"),
        ("Niega dolor torácico.", "dolor torácico"),
        ("Ausencia de soplos.", "soplos"),
        ("No se objetivan adenopatías.", "adenopatías"),
        ("Se descarta tromboembolismo pulmonar.", "tromboembolismo pulmonar"),
        ("Sin signos de trombosis venosa.", "signos de trombosis venosa"),
    ],
)
def test_forward_negation(annotate: Annotate, text: str, entity: str) -> None:
    assert annotate(text, [entity])[entity] == "negated"


@pytest.mark.parametrize(
    ("text", "entity"),
    [("Neumonía descartada.", "Neumonía"), ("Pulsos pedios ausentes.", "Pulsos pedios")],
)
def test_backward_negation(annotate: Annotate, text: str, entity: str) -> None:
    assert annotate(text, [entity])[entity] == "negated"


def test_negative_result_is_configurable() -> None:
    text = "Hemocultivo negativo."
    nlp_negated = make_nlp(negative_results="negated")
    assert annotate_with(nlp_negated, text, ["Hemocultivo"])["Hemocultivo"] == "negated"
    nlp = make_nlp(negative_results="present")
    assert annotate_with(nlp, text, ["Hemocultivo"])["Hemocultivo"] == "present"


@pytest.mark.parametrize(
    ("text", "entities", "expected", "lang"),
    [
        # the test was done; what it looked for is absent
        ("PCR negativa para SARS-CoV-2.", ["PCR", "SARS-CoV-2"], ["present", "negated"], "es"),
        ("Serología de VIH negativa.", ["Serología de VIH"], ["present"], "es"),
        ("Hemocultius negatius per a Brucella.", ["Hemocultius", "Brucella"], ["present", "negated"], "ca"),
        ("Biopsia negativa para malignidad.", ["Biopsia", "malignidad"], ["present", "negated"], "gl"),
        ("Hemokultiboak negatiboak.", ["Hemokultiboak"], ["present"], "eu"),
        # a finding with a negative result, and a stopped drug, stay negated
        ("Troponina negativa.", ["Troponina"], ["negated"], "es"),
        ("Se suspende la furosemida.", ["furosemida"], ["negated"], "es"),
    ],
)
def test_auto_negative_results_keep_tests_present(
    text: str, entities: list[str], expected: list[str], lang: str
) -> None:
    out = annotate_with(make_nlp(), text, entities, lang)
    assert [out[e] for e in entities] == expected


def test_auto_negative_results_read_test_labels() -> None:
    """An entity labelled as a procedure is a test even without a test word."""
    nlp = make_nlp()
    doc = nlp.make_doc("Ecoendoscopia negativa.")
    doc._.language = "es"
    doc.ents = [char_span(doc, 0, 13, label="PROCEDIMIENTO")]
    assert nlp(doc).ents[0]._.assertion == "present"
    nlp_no_labels = make_nlp(test_labels=[])
    doc = nlp_no_labels.make_doc("Ecoendoscopia negativa.")
    doc._.language = "es"
    doc.ents = [char_span(doc, 0, 13, label="PROCEDIMIENTO")]
    assert nlp_no_labels(doc).ents[0]._.assertion == "negated"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Se suspende la furosemida por hipotensión.", "furosemida"),
        ("Tras la retirada del enalapril mejora la tos.", "enalapril"),
        ("Se decide suspender el bisoprolol.", "bisoprolol"),
    ],
)
def test_discontinued_drug_follows_the_result_setting(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == "negated"
    nlp = make_nlp(negative_results="present")
    assert annotate_with(nlp, text, [entity])[entity] == "present"


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("Posible neumonía basal.", "neumonía", "uncertain"),
        ("Imagen compatible con neoplasia.", "neoplasia", "uncertain"),
        ("No se descarta neumonía.", "neumonía", "uncertain"),
        ("No se puede descartar isquemia.", "isquemia", "uncertain"),
        ("Infección urinaria probable.", "Infección urinaria", "uncertain"),
        ("Si presenta fiebre, acudir a urgencias.", "fiebre", "hypothetical"),
        ("En caso de dolor torácico, llamar.", "dolor torácico", "hypothetical"),
        ("Antecedentes de infarto agudo de miocardio.", "infarto agudo de miocardio", "historical"),
        ("Colecistectomía previa.", "Colecistectomía", "historical"),
        ("Madre con diabetes.", "diabetes", "family"),
        ("Antecedentes familiares de miocardiopatía.", "miocardiopatía", "family"),
        ("Presenta fiebre.", "fiebre", "present"),
    ],
)
def test_other_categories(annotate: Annotate, text: str, entity: str, expected: str) -> None:
    assert annotate(text, [entity])[entity] == expected


def test_pseudo_triggers_do_not_negate(annotate: Annotate) -> None:
    assert annotate("No solo presenta fiebre sino también tos.", ["fiebre", "tos"]) == {
        "fiebre": "present",
        "tos": "present",
    }
    assert annotate("Bacilos gram negativos en el cultivo.", ["Bacilos"])["Bacilos"] == "present"


def test_accented_si_is_not_hypothetical(annotate: Annotate) -> None:
    assert annotate("No tiene fiebre pero sí tos.", ["fiebre", "tos"]) == {
        "fiebre": "negated",
        "tos": "present",
    }


@pytest.mark.parametrize(
    "text",
    [
        "Sin fiebre pero con tos productiva.",
        "No presenta fiebre; refiere tos.",
        "No presenta fiebre, aunque tiene tos.",
        "Sin embargo, presenta fiebre y tos.",
        "No presenta fiebre, por lo que se trata la tos.",
    ],
)
def test_terminators_end_scope(annotate: Annotate, text: str) -> None:
    got = annotate(text, ["tos"] if text.startswith("Sin embargo") else ["fiebre", "tos"])
    assert got["tos"] == "present"
    if "fiebre" in got and not text.startswith("Sin embargo"):
        assert got["fiebre"] == "negated"


def test_sin_embargo_is_not_sin(annotate: Annotate) -> None:
    assert annotate("Sin embargo, presenta fiebre.", ["fiebre"])["fiebre"] == "present"


def test_coordination_negates_every_item(annotate: Annotate) -> None:
    got = annotate("No presenta fiebre, tos ni disnea.", ["fiebre", "tos", "disnea"])
    assert set(got.values()) == {"negated"}
    got = annotate("Ni fiebre ni escalofríos.", ["fiebre", "escalofríos"])
    assert set(got.values()) == {"negated"}
    got = annotate(
        "Abdomen blando, sin masas ni megalias, peristaltismo conservado.",
        ["masas", "megalias", "peristaltismo"],
    )
    assert got == {"masas": "negated", "megalias": "negated", "peristaltismo": "present"}


def test_comma_without_list_ends_forward_scope(annotate: Annotate) -> None:
    got = annotate("Abdomen sin cicatrices, distendido y timpanizado.", ["cicatrices", "distendido"])
    assert got == {"cicatrices": "negated", "distendido": "present"}


def test_scope_stops_at_sentence_end(annotate: Annotate) -> None:
    got = annotate("No presenta fiebre. Tos productiva.", ["fiebre", "Tos productiva"])
    assert got == {"fiebre": "negated", "Tos productiva": "present"}
    got = annotate("Sin fiebre\nDolor abdominal difuso", ["fiebre", "Dolor abdominal"])
    assert got["Dolor abdominal"] == "present"


def test_checklist_answers(annotate: Annotate) -> None:
    got = annotate("Disnea: no. Ortopnea: NO\nEdemas en MMII: sí.", ["Disnea", "Ortopnea", "Edemas en MMII"])
    assert got == {"Disnea": "negated", "Ortopnea": "negated", "Edemas en MMII": "present"}
    # the answer negates its own item only, not the next one
    assert annotate("Fiebre: no; tos: sí.", ["Fiebre", "tos"]) == {"Fiebre": "negated", "tos": "present"}
    # "no" that goes on is a negation trigger as before, not an answer
    assert annotate("Exploración: no edemas.", ["edemas"]) == {"edemas": "negated"}
    assert annotate("Dispnea: no.", ["Dispnea"], "ca") == {"Dispnea": "negated"}
    assert annotate("Disnea: non.", ["Disnea"], "gl") == {"Disnea": "negated"}
    assert annotate("Disnea: ez.", ["Disnea"], "eu") == {"Disnea": "negated"}


def test_max_scope_window() -> None:
    text = "No presenta, tras revisar historia previa extensa completa detallada, fiebre."
    nlp = make_nlp(max_scope=2)
    assert annotate_with(nlp, "No refiere mareo reciente importante ahora intenso fiebre.", ["fiebre"]) == {
        "fiebre": "present"
    }
    assert annotate_with(nlp, "No refiere fiebre.", ["fiebre"]) == {"fiebre": "negated"}
    assert text  # long windows are cut by max_scope rather than by sentence length


def test_sentence_splitter_keeps_abbreviations_and_decimals() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    doc = nlp("Visto por el Dr. Pérez. FEVI 3.5 cm. Sin fiebre.\nTos")
    words = doc_words(doc)
    sents = split_sentences(doc.text, words)
    texts = [doc.text[words[s].start : words[e - 1].end] for s, e in sents]
    assert texts == ["Visto por el Dr. Pérez.", "FEVI 3.5 cm.", "Sin fiebre.", "Tos"]


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("Ez du sukarrik.", "sukarrik", "negated"),
        ("Sukarrik ez du.", "Sukarrik", "negated"),
        ("Ez da lesiorik ikusi.", "lesiorik", "negated"),
        ("Ez dago isuririk.", "isuririk", "negated"),
        ("Ez dauka alergiarik.", "alergiarik", "negated"),
        ("Minik gabe dago.", "Minik", "negated"),
        ("Sukarra ukatzen du.", "Sukarra", "negated"),
        ("Eztulik, karkaxarik edo disnearik ez du.", "Eztulik", "negated"),
        ("Bularreko mina du.", "mina", "present"),
        ("Pneumonia susmoa.", "Pneumonia", "uncertain"),
        ("Amak diabetesa du.", "diabetesa", "family"),
    ],
)
def test_basque_morphology(annotate: Annotate, text: str, entity: str, expected: str) -> None:
    assert annotate(text, [entity], lang="eu")[entity] == expected


def test_basque_post_trigger_does_not_reach_next_clause(annotate: Annotate) -> None:
    got = annotate("Sukarra ukatzen du eta eztula du.", ["Sukarra", "eztula"], lang="eu")
    assert got == {"Sukarra": "negated", "eztula": "present"}
    got = annotate("Mina du, sukarrik ez du.", ["Mina", "sukarrik"], lang="eu")
    assert got == {"Mina": "present", "sukarrik": "negated"}


def test_language_from_doc_and_forced_language(annotate: Annotate) -> None:
    assert annotate("Non presenta febre.", ["febre"], lang="gl")["febre"] == "negated"
    assert annotate("Sense febre.", ["febre"], lang="ca")["febre"] == "negated"
    nlp = make_nlp(language="eu")
    assert annotate_with(nlp, "Ez du sukarrik.", ["sukarrik"], lang="es")["sukarrik"] == "negated"


def test_getters_and_serializable_values(nlp: spacy.language.Language) -> None:
    text = "No presenta fiebre. Posible neumonía. Madre con asma."
    doc = nlp.make_doc(text)
    doc.ents = [
        char_span(doc, text.index(w), text.index(w) + len(w), "ENT") for w in ("fiebre", "neumonía", "asma")
    ]
    doc = nlp(doc)
    fiebre, neumonia, asma = doc.ents
    assert fiebre._.is_negated and not fiebre._.is_uncertain
    assert neumonia._.is_uncertain and asma._.is_family
    assert not asma._.is_historical and not asma._.is_hypothetical
    restored = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert [e._.assertion for e in restored.ents] == ["negated", "uncertain", "family"]


def test_no_entities_is_fine(nlp: spacy.language.Language) -> None:
    doc = nlp("Texto sin entidades.")
    assert list(doc.ents) == []


def test_uninitialized_pipe_raises_coded_error() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    nlp.add_pipe("alia_context")
    with pytest.raises(AliaClinRuntimeError, match=r"\[E001\]"):
        nlp("No presenta fiebre.")
    nlp2 = spacy.blank("es", config=TOKENIZER)
    nlp2.add_pipe("alia_sections")
    with pytest.raises(AliaClinRuntimeError, match=r"\[E001\]"):
        nlp2("Antecedentes: ninguno.")


def test_bad_config_raises_coded_errors() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    with pytest.raises(AliaClinValueError, match=r"\[E172\]"):
        nlp.add_pipe("alia_context", config={"max_scope": 0})
    with pytest.raises(AliaClinValueError, match=r"\[E107\]"):
        nlp.add_pipe("alia_context", name="c2", config={"negative_results": "maybe"})
    with pytest.raises(AliaClinValueError, match=r"\[E172\]"):
        nlp.add_pipe("alia_context", name="c3", config={"languages": ["eu"], "default_language": "es"})
    with pytest.raises(AliaClinValueError, match=r"section_label_assertions.plan.PROCEDIMIENTO"):
        nlp.add_pipe(
            "alia_context",
            name="c4",
            config={"section_label_assertions": {"plan": {"PROCEDIMIENTO": "later"}}},
        )


def test_invalid_lexicon_raises_coded_error() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E170\]"):
        ContextLexicon.from_data({"language": "es", "triggers": {"sad": {"forward": ["no"]}}})
    with pytest.raises(AliaClinValueError, match=r"\[E005\]"):
        load_lexicon_data("fr")


def test_custom_lexicon_through_initialize() -> None:
    nlp = spacy.blank("es", config=TOKENIZER)
    nlp.add_pipe("alia_context")
    custom = {"language": "es", "triggers": {"negated": {"forward": ["jamás"]}}}
    nlp.initialize()
    context_pipe(nlp).initialize(lexicons={"es": custom})
    got = annotate_with(nlp, "Jamás tuvo fiebre. No presenta tos.", ["fiebre", "tos"])
    assert got == {"fiebre": "negated", "tos": "present"}


def test_every_packaged_lexicon_compiles() -> None:
    for lang in ("es", "ca", "eu", "gl"):
        lex = ContextLexicon.from_data(load_lexicon_data(lang))
        assert lex.language == lang and lex.rules


def test_new_finite_verb_and_parenthesis_end_scope(annotate: Annotate) -> None:
    got = annotate("Postoperatorio sin incidencias y pasó a planta con drenaje.", ["incidencias", "planta"])
    assert got == {"incidencias": "negated", "planta": "present"}
    got = annotate("Tratado con antiinflamatorios no esteroideos (AINE).", ["esteroideos", "AINE"])
    assert got == {"esteroideos": "negated", "AINE": "present"}


def test_long_comma_items_do_not_carry_the_negation(annotate: Annotate) -> None:
    text = "Sin alergias conocidas, ingresa por dolor abdominal intenso y progresivo o vómitos."
    got = annotate(text, ["alergias", "dolor abdominal"])
    assert got == {"alergias": "negated", "dolor abdominal": "present"}


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        # an affirmative verb entity starts a new clause that the trigger before it does not reach
        ("Mujer sin alergias conocidas que acudió por palpitaciones.", "acudió", "present"),
        ("Cirugía sin complicaciones y pasó a planta al día siguiente.", "pasó", "present"),
        # ... unless only bridge words separate them
        ("El paciente no presentó mejoría.", "presentó", "negated"),
        ("No se objetiva derrame.", "objetiva", "negated"),
    ],
)
def test_affirmative_verb_entity_starts_a_clause(text: str, entity: str, expected: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == expected


def test_outcome_trigger_does_not_negate_the_action_it_names() -> None:
    """'se retira' negates what is withdrawn, not the withdrawal (which happened)."""
    out = annotate_with(make_nlp(), "Se retira la sonda vesical.", ["retira", "sonda vesical"])
    assert out == {"retira": "present", "sonda vesical": "negated"}


@pytest.mark.parametrize(
    ("text", "entity", "expected"),
    [
        ("La estenosis impidió el paso del catéter.", "paso", "negated"),
        ("El dolor le imposibilitaba la marcha.", "marcha", "negated"),
        ("Ante la imposibilidad de descartar malignidad se operó.", "malignidad", "uncertain"),
        ("La función renal no contraindicaba la coronariografía.", "coronariografía", "present"),
        ("Sin registrar, durante el ingreso, incidencias de ningún tipo.", "incidencias", "negated"),
        ("Los anticuerpos antitiroideos fueron negativos.", "anticuerpos antitiroideos", "present"),
    ],
)
def test_spanish_triggers_2026_12(text: str, entity: str, expected: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == expected


@pytest.mark.parametrize(
    ("label", "expected"), [("EVENT", "present"), ("event", "present"), ("ENFERMEDAD", "negated")]
)
def test_auto_negative_results_read_event_labels(label: str, expected: str) -> None:
    """An E3C/TimeML EVENT is an occurrence: a negative result does not negate it."""
    nlp = make_nlp()
    text = "Cultivo de esputo negativo para micobacterias."
    doc = nlp.make_doc(text)
    doc._.language = "es"
    start = text.index("micobacterias")
    doc.ents = [char_span(doc, start, start + len("micobacterias"), label=label)]
    assert nlp(doc).ents[0]._.assertion == expected


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Se administra nitroglicerina sublingual cediendo el dolor torácico.", "dolor torácico"),
        ("Mejora la congestión, desapareciendo los edemas.", "edemas"),
        ("Espironolactona suspendida por hiperpotasemia.", "Espironolactona"),
        ("Se pautó amoxicilina que se suspende por exantema.", "amoxicilina"),
    ],
)
def test_resolution_triggers_follow_the_result_setting(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == "negated"
    assert annotate_with(make_nlp(negative_results="present"), text, [entity])[entity] == "present"


def test_descartando_negates() -> None:
    text = "Valorado por Cirugía, descartando apendicitis aguda."
    assert annotate_with(make_nlp(), text, ["apendicitis aguda"])["apendicitis aguda"] == "negated"


@pytest.mark.parametrize(
    ("text", "entity", "lang", "expected"),
    [
        # a tagger took the finding and its negation together: the trigger still negates it
        ("Disnea ausente.", "Disnea ausente", "es", "negated"),
        ("Edemas negativos en la exploración.", "Edemas negativos", "es", "negated"),
        ("Dolor torácico: negativo.", "Dolor torácico: negativo", "es", "negated"),
        ("Reflujo hepatoyugular no presente.", "Reflujo hepatoyugular no presente", "es", "negated"),
        ("Febre ausente.", "Febre ausente", "gl", "negated"),
        ("Edemes absents.", "Edemes absents", "ca", "negated"),
        # a test with a negative result was done (auto); the result word alone is no entity head
        ("Urocultivo: negativo.", "Urocultivo: negativo", "es", "present"),
        # the trigger is said of a word after a preposition, not of the entity's head
        ("Obstrucción de causa no objetivada.", "Obstrucción de causa no objetivada", "es", "present"),
        # bounded triggers reach one or two words only; they do not close an entity
        ("Probable síndrome resuelto.", "síndrome resuelto", "es", "uncertain"),
        # the trigger word alone is not an entity with a head
        ("Negativo.", "Negativo", "es", "present"),
    ],
)
def test_negation_closing_the_entity(text: str, entity: str, lang: str, expected: str) -> None:
    assert annotate_with(make_nlp(), text, [entity], lang)[entity] == expected


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("ECG: ritmo sinusal, ondas T negativas en V1-V3.", "ritmo sinusal"),
        ("ECG: ondas T negativas en cara inferior.", "ondas T negativas"),
        ("Mejoría de los signos congestivos tras balance hídrico negativo.", "signos congestivos"),
        ("Se administra furosemida para realizar balance negativo.", "furosemida"),
        ("Drenaje con presión negativa.", "Drenaje"),
        ("ECG: ones T negatives a V1-V3.", "ones T negatives"),
    ],
)
def test_named_negative_findings_do_not_negate(text: str, entity: str) -> None:
    """Negative T waves or a negative fluid balance are findings, not negative results."""
    lang = "ca" if "ones" in text else "es"
    assert annotate_with(make_nlp(), text, [entity], lang)[entity] == "present"


@pytest.mark.parametrize(
    ("text", "entity", "lang", "expected"),
    [
        ("Pendiente de ecocardiograma de control.", "ecocardiograma", "es", "hypothetical"),
        ("Queda a la espera de cirugía cardiaca.", "cirugía cardiaca", "es", "hypothetical"),
        ("Se realizará coronariografía en un segundo tiempo.", "coronariografía", "es", "hypothetical"),
        ("Se recomienda realizar gastroscopia.", "gastroscopia", "es", "hypothetical"),
        ("Pendent d'ecocardiograma de control.", "ecocardiograma", "ca", "hypothetical"),
        ("Pendent de coronariografia.", "coronariografia", "ca", "hypothetical"),
        ("Pendente de ecocardiograma.", "ecocardiograma", "gl", "hypothetical"),
        # a requested test whose result follows was done: present and past requests stay present
        ("Se solicitó ecocardiograma que mostró FEVI del 35 %.", "ecocardiograma", "es", "present"),
    ],
)
def test_pending_and_planned_procedures_are_hypothetical(
    text: str, entity: str, lang: str, expected: str
) -> None:
    assert annotate_with(make_nlp(), text, [entity], lang)[entity] == expected


def test_procedures_in_the_plan_are_hypothetical() -> None:
    """A procedure in the plan is to be done; a drug started there and a disease named there are not."""
    nlp = make_nlp()
    text = (
        "Juicio clínico: HTA.\n"
        "Plan: solicitar ecocardiograma. No se pedirá Holter. Se inicia furosemida. Control de HTA."
    )
    doc = nlp.make_doc(text)
    doc._.language = "es"
    labels = [("ecocardiograma", "PROCEDIMIENTO"), ("Holter", "PROCEDIMIENTO"), ("furosemida", "FARMACO")]
    spans = [char_span(doc, text.index(t), text.index(t) + len(t), label=lab) for t, lab in labels]
    spans.append(char_span(doc, text.rindex("HTA"), text.rindex("HTA") + 3, label="ENFERMEDAD"))
    doc.ents = spans
    got = [e._.assertion for e in nlp(doc).ents]
    assert got == ["hypothetical", "negated", "present", "present"]
    # spaCy merges config dicts with the defaults: a label is switched off by mapping it to present
    off = make_nlp(section_label_assertions={"plan": {"PROCEDIMIENTO": "present"}})
    doc = off.make_doc(text)
    doc._.language = "es"
    doc.ents = [
        char_span(doc, text.index("ecocardiograma"), text.index("ecocardiograma") + 14, "PROCEDIMIENTO")
    ]
    assert off(doc).ents[0]._.assertion == "present"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Bihotz-gutxiegitasuna susmatzen da.", "Bihotz-gutxiegitasuna"),
        ("Pneumonia susmatu zen.", "Pneumonia"),
        ("Baliteke pneumonia izatea.", "pneumonia"),
    ],
)
def test_basque_suspicion_is_uncertain(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity], "eu")[entity] == "uncertain"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Cambian la pauta: suspenden ceftriaxona e inician cloxacilina.", "ceftriaxona"),
        ("Refiere haber suspendido la amiodarona.", "amiodarona"),
        ("Fueron suspendidos los diuréticos por hipotensión.", "diuréticos"),
        ("Mejora coincidiendo con la supresión de metformina.", "metformina"),
        ("Iniciamos retirada progresiva de opiáceos.", "opiáceos"),
        ("Deja de tomar el bisoprolol.", "bisoprolol"),
        ("Se interrumpe la perfusión de heparina.", "perfusión de heparina"),
    ],
)
def test_more_discontinuation_triggers(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == "negated"
    assert annotate_with(make_nlp(negative_results="present"), text, [entity])[entity] == "present"


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("El dolor con la presión sugeriría un origen mecánico.", "origen mecánico"),
        ("Creemos que se trata de una neumonía aspirativa.", "neumonía aspirativa"),
        ("Episodios presincopales que impresionan de vasovagales.", "vasovagales"),
        ("Se interpretó como oligoartritis gotosa.", "oligoartritis gotosa"),
        ("La fiebre central es una posibilidad.", "fiebre central"),
    ],
)
def test_hedging_verbs_are_uncertain(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity])[entity] == "uncertain"


@pytest.mark.parametrize(
    ("text", "drug", "reason", "expected", "lang"),
    [
        ("Se suspende enalapril por hipotensión.", "enalapril", "hipotensión", "present", "es"),
        (
            "Tenemos que suspender el bisoprolol por astenia intensa.",
            "bisoprolol",
            "astenia intensa",
            "present",
            "es",
        ),
        (
            "Retirada del dispositivo debido a infección local.",
            "dispositivo",
            "infección local",
            "present",
            "es",
        ),
        (
            "Se suspende Adiro ante la sospecha de reacción alérgica.",
            "Adiro",
            "reacción alérgica",
            "uncertain",
            "es",
        ),
        (
            "Se retira cefazolina por posible cuadro alérgico.",
            "cefazolina",
            "cuadro alérgico",
            "uncertain",
            "es",
        ),
        ("Suspéndese enalapril por hipotensión.", "enalapril", "hipotensión", "present", "gl"),
        ("Es retira el bisoprolol per bradicàrdia.", "bisoprolol", "bradicàrdia", "present", "ca"),
        # not a reason: the stop goes on over what follows
        ("Suspendo por ahora el diltiazem y la furosemida.", "diltiazem", "furosemida", "negated", "es"),
        ("Suspéndese polo momento o enalapril.", "enalapril", "enalapril", "negated", "gl"),
    ],
)
def test_the_reason_of_a_stop_happened(text: str, drug: str, reason: str, expected: str, lang: str) -> None:
    got = annotate_with(make_nlp(), text, sorted({drug, reason}, key=text.index), lang)
    assert got[drug] == "negated"
    assert got[reason] == expected


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Enalaprila kendu da hipotentsioagatik.", "Enalaprila"),
        ("Furosemida eten zen.", "Furosemida"),
        ("Bisoprolola hartzeari utzi dio.", "Bisoprolola"),
        ("Sintrom bertan behera utzi da.", "Sintrom"),
    ],
)
def test_basque_discontinuation(text: str, entity: str) -> None:
    assert annotate_with(make_nlp(), text, [entity], "eu")[entity] == "negated"
    assert annotate_with(make_nlp(negative_results="present"), text, [entity], "eu")[entity] == "present"
