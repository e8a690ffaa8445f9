"""Per-note language detection among the project's languages (es, ca, eu, gl), offline.

Uses py3langid (a naive-Bayes byte n-gram model shipped inside the package, ~4 MB; nothing is
downloaded) restricted to es/ca/eu/gl. Reads only the text given; returns a language code.
A text too short or too ambiguous to judge gets the fallback language. :func:`doc_language`
is what the language-dependent stages call: a Doc made with ``nlp(text)`` has no language yet,
so the first of them detects it and writes ``doc._.language``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.tokens import Doc

#: Languages alia_clin supports (and the only ones the detector may answer).
LANGUAGES = ("es", "ca", "eu", "gl")
#: Below this normalized probability the fallback language is used.
MIN_CONFIDENCE = 0.6
#: Texts with fewer letters than this are not judged.
MIN_LETTERS = 12
#: Only the first characters are scored: enough for a confident decision, bounded cost.
MAX_CHARS = 2000

_lock = threading.Lock()
_identifier: Any = None


def _get_identifier() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages(list(LANGUAGES))
            _identifier = ident
    return _identifier


def detect_language(text: str, *, fallback: str = "es") -> str:
    """The most probable of es/ca/eu/gl for ``text``, or ``fallback`` when unsure."""
    sample = text[:MAX_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return fallback
    lang, prob = _get_identifier().classify(sample)
    return str(lang) if lang in LANGUAGES and float(prob) >= MIN_CONFIDENCE else fallback


def resolve_language(text: str, given: str | None, default: str) -> str:
    """The language of one note: the record's own (``given``) when valid; else ``default``
    unless it is ``"auto"``, in which case it is detected (fallback ``es``)."""
    if given:
        code = given.strip().lower()[:2]
        if code in LANGUAGES:
            return code
    if default != "auto":
        return default
    return detect_language(text)


def doc_language(doc: Doc, fallback: str = "es") -> str:
    """``doc._.language`` when it is one of es/ca/eu/gl; otherwise the language detected from
    ``doc.text`` (``fallback`` when unsure), which is also written to ``doc._.language`` so later
    stages and writers agree."""
    given = doc._.language
    if isinstance(given, str) and given in LANGUAGES:
        return given
    lang = detect_language(doc.text, fallback=fallback if fallback in LANGUAGES else "es")
    doc._.language = lang
    return lang
