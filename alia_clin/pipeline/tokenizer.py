"""``alia_clin.WordPunctTokenizer.v1``: a fast tokenizer whose tokens are the encoder's words.

Reads a text, returns a ``Doc`` whose non-whitespace tokens are exactly
:func:`alia_clin.text.split_words` (runs of word characters, or one visible grapheme) and whose
whitespace is kept as spaCy does (one trailing space per token, longer runs as whitespace
tokens), so ``doc.text == text`` always. It is ~4× faster than spaCy's rule-based Spanish
tokenizer on clinical notes, puts identifier boundaries on token boundaries, and gives the
encoder-backed heads one token per encoder word. It has no state to save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab

from ..text import word_gaps


class WordPunctTokenizer:
    """Tokenize into words and single punctuation marks (see the module docstring)."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        lead, pairs = word_gaps(text)
        if lead:
            _add_gap(lead, words, spaces)
        for word, gap in pairs:
            words.append(word)
            if not gap:
                spaces.append(False)
            elif gap == " ":
                spaces.append(True)
            else:
                spaces.append(False)
                _add_gap(gap, words, spaces)
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        """Tokenize a stream of texts."""
        for text in texts:
            yield self(text)

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return b""

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> WordPunctTokenizer:
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        Path(path).write_bytes(b"")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> WordPunctTokenizer:
        return self


def _add_gap(gap: str, words: list[str], spaces: list[bool]) -> None:
    """Attach whitespace between words: one space becomes the previous token's trailing space."""
    if gap == " " and words:
        spaces[-1] = True
        return
    if words and gap[0] == " " and not spaces[-1]:
        spaces[-1] = True
        gap = gap[1:]
    if gap:
        words.append(gap)
        spaces.append(False)


@registry.tokenizers("alia_clin.WordPunctTokenizer.v1")
def create_word_punct_tokenizer() -> Callable[[Language], WordPunctTokenizer]:
    """Registered tokenizer factory for configs: ``{"@tokenizers": "alia_clin.WordPunctTokenizer.v1"}``."""

    def make(nlp: Language) -> WordPunctTokenizer:
        return WordPunctTokenizer(nlp.vocab)

    return make
