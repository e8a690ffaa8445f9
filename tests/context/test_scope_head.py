"""alia_context with a learned scope head: combination policies (hand-built decisions and a biased
head on a tiny random encoder), the rules-only path unchanged, and round trips with the head."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import spacy
import torch
from spacy.language import Language

from alia_clin.context.combine import POLICIES, combine
from alia_clin.encoder.scope_head import NEG_CUE, NEG_SCOPE, UNC_CUE, UNC_SCOPE, EntityDecision, ScopeHead
from alia_clin.errors import AliaClinValueError, AliaClinWarning
from alia_clin.pipeline import encoder as _encoder  # noqa: F401  (factory)
from alia_clin.pipeline.context import SCOPE_HEAD_DIR

from ..encoder.tiny import HIDDEN, tiny_model_dir
from .conftest import TOKENIZER, annotate_with, context_pipe, make_nlp

TEXT = "Paciente sin disnea. Posible neumonía. Refiere tos.\nMadre con asma."
ENTS = ["disnea", "neumonía", "tos", "asma"]
RULES = {"disnea": "negated", "neumonía": "uncertain", "tos": "present", "asma": "family"}


# ------------------------------------------------------------------------------- policies


def _dec(neg: float, unc: float, cue: bool) -> EntityDecision:
    return EntityDecision(neg=neg, unc=unc, cue_in_sentence=cue)


RULE_SETS = [{"negated"}, {"uncertain"}, set(), {"family"}, {"historical", "uncertain"}, {"negated"}]
DECISIONS = [
    _dec(0.1, 0.1, True),
    _dec(0.9, 0.2, True),
    _dec(0.2, 0.8, False),
    _dec(0.9, 0.1, True),
    None,
    _dec(0.1, 0.9, False),
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("rules", RULE_SETS),
        (
            "head",
            [
                set(),
                {"negated"},
                {"uncertain"},
                {"family", "negated"},
                {"historical", "uncertain"},
                {"uncertain"},
            ],
        ),
        (
            "union",
            [
                {"negated"},
                {"uncertain", "negated"},
                {"uncertain"},
                {"family", "negated"},
                {"historical", "uncertain"},
                {"negated", "uncertain"},
            ],
        ),
        (
            "rules_first",
            [
                {"negated"},
                {"uncertain"},
                {"uncertain"},
                {"family", "negated"},
                {"historical", "uncertain"},
                {"negated"},
            ],
        ),
        (
            "head_where_cue",
            [set(), {"negated"}, set(), {"family", "negated"}, {"historical", "uncertain"}, {"negated"}],
        ),
    ],
)
def test_combination_policies(policy: str, expected: list[set[str]]) -> None:
    before = [set(s) for s in RULE_SETS]
    assert combine(policy, RULE_SETS, DECISIONS, 0.5) == expected
    assert before == RULE_SETS  # inputs untouched


def test_unknown_policy_is_a_coded_error() -> None:
    with pytest.raises(AliaClinValueError) as err:
        combine("vote", [set()], [None], 0.5)
    assert err.value.code == "E107"
    with pytest.raises(AliaClinValueError) as err:
        make_nlp(scope_policies={"es": "vote"})
    assert err.value.code == "E107"


# ------------------------------------------------------------------------------- pipeline


def _biased_head(policies: dict[str, str] | None = None, *, sha: str | None = None) -> ScopeHead:
    """A head that puts every word in a negation scope (p ≈ 1) and sees no cue anywhere."""
    torch.manual_seed(0)
    head = ScopeHead(HIDDEN, proj=8, rnn=0, policies=policies, meta={"encoder_sha256": sha} if sha else {})
    with torch.no_grad():
        head.out.weight.zero_()
        head.out.bias.copy_(torch.tensor([-8.0, 8.0, -8.0, -8.0]))
    assert [NEG_CUE, NEG_SCOPE, UNC_CUE, UNC_SCOPE] == [0, 1, 2, 3]
    return head.eval()


def _encoder_nlp(**context_cfg: object) -> Language:
    nlp = spacy.blank("es", config=TOKENIZER)
    nlp.add_pipe("alia_encoder", config={"max_length": 48, "stride": 12})
    nlp.add_pipe("alia_sections")
    nlp.add_pipe("alia_context", config=dict(context_cfg))
    nlp.get_pipe("alia_encoder").initialize(model=str(tiny_model_dir("xlm-roberta")))  # type: ignore[attr-defined]
    context_pipe(nlp).initialize()
    nlp.get_pipe("alia_sections").initialize()  # type: ignore[attr-defined]
    return nlp


def test_rules_only_pipeline_unchanged() -> None:
    assert annotate_with(make_nlp(), TEXT, ENTS) == RULES
    nlp = _encoder_nlp()
    assert context_pipe(nlp).scope_head is None
    assert annotate_with(nlp, TEXT, ENTS) == RULES
    # A head whose policies keep the rules changes nothing either.
    context_pipe(nlp).set_scope_head(_biased_head({}))
    assert context_pipe(nlp).policy_for("es") == "rules"
    assert annotate_with(nlp, TEXT, ENTS) == RULES


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("rules", RULES),
        ("head", {"disnea": "negated", "neumonía": "negated", "tos": "negated", "asma": "negated"}),
        ("union", {"disnea": "negated", "neumonía": "negated", "tos": "negated", "asma": "negated"}),
        ("rules_first", {"disnea": "negated", "neumonía": "uncertain", "tos": "negated", "asma": "negated"}),
        ("head_where_cue", RULES),
    ],
)
def test_policies_in_the_pipeline(policy: str, expected: dict[str, str]) -> None:
    nlp = _encoder_nlp()
    context_pipe(nlp).set_scope_head(_biased_head({"es": policy}))
    assert annotate_with(nlp, TEXT, ENTS) == expected
    # Another language without a policy keeps the rules.
    assert annotate_with(nlp, "Ez du sukarrik.", ["sukarrik"], lang="eu") == {"sukarrik": "negated"}
    assert annotate_with(nlp, "Tos i febre.", ["febre"], lang="ca") == {"febre": "present"}


def test_config_override_and_sections_still_apply() -> None:
    nlp = _encoder_nlp(scope_policies={"es": "rules"})
    context_pipe(nlp).set_scope_head(_biased_head({"es": "head"}))
    assert context_pipe(nlp).policy_for("es") == "rules"
    assert annotate_with(nlp, TEXT, ENTS) == RULES
    nlp2 = _encoder_nlp()
    context_pipe(nlp2).set_scope_head(_biased_head({"es": "head"}))
    text = "Antecedentes familiares: madre con asma.\nEnfermedad actual: tos."
    # Negation outranks the section's family reading (PRIORITY), as with the rules.
    assert annotate_with(nlp2, text, ["asma", "tos"]) == {"asma": "negated", "tos": "negated"}


def test_head_without_encoder_states_falls_back_to_rules(caplog: pytest.LogCaptureFixture) -> None:
    nlp = make_nlp()
    context_pipe(nlp).set_scope_head(_biased_head({"es": "head"}))
    with caplog.at_level(logging.WARNING, logger="alia_clin"):
        assert annotate_with(nlp, TEXT, ENTS) == RULES
    assert any("scope head skipped" in r.getMessage() for r in caplog.records)
    assert not any("disnea" in r.getMessage() for r in caplog.records)


def test_encoder_mismatch_warns_once() -> None:
    nlp = _encoder_nlp()
    context_pipe(nlp).set_scope_head(_biased_head({"es": "head"}, sha="0" * 64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        annotate_with(nlp, TEXT, ENTS)
        annotate_with(nlp, TEXT, ENTS)
    coded = [w for w in caught if issubclass(w.category, AliaClinWarning)]
    assert len(coded) == 1 and "[W720]" in str(coded[0].message)


def test_to_bytes_round_trip_with_head() -> None:
    nlp = _encoder_nlp()
    context_pipe(nlp).set_scope_head(_biased_head({"es": "rules_first"}))
    expected = annotate_with(nlp, TEXT, ENTS)
    data = context_pipe(nlp).to_bytes()
    nlp2 = _encoder_nlp()
    context_pipe(nlp2).from_bytes(data)
    head = context_pipe(nlp2).scope_head
    assert head is not None and head.policies == {"es": "rules_first"}
    assert annotate_with(nlp2, TEXT, ENTS) == expected != RULES
    # Bytes of a rules-only pipe remove a head.
    context_pipe(nlp2).from_bytes(context_pipe(make_nlp()).to_bytes())
    assert context_pipe(nlp2).scope_head is None


def test_disk_round_trip_in_fresh_process(tmp_path: Path) -> None:
    nlp = _encoder_nlp()
    context_pipe(nlp).set_scope_head(_biased_head({"es": "rules_first"}))
    expected = annotate_with(nlp, TEXT, ENTS)
    assert expected != RULES
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "alia_context" / SCOPE_HEAD_DIR / "scope_head.safetensors").is_file()
    script = textwrap.dedent(
        f"""
        import json
        import spacy
        nlp = spacy.load({str(tmp_path / "pipe")!r})
        text, ents = {TEXT!r}, {ENTS!r}
        doc = nlp.make_doc(text)
        spans, pos = [], 0
        for e in ents:
            i = text.index(e, pos)
            spans.append(doc.char_span(i, i + len(e), label="ENT"))
            pos = i + len(e)
        doc.ents = spans
        doc = nlp(doc)
        print(json.dumps([{{e.text: e._.assertion for e in doc.ents}}, nlp.pipe_names]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=True
    )
    got, names = json.loads(proc.stdout.strip().splitlines()[-1])
    assert names == ["alia_encoder", "alia_sections", "alia_context"]
    assert got == expected


def test_every_policy_is_tested() -> None:
    assert set(POLICIES) == {"rules", "head", "union", "rules_first", "head_where_cue"}
