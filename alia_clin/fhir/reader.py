"""Read clinical notes from FHIR resources and Bulk Data NDJSON exports.

Reads DocumentReference (first ``content.attachment`` with a supported content type, inline
base64 ``data`` or a ``url`` to a Binary), Binary (``contentType`` + ``data``), Composition (the
narrative of a FHIR document: title, section titles and XHTML section text) and Bundles of
them; writes nothing. Yields :class:`~alia_clin.io.folders.NoteRecord` with ``patient_id``
(``subject`` reference id or identifier value), ``date`` (R4 ``context.period.start``, R5
``period.start``, else ``date``), ``language`` (the attachment's, primary subtag:
``es-ES`` → ``es``). A bad record comes back with ``error``/``error_code`` and no text; the
messages name ids and content types, never text.

Content types: ``text/plain``, ``text/html`` / ``application/xhtml+xml``, ``text/rtf`` /
``application/rtf`` (:mod:`alia_clin.io.markup`) and HL7 CDA R2 (``application/hl7-v3+xml``, or
an XML type holding a ``ClinicalDocument``: :mod:`alia_clin.io.cda`), Word ``.docx``
(``application/vnd.openxmlformats-officedocument.wordprocessingml.document``:
:mod:`alia_clin.io.word`) and PDF with a text layer (``application/pdf``: :mod:`alia_clin.io.pdf`;
both with the extra ``alia-clin[office]``), converted to plain text. The ``charset``
parameter is honoured (default UTF-8, for RTF the document's own code page; a UTF-8 BOM is
dropped).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Iterator, Mapping
from email.message import Message
from pathlib import Path
from typing import Any

from ..errors import ErrorCode
from ..io.cda import CdaError
from ..io.folders import NoteRecord
from ..io.markup import MEDIA_MARKUPS, document_to_text, heading_line, html_to_text
from ..io.pdf import PdfError

SUPPORTED_CONTENT_TYPES = ("text/plain", *MEDIA_MARKUPS)


def _content_type(value: str) -> tuple[str, str | None]:
    msg = Message()
    msg["content-type"] = value
    charset = msg.get_param("charset")
    return msg.get_content_type(), str(charset) if isinstance(charset, str) else None


def _error(rid: str, code: ErrorCode, error_code: str, **fields: object) -> NoteRecord:
    return NoteRecord(rid, None, f"[{code.name}] " + code.value.format(**fields), error_code)


def _decode_markup(
    raw: bytes, markup: str, charset: str | None, *, resource_type: str, resource_id: str
) -> tuple[str | None, NoteRecord | None]:
    """RTF, CDA, Word or PDF content → plain text, or a coded E405 record (not that format, not
    well-formed, an undecodable byte or escape, a PDF without text, the office extra missing)."""
    try:
        return document_to_text(raw, markup, charset), None
    except ImportError:
        code, reason = "missing_module", f"reading {markup.upper()} documents needs alia-clin[office]"
    except PdfError as exc:
        code, reason = ("invalid_pdf" if exc.code == "malformed" else exc.code), f"PDF: {exc}"
    except CdaError as exc:
        code, reason = "invalid_cda", f"CDA: {exc}"
    except UnicodeDecodeError as exc:
        code = "invalid_cda" if markup == "cda" else "invalid_encoding"
        where = f"at byte {exc.start}" if markup == "cda" else f"in the {markup.upper()} content"
        reason = f"invalid {exc.encoding} {where}"
    except ValueError as exc:
        code, reason = f"invalid_{markup}", str(exc)
    return None, _error(
        resource_id, ErrorCode.E405, code, reason=reason, resource_type=resource_type, resource_id=resource_id
    )


def decode_attachment(
    data: str, content_type: str | None, *, resource_type: str, resource_id: str
) -> tuple[str | None, NoteRecord | None]:
    """Decode base64 ``data`` of ``content_type``: ``(text, None)`` or ``(None, error record)``."""
    ctype, charset = _content_type(content_type or "text/plain")
    if ctype not in SUPPORTED_CONTENT_TYPES:
        return None, _error(
            resource_id,
            ErrorCode.E403,
            "unsupported_content_type",
            content_type=ctype,
            resource_type=resource_type,
            resource_id=resource_id,
            choices=", ".join(SUPPORTED_CONTENT_TYPES),
        )
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None, _error(
            resource_id,
            ErrorCode.E405,
            "invalid_base64",
            resource_type=resource_type,
            resource_id=resource_id,
            reason="invalid base64",
        )
    encoding = (charset or "utf-8").lower()
    try:
        codecs.lookup(encoding)
    except LookupError:
        return None, _error(
            resource_id,
            ErrorCode.E405,
            "unknown_charset",
            resource_type=resource_type,
            resource_id=resource_id,
            reason=f"unknown charset '{encoding[:40]}'",
        )
    markup = MEDIA_MARKUPS.get(ctype)
    if markup is not None and markup != "html":  # HTML is text: decoded below with its charset
        return _decode_markup(raw, markup, charset, resource_type=resource_type, resource_id=resource_id)
    if encoding in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        return None, _error(
            resource_id,
            ErrorCode.E405,
            "invalid_encoding",
            resource_type=resource_type,
            resource_id=resource_id,
            reason=f"invalid {encoding} at byte {exc.start}",
        )
    if markup == "html":
        text = html_to_text(text)
    return text, None


def _ref_id(reference: str | None) -> str | None:
    if not reference:
        return None
    parts = reference.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-1] if parts else None


def _patient_id(subject: Any) -> str | None:
    if not isinstance(subject, dict):
        return None
    ident = subject.get("identifier")
    if isinstance(subject.get("reference"), str):
        return _ref_id(subject["reference"])
    if isinstance(ident, dict) and ident.get("value"):
        return str(ident["value"])
    return None


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return value.replace("_", "-").split("-")[0].lower()


def _date(resource: dict[str, Any]) -> str | None:
    for holder in (resource.get("context"), resource):
        if isinstance(holder, dict):
            period = holder.get("period")
            if isinstance(period, dict) and period.get("start"):
                return str(period["start"])
    return str(resource["date"]) if resource.get("date") else None


def _finish(rid: str, text: str, **fields: Any) -> NoteRecord:
    if not text.strip():
        return NoteRecord(rid, text, "empty note", "empty", **fields)
    return NoteRecord(rid, text, **fields)


BinaryLookup = Mapping[str, dict[str, Any]]


def _binary_key(reference: str) -> str | None:
    parts = reference.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Binary":
        return f"Binary/{parts[-1]}"
    if reference.startswith("urn:uuid:"):
        return reference
    return None


def from_document_reference(resource: dict[str, Any], binaries: BinaryLookup | None = None) -> NoteRecord:
    """One NoteRecord for a DocumentReference (see the module docstring)."""
    rid = str(resource.get("id") or "")
    fields: dict[str, Any] = {
        "patient_id": _patient_id(resource.get("subject")),
        "date": _date(resource),
    }
    content = resource.get("content")
    attachments: list[dict[str, Any]] = [
        c["attachment"]
        for c in (content if isinstance(content, list) else [])
        if isinstance(c, dict) and isinstance(c.get("attachment"), dict)
    ]
    if not attachments:
        return _error(
            rid,
            ErrorCode.E404,
            "no_attachment",
            resource_type="DocumentReference",
            resource_id=rid,
            reason="no content.attachment",
        )
    supported = [
        a
        for a in attachments
        if _content_type(a.get("contentType") or "text/plain")[0] in SUPPORTED_CONTENT_TYPES
    ]
    att = supported[0] if supported else attachments[0]
    language = _language(att.get("language")) or _language(resource.get("language"))
    fields["language"] = language
    fields["meta"] = {"resourceType": "DocumentReference", "contentType": att.get("contentType")}
    data, ctype = att.get("data"), att.get("contentType")
    if data is None and att.get("url"):
        key = _binary_key(str(att["url"]))
        binary = binaries.get(key) if binaries is not None and key else None
        if binary is None:
            rec = _error(
                rid,
                ErrorCode.E406,
                "binary_not_found",
                reference=key or "external url",
                resource_type="DocumentReference",
                resource_id=rid,
            )
            return NoteRecord(rec.id, None, rec.error, rec.error_code, **fields)
        data, ctype = binary.get("data"), ctype or binary.get("contentType")
    if not isinstance(data, str):
        rec = _error(
            rid,
            ErrorCode.E404,
            "no_inline_data",
            resource_type="DocumentReference",
            resource_id=rid,
            reason="attachment has neither inline data nor a resolvable url",
        )
        return NoteRecord(rec.id, None, rec.error, rec.error_code, **fields)
    text, err = decode_attachment(data, ctype, resource_type="DocumentReference", resource_id=rid)
    if err is not None:
        return NoteRecord(err.id, None, err.error, err.error_code, **fields)
    assert text is not None
    return _finish(rid, text, **fields)


def from_binary(resource: dict[str, Any]) -> NoteRecord:
    """One NoteRecord for a Binary holding a note."""
    rid = str(resource.get("id") or "")
    data = resource.get("data")
    if not isinstance(data, str):
        return _error(
            rid, ErrorCode.E404, "no_inline_data", resource_type="Binary", resource_id=rid, reason="no data"
        )
    text, err = decode_attachment(data, resource.get("contentType"), resource_type="Binary", resource_id=rid)
    meta = {"resourceType": "Binary", "contentType": resource.get("contentType")}
    if err is not None:
        return NoteRecord(err.id, None, err.error, err.error_code, meta=meta)
    assert text is not None
    return _finish(rid, text, meta=meta)


def _composition_parts(sections: Any, parts: list[str]) -> None:
    for section in sections if isinstance(sections, list) else []:
        if not isinstance(section, dict):
            continue
        if isinstance(section.get("title"), str):
            parts.append(heading_line(section["title"]))
        narrative = section.get("text")
        if isinstance(narrative, dict) and isinstance(narrative.get("div"), str):
            parts.append(html_to_text(narrative["div"]))
        _composition_parts(section.get("section"), parts)


def from_composition(resource: dict[str, Any]) -> NoteRecord:
    """One NoteRecord for a Composition, the narrative of a FHIR document (Bundle ``document``):
    its ``title``, then every section (nested ones too) as its title on a heading line and its
    XHTML ``text.div`` as plain text. Patient from ``subject``, date from ``date``."""
    rid = str(resource.get("id") or "")
    parts: list[str] = []
    if isinstance(resource.get("title"), str):
        parts.append(" ".join(resource["title"].split()))
    _composition_parts(resource.get("section"), parts)
    fields: dict[str, Any] = {
        "patient_id": _patient_id(resource.get("subject")),
        "date": str(resource["date"]) if resource.get("date") else None,
        "language": _language(resource.get("language")),
        "meta": {"resourceType": "Composition"},
    }
    return _finish(rid, "\n\n".join(p for p in parts if p), **fields)


def notes_from_resource(resource: dict[str, Any]) -> list[NoteRecord]:
    """NoteRecords of a DocumentReference, a Binary, a Composition or a Bundle of them (a FHIR
    document Bundle gives its Composition's narrative).

    In a Bundle, a DocumentReference's attachment ``url`` may point at a Binary entry (by
    ``fullUrl`` or ``Binary/<id>``); such Binaries are not returned again on their own. Other
    resource types are skipped; an unsupported top-level type gives one error record (E404).
    """
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    rid = str(resource.get("id") or "") if isinstance(resource, dict) else ""
    if rtype == "DocumentReference":
        return [from_document_reference(resource)]
    if rtype == "Binary":
        return [from_binary(resource)]
    if rtype == "Composition":
        return [from_composition(resource)]
    if rtype != "Bundle":
        return [
            _error(
                rid,
                ErrorCode.E404,
                "unsupported_resource",
                resource_type=str(rtype or "?"),
                resource_id=rid,
                reason="expected DocumentReference, Binary, Composition or Bundle",
            )
        ]
    entries = [
        e for e in resource.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    binaries: dict[str, dict[str, Any]] = {}
    for e in entries:
        res = e["resource"]
        if res.get("resourceType") == "Binary":
            if res.get("id"):
                binaries[f"Binary/{res['id']}"] = res
            if e.get("fullUrl"):
                key = _binary_key(str(e["fullUrl"]))
                binaries[key or str(e["fullUrl"])] = res
    used: set[int] = set()
    out: list[NoteRecord] = []
    for e in entries:
        res = e["resource"]
        if res.get("resourceType") == "Composition":
            out.append(from_composition(res))
        elif res.get("resourceType") == "DocumentReference":
            content = res.get("content")
            for c in content if isinstance(content, list) else []:
                url = (c.get("attachment") or {}).get("url") if isinstance(c, dict) else None
                key = _binary_key(str(url)) if url else None
                if key and key in binaries:
                    used.add(id(binaries[key]))
            out.append(from_document_reference(res, binaries))
    out += [
        from_binary(e["resource"])
        for e in entries
        if e["resource"].get("resourceType") == "Binary" and id(e["resource"]) not in used
    ]
    return out


# -- Bulk Data NDJSON ---------------------------------------------------------------------------
class NdjsonBinaryIndex(Mapping[str, dict[str, Any]]):
    """Binary resources of NDJSON files, indexed by ``Binary/<id>`` → (file, byte offset).

    Only offsets are kept in memory; a Binary is read from disk when looked up.
    """

    def __init__(self, files: list[Path]) -> None:
        self._index: dict[str, tuple[Path, int]] = {}
        for path in files:
            with path.open("rb") as f:
                offset = 0
                for line in f:
                    if line.strip():
                        rid = _quick_id(line)
                        if rid:
                            self._index[f"Binary/{rid}"] = (path, offset)
                    offset += len(line)

    def __getitem__(self, key: str) -> dict[str, Any]:
        path, offset = self._index[key]
        with path.open("rb") as f:
            f.seek(offset)
            obj = json.loads(f.readline())
        return obj if isinstance(obj, dict) else {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _quick_id(line: bytes) -> str | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return str(obj["id"]) if isinstance(obj, dict) and obj.get("id") else None


def _export_files(root: Path, resource_type: str) -> list[Path]:
    return sorted(p for p in root.glob("*.ndjson") if p.name.split(".")[0].split("-")[0] == resource_type)


def iter_ndjson_notes(
    path: str | Path, binaries: str | Path | BinaryLookup | None = None
) -> Iterator[NoteRecord]:
    """Stream the notes of a Bulk Data NDJSON export.

    ``path``: one NDJSON file (DocumentReference, Composition and/or Binary lines) or an export
    folder (``DocumentReference*.ndjson``, then ``Composition*.ndjson``, each in name order;
    ``Binary*.ndjson`` used for ``url`` attachments). A Composition is the narrative of a FHIR
    document (see :func:`from_composition`). ``binaries``: an extra Binary NDJSON file or folder,
    or a mapping ``"Binary/<id>"`` → Binary resource. Binaries are notes only where nothing else
    is. Each line yields at most one record; a line that is not a JSON resource yields an error
    record (``id`` = ``"<file>:<line>"``, ``position`` set). Raises E407 when a folder holds no
    DocumentReference, Composition or Binary file.
    """
    from ..errors import AliaClinValueError

    root = Path(path)
    if not root.exists():
        raise AliaClinValueError(ErrorCode.E407, path=str(root))
    if root.is_dir():
        doc_files = _export_files(root, "DocumentReference") + _export_files(root, "Composition")
        binary_files = _export_files(root, "Binary")
        if not doc_files and not binary_files:
            raise AliaClinValueError(ErrorCode.E407, path=str(root))
        sources = doc_files or binary_files
        binaries_are_notes = not doc_files
    else:
        sources, binary_files = [root], [root]
        binaries_are_notes = not _has_notes(root)
    lookup: BinaryLookup
    if isinstance(binaries, Mapping):
        lookup = binaries
    else:
        extra: list[Path] = []
        if binaries is not None:
            b = Path(binaries)
            extra = _export_files(b, "Binary") if b.is_dir() else [b]
        lookup = NdjsonBinaryIndex(sorted(set(binary_files + extra)))
    for file in sources:
        with file.open("r", encoding="utf-8", newline="") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                position = f"{file.name}:{n}"
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                if not isinstance(obj, dict) or not obj.get("resourceType"):
                    reason = "not a JSON object with resourceType"
                    message = f"[{ErrorCode.E408.name}] " + ErrorCode.E408.value.format(
                        path=file.name, line=n, reason=reason
                    )
                    yield NoteRecord(position, None, message, "invalid_json", position=position)
                    continue
                rtype = obj["resourceType"]
                if rtype == "DocumentReference":
                    rec = from_document_reference(obj, lookup)
                elif rtype == "Composition":
                    rec = from_composition(obj)
                elif rtype == "Binary" and binaries_are_notes:
                    rec = from_binary(obj)
                else:
                    continue
                yield _with_position(rec, position)


def _has_notes(path: Path) -> bool:
    """Whether the NDJSON file holds a DocumentReference or a Composition line."""
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj.get("resourceType") in ("DocumentReference", "Composition"):
                return True
    return False


def _with_position(rec: NoteRecord, position: str) -> NoteRecord:
    return NoteRecord(
        rec.id,
        rec.text,
        rec.error,
        rec.error_code,
        rec.patient_id,
        rec.date,
        rec.language,
        position,
        rec.meta,
    )
