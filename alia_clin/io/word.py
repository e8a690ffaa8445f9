"""Plain text of Word documents (``.docx``, Office Open XML), as many hospital reports are written.

Reads the document body only, in reading order: each paragraph on its own line, the cells of a
table row separated by tabs (so "FEVI" and "35 %" in two cells read as a label and its value),
text boxes after the paragraph that anchors them, content controls and tracked insertions as
the text they hold. Left out: page headers and footers (letterhead, the patient label), comments,
footnotes, tracked deletions, field codes and list numbering. Offsets of every output refer to the
text returned here.

The package is opened with ``python-docx`` (extra ``alia-clin[office]``; its XML parser does not
resolve entities), which finds the main document part; the body is then walked here, because
python-docx's own paragraph and table views skip content controls and text boxes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from .markup import DOCX_TYPES, layout_text

__all__ = ["DOCX_TYPES", "WordError", "docx_to_text"]

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Containers whose children are blocks (paragraphs, tables) of the same flow.
_BLOCK_CONTAINERS = frozenset(
    _W + t for t in ("sdt", "sdtContent", "customXml", "ins", "moveTo", "smartTag", "body")
)
# Subtrees that hold no text of the document as shown: properties (their w:tab is a tab stop),
# deleted and moved-away text, field instructions, and the legacy copy of a text box.
_SKIP = frozenset(
    [_MC_FALLBACK]
    + [_W + t for t in ("pPr", "rPr", "sdtPr", "del", "moveFrom", "instrText", "delInstrText", "tblPr")]
)


class WordError(ValueError):
    """The bytes are not a Word document that can be read (the reason names no content)."""


def _runs(el: Any, parts: list[str], boxes: list[str]) -> None:
    """Collect the text of a paragraph's descendants; text boxes go to ``boxes``."""
    for child in el.iterchildren():
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == _W + "t":
            parts.append(child.text or "")
        elif tag == _W + "tab":
            parts.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            parts.append("\n")
        elif tag == _W + "noBreakHyphen":
            parts.append("-")
        elif tag == _W + "txbxContent":
            _blocks(child, boxes)
        else:
            _runs(child, parts, boxes)


def _paragraph(p: Any, out: list[str]) -> None:
    parts: list[str] = []
    boxes: list[str] = []
    _runs(p, parts, boxes)
    out.append("".join(parts))
    out.extend(boxes)


def _children(el: Any, tag: str) -> Iterator[Any]:
    """The ``tag`` children of ``el``, also those wrapped in content controls or custom XML (a
    row or a cell of a template table can be one)."""
    for child in el.iterchildren():
        if child.tag == tag:
            yield child
        elif child.tag in _BLOCK_CONTAINERS:
            yield from _children(child, tag)


def _table(tbl: Any, out: list[str]) -> None:
    for tr in _children(tbl, _W + "tr"):
        cells = []
        for tc in _children(tr, _W + "tc"):
            inner: list[str] = []
            _blocks(tc, inner)
            cells.append(" ".join(" ".join(x.split()) for x in inner if x.strip()))
        out.append("\t".join(cells))


def _blocks(el: Any, out: list[str]) -> None:
    for child in el.iterchildren():
        tag = child.tag
        if tag == _W + "p":
            _paragraph(child, out)
        elif tag == _W + "tbl":
            _table(child, out)
        elif tag in _BLOCK_CONTAINERS or tag == _W + "tc":
            _blocks(child, out)


def docx_to_text(raw: bytes) -> str:
    """Plain text of a ``.docx`` document given as bytes (see the module docstring).

    Raises :class:`WordError` when ``raw`` is not a Word document, and ``ImportError`` when
    python-docx is not installed.
    """
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as exc:
        raise WordError(f"not a Word document ({exc.__class__.__name__})") from None
    out: list[str] = []
    _blocks(document.element.body, out)
    return layout_text("\n".join(out))
