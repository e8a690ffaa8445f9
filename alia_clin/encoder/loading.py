"""Load and save transformer encoders with transformers + torch (no spacy-transformers).

Reads a model directory (``config.json``, ``*.safetensors``, fast-tokenizer files) or, only
when asked explicitly, a Hugging Face Hub id pinned to a commit; writes the same directory
layout back (:func:`save_encoder`). Nothing is ever downloaded by default:

* a local directory is loaded with ``local_files_only=True`` and ``use_safetensors=True``
  (pickled ``.bin`` weights are refused);
* a hub id (``owner/name``) is fetched only with a pinned 40-character commit ``revision``
  (a branch or tag can move); without one a coded error is raised.

Supported architectures: BERT, XLM-R/RoBERTa/CamemBERT (BSC-LT/RoBERTa-ca, bsc-bio-ehr-es,
BSC-LT/mRoBERTa, multilingual-e5) and ModernBERT (BSC-LT/MrBERT-es). torch and transformers
are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode

logger = logging.getLogger("alia_clin")

#: ``config.model_type`` values this module knows how to window and align.
SUPPORTED_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "camembert", "modernbert")
#: Architectures whose position ids start after the padding index (fairseq convention).
_OFFSET_POSITION_TYPES = ("roberta", "xlm-roberta", "camembert")
#: Architectures whose base model has an (unused here) pooler we do not build.
_POOLER_TYPES = ("bert", "roberta", "xlm-roberta", "camembert")
#: dtypes accepted by :func:`save_encoder`.
SAVE_DTYPES = ("float32", "float16", "bfloat16")

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: What a pinned hub snapshot fetches: configs, safetensors weights, tokenizer files (no code, no pickles).
_HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]
_PROBE = ["la", "casa", "blanca"]


@dataclass
class LoadedEncoder:
    """A transformer encoder ready for windowed word-level encoding.

    ``weights_sha256`` identifies the weights for provenance: the SHA-256 of the single
    ``model.safetensors`` file (as ``sha256sum`` prints it), or, for sharded checkpoints, the
    SHA-256 of the sorted ``"<file> <sha256>\\n"`` lines.
    """

    model: Any  # transformers.PreTrainedModel
    tokenizer: Any  # transformers fast tokenizer
    config: Any  # transformers.PretrainedConfig
    weights_sha256: str
    source: str
    revision: str | None = None
    device: str = "cpu"
    #: Most tokens one forward pass accepts, special tokens included.
    max_tokens: int = 512
    #: Prepended to every pre-split word so words tokenize as they do inside running text
    #: (" " for byte-level BPE tokenizers that do not add a prefix space themselves).
    word_prefix: str = ""
    prefix_ids: list[int] = field(default_factory=list)
    suffix_ids: list[int] = field(default_factory=list)
    pad_id: int = 0
    #: Ids of pieces that are only a word-start marker (``▁`` or ``Ġ``), skipped when pooling.
    bare_piece_ids: frozenset[int] = frozenset()

    @property
    def hidden_size(self) -> int:
        """Width of the hidden states."""
        return int(self.config.hidden_size)

    @property
    def model_type(self) -> str:
        """``config.model_type`` (e.g. ``"roberta"``, ``"modernbert"``)."""
        return str(self.config.model_type)

    @property
    def n_special(self) -> int:
        """Special tokens added around every window (e.g. ``[CLS]`` … ``[SEP]``)."""
        return len(self.prefix_ids) + len(self.suffix_ids)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports, length warnings and progress bars for a block."""
    from transformers.utils import logging as tlogging

    verbosity = tlogging.get_verbosity()
    bars = tlogging.is_progress_bar_enabled()
    tlogging.set_verbosity_error()
    tlogging.disable_progress_bar()
    try:
        yield
    finally:
        tlogging.set_verbosity(verbosity)
        if bars:
            tlogging.enable_progress_bar()


def weights_sha256(directory: str | Path) -> str:
    """Content hash of the safetensors weights in ``directory`` (see :class:`LoadedEncoder`)."""
    files = sorted(Path(directory).glob("*.safetensors"))
    if not files:
        raise AliaClinValueError(ErrorCode.E101, path=str(directory))
    digests = []
    for f in files:
        h = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digests.append((f.name, h.hexdigest()))
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("".join(f"{n} {d}\n" for n, d in digests).encode()).hexdigest()


def load_encoder(
    name_or_path: str | Path, *, revision: str | None = None, device: str = "cpu"
) -> LoadedEncoder:
    """Load an encoder from a local directory, or from the Hub when explicitly pinned.

    ``name_or_path``: an existing directory (loaded offline), or a hub id ``owner/name``
    together with ``revision``, a 40-character commit hash. ``device``: ``"cpu"``, ``"cuda"``
    or ``"cuda:N"``. The model is returned in eval mode, float32, without pooler.

    Raises ``E010`` (no such path), ``E100`` (hub id without pinned revision), ``E101`` (no
    safetensors), ``E102`` (architecture), ``E103`` (slow tokenizer), ``E110`` (hub fetch).
    """
    path = Path(name_or_path)
    if path.is_dir():
        return _load_local(path, device=device, source=str(name_or_path), revision=revision)
    text = str(name_or_path)
    if not path.exists() and _HUB_ID.match(text) and not text.startswith((".", "/")):
        if revision is None or not _COMMIT.match(revision):
            raise AliaClinValueError(ErrorCode.E100, model=text, revision=revision)
        local = _fetch_hub(text, revision)
        return _load_local(local, device=device, source=text, revision=revision)
    raise AliaClinValueError(ErrorCode.E010, path=text)


