"""Test-and-result findings: a procedure entity directly followed by its result.

CardioCCC annotates a test stated with its result as one SINTOMA ("hemocultivos negativos",
"Auscultación cardiaca: rítmica", "Coagulación normal"), with the test nested inside it as
PROCEDIMIENTO. A one-tag-per-word tagger can return only one of the two overlapping spans; on
these it returns the test as PROCEDIMIENTO and the rest as a separate SINTOMA ("negativos"),
which matches neither gold span. :func:`merge_test_results` turns such a pair back into the
finding (in ``doc.ents``) with the test nested in it (``doc.spans[NESTED_KEY]``).

It fires only when the SINTOMA follows the PROCEDIMIENTO with nothing but spaces or colons in
between and the first word after the test is a result word (:data:`RESULT_WORDS`). Those words
come from CardioCCC train gold: every word that follows a gold PROCEDIMIENTO at least 5 times
and, in at least 75 % of those, lies inside a gold SINTOMA that starts with that
PROCEDIMIENTO ("rítmico" 54 %, "normales" 50 % and "sin" 32 % fall short). It also fires,
whatever the result's first word, when the two are on one line with nothing but spaces between
them ("iones" + "normales", "enzimas hepáticas" + "ligeramente elevadas"): the tagger rarely puts
two such entities side by side unless they are one finding. Measured on the *training* notes
with the shipped pipeline's own predictions: of the 82 such pairs left after the result-word
rule, 64 (78 %, above the same 75 % bar) are one gold SINTOMA, and merging them raised strict F1
there from .8557 to .8578; the pairs left with a colon between them mostly stay apart (14 of
457 are one gold span).
Reads and writes only offsets and labels.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span

from ..entities import add_nested

#: Label of the test, and of the finding made of the test and its result.
TEST_LABEL = "PROCEDIMIENTO"
FINDING_LABEL = "SINTOMA"
#: Lower-cased Spanish result words (see the module docstring for how they were chosen).
RESULT_WORDS = frozenset(
    {
        "normal",
        "rítmica",
        "negativo",
        "negativa",
        "negativos",
        "negativas",
        "positivo",
        "positiva",
        "positivos",
        "anodina",
        "era",
    }
)
_GAP = re.compile(r"[\s:]*")
#: Spaces on one line: any result word is taken.
_SPACES = re.compile(r"[^\S\n]*")
_NEXT_WORD = re.compile(r"[\s:]*(\w+)")


def merge_test_results(doc: Doc) -> int:
    """Merge every PROCEDIMIENTO + result SINTOMA pair of ``doc.ents`` into one SINTOMA entity and
    add the PROCEDIMIENTO to the nested-entity group. Returns the number of merges."""
    ents = list(doc.ents)
    text = doc.text
    out: list[Span] = []
    tests: list[Span] = []
    i = 0
    while i < len(ents):
        test = ents[i]
        result = ents[i + 1] if i + 1 < len(ents) else None
        if result is not None and _is_test_result(text, test, result):
            out.append(Span(doc, test.start, result.end, label=FINDING_LABEL))
            tests.append(test)
            i += 2
        else:
            out.append(test)
            i += 1
    if tests:
        doc.ents = out
        add_nested(doc, tests)
    return len(tests)


def _is_test_result(text: str, test: Span, result: Span) -> bool:
    if test.label_ != TEST_LABEL or result.label_ != FINDING_LABEL:
        return False
    if _SPACES.fullmatch(text, test.end_char, result.start_char):
        return True
    if not _GAP.fullmatch(text, test.end_char, result.start_char):
        return False
    word = _NEXT_WORD.match(text, test.end_char)
    return word is not None and word.group(1).lower() in RESULT_WORDS
