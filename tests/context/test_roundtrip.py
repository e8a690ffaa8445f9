"""Round-trips: to_bytes/from_bytes, and nlp.to_disk → spacy.load in a fresh process that does
not import alia_clin (factories come from the spacy_factories entry points)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import spacy

from alia_clin.pipeline.context import LEXICON_DIR

from .conftest import TOKENIZER, annotate_with, context_pipe, make_nlp

TEXT = (
    "Antecedentes familiares: madre con asma.\n"
    "Enfermedad actual: no presenta fiebre, tos ni disnea. Posible neumonía. Ez du sukarrik."
)
ENTS = ["asma", "fiebre", "tos", "disnea", "neumonía"]


def _predict(nlp: spacy.language.Language) -> dict[str, str]:
    return annotate_with(nlp, TEXT, ENTS)


def test_to_bytes_round_trip() -> None:
    nlp = make_nlp(max_scope=7)
    custom = {"language": "es", "triggers": {"negated": {"forward": ["jamás"]}}}
    context_pipe(nlp).initialize(lexicons={"xx": custom})
    data = nlp.to_bytes()
    nlp2 = spacy.blank("es", config=TOKENIZER)
    nlp2.add_pipe("alia_sections")
    nlp2.add_pipe("alia_context")
    nlp2.from_bytes(data)
    pipe = context_pipe(nlp2)
    assert pipe.cfg["max_scope"] == 7 and "xx" in pipe.lexicons
    assert _predict(nlp2) == _predict(nlp)


def test_disk_round_trip_in_fresh_process(tmp_path: Path) -> None:
    nlp = make_nlp()
    custom_es = dict(context_pipe(nlp).lexicons["es"].data)
    custom_es["triggers"] = {**custom_es["triggers"]}
    custom_es["triggers"]["negated"] = {**custom_es["triggers"]["negated"]}
    custom_es["triggers"]["negated"]["forward"] = [*custom_es["triggers"]["negated"]["forward"], "jamás"]
    context_pipe(nlp).initialize(lexicons={"es": custom_es})
    expected = _predict(nlp)
    expected_custom = annotate_with(nlp, "Jamás tuvo fiebre.", ["fiebre"])
    assert expected_custom == {"fiebre": "negated"}
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "alia_context" / LEXICON_DIR / "es.json").is_file()
    assert (tmp_path / "pipe" / "alia_sections" / "headings.json").is_file()
    script = textwrap.dedent(
        f"""
        import json
        import spacy
        nlp = spacy.load({str(tmp_path / "pipe")!r})
        def run(text, ents):
            doc = nlp.make_doc(text)
            spans, pos = [], 0
            for e in ents:
                i = text.index(e, pos)
                spans.append(doc.char_span(i, i + len(e), label="ENT"))
                pos = i + len(e)
            doc.ents = spans
            doc = nlp(doc)
            return {{e.text: e._.assertion for e in doc.ents}}
        print(json.dumps([run({TEXT!r}, {ENTS!r}), run("Jamás tuvo fiebre.", ["fiebre"]), nlp.pipe_names]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    got, got_custom, names = json.loads(proc.stdout.strip().splitlines()[-1])
    assert names == ["alia_sections", "alia_context"]
    assert got == expected
    assert got_custom == expected_custom
    assert "import alia_clin" not in script


def test_shipped_pipelines_carry_the_packaged_data() -> None:
    """The headings and lexicons saved in every shipped pipeline are the package data (a change
    to ``alia_clin/resources/context`` must be copied into ``models/*/``)."""
    import json
    from pathlib import Path

    from alia_clin.context import load_lexicon_data, load_sections_data

    models = Path(__file__).resolve().parents[2] / "models"
    headings = sorted(models.glob("*/alia_sections/headings.json"))
    lexicons = sorted(models.glob("*/alia_context/lexicons/*.json"))
    assert len(headings) >= 2 and len(lexicons) >= 8
    for path in headings:
        assert json.loads(path.read_text(encoding="utf-8")) == load_sections_data(), path
    for path in lexicons:
        assert json.loads(path.read_text(encoding="utf-8")) == load_lexicon_data(path.stem), path