def _fetch_hub(repo_id: str, revision: str) -> Path:
    """Download (or reuse from the cache) the safetensors snapshot of a pinned hub commit."""
    from huggingface_hub import snapshot_download

    logger.info("Fetching encoder %s at revision %s", repo_id, revision)
    try:
        local = snapshot_download(repo_id, revision=revision, allow_patterns=_HUB_PATTERNS)
    except Exception as exc:  # network, auth, missing revision: one coded error
        raise AliaClinRuntimeError(
            ErrorCode.E110, model=repo_id, revision=revision, reason=type(exc).__name__
        ) from exc
    return Path(str(local))


def _load_local(path: Path, *, device: str, source: str, revision: str | None) -> LoadedEncoder:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    digest = weights_sha256(path)  # also checks that safetensors weights exist (E101)
    with quiet_transformers():
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        if config.model_type not in SUPPORTED_MODEL_TYPES:
            raise AliaClinValueError(
                ErrorCode.E102, model_type=config.model_type, choices=", ".join(SUPPORTED_MODEL_TYPES)
            )
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not getattr(tokenizer, "is_fast", False):
            raise AliaClinValueError(ErrorCode.E103, path=str(path))
        kwargs: dict[str, Any] = {}
        if config.model_type in _POOLER_TYPES:
            kwargs["add_pooling_layer"] = False
        model = AutoModel.from_pretrained(
            path, config=config, local_files_only=True, use_safetensors=True, dtype=torch.float32, **kwargs
        )
    model.eval()
    model.to(device)
    prefix_ids, suffix_ids = _special_ids(tokenizer)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = getattr(config, "pad_token_id", None) or 0
    enc = LoadedEncoder(
        model=model,
        tokenizer=tokenizer,
        config=config,
        weights_sha256=digest,
        source=source,
        revision=revision,
        device=device,
        max_tokens=model_max_tokens(config, tokenizer),
        word_prefix=_word_prefix(tokenizer),
        prefix_ids=prefix_ids,
        suffix_ids=suffix_ids,
        pad_id=int(pad_id),
        bare_piece_ids=_bare_piece_ids(tokenizer),
    )
    logger.info(
        "Loaded %s encoder (hidden %d, %d tokens per window, weights sha256 %s)",
        enc.model_type, enc.hidden_size, enc.max_tokens, digest[:12],
    )
    return enc


def model_max_tokens(config: Any, tokenizer: Any = None) -> int:
    """Most tokens (special tokens included) one forward pass of this model accepts.

    RoBERTa-family models reserve ``pad_token_id + 1`` position ids (514 positions → 512
    tokens). A tokenizer's ``model_max_length`` lowers the limit when it is a real value.
    """
    limit = int(config.max_position_embeddings)
    if config.model_type in _OFFSET_POSITION_TYPES:
        limit -= int(config.pad_token_id if config.pad_token_id is not None else 1) + 1
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limit = min(limit, tok_max)
    return limit


def _special_ids(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids the tokenizer's post-processor puts before and after one sequence."""
    bare = tokenizer(_PROBE, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    full = tokenizer(_PROBE, is_split_into_words=True, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i : i + len(bare)] == bare:
            return list(full[:i]), list(full[i + len(bare) :])
    # Post-processor changes the pieces themselves: fall back to cls/sep (or bos/eos).
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return ([cls] if cls is not None else []), ([sep] if sep is not None else [])


def _bare_piece_ids(tokenizer: Any) -> frozenset[int]:
    """Ids of the vocabulary's lone word-start markers (SentencePiece ``▁``, byte-level ``Ġ``)."""
    vocab = tokenizer.get_vocab()
    return frozenset(int(vocab[t]) for t in ("\u2581", "\u0120") if t in vocab)


def _word_prefix(tokenizer: Any) -> str:
    """``""`` if words tokenize alone as they do after a space in running text, else ``" "``.

    Byte-level BPE tokenizers without ``add_prefix_space`` (RoBERTa, ModernBERT) tokenize a
    lone word as if it started the text; a leading space gives the usual ``Ġword`` pieces.
    """
    running = tokenizer(" ".join(_PROBE), add_special_tokens=False)["input_ids"]
    for prefix in ("", " "):
        words = [_PROBE[0], *(prefix + w for w in _PROBE[1:])]
        alone = tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
        if alone == running:
            return prefix
    return ""


def save_encoder(encoder: LoadedEncoder, path: str | Path, *, dtype: str = "float32") -> str:
    """Write config, safetensors weights (cast to ``dtype``) and tokenizer into ``path``.

    Returns the weights' SHA-256 as :func:`weights_sha256` computes it. The in-memory model
    is not changed; :func:`load_encoder` always loads back as float32.
    """
    import torch

    if dtype not in SAVE_DTYPES:
        choices = ", ".join(SAVE_DTYPES)
        raise AliaClinValueError(ErrorCode.E107, value=dtype, field="save_dtype", choices=choices)
    target = getattr(torch, dtype)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.safetensors"):
        old.unlink()
    state = {
        k: (v.detach().to("cpu", dtype=target) if v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in encoder.model.state_dict().items()
    }
    with quiet_transformers():
        encoder.model.save_pretrained(out, state_dict=state)
        encoder.tokenizer.save_pretrained(out)
    return weights_sha256(out)

