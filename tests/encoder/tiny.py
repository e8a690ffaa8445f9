"""Tiny random encoders built offline, for tests.

Each ``make_tiny_*`` function builds a small tokenizer with the ``tokenizers`` library (from a
handful of Spanish/Catalan words plus every single character the tests use), a random
transformers model of one architecture (hidden 32, 2 layers, 2 heads), and saves both as a
local model directory (``config.json``, ``model.safetensors``, tokenizer files). Nothing is
downloaded. Models are seeded, so the same call builds the same weights.

Architectures: BERT + WordPiece (``bert``), XLM-R + Unigram/SentencePiece-style
(``xlm-roberta``, like multilingual-e5), RoBERTa + byte-level BPE (``roberta``, like
BSC-LT/RoBERTa-ca and bsc-bio-ehr-es), ModernBERT + byte-level BPE (``modernbert``, like
BSC-LT/MrBERT-es).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

WORDS = [
    "paciente", "Paciente", "mujer", "varón", "años", "con", "de", "del", "la", "el", "en", "y",
    "disnea", "esfuerzo", "edemas", "insuficiencia", "cardiaca", "cardíaca", "fecha", "ingreso",
    "Marta", "Ibarra", "Soler", "Joan", "Puig", "Ferrer", "Madrid", "calle", "Mayor", "Dr", "niño",
    "col·legi", "pacient", "amb", "dona", "anys", "Galicia", "Euskadi", "Barça", "corazón",
    "tensión", "FEVI", "NT", "proBNP", "mg", "kg", "DNI", "NHC", "médico", "Médico",
]

PUNCT = ".,;:!?¿¡()[]{}/-_'\"%+*=<>@#&ºª€$|\\~^`´·–—…«»"
LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "áéíóúàèìòùäëïöüâêîôûñçÁÉÍÓÚÀÈÌÒÙÄËÏÖÜÑÇ"
)
CHARS = sorted(set(LETTERS + PUNCT))

CORPUS = [
    "Paciente mujer de 71 años con disnea de esfuerzo y edemas maleolares.",
    "Fecha de ingreso: 03/02/2024. Médico: Dr. Joan Puig Ferrer.",
    "Insuficiencia cardíaca con FEVI 35 %, NT-proBNP 1200 pg/ml.",
    "La pacient, dona de 80 anys, va al col·legi amb el niño del Barça.",
    "Domicilio: calle Mayor 12, 28013 Madrid. Tel.: 612 345 678.",
]

HIDDEN = 32
LAYERS = 2
HEADS = 2
FFN = 64
MAX_TOKENS = 64  # tokens per window the model accepts, special tokens included


def _wordpiece_tokenizer() -> object:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab: dict[str, int] = {}
    for piece in [*specials, *CHARS, *("##" + c for c in CHARS), *WORDS, "##s", "##es", "##ción"]:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tok


def _unigram_tokenizer() -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    pieces: list[tuple[str, float]] = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    seen = {p for p, _ in pieces}
    for piece, score in [
        *(("▁" + w, -5.0) for w in WORDS),
        ("▁", -3.0),
        *((c, -8.0) for c in CHARS),
        *(("▁" + c, -9.0) for c in CHARS),
    ]:
        if piece not in seen:
            seen.add(piece)
            pieces.append((piece, score))
    pieces.append(("<mask>", 0.0))
    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return tok


def _bpe_tokenizer(specials: list[str], cls: str, sep: str) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([*CORPUS, " ".join(WORDS)], trainer=trainer)
    ids = {s: tok.token_to_id(s) for s in specials}
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}",
        pair=f"{cls} $A {sep} {sep} $B {sep}",
        special_tokens=[(cls, ids[cls]), (sep, ids[sep])],
    )
    return tok


def _wrap(tok: object, **special: str) -> object:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=MAX_TOKENS, **special)


def _save(model: object, tokenizer: object, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)  # type: ignore[attr-defined]
    tokenizer.save_pretrained(path)  # type: ignore[attr-defined]
    return path


def make_tiny_bert(path: Path, seed: int = 0) -> Path:
    """A tiny ``BertModel`` (no pooler) with a WordPiece tokenizer, saved to ``path``."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = _wrap(
        _wordpiece_tokenizer(),
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_TOKENS, pad_token_id=0,
    )
    torch.manual_seed(seed)
    return _save(BertModel(config, add_pooling_layer=False), tokenizer, path)


def make_tiny_xlmr(path: Path, seed: int = 0) -> Path:
    """A tiny ``XLMRobertaModel`` with a Unigram (SentencePiece-style) tokenizer."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tokenizer = _wrap(
        _unigram_tokenizer(),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>",
    )
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_TOKENS + 2,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1,
    )
    torch.manual_seed(seed)
    return _save(XLMRobertaModel(config, add_pooling_layer=False), tokenizer, path)


def make_tiny_roberta(path: Path, seed: int = 0) -> Path:
    """A tiny ``RobertaModel`` with a byte-level BPE tokenizer (GPT-2 style)."""
    import torch
    from transformers import RobertaConfig, RobertaModel

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = _wrap(
        _bpe_tokenizer(specials, "<s>", "</s>"),
        bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        cls_token="<s>", sep_token="</s>", mask_token="<mask>",
    )
    config = RobertaConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_TOKENS + 2,
        pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1,
    )
    torch.manual_seed(seed)
    return _save(RobertaModel(config, add_pooling_layer=False), tokenizer, path)


def make_tiny_modernbert(path: Path, seed: int = 0) -> Path:
    """A tiny ``ModernBertModel`` (local + global attention, RoPE) with a byte-level BPE tokenizer."""
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    specials = ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"]
    tokenizer = _wrap(
        _bpe_tokenizer(specials, "[CLS]", "[SEP]"),
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )
    config = ModernBertConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
        intermediate_size=FFN, max_position_embeddings=MAX_TOKENS, local_attention=16,
        pad_token_id=1, cls_token_id=0, bos_token_id=0, sep_token_id=2, eos_token_id=2,
    )
    torch.manual_seed(seed)
    return _save(ModernBertModel(config), tokenizer, path)


#: architecture name → builder, for parametrized tests.
BUILDERS: dict[str, Callable[[Path], Path]] = {
    "bert": make_tiny_bert,
    "xlm-roberta": make_tiny_xlmr,
    "roberta": make_tiny_roberta,
    "modernbert": make_tiny_modernbert,
}

_CACHE: dict[tuple[str, int], Path] = {}


def tiny_model_dir(arch: str, seed: int = 0) -> Path:
    """A tiny model directory of ``arch`` built once per test session (removed at exit).

    Tests must not write into it: copy it first (``shutil.copytree``) to change files.
    """
    key = (arch, seed)
    if key not in _CACHE:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix=f"alia-tiny-{arch}-"))
        atexit.register(shutil.rmtree, root, True)
        _CACHE[key] = BUILDERS[arch](root / "model", seed)
    return _CACHE[key]
