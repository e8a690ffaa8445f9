"""``alia_encoder``: one transformer pass per note, word-level states shared by later heads.

Reads ``doc.text`` (lines written in capitals in lower case, same offsets: ``case_fold``,
:mod:`alia_clin.encoder.casing`). Writes nothing that is serialized with the Doc: the word-level states
(:class:`~alia_clin.encoder.windows.EncodedNote`: word char offsets + float32 ``[n_words,
hidden × len(layers)]`` array, the configured ``layers`` side by side) are kept in a
module-level ``weakref.WeakKeyDictionary`` keyed by the Doc, so they live exactly as long as
the Doc and never reach ``Doc.to_bytes``/``DocBin``. Later
stages read them with :func:`get_encoded` (or ``doc._.alia_states``, a getter returning
``None`` when the encoder did not run). :func:`clear_encoded` frees them early.

Weights never come through the factory: ``nlp.initialize()`` loads them from the path (or
pinned hub id) given in ``[initialize.components.alia_encoder]`` (``model``, ``revision``),
and ``from_disk`` from the component directory, which ``to_disk`` fills with ``encoder.json``
(settings + provenance) and ``model/`` (config, safetensors weights in ``save_dtype``,
tokenizer), so ``spacy.load(dir)`` works offline. A pipe that was never initialized raises
``E001``.

**int8 quantization** (``quantize = "int8"`` or ``"int8-qkv"``; default ``"none"``) is a
load-time option: each time weights are loaded (``initialize``, ``from_disk``), the Linear
layers are replaced by dynamically quantized ones (:mod:`alia_clin.encoder.quantize`; CPU
only, not with ``bf16 = true``). The float weights as ``to_disk`` writes them (``save_dtype``) are
kept in memory as file bytes, so a quantized pipe still saves float weights and reloads
(and re-quantizes) to the same model. ``set_encoder`` uses the encoder it is given as is.

Entry point (pyproject ``[project.entry-points.spacy_factories]``):
``alia_encoder = "alia_clin.pipeline.encoder:make_encoder"``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..encoder.casing import MODES as CASE_FOLD_MODES
from ..encoder.casing import fold_capitals
from ..encoder.hardware import bf16_native
from ..encoder.loading import SAVE_DTYPES, LoadedEncoder, load_encoder, save_encoder, weights_sha256
from ..encoder.quantize import check_quantize_mode, quantize_encoder
from ..encoder.windows import POOLINGS, EncodedNote, WindowSettings, distinct_layers, encode_notes
from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode
from ..extensions import install_extensions
from .base import ErrorHandlingPipe

logger = logging.getLogger("alia_clin")

MODEL_DIR = "model"
CFG_FILE = "encoder.json"

_STATES: weakref.WeakKeyDictionary[Doc, EncodedNote] = weakref.WeakKeyDictionary()


def _states_getter(doc: Doc) -> EncodedNote | None:
    return _STATES.get(doc)


def install_state_extension() -> None:
    """Register ``doc._.alia_states`` (getter only: nothing is stored in ``doc.user_data``)."""
    if not Doc.has_extension("alia_states"):
        Doc.set_extension("alia_states", getter=_states_getter)


install_state_extension()


def get_encoded(doc: Doc, *, reader: str = "this pipe") -> EncodedNote:
    """The encoder states of ``doc``; raises ``E104`` if ``alia_encoder`` did not run on it.

    ``reader`` names the calling pipe in the error message.
    """
    enc = _STATES.get(doc)
    if enc is None:
        raise AliaClinRuntimeError(ErrorCode.E104, name=reader)
    return enc


def encoded_case_fold(doc: Doc) -> str | None:
    """The ``case_fold`` mode the encoder read ``doc`` with, or None when it did not run on it."""
    enc = _STATES.get(doc)
    return None if enc is None else enc.case_fold


def set_encoded(doc: Doc, encoded: EncodedNote) -> None:
    """Attach states to ``doc`` (used by the encoder pipe, training code and tests)."""
    _STATES[doc] = encoded


def clear_encoded(doc: Doc) -> None:
    """Drop the states of ``doc`` (e.g. once every head has run) to free memory early."""
    _STATES.pop(doc, None)


class EncoderComponent(ErrorHandlingPipe):
    """The ``alia_encoder`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        max_length: int,
        stride: int,
        window_batch_size: int,
        pooling: str,
        device: str,
        bf16: bool | str,
        num_threads: int,
        save_dtype: str,
        quantize: str = "none",
        layers: list[int] | None = None,
        case_fold: str = "capitals",
    ) -> None:
        install_extensions()
        install_state_extension()
        if pooling not in POOLINGS:
            choices = ", ".join(POOLINGS)
            raise AliaClinValueError(ErrorCode.E107, value=pooling, field="pooling", choices=choices)
        if save_dtype not in SAVE_DTYPES:
            raise AliaClinValueError(
                ErrorCode.E107, value=save_dtype, field="save_dtype", choices=", ".join(SAVE_DTYPES)
            )
        if not isinstance(bf16, bool) and bf16 != "auto":
            raise AliaClinValueError(
                ErrorCode.E107, value=str(bf16), field="bf16", choices="true, false, auto"
            )
        if case_fold not in CASE_FOLD_MODES:
            raise AliaClinValueError(
                ErrorCode.E107, value=case_fold, field="case_fold", choices=", ".join(CASE_FOLD_MODES)
            )
        check_quantize_mode(quantize, device=device, bf16=bf16 is True)
        kept = list(distinct_layers(layers if layers is not None else [-1]))
        self.name = name
        self.cfg: dict[str, Any] = {
            "max_length": int(max_length),
            "stride": int(stride),
            "window_batch_size": int(window_batch_size),
            "pooling": pooling,
            "device": device,
            "bf16": bf16,
            "num_threads": int(num_threads),
            "save_dtype": save_dtype,
            "quantize": quantize,
            "layers": kept,
            "case_fold": case_fold,
        }
        self._encoder: LoadedEncoder | None = None
        #: Float weight files (``model/`` as ``to_disk`` writes it) kept while the model is quantized.
        self._float_files: dict[str, bytes] | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def is_initialized(self) -> bool:
        """Whether weights are loaded (``initialize()``, ``from_disk()`` or ``set_encoder()``)."""
        return self._encoder is not None

    @property
    def encoder(self) -> LoadedEncoder:
        """The loaded encoder; raises ``E001`` before initialization."""
        if self._encoder is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return self._encoder

    @property
    def uses_bf16(self) -> bool:
        """Whether inference runs under bf16 autocast: ``bf16 = true``, or ``"auto"`` on a device
        with native bf16 instructions (:func:`~alia_clin.encoder.hardware.bf16_native`) and no
        int8 quantization."""
        setting = self.cfg["bf16"]
        if setting == "auto":
            return self.cfg["quantize"] == "none" and bf16_native(self.cfg["device"])
        return bool(setting)

    @property
    def settings(self) -> WindowSettings:
        """Window/pooling settings from the config (``bf16`` resolved: :attr:`uses_bf16`)."""
        return WindowSettings(
            max_length=self.cfg["max_length"],
            stride=self.cfg["stride"],
            batch_size=self.cfg["window_batch_size"],
            pooling=self.cfg["pooling"],
            bf16=self.uses_bf16,
            layers=tuple(self.cfg.get("layers", [-1])),
        )

    @property
    def weights_sha256(self) -> str:
        """SHA-256 of the loaded weights (for provenance, e.g. the FHIR Device)."""
        return self.encoder.weights_sha256

    def set_encoder(self, encoder: LoadedEncoder) -> None:
        """Use an already loaded encoder (e.g. one being fine-tuned) as it is (not quantized)."""
        self._encoder = encoder
        self._float_files = None

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Language | None = None,
        model: str | None = None,
        revision: str | None = None,
    ) -> None:
        """Load the weights from ``model`` (a directory, or a hub id with a pinned ``revision``).

        Set them in ``[initialize.components.<name>]``. Raises ``E108`` without a model.
        """
        if not model:
            raise AliaClinValueError(ErrorCode.E108, name=self.name)
        encoder = load_encoder(model, revision=revision, device=self.cfg["device"])
        if self.cfg["quantize"] != "none":
            with tempfile.TemporaryDirectory(prefix="alia_encoder_") as tmp:
                save_encoder(encoder, tmp, dtype=self.cfg["save_dtype"])
                self._float_files = _read_files(Path(tmp))
            # Quantize exactly the weights that to_disk writes (and from_disk will reload).
            _round_to_dtype(encoder, self.cfg["save_dtype"])
        else:
            self._float_files = None
        self._set_loaded(encoder)

    def _set_loaded(self, encoder: LoadedEncoder) -> None:
        """Apply the ``quantize`` setting to freshly loaded weights and use them."""
        quantize_encoder(encoder, self.cfg["quantize"])
        self._encoder = encoder

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 32) -> Iterator[Doc]:
        """Encode docs in batches (windows of all docs of a batch run together)."""
        encoder = self.encoder
        settings = self.settings
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                encoded = encode_notes(
                    encoder,
                    [fold_capitals(doc.text, self.cfg["case_fold"]) for doc in docs],
                    settings=settings,
                    num_threads=self.cfg["num_threads"] or None,
                )
                for doc, enc in zip(docs, encoded, strict=True):
                    enc.case_fold = self.cfg["case_fold"]
                    _STATES[doc] = enc
            except Exception as exc:  # spaCy's error-handler contract
                error_handler(self.name, self, docs, exc)
            yield from docs

    # -- spaCy plumbing ----------------------------------------------------------------------
    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write ``encoder.json`` and, when weights are loaded, ``model/`` into ``path``."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"cfg": self.cfg}
        target = p / MODEL_DIR
        if self._encoder is not None:
            if self._float_files is not None:
                digest = _write_files(self._float_files, target)
            else:
                digest = save_encoder(self._encoder, target, dtype=self.cfg["save_dtype"])
            meta.update(
                {
                    "weights_sha256": digest,
                    "model_type": self._encoder.model_type,
                    "hidden_size": self._encoder.hidden_size,
                    "source": _safe_source(self._encoder),
                    "revision": self._encoder.revision,
                }
            )
        elif target.exists():
            shutil.rmtree(target)
        srsly.write_json(p / CFG_FILE, meta)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> EncoderComponent:
        """Load weights from ``path/model`` (offline). Runtime settings stay those of the config."""
        target = Path(path) / MODEL_DIR
        if target.is_dir():
            encoder = load_encoder(target, device=self.cfg["device"])
            self._float_files = _read_files(target) if self.cfg["quantize"] != "none" else None
            self._set_loaded(encoder)
        else:
            logger.warning("Pipe '%s' was saved without weights; it stays uninitialized", self.name)
            self._encoder = None
            self._float_files = None
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """Every file :meth:`to_disk` writes, packed with msgpack."""
        with tempfile.TemporaryDirectory() as tmp:
            self.to_disk(tmp)
            root = Path(tmp)
            files = {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}
        return srsly.msgpack_dumps({"files": files})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> EncoderComponent:
        """Inverse of :meth:`to_bytes`."""
        files = srsly.msgpack_loads(data)["files"]
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for rel, content in files.items():
                dest = (root / rel).resolve()
                if root.resolve() not in dest.parents:
                    raise AliaClinValueError(ErrorCode.E106, path=rel, reason="path outside the component")
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(content)
            self.from_disk(root)
        return self


def _round_to_dtype(encoder: LoadedEncoder, dtype: str) -> None:
    """Round the model's float parameters and buffers through ``dtype`` (in place, stay float32)."""
    import torch

    if dtype == "float32":
        return
    target = getattr(torch, dtype)
    with torch.no_grad():
        for tensor in [*encoder.model.parameters(), *encoder.model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(tensor.to(target).to(tensor.dtype))


def _read_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as ``{relative posix path: bytes}``."""
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def _write_files(files: dict[str, bytes], target: Path) -> str:
    """Replace ``target`` by ``files`` (from :func:`_read_files`); return the weights' SHA-256."""
    if target.exists():
        shutil.rmtree(target)
    for rel, content in files.items():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)
    return weights_sha256(target)


def _safe_source(encoder: LoadedEncoder) -> str:
    """Provenance name of the weights: a hub id as given, a local path by its last part only."""
    if encoder.revision is not None:
        return encoder.source
    return Path(encoder.source).name


@Language.factory(
    "alia_encoder",
    assigns=["doc._.alia_states"],
    requires=[],
    default_config={
        "max_length": 512,
        "stride": 64,
        "window_batch_size": 8,
        "pooling": "first",
        "device": "cpu",
        "bf16": "auto",
        "num_threads": 0,
        "save_dtype": "float32",
        "quantize": "none",
        "layers": [-1],
        "case_fold": "capitals",
    },
    default_score_weights={},
)
def make_encoder(
    nlp: Language,
    name: str,
    max_length: int,
    stride: int,
    window_batch_size: int,
    pooling: str,
    device: str,
    bf16: bool | str,
    num_threads: int,
    save_dtype: str,
    quantize: str = "none",
    layers: list[int] | None = None,
    case_fold: str = "capitals",
) -> EncoderComponent:
    """Create the ``alia_encoder`` pipe (no I/O: weights load in ``initialize``/``from_disk``).

    ``max_length``: tokens per window incl. special tokens (0 = the model's limit; capped by
    it); ``stride``: pieces shared by consecutive windows; ``window_batch_size``: windows per
    forward pass; ``pooling``: ``first`` or ``mean`` piece per word; ``device``: ``cpu`` or
    ``cuda[:N]``; ``bf16``: bf16 autocast — ``true``, ``false`` or ``"auto"`` (the default: on when
    the device has native bf16 instructions, see :mod:`alia_clin.encoder.hardware`; measured on
    the shipped pipeline's dev sets: 1.58× faster on an AVX512-BF16 CPU, PHI and entity F1 within
    0.1 point of fp32); ``num_threads``: torch CPU threads (0 = leave as
    is); ``save_dtype``: ``float32``, ``float16`` or ``bfloat16`` weights in ``to_disk``;
    ``quantize``: ``none``, ``int8`` or ``int8-qkv`` dynamic quantization of the Linear
    layers at load time (CPU only, not with ``bf16 = true``; ``"auto"`` then stays fp32; see
    :mod:`alia_clin.encoder.quantize`); ``layers``: the layers whose word vectors are kept for
    the heads, concatenated (``[-1]``: the last layer; a head trained on ``[-1, 8]`` needs
    both; each head picks its own, see :func:`~alia_clin.encoder.windows.select_layers`);
    ``case_fold``: what the encoder reads of a note written in capitals — ``"capitals"`` (the
    default: lines in capitals in lower case), ``"all"`` (every note in lower case) or
    ``"none"``; offsets never move (:mod:`alia_clin.encoder.casing`).
    """
    return EncoderComponent(
        nlp,
        name,
        max_length=max_length,
        stride=stride,
        window_batch_size=window_batch_size,
        pooling=pooling,
        device=device,
        bf16=bf16,
        num_threads=num_threads,
        save_dtype=save_dtype,
        quantize=quantize,
        layers=layers,
        case_fold=case_fold,
    )
