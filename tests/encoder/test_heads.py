"""The word-level tagging head: targets, decoding, loss, save/load, a tiny overfit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from alia_clin.encoder.heads import IGNORE_INDEX, NOTE_BATCH, WordTagger, build_tags, tagger_loss
from alia_clin.encoder.loading import load_encoder
from alia_clin.encoder.windows import EncodedNote, WindowSettings, encode_notes, split_words, word_states
from alia_clin.errors import AliaClinError

from .tiny import tiny_model_dir

TEXT = "Dr. Joan Puig visita a Marta Ibarra.\nMarta tiene 03/02/2024 cita."


def _probs(head: WordTagger, tags: list[str], p: float = 0.9) -> np.ndarray:
    """One-hot-ish probabilities for a tag sequence."""
    out = np.full((len(tags), len(head.tags)), (1 - p) / (len(head.tags) - 1), dtype=np.float32)
    for i, t in enumerate(tags):
        out[i, head.tags.index(t)] = p
    return out


def test_build_tags() -> None:
    assert build_tags(["A", "B"], "BIO") == ["O", "B-A", "I-A", "B-B", "I-B"]
    assert build_tags(["A", "B"], "IO") == ["O", "I-A", "I-B"]
    with pytest.raises(AliaClinError) as err:
        build_tags(["A"], "BILOU")
    assert err.value.code == "E107"
    with pytest.raises(AliaClinError):
        WordTagger(8, ["A", "A"])
    with pytest.raises(AliaClinError):
        WordTagger(8, ["O"])


def test_targets_from_character_spans() -> None:
    words = split_words(TEXT)
    head = WordTagger(8, ["NOMBRE", "FECHA"], scheme="BIO")
    spans = [(4, 13, "NOMBRE"), (23, 35, "NOMBRE"), (49, 59, "FECHA"), (0, 2, "OTHER")]
    tags = [head.tags[t] for t in head.targets(words, spans)]
    assert tags[:4] == ["O", "O", "B-NOMBRE", "I-NOMBRE"]
    marta = words.index((23, 28))
    assert tags[marta : marta + 3] == ["B-NOMBRE", "I-NOMBRE", "O"]
    assert tags[words.index((37, 42))] == "O"
    fecha = [t for (s, e), t in zip(words, tags, strict=True) if 49 <= s < 59]
    assert fecha == ["B-FECHA", "I-FECHA", "I-FECHA", "I-FECHA", "I-FECHA"]
    # partial overlap marks the word; IO has no B- tags
    io = WordTagger(8, ["NOMBRE"], scheme="IO")
    assert [io.tags[t] for t in io.targets(words, [(6, 10, "NOMBRE")])][2:5] == ["I-NOMBRE", "I-NOMBRE", "O"]


def test_decode_io_merges_words_and_breaks_on_newline() -> None:
    words = split_words(TEXT)
    head = WordTagger(8, ["NOMBRE", "FECHA"], scheme="IO")
    tags = ["O"] * len(words)
    texts = [TEXT[s:e] for s, e in words]
    for i, w in enumerate(texts):
        if w in ("Joan", "Puig", "Marta", "Ibarra"):
            tags[i] = "I-NOMBRE"
    # "Ibarra" "." "\n" "Marta": the dot is O, so the spans are separate anyway; force a case
    # where only the newline separates two NOMBRE words by tagging the dot too.
    tags[texts.index(".", 6)] = "I-NOMBRE"
    spans = head.decode(words, _probs(head, tags), text=TEXT)
    assert [(TEXT[s:e], lab) for s, e, lab, _ in spans] == [
        ("Joan Puig", "NOMBRE"), ("Marta Ibarra.", "NOMBRE"), ("Marta", "NOMBRE"),
    ]
    assert all(abs(score - 0.9) < 1e-5 for *_, score in spans)
    merged = head.decode(words, _probs(head, tags))  # without text: no newline rule
    assert [(TEXT[s:e]) for s, e, *_ in merged][1] == "Marta Ibarra.\nMarta"


def test_decode_bio_splits_adjacent_mentions_and_combines_probabilities() -> None:
    text = "Joan Puig Marta Ibarra"
    words = split_words(text)
    head = WordTagger(8, ["NOMBRE", "FECHA"], scheme="BIO")
    spans = head.decode(words, _probs(head, ["B-NOMBRE", "I-NOMBRE", "B-NOMBRE", "I-NOMBRE"]))
    assert [text[s:e] for s, e, *_ in spans] == ["Joan Puig", "Marta Ibarra"]
    # P(O)=0.4 but B-NOMBRE 0.3 + I-NOMBRE 0.3 = 0.6: the word is a NOMBRE
    probs = np.zeros((1, len(head.tags)), dtype=np.float32)
    probs[0, head.tags.index("O")] = 0.4
    probs[0, head.tags.index("B-NOMBRE")] = 0.3
    probs[0, head.tags.index("I-NOMBRE")] = 0.3
    assert head.decode([(0, 4)], probs) == [(0, 4, "NOMBRE", pytest.approx(0.6))]
    # an I- after O opens a span (lenient), a label change closes one
    spans = head.decode(words, _probs(head, ["O", "I-NOMBRE", "I-FECHA", "I-FECHA"]))
    assert [(text[s:e], lab) for s, e, lab, _ in spans] == [("Puig", "NOMBRE"), ("Marta Ibarra", "FECHA")]
    assert head.decode([], np.zeros((0, len(head.tags)))) == []


def test_loss_ignores_padding() -> None:
    logits = torch.randn(2, 3, 4, requires_grad=True)
    targets = torch.tensor([[1, 0, IGNORE_INDEX], [2, IGNORE_INDEX, IGNORE_INDEX]])
    loss = tagger_loss(logits, targets)
    expected = torch.nn.functional.cross_entropy(
        torch.stack([logits[0, 0], logits[0, 1], logits[1, 0]]), torch.tensor([1, 0, 2])
    )
    assert torch.allclose(loss, expected)
    loss.backward()
    assert logits.grad is not None and not logits.grad[0, 2].any()
    collated = WordTagger.collate_targets([[1, 2], [3]], 3)
    assert collated.tolist() == [[1, 2, IGNORE_INDEX], [3, IGNORE_INDEX, IGNORE_INDEX]]


@pytest.mark.parametrize("mlp_hidden", [0, 16])
def test_save_load_round_trip(tmp_path: Path, mlp_hidden: int) -> None:
    torch.manual_seed(1)
    head = WordTagger(32, ["NOMBRE", "FECHA", "ID_SUJETO_ASISTENCIA"], scheme="BIO", mlp_hidden=mlp_hidden)
    states = np.random.default_rng(0).standard_normal((7, 32)).astype(np.float32)
    head.save(tmp_path / "fp32")
    head.save(tmp_path / "fp16", dtype="float16")
    cfg = json.loads((tmp_path / "fp32" / "head.json").read_text())
    assert cfg["labels"] == ["NOMBRE", "FECHA", "ID_SUJETO_ASISTENCIA"] and cfg["scheme"] == "BIO"
    same = WordTagger.load(tmp_path / "fp32")
    half = WordTagger.load(tmp_path / "fp16")
    np.testing.assert_array_equal(head.probabilities(states), same.probabilities(states))
    np.testing.assert_allclose(head.probabilities(states), half.probabilities(states), atol=1e-2)
    assert (tmp_path / "fp16" / "head.safetensors").stat().st_size < (
        tmp_path / "fp32" / "head.safetensors"
    ).stat().st_size


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(AliaClinError) as err:
        WordTagger.load(tmp_path / "missing")
    assert err.value.code == "E106"
    head = WordTagger(32, ["A"])
    head.save(tmp_path / "h")
    cfg = json.loads((tmp_path / "h" / "head.json").read_text())
    cfg["labels"] = ["A", "B"]
    cfg.pop("tags")
    (tmp_path / "h" / "head.json").write_text(json.dumps(cfg))
    with pytest.raises(AliaClinError) as err:
        WordTagger.load(tmp_path / "h")
    assert err.value.code == "E106"


def test_hidden_size_mismatch() -> None:
    head = WordTagger(16, ["A"])
    note = EncodedNote(words=[(0, 1)], states=np.zeros((1, 32), dtype=np.float32))
    with pytest.raises(AliaClinError) as err:
        head.predict(note)
    assert err.value.code == "E109"
    assert head.predict(EncodedNote(words=[], states=np.zeros((0, 32), dtype=np.float32))) == []


def test_head_reads_its_own_layers_and_keeps_them_on_disk(tmp_path: Path) -> None:
    """A head of layers (-1, 1) reads those columns out of an encoder that keeps (1, 2, -1);
    a head saved before layers were recorded reads the last layer."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    last, one, two = (rng.standard_normal((5, 8)).astype(np.float32) for _ in range(3))
    words = [(i, i + 1) for i in range(5)]
    kept = EncodedNote(words, np.concatenate([one, two, last], axis=1), layers=(1, 2, -1))
    own = EncodedNote(words, np.concatenate([last, one], axis=1), layers=(-1, 1))
    head = WordTagger(16, ["A"], scheme="BIO", rnn=4, layers=(-1, 1))
    np.testing.assert_array_equal(head.inputs(kept), own.states)
    assert head.predict(kept) == head.predict(own)
    assert head.predict_many([kept, own]) == [head.predict(own)] * 2
    head.save(tmp_path / "h")
    assert WordTagger.load(tmp_path / "h").layers == (-1, 1)
    with pytest.raises(AliaClinError) as err:  # the encoder does not keep layer 1
        head.predict(EncodedNote(words, last))
    assert err.value.code == "E109"
    legacy = WordTagger(8, ["A"])
    legacy.save(tmp_path / "old")
    cfg = json.loads((tmp_path / "old" / "head.json").read_text())
    del cfg["layers"]
    (tmp_path / "old" / "head.json").write_text(json.dumps(cfg))
    old = WordTagger.load(tmp_path / "old")
    assert old.layers == (-1,)
    assert old.predict(kept) == old.predict(EncodedNote(words, last))
    with pytest.raises(AliaClinError):
        WordTagger(8, ["A"], layers=(1, 1))


