"""Viterbi decoding of BIO tag probabilities, alone and through a WordTagger."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from alia_clin.encoder.decoding import bio_viterbi
from alia_clin.encoder.heads import WordTagger
from alia_clin.errors import AliaClinError

# tags of labels A, B: O, B-A, I-A, B-B, I-B
BEGIN, INSIDE = [1, 3], [2, 4]


def _valid(path: list[int], breaks: list[bool] | None = None) -> bool:
    """Whether a tag path keeps the BIO grammar (and no I- right after a break)."""
    for w, t in enumerate(path):
        if t in INSIDE:
            k = INSIDE.index(t)
            if w == 0 or path[w - 1] not in (BEGIN[k], INSIDE[k]) or (breaks and breaks[w]):
                return False
    return True


def _path_score(probs: np.ndarray, path: list[int]) -> float:
    return float(sum(np.log(probs[w, t]) for w, t in enumerate(path)))


def test_valid_argmax_is_kept() -> None:
    probs = np.full((4, 5), 0.05)
    for w, t in enumerate([1, 2, 0, 3]):
        probs[w, t] = 0.8
    assert bio_viterbi(probs, BEGIN, INSIDE).tolist() == [1, 2, 0, 3]


def test_inside_after_outside_is_repaired_to_the_best_valid_path() -> None:
    # per-word argmax: O I-A I-A (invalid); B-A is nearly as likely as O on the first word
    probs = np.array(
        [
            [0.50, 0.40, 0.04, 0.03, 0.03],
            [0.10, 0.05, 0.75, 0.05, 0.05],
            [0.10, 0.05, 0.75, 0.05, 0.05],
        ]
    )
    assert bio_viterbi(probs, BEGIN, INSIDE).tolist() == [1, 2, 2]
    # a label change inside a span (B-A I-B) is not allowed either
    probs = np.array([[0.1, 0.8, 0.04, 0.03, 0.03], [0.1, 0.05, 0.3, 0.05, 0.5]])
    path = bio_viterbi(probs, BEGIN, INSIDE).tolist()
    assert _valid(path) and path == [1, 2]


def test_break_forbids_inside_and_empty_note() -> None:
    probs = np.array([[0.05, 0.8, 0.05, 0.05, 0.05], [0.05, 0.3, 0.55, 0.05, 0.05]])
    assert bio_viterbi(probs, BEGIN, INSIDE).tolist() == [1, 2]
    assert bio_viterbi(probs, BEGIN, INSIDE, np.array([False, True])).tolist() == [1, 1]
    assert bio_viterbi(np.zeros((0, 5)), BEGIN, INSIDE).tolist() == []


def test_matches_exhaustive_search_on_random_notes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        probs = rng.dirichlet(np.ones(5) * 0.5, size=5)
        breaks = (rng.random(5) < 0.3).tolist()
        best = max(
            (list(p) for p in itertools.product(range(5), repeat=5) if _valid(list(p), breaks)),
            key=lambda p: _path_score(probs, p),
        )
        got = bio_viterbi(probs, BEGIN, INSIDE, np.asarray(breaks)).tolist()
        assert _valid(got, breaks)
        assert _path_score(probs, got) == pytest.approx(_path_score(probs, best))


def test_word_tagger_viterbi_spans_and_round_trip(tmp_path: Path) -> None:
    text = "fallo cardiaco agudo\ncon disnea"
    words = [(0, 5), (6, 14), (15, 20), (21, 24), (25, 31)]
    head = WordTagger(8, ["ENF", "SIN"], scheme="BIO", decoding="viterbi")
    probs = np.full((5, 5), 0.02, dtype=np.float32)
    for w, (t, p) in enumerate([(0, 0.5), (2, 0.9), (2, 0.9), (0, 0.9), (3, 0.9)]):
        probs[w, t] = p
    probs[0, 1] = 0.45  # B-ENF nearly as likely as O on "fallo"
    spans = head.decode(words, probs, text=text)
    assert [(text[s:e], lab) for s, e, lab, _ in spans] == [
        ("fallo cardiaco agudo", "ENF"),
        ("disnea", "SIN"),
    ]
    assert spans[0][3] == pytest.approx((0.47 + 0.92 + 0.92) / 3, abs=1e-5)
    greedy = WordTagger(8, ["ENF", "SIN"], scheme="BIO")
    assert [text[s:e] for s, e, *_ in greedy.decode(words, probs, text=text)] == ["cardiaco agudo", "disnea"]
    head.save(tmp_path / "h")
    assert json.loads((tmp_path / "h" / "head.json").read_text())["decoding"] == "viterbi"
    assert WordTagger.load(tmp_path / "h").decoding == "viterbi"
    # heads saved before the setting existed load as greedy
    cfg = json.loads((tmp_path / "h" / "head.json").read_text())
    cfg.pop("decoding")
    (tmp_path / "h" / "head.json").write_text(json.dumps(cfg))
    assert WordTagger.load(tmp_path / "h").decoding == "greedy"


@pytest.mark.parametrize(("scheme", "decoding"), [("BIO", "beam"), ("IO", "viterbi")])
def test_word_tagger_rejects_bad_decoding(scheme: str, decoding: str) -> None:
    with pytest.raises(AliaClinError) as err:
        WordTagger(8, ["A"], scheme=scheme, decoding=decoding)
    assert err.value.code == "E107"
