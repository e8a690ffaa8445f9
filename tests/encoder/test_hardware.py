"""bf16 = "auto": native-bf16 detection and how ``alia_encoder`` resolves it."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

import alia_clin.pipeline.encoder as encoder_module
from alia_clin.encoder import hardware
from alia_clin.errors import AliaClinError

CPUINFO_BF16 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\n"
CPUINFO_NO_BF16 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n"


def test_cpu_flags_are_read_from_cpuinfo() -> None:
    assert "avx512_bf16" in hardware.cpu_flags(CPUINFO_BF16)
    assert hardware.cpu_flags("processor : 0\n") == frozenset()
    assert "asimd" in hardware.cpu_flags("Features\t: fp asimd evtstrm\n")  # arm64 spelling


@pytest.mark.parametrize(
    ("text", "expected"), [(CPUINFO_BF16, True), (CPUINFO_NO_BF16, False), (None, False)]
)
def test_bf16_native_on_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | None, expected: bool
) -> None:
    path = tmp_path / "cpuinfo"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(hardware, "CPUINFO", path)
    hardware.bf16_native.cache_clear()
    try:
        assert hardware.bf16_native("cpu") is expected
    finally:
        hardware.bf16_native.cache_clear()


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_hardware(monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    monkeypatch.setattr(encoder_module, "bf16_native", lambda device: native)
    nlp = spacy.blank("es")
    pipe = nlp.add_pipe("alia_encoder")
    assert pipe.cfg["bf16"] == "auto"  # the factory default
    assert pipe.uses_bf16 is native and pipe.settings.bf16 is native  # type: ignore[attr-defined]
    fixed = nlp.add_pipe("alia_encoder", name="fp32", config={"bf16": False})
    assert fixed.uses_bf16 is False  # type: ignore[attr-defined]


def test_auto_stays_fp32_when_quantized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_module, "bf16_native", lambda device: True)
    pipe = spacy.blank("es").add_pipe("alia_encoder", config={"quantize": "int8"})  # no E251 with auto
    assert pipe.uses_bf16 is False  # type: ignore[attr-defined]


def test_other_values_are_coded_errors() -> None:
    with pytest.raises(AliaClinError) as err:
        spacy.blank("es").add_pipe("alia_encoder", config={"bf16": "fast"})
    assert err.value.code == "E107"


def test_auto_survives_to_disk(tmp_path: Path) -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder")
    nlp.to_disk(tmp_path / "p")
    assert spacy.load(tmp_path / "p").get_pipe("alia_encoder").cfg["bf16"] == "auto"
