"""Helpers to turn exact character spans into spaCy spans without moving their offsets.

A PHI match may start or end inside a spaCy token ("NºCol:28"). Expanding it would change
its offsets (and leak or over-redact characters), so the token is split at the boundary
instead. Reads and writes ``doc`` tokens only.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from spacy.tokens import Doc, Span


def split_tokens_at(doc: Doc, offsets: Iterable[int]) -> None:
    """Split tokens of ``doc`` so that every character offset in ``offsets`` is a token boundary.

    Whitespace characters never need splitting: offsets that fall inside a token's trailing
    whitespace are already boundaries for ``Doc.char_span(alignment_mode="contract")`` purposes
    only if they equal the token end, so they are split only inside the token text.
    """
    cuts: dict[int, set[int]] = {}
    n_chars = doc[-1].idx + len(doc[-1].text_with_ws) if len(doc) else 0
    for off in sorted(set(offsets)):
        if off <= 0 or off >= n_chars:
            continue
        tok_i = _token_containing(doc, off)
        if tok_i is None:
            continue
        tok = doc[tok_i]
        rel = off - tok.idx
        if 0 < rel < len(tok.text):
            cuts.setdefault(tok_i, set()).add(rel)
    if not cuts:
        return
    with doc.retokenize() as retok:
        for tok_i, rels in cuts.items():
            tok = doc[tok_i]
            points = [0, *sorted(rels), len(tok.text)]
            orths = [tok.text[a:b] for a, b in pairwise(points)]
            heads = [(tok, 0)] * len(orths)
            retok.split(tok, orths, heads)  # type: ignore[arg-type]


def _token_containing(doc: Doc, offset: int) -> int | None:
    """Index of the token whose text contains ``offset`` (binary search over token starts)."""
    lo, hi = 0, len(doc) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        tok = doc[mid]
        if offset < tok.idx:
            hi = mid - 1
        elif offset >= tok.idx + len(tok.text):
            lo = mid + 1
        else:
            return mid
    return None


def exact_spans(doc: Doc, items: list[tuple[int, int, str]], text: str | None = None) -> list[Span]:
    """Spans with exactly the given ``(start, end, label)`` character offsets.

    Splits tokens where needed (see :func:`split_tokens_at`). Leading/trailing whitespace
    inside a span is trimmed first, since spaCy spans cannot start or end on whitespace.
    ``text`` is ``doc.text`` when the caller already has it (saves rebuilding it).
    """
    trimmed: list[tuple[int, int, str]] = []
    if text is None:
        text = doc.text
    for start, end, label in items:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            trimmed.append((start, end, label))
    split_tokens_at(doc, [o for s, e, _ in trimmed for o in (s, e)])
    spans = []
    for start, end, label in trimmed:
        span = doc.char_span(start, end, label=label, alignment_mode="strict")
        if span is None:  # offsets inside whitespace runs: fall back without moving text
            span = doc.char_span(start, end, label=label, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    return spans
