"""Pre-splitting, windows over long notes, merging and pooling."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from alia_clin.encoder.loading import load_encoder
from alia_clin.encoder.windows import (
    WindowSettings,
    _prepare,
    assign_pieces,
    canonical_layers,
    encode_notes,
    n_windows,
    plan_windows,
    select_layers,
    split_words,
    word_states,
)
from alia_clin.errors import AliaClinError

from .tiny import BUILDERS, MAX_TOKENS, tiny_model_dir

ARCHS = sorted(BUILDERS)
SETTINGS = WindowSettings(max_length=0, stride=16, batch_size=4)

TRICKY = (
    "Niño de 7 años.\r\nDx:\tinsuficiencia cardíaca (FEVI 35 %).\r\n"
    "Visita al col·legi amb la Barça 😀 👍🏽 ❤️ — «bé» … ¿qué? ¡sí!\u00a0kg\u200bmg\n"
    "cafe\u0301 NT-proBNP 1.200 pg/ml; email@ejemplo.org"
)


def _words(text: str) -> list[str]:
    return [text[s:e] for s, e in split_words(text)]


def test_split_words_tricky_characters_keep_offsets() -> None:
    words = split_words(TRICKY)
    got = [TRICKY[s:e] for s, e in words]
    assert got == [
        "Niño", "de", "7", "años", ".", "Dx", ":", "insuficiencia", "cardíaca", "(", "FEVI", "35", "%",
        ")", ".", "Visita", "al", "col·legi", "amb", "la", "Barça", "😀", "👍🏽", "❤️", "—", "«", "bé",
        "»", "…", "¿", "qué", "?", "¡", "sí", "!", "kg", "mg", "cafe\u0301", "NT", "-", "proBNP", "1",
        ".", "200", "pg", "/", "ml", ";", "email", "@", "ejemplo", ".", "org",
    ]
    # offsets are code-point indices: everything between words is whitespace or invisible
    prev = 0
    for s, e in words:
        assert 0 <= prev <= s < e <= len(TRICKY)
        assert all(c.isspace() or c in "\u200b" for c in TRICKY[prev:s])
        prev = e
    assert TRICKY[words[-1][0] :] == "org"


def test_split_words_edge_cases() -> None:
    assert split_words("") == []
    assert split_words(" \r\n\t\u00a0") == []
    assert _words("l·l ·a a·") == ["l·l", "·", "a", "a", "·"]
    assert _words("a_b 3,5") == ["a_b", "3", ",", "5"]


def test_plan_windows_cover_with_overlap() -> None:
    assert plan_windows(0, 10, 2) == []
    assert plan_windows(7, 10, 2) == [(0, 7)]
    assert plan_windows(10, 10, 2) == [(0, 10)]
    wins = plan_windows(25, 10, 3)
    assert wins == [(0, 10), (7, 17), (14, 24), (15, 25)]
    assert len(wins) == n_windows(25, 12, 2, 3)
    for n in range(0, 200, 7):
        wins = plan_windows(n, 20, 5)
        assert len(wins) == n_windows(n, 22, 2, 5)
        covered = set()
        for (s, e), nxt in zip(wins, [*wins[1:], None], strict=False):
            assert e - s <= 20
            covered |= set(range(s, e))
            if nxt is not None:
                assert e - nxt[0] >= 5  # overlap at least the stride
        assert covered == set(range(n))


def test_assign_pieces_prefers_the_window_centre() -> None:
    wins = plan_windows(25, 10, 4)  # (0,10) (6,16) (12,22) (15,25)
    owner, pos = assign_pieces(25, wins)
    for i in range(25):
        s, e = wins[owner[i]]
        assert s <= i < e and pos[i] == i - s
    assert owner[0] == 0 and owner[24] == len(wins) - 1
    # piece 8: 1 from the cut edge of window 0 ([0,10)), 2 from window 1's left cut → window 1
    assert owner[8] == 1
    # a tie (equal distance to a cut edge in two windows) goes to the earlier window
    owner2, _ = assign_pieces(20, [(0, 12), (8, 20)])
    assert owner2[9] == 0 and owner2[10] == 1
    np.testing.assert_array_equal(owner, assign_pieces(25, wins)[0])


def _long_note(repeats: int = 30) -> str:
    line = "Paciente de 71 años con disnea de esfuerzo y edemas, FEVI 35 %.\r\n"
    return "Niño ❤️ col·legi. " + line * repeats


@pytest.mark.parametrize("arch", ARCHS)
def test_long_note_gets_a_state_for_every_word(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    text = _long_note()
    note = _prepare(enc, [text], MAX_TOKENS - enc.n_special, SETTINGS.stride)[0]
    assert len(note.piece_ids) > 3 * MAX_TOKENS
    assert len(note.windows) > 3
    out = encode_notes(enc, [text], settings=SETTINGS)[0]
    assert out.words == split_words(text)
    assert out.states.shape == (len(out.words), enc.hidden_size)
    assert out.states.dtype == np.float32
    assert np.isfinite(out.states).all()
    assert out.encoder_sha256 == enc.weights_sha256


@pytest.mark.parametrize("arch", ARCHS)
def test_merged_states_equal_the_owning_window(arch: str) -> None:
    """Every word's state is exactly the state of its first piece in the window that owns it."""
    enc = load_encoder(tiny_model_dir(arch))
    text = _long_note(12)
    note = _prepare(enc, [text], MAX_TOKENS - enc.n_special, SETTINGS.stride)[0]
    out = encode_notes(enc, [text], settings=SETTINGS)[0]
    with torch.inference_mode():
        per_window = []
        for s, e in note.windows:
            ids = torch.tensor([enc.prefix_ids + note.piece_ids[s:e] + enc.suffix_ids])
            per_window.append(enc.model(input_ids=ids).last_hidden_state[0].numpy())
    pool_word = note.piece_word[note.pool_pieces]
    first_piece = note.pool_pieces[np.unique(pool_word, return_index=True)[1]]
    assert len(first_piece) == len(out.words)
    for w, p in enumerate(first_piece):
        expected = per_window[note.owner[p]][note.position[p] + len(enc.prefix_ids)]
        np.testing.assert_allclose(out.states[w], expected, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_merge_is_deterministic_and_batch_independent(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    texts = [_long_note(10), "Paciente de 71 años.", "", _long_note(4), TRICKY]
    a = encode_notes(enc, texts, settings=SETTINGS)
    b = encode_notes(enc, texts, settings=SETTINGS)
    for x, y in zip(a, b, strict=True):
        assert x.words == y.words
        np.testing.assert_array_equal(x.states, y.states)
    for i, t in enumerate(texts):  # alone vs in a padded, length-sorted batch
        alone = encode_notes(enc, [t], settings=WindowSettings(max_length=0, stride=16, batch_size=1))[0]
        np.testing.assert_allclose(alone.states, a[i].states, atol=1e-5)
    assert a[2].states.shape == (0, enc.hidden_size)


def test_short_note_equals_a_plain_forward_pass() -> None:
    enc = load_encoder(tiny_model_dir("bert"))
    text = "Paciente de 71 años con disnea."
    out = encode_notes(enc, [text], settings=SETTINGS)[0]
    words = [text[s:e] for s, e in out.words]
    batch = enc.tokenizer([words], is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = enc.model(**batch).last_hidden_state[0].numpy()
    word_ids = batch.word_ids(0)
    first = [word_ids.index(i) for i in range(len(words))]
    np.testing.assert_allclose(out.states, hidden[first], atol=1e-5)


@pytest.mark.parametrize("arch", ["xlm-roberta", "roberta"])
def test_bare_prefix_pieces_are_not_pooled(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    bare = next(iter(enc.bare_piece_ids))
    text = "de 😀 . de"
    note = _prepare(enc, [text], MAX_TOKENS - enc.n_special, 16)[0]
    assert bare in note.piece_ids  # the emoji / the dot start with a lone marker piece
    assert all(note.piece_ids[p] != bare for p in note.pool_pieces)
    assert sorted(set(note.piece_word[note.pool_pieces].tolist())) == list(range(len(note.words)))


def test_mean_pooling_differs_from_first_piece() -> None:
    enc = load_encoder(tiny_model_dir("xlm-roberta"))
    text = "Paciente 12345 y 😀"  # '12345' and the emoji take several pieces
    first = encode_notes(enc, [text], settings=SETTINGS)[0]
    mean = encode_notes(
        enc, [text], settings=WindowSettings(max_length=0, stride=16, pooling="mean")
    )[0]
    assert first.words == mean.words
    np.testing.assert_allclose(first.states[0], mean.states[0], atol=1e-6)  # one piece: same
    assert not np.allclose(first.states[1], mean.states[1])


@pytest.mark.parametrize("arch", ["bert", "modernbert"])
def test_training_path_matches_inference_and_has_gradients(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    texts = [_long_note(5), "Paciente de 71 años."]
    batch = word_states(enc, texts, settings=SETTINGS)  # model in eval mode: no dropout
    inf = encode_notes(enc, texts, settings=SETTINGS)
    assert batch.states.shape == (2, len(inf[0].words), enc.hidden_size)
    assert batch.mask.sum(dim=1).tolist() == [len(inf[0].words), len(inf[1].words)]
    assert batch.words == [inf[0].words, inf[1].words]
    for i in range(2):
        k = len(inf[i].words)
        np.testing.assert_allclose(batch.states[i, :k].detach().numpy(), inf[i].states, atol=1e-5)
        assert not batch.states[i, k:].any()
    (batch.states[batch.mask] ** 2).mean().backward()
    grads = [p.grad for p in enc.model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_bf16_autocast_is_close_to_fp32() -> None:
    enc = load_encoder(tiny_model_dir("roberta"))
    text = _long_note(4)
    fp32 = encode_notes(enc, [text], settings=SETTINGS)[0].states
    bf16 = encode_notes(
        enc, [text], settings=WindowSettings(max_length=0, stride=16, bf16=True), num_threads=1
    )[0].states
    assert bf16.dtype == np.float32 and bf16.shape == fp32.shape
    cos = (fp32 * bf16).sum(1) / (np.linalg.norm(fp32, axis=1) * np.linalg.norm(bf16, axis=1))
    assert cos.min() > 0.98


def test_invalid_settings_raise_coded_errors() -> None:
    enc = load_encoder(tiny_model_dir("bert"))
    for settings in (
        WindowSettings(max_length=0, stride=62),
        WindowSettings(max_length=10, stride=8),
        WindowSettings(max_length=0, stride=-1),
        WindowSettings(max_length=0, stride=8, batch_size=0),
    ):
        with pytest.raises(AliaClinError) as err:
            encode_notes(enc, ["hola"], settings=settings)
        assert err.value.code == "E105"
    with pytest.raises(AliaClinError) as err:
        encode_notes(enc, ["hola"], settings=WindowSettings(max_length=0, stride=8, pooling="max"))
    assert err.value.code == "E107"


def test_max_length_is_capped_by_the_model() -> None:
    enc = load_encoder(tiny_model_dir("bert"))
    text = _long_note(6)
    big = encode_notes(enc, [text], settings=WindowSettings(max_length=4096, stride=16))[0]
    own = encode_notes(enc, [text], settings=SETTINGS)[0]
    np.testing.assert_allclose(big.states, own.states, atol=1e-6)


@pytest.mark.parametrize("arch", ["bert", "modernbert"])
def test_several_layers_are_concatenated_in_order(arch: str) -> None:
    """``layers=(-1, 1)``: the last layer's states (as by default) then layer 1's, per word."""
    enc = load_encoder(tiny_model_dir(arch))
    text = _long_note(6)  # several windows: the merge applies to every kept layer alike
    last = encode_notes(enc, [text], settings=SETTINGS)[0]
    one = encode_notes(enc, [text], settings=replace(SETTINGS, layers=(1,)))[0]
    both = encode_notes(enc, [text], settings=replace(SETTINGS, layers=(-1, 1)))[0]
    h = enc.hidden_size
    assert both.layers == (-1, 1) and last.layers == (-1,) and one.layers == (1,)
    assert both.states.shape == (len(last.words), 2 * h)
    np.testing.assert_allclose(both.states[:, :h], last.states, atol=1e-5)
    np.testing.assert_allclose(both.states[:, h:], one.states, atol=1e-5)
    assert not np.allclose(one.states, last.states, atol=1e-3)
    # the training path keeps the same layers, with gradients
    batch = word_states(enc, [text], settings=replace(SETTINGS, layers=(-1, 1)))
    assert batch.states.shape[-1] == 2 * h
    # select_layers gives a head its own layers back, in its order
    np.testing.assert_array_equal(select_layers(both, (1,), h), one.states)
    np.testing.assert_array_equal(select_layers(both, (1, -1), 2 * h)[:, h:], both.states[:, :h])
    with pytest.raises(AliaClinError) as err:
        select_layers(last, (1,), h)
    assert err.value.code == "E109"
    with pytest.raises(AliaClinError) as err:
        select_layers(both, (-1,), 2 * h)
    assert err.value.code == "E109"


def test_layer_indices_are_canonical_and_checked() -> None:
    assert canonical_layers((-1,), 2) == (-1,)
    assert canonical_layers((2,), 2) == (-1,)  # the last layer by its number
    assert canonical_layers((-2, 0), 2) == (1, 0)
    for bad in ((), (3,), (-4,), (-1, 2), (1, 1)):
        with pytest.raises(AliaClinError) as err:
            canonical_layers(bad, 2)
        assert err.value.code == "E107", bad
    enc = load_encoder(tiny_model_dir("bert"))
    with pytest.raises(AliaClinError) as err:
        encode_notes(enc, ["Paciente."], settings=replace(SETTINGS, layers=(5,)))
    assert err.value.code == "E107"
