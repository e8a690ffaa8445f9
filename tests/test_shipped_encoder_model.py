"""The shipped encoder pipeline ``models/alia-clin-es-small`` (marked slow: real weights).

Skipped when the checkout has no such pipeline. Every test runs with the network blocked
(``conftest._block_network``); here the HF offline variables are removed as well, so the
pipeline itself must not try to reach the Hub.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import alia_clin
from alia_clin.cli.main import app
from alia_clin.io.brat import read_ann, read_text

NAME = "alia-clin-es-small"
MODEL = alia_clin.models_dir() / NAME
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (MODEL / "config.cfg").is_file(), reason=f"models/{NAME} not in this checkout"),
]

NOTE = (
    "Paciente: Marta Ibarra Soler. DNI: 12345678Z.\n"
    "Mujer de 71 años con insuficiencia cardiaca y fibrilación auricular, en tratamiento con "
    "furosemida 40 mg y bisoprolol. Refiere disnea de esfuerzo y edemas maleolares.\n"
    "Se realiza ecocardiograma transtorácico: FEVI 35 %.\n"
    "Médico: Dr. Joan Puig Ferrer.\n"
)


@pytest.fixture(autouse=True)
def _no_offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)


def test_size_and_weights_format() -> None:
    total = sum(f.stat().st_size for f in alia_clin.models_dir().rglob("*") if f.is_file())
    assert total <= 100 * 1024 * 1024
    weights = list(MODEL.rglob("*.safetensors"))
    assert weights and not list(MODEL.rglob("pytorch_model*.bin")) and not list(MODEL.rglob("*.pt"))
    from safetensors import safe_open

    with safe_open(str(MODEL / "alia_encoder" / "model" / "model.safetensors"), "pt") as f:
        dtypes = {str(f.get_slice(k).get_dtype()) for k in f.keys()}  # noqa: SIM118
    assert dtypes <= {"F16", "BF16", "I8"}, dtypes
    card = (MODEL / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needed in ("not an ALIA", "CC BY 4.0", "alia-clin train"):
        assert needed in card


def test_spacy_load_without_importing_alia_clin(tmp_path: Path) -> None:
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(MODEL)!r})\n"
        "doc = nlp(sys.stdin.read())\n"
        "ents = [[e.start_char, e.end_char, e.label_] for e in doc.ents]\n"
        "phi = [[s.start_char, s.end_char, s.label_] for s in doc.spans['phi']]\n"
        "print(json.dumps({'pipes': nlp.pipe_names, 'ents': ents, 'phi': phi}))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONNOUSERSITE": "1"}
    res = subprocess.run(
        [sys.executable, "-c", script],
        input=NOTE,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["pipes"][:3] == ["alia_encoder", "alia_deid", "alia_ner"]
    phi = {NOTE[s:e] for s, e, _ in out["phi"]}
    assert {"Marta Ibarra Soler", "12345678Z"} <= phi
    assert out["ents"], "the NER head found no entity in a note full of them"


def test_one_encoder_pass_feeds_both_heads() -> None:
    nlp = alia_clin.load(NAME)
    model = nlp.get_pipe("alia_encoder").encoder.model  # type: ignore[attr-defined]
    calls: list[int] = []
    hook = model.register_forward_hook(lambda *_: calls.append(1))
    try:
        doc = nlp(NOTE)  # one short note: one window, so one forward call for every stage
    finally:
        hook.remove()
    assert len(calls) == 1
    assert {e.label_ for e in doc.ents} & {"ENFERMEDAD", "SINTOMA", "FARMACO", "PROCEDIMIENTO"}


def test_process_deid_and_ner_offline(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "n1.txt").write_text(NOTE, encoding="utf-8", newline="")
    (src / "n2.txt").write_bytes(NOTE.replace("\n", "\r\n").encode())
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app, ["process", str(src), "--out", str(out), "--model", NAME, "--tasks", "deid,ner", "-q"]
    )
    assert res.exit_code == 0, res.output
    for stem in ("n1", "n2"):
        text = read_text(src / f"{stem}.txt")
        ann = read_ann(out / f"{stem}.ann")
        assert all(text[e.start : e.end] == e.text for e in ann.entities)
        labels = {e.label for e in ann.entities}
        assert "ID_SUJETO_ASISTENCIA" in labels
        assert labels & {"ENFERMEDAD", "SINTOMA", "FARMACO", "PROCEDIMIENTO"}


def test_the_readme_main_job_runs_on_the_encoder_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``alia-clin demo`` (the README's main command) and ``alia_clin.load()`` without a model
    use this pipeline once the suite's rules pin (``ALIA_CLIN_MODEL``, tests/conftest.py) is lifted."""
    monkeypatch.delenv("ALIA_CLIN_MODEL", raising=False)
    assert "alia_encoder" in alia_clin.load().pipe_names
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    records = [
        json.loads(line) for line in (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert len(records) == 8 and all(r["phi"] for r in records)
    assert {e["label"] for r in records for e in r["entities"]} & {"ENFERMEDAD", "SINTOMA"}