def test_head_learns_names_on_a_frozen_tiny_encoder() -> None:
    """A few dozen steps on frozen states are enough to fit one note exactly."""
    torch.manual_seed(0)
    enc = load_encoder(tiny_model_dir("xlm-roberta"))
    settings = WindowSettings(max_length=0, stride=8)
    gold = [(4, 13, "NOMBRE"), (23, 35, "NOMBRE"), (37, 42, "NOMBRE"), (49, 59, "FECHA")]
    assert [TEXT[s:e] for s, e, _ in gold] == ["Joan Puig", "Marta Ibarra", "Marta", "03/02/2024"]
    head = WordTagger(enc.hidden_size, ["NOMBRE", "FECHA"], scheme="IO", dropout=0.0)
    with torch.no_grad():
        batch = word_states(enc, [TEXT], settings=settings)
    targets = head.collate_targets([head.targets(batch.words[0], gold)], batch.states.shape[1])
    optim = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(150):
        optim.zero_grad()
        loss = tagger_loss(head(batch.states), targets)
        loss.backward()
        optim.step()
    note = encode_notes(enc, [TEXT], settings=settings)[0]
    pred = head.predict(note, text=TEXT)
    assert [(s, e, lab) for s, e, lab, _ in pred] == gold
    assert head.predict_many([note, note], [TEXT, TEXT]) == [pred, pred]


