"""Reader options shared by every input format: column mapping, CSV dialect, encoding.

Plain data; readers read these, nothing writes them after construction.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode

#: ``--quoting`` names → :mod:`csv` constants.
QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}

#: ``--markup`` choices for the text column of tabular and record exports.
MARKUPS = ("auto", "none", "rtf", "html", "cda")


@dataclass(frozen=True)
class ReaderOptions:
    """How to read a tabular or record export.

    ``id_col``/``text_col``/``patient_col``/``date_col``/``lang_col``: column (or JSON key)
    names; the optional ones are ignored when None. ``delimiter``: None means "by suffix"
    (``.tsv`` → tab, otherwise sniffed among ``,``, ``;``, tab, ``|``). ``encoding``: the default
    ``utf-8-sig`` also reads Excel exports that start with a BOM; it also decodes the ``.txt``
    notes of a folder (``utf-8-sig`` reads them as ``utf-8``, see :mod:`alia_clin.io.folders`),
    and an unknown encoding raises ``E507``. ``binaries``: where FHIR
    Binary resources live (FHIR NDJSON input only). ``markup``: how the text column of a CSV/TSV,
    JSONL or Parquet export is written: ``auto`` (default) converts a value that is a whole RTF,
    HTML or HL7 CDA document, or an HTML fragment that opens with a common element (``<div>``,
    ``<p>``, ``<b>`` …), to plain text and leaves any other value as it is; ``rtf`` / ``html`` /
    ``cda`` convert every value; ``none`` never converts. Offsets, and the text column of a
    ``deid-copy``, then refer to the plain text. ``sheet``: the worksheet of an Excel workbook
    (default: the first).
    """

    id_col: str = "id"
    text_col: str = "text"
    patient_col: str | None = None
    date_col: str | None = None
    lang_col: str | None = None
    delimiter: str | None = None
    quotechar: str = '"'
    quoting: str = "minimal"
    encoding: str = "utf-8-sig"
    binaries: str | None = None
    markup: str = "auto"
    sheet: str | None = None

    def __post_init__(self) -> None:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise AliaClinValueError(
                ErrorCode.E507,
                option="encoding",
                reason=f"unknown encoding '{self.encoding}' (e.g. utf-8, cp1252, latin-1)",
            ) from None
        if self.quoting not in QUOTING:
            raise AliaClinValueError(
                ErrorCode.E507, option="quoting", reason=f"choose one of {', '.join(QUOTING)}"
            )
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise AliaClinValueError(ErrorCode.E507, option="delimiter", reason="must be one character")
        if self.markup not in MARKUPS:
            raise AliaClinValueError(
                ErrorCode.E507, option="markup", reason=f"choose one of {', '.join(MARKUPS)}"
            )
        if len(self.quotechar) != 1:
            raise AliaClinValueError(ErrorCode.E507, option="quotechar", reason="must be one character")

    @property
    def csv_quoting(self) -> int:
        """The :mod:`csv` quoting constant."""
        return QUOTING[self.quoting]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for the run manifest). ``sheet`` is left out while unset, so the
        manifest of a run started before the option existed still matches."""
        d = asdict(self)
        if d["sheet"] is None:
            del d["sheet"]
        return d


def delimiter_for(path: Path, options: ReaderOptions, sample: str) -> str:
    """The delimiter to use: the option, tab for ``.tsv``, else sniffed from ``sample``."""
    if options.delimiter is not None:
        return options.delimiter
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    header = sample.splitlines()[0] if sample else ""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","
