"""Ensembles of word taggers: mean probabilities, disk and bytes round trips, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from alia_clin.encoder.ensemble import TaggerEnsemble, load_tagger
from alia_clin.encoder.heads import WordTagger
from alia_clin.encoder.windows import EncodedNote
from alia_clin.errors import AliaClinError
from alia_clin.pipeline.head_io import head_from_files, head_to_files

LABELS = ["ENF", "SIN"]
WORDS = [(0, 5), (6, 14), (15, 20), (21, 24), (25, 31)]
TEXT = "fallo cardiaco agudo\ncon disnea"


def _head(seed: int, **kwargs: object) -> WordTagger:
    torch.manual_seed(seed)
    head = WordTagger(8, LABELS, scheme="BIO", rnn=4, **kwargs)  # type: ignore[arg-type]
    with torch.no_grad():
        head.classifier.weight.mul_(20.0)
    return head.eval()


def _note(seed: int = 0) -> EncodedNote:
    states = np.random.default_rng(seed).standard_normal((len(WORDS), 8)).astype(np.float32)
    return EncodedNote(words=WORDS, states=states)


def test_mean_of_members_decoded_like_the_first() -> None:
    a, b = _head(1, decoding="viterbi"), _head(2)
    ens = TaggerEnsemble([a, b])
    note = _note()
    mean = (a.probabilities(note.states) + b.probabilities(note.states)) / 2
    np.testing.assert_allclose(ens.probabilities(note.states), mean, rtol=1e-6)
    assert ens.decoding == "viterbi" and ens.labels == LABELS and ens.layers == a.layers
    assert ens.predict(note, text=TEXT) == a.decode(WORDS, mean, text=TEXT)
    many = ens.predict_many([note, _note(1)], [TEXT, TEXT])
    assert many[0] and many[1]
    assert [s[:3] for s in many[0]] == [s[:3] for s in ens.predict(note, text=TEXT)]
    assert [s[:3] for s in many[1]] == [s[:3] for s in ens.predict(_note(1), text=TEXT)]
    assert ens.predict_many([]) == []
    assert ens.predict(EncodedNote(words=[], states=np.zeros((0, 8), np.float32))) == []


def test_disk_and_bytes_round_trip(tmp_path: Path) -> None:
    ens = TaggerEnsemble([_head(1), _head(2), _head(3)])
    note = _note()
    ens.save(tmp_path / "ens")
    cfg = json.loads((tmp_path / "ens" / "ensemble.json").read_text())
    assert cfg["members"] == ["member_0", "member_1", "member_2"]
    loaded = load_tagger(tmp_path / "ens")
    assert isinstance(loaded, TaggerEnsemble) and len(loaded.members) == 3
    np.testing.assert_array_equal(loaded.probabilities(note.states), ens.probabilities(note.states))
    files = head_to_files(ens)
    assert "ensemble.json" in files and "member_2/head.safetensors" in files
    again = head_from_files(files)
    assert isinstance(again, TaggerEnsemble)
    assert again.predict(note, text=TEXT) == ens.predict(note, text=TEXT)
    single = _head(4)
    single.save(tmp_path / "one")
    assert isinstance(load_tagger(tmp_path / "one"), WordTagger)
    assert isinstance(head_from_files(head_to_files(single)), WordTagger)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(AliaClinError) as err:
        TaggerEnsemble([_head(1)])
    assert err.value.code == "E106"
    other = WordTagger(8, ["ENF"], scheme="BIO")
    with pytest.raises(AliaClinError) as err:
        TaggerEnsemble([_head(1), other])
    assert err.value.code == "E106"
    TaggerEnsemble([_head(1), _head(2)]).save(tmp_path / "ens")
    cfg_path = tmp_path / "ens" / "ensemble.json"
    for bad in ({"format": 1, "kind": "other", "members": ["member_0"]},
                {"format": 1, "kind": "word_tagger_ensemble", "members": ["../ens"]}):  # fmt: skip
        cfg_path.write_text(json.dumps(bad))
        with pytest.raises(AliaClinError) as err:
            load_tagger(tmp_path / "ens")
        assert err.value.code == "E106"
    cfg_path.write_text("{not json")
    with pytest.raises(AliaClinError) as err:
        TaggerEnsemble.load(tmp_path / "ens")
    assert err.value.code == "E106"
    with pytest.raises(AliaClinError) as err:
        head_from_files({"ensemble.json": b"{}", "../outside/head.json": b"{}"})
    assert err.value.code == "E106"
    with pytest.raises(AliaClinError) as err:
        head_from_files({"head.json": b"{}"})
    assert err.value.code == "E106"