def test_gru_head_reads_each_note_as_one_sequence(tmp_path: Path) -> None:
    """With ``rnn`` a word's tag depends on its neighbours, never on another note's words."""
    torch.manual_seed(3)
    head = WordTagger(16, ["A", "B"], scheme="BIO", rnn=8, mlp_hidden=12)
    assert head.is_sequential and not WordTagger(16, ["A"]).is_sequential
    rng = np.random.default_rng(1)
    s1 = rng.standard_normal((5, 16)).astype(np.float32)
    s2 = rng.standard_normal((3, 16)).astype(np.float32)
    p1 = head.probabilities(s1)
    changed = s1.copy()
    changed[4] += 1.0
    assert not np.allclose(p1[0], head.probabilities(changed)[0]), "word 0 sees word 4"
    n1 = EncodedNote([(i * 2, i * 2 + 1) for i in range(5)], s1)
    n2 = EncodedNote([(i * 2, i * 2 + 1) for i in range(3)], s2)
    empty = EncodedNote([], np.zeros((0, 16), dtype=np.float32))
    both = head.predict_many([n1, empty, n2])
    assert both == [head.predict(n1), [], head.predict(n2)]
    # a padded batch with a mask gives each note the logits it gets alone
    x = torch.zeros(2, 5, 16)
    x[0], x[1, :3] = torch.from_numpy(s1), torch.from_numpy(s2)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    head.eval()
    with torch.no_grad():
        batched = head(x, mask)
        alone = head(torch.from_numpy(s2))
    torch.testing.assert_close(batched[1, :3], alone, atol=1e-5, rtol=1e-4)
    head.save(tmp_path / "h", dtype="float16")
    assert json.loads((tmp_path / "h" / "head.json").read_text())["rnn"] == 8
    again = WordTagger.load(tmp_path / "h")
    assert again.is_sequential and again.rnn_size == 8
    np.testing.assert_allclose(again.probabilities(s1), p1, atol=1e-2)
    with pytest.raises(AliaClinError) as err:
        WordTagger(16, ["A"], rnn=-1)
    assert err.value.code == "E107"


