"""The narrative of an HL7 CDA R2 document (the format of the SNS shared clinical reports).

Reads the XML of a ``ClinicalDocument``; writes nothing. The note is the document ``title``, then
every section of the ``structuredBody`` in document order, nested sections included: the
section title on its own line ending with a colon (so :mod:`alia_clin.context.sections` sees it
as a heading), then its narrative block, where ``paragraph``, list ``item``, table rows,
``caption`` and ``br`` end lines, table cells are separated by tabs and ``content``, ``sub``,
``sup`` and ``linkHtml`` stay inline (``renderMultiMedia`` and ``footnoteRef`` are dropped). A
``nonXMLBody`` holding ``text/plain`` (inline or base64) is returned as it is; one holding a PDF
or Word document (base64: many shared reports are a PDF wrapped in CDA), RTF or HTML is read as
that format (:func:`~alia_clin.io.markup.document_to_text`). The header
(patient, authors, custodian …) is not note text and is never read.

Parsing goes through ``defusedxml``: a document with a DTD, entity declarations or external
references is refused (:class:`CdaError`), as is anything that is not a CDA document.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .markup import CDA_TYPES, MEDIA_MARKUPS, document_to_text, heading_line, layout_text

CDA_NS = "urn:hl7-org:v3"
_Q = f"{{{CDA_NS}}}"
_BLOCKS = frozenset({"paragraph", "item", "tr", "caption", "list", "table", "thead", "tbody", "tfoot"})
_CELLS = frozenset({"td", "th"})
_DROPPED = frozenset({"renderMultiMedia", "footnoteRef"})
_SPACES = re.compile(r"\s+")


class CdaError(ValueError):
    """The content is not a CDA document this reader can take (the reason names no text)."""


def is_cda(text: str) -> bool:
    """Whether ``text`` opens like a CDA document (an XML declaration or comments may come first)."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    return head.startswith("<") and "<ClinicalDocument" in head


def _flow(text: str) -> str:
    """Source line breaks and indentation inside narrative text are spaces, as when rendered."""
    return _SPACES.sub(" ", text)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _narrative(element: Any, parts: list[str], cells: list[int]) -> None:
    """Append the text of a narrative element to ``parts`` (``cells``: cells seen in the row)."""
    name = _local(element.tag)
    if name in _DROPPED:
        return
    if name == "br":
        parts.append("\n")
    elif name in _CELLS:
        if cells[-1]:
            parts.append("\t")
        cells[-1] += 1
    elif name in _BLOCKS:
        parts.append("\n")
    if name == "tr":
        cells.append(0)
    if element.text:
        parts.append(_flow(element.text))
    for child in element:
        _narrative(child, parts, cells)
        if child.tail:
            parts.append(_flow(child.tail))
    if name == "tr":
        cells.pop()
    if name in _BLOCKS:
        parts.append("\n")


def _sections(parent: Any) -> Iterator[Any]:
    for component in parent.findall(f"{_Q}component"):
        section = component.find(f"{_Q}section")
        if section is not None:
            yield section
            yield from _sections(section)


def _non_xml_body(body: Any) -> str:
    text = body.find(f"{_Q}text")
    if text is None:
        raise CdaError("nonXMLBody without text")
    media = (text.get("mediaType") or "text/plain").split(";")[0].strip().lower()
    markup = MEDIA_MARKUPS.get(media) if media not in CDA_TYPES else None
    if media != "text/plain" and markup is None:
        raise CdaError(f"nonXMLBody of media type '{media[:40]}'")
    content = "".join(text.itertext())
    if text.get("representation", "TXT").upper() != "B64":
        if markup in ("pdf", "docx"):
            raise CdaError(f"nonXMLBody of media type '{media}' not in base64")
        return content if markup is None else document_to_text(content.encode("utf-8"), markup, "utf-8")
    try:
        raw = base64.b64decode("".join(content.split()), validate=True)
        if markup is None:
            return raw.decode("utf-8-sig")
    except (binascii.Error, ValueError):
        raise CdaError("nonXMLBody holds invalid base64 or non-UTF-8 text") from None
    return document_to_text(raw, markup)


def cda_to_text(source: str | bytes) -> str:
    """The note text of a CDA document (see the module docstring); raises :class:`CdaError`."""
    try:
        root = SafeET.fromstring(source)
    except DefusedXmlException:
        raise CdaError("DTDs, entities and external references are not accepted") from None
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        raise CdaError(
            f"not well-formed XML ({type(exc).__name__} at {getattr(exc, 'position', '?')})"
        ) from None
    if root.tag != f"{_Q}ClinicalDocument":
        raise CdaError("the root element is not an HL7 v3 ClinicalDocument")
    body = root.find(f"{_Q}component/{_Q}nonXMLBody")
    if body is not None:
        return _non_xml_body(body)
    structured = root.find(f"{_Q}component/{_Q}structuredBody")
    if structured is None:
        raise CdaError("the document has no body")
    parts: list[str] = []
    title = root.find(f"{_Q}title")
    if title is not None:
        parts += [" ".join("".join(title.itertext()).split()), "\n\n"]
    for section in _sections(structured):
        heading = section.find(f"{_Q}title")
        if heading is not None:
            parts += ["\n\n", heading_line("".join(heading.itertext())), "\n"]
        text = section.find(f"{_Q}text")
        if text is not None:
            _narrative(text, parts, [0])
    return layout_text("".join(parts))