@pytest.mark.parametrize("rnn", [0, 6])
def test_probabilities_many_batches_notes_like_one_at_a_time(rnn: int) -> None:
    """Several notes (more than one padded batch, one empty) get the probabilities and spans
    each gets alone."""
    torch.manual_seed(5)
    head = WordTagger(12, ["A", "B"], scheme="BIO", rnn=rnn, mlp_hidden=10, decoding="viterbi").eval()
    with torch.no_grad():
        head.classifier.weight.mul_(10.0)
    rng = np.random.default_rng(7)
    lengths = [int(n) for n in rng.integers(1, 30, size=NOTE_BATCH + 5)]
    lengths[3] = 0
    inputs = [rng.standard_normal((n, 12)).astype(np.float32) for n in lengths]
    many = head.probabilities_many(inputs)
    assert [len(p) for p in many] == lengths
    for x, p in zip(inputs, many, strict=True):
        if len(x):
            np.testing.assert_allclose(p, head.probabilities(x), atol=1e-5)
    notes = [EncodedNote([(i * 2, i * 2 + 1) for i in range(len(x))], x) for x in inputs]
    spans = head.predict_many(notes)
    assert [[s[:3] for s in ps] for ps in spans] == [[s[:3] for s in head.predict(n)] for n in notes]
    assert any(spans) and spans[3] == []
    assert head.probabilities_many([]) == []


def test_probabilities_many_keeps_batches_within_the_word_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long notes are not padded into one huge batch: the budget splits them, results unchanged."""
    import alia_clin.encoder.heads as heads_module

    torch.manual_seed(6)
    head = WordTagger(8, ["A"], scheme="BIO", rnn=4).eval()
    rng = np.random.default_rng(8)
    inputs = [rng.standard_normal((n, 8)).astype(np.float32) for n in (40, 5, 39, 6, 41)]
    widths: list[tuple[int, ...]] = []
    real_forward = head.forward

    def spy(states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        widths.append(tuple(states.shape[:-1]))
        return real_forward(states, mask)

    monkeypatch.setattr(head, "forward", spy)
    monkeypatch.setattr(heads_module, "NOTE_BATCH_WORDS", 80)
    many = head.probabilities_many(inputs)
    assert all(len(w) == 1 or w[0] * w[1] <= 80 for w in widths)
    assert len(widths) > 1
    for x, p in zip(inputs, many, strict=True):
        np.testing.assert_allclose(p, head.probabilities(x), atol=1e-5)
