"""Reading notes written as RTF, HTML, HL7 CDA and Word: fidelity and speed of the conversion.

Usage (from the repository root)::

    python benchmarks/markup_benchmark.py --corpora ../shared/corpora --out benchmarks/results/markup

Takes the CardioCCC train notes (real Spanish clinical case reports, CC BY 4.0), writes each one
the way report systems store it, and reads it back with :mod:`alia_clin.io.markup` /
:mod:`alia_clin.io.cda`:

* **RTF**: Windows-1252 ``\\'hh`` escapes (``\\uN?`` beyond Latin-1), ``\\par`` per line, ``\\``,
  ``{`` and ``}`` escaped. Fidelity: the text read back equals the note exactly.
* **HTML**: one ``<p>`` per line, characters escaped. HTML collapses runs of spaces and blank
  lines, so fidelity compares the notes' non-empty lines with spaces collapsed.
* **CDA**: a ``ClinicalDocument`` with one section whose narrative holds one ``<paragraph>`` per
  line; compared like HTML.
* **DOCX**: a Word document written with python-docx, one paragraph per line (read with
  :mod:`alia_clin.io.word`; skipped when the extra ``alia-clin[office]`` is missing); compared
  like HTML. Its source size is in bytes.

Reports per format: notes read back faithfully, docs/s and chars/s (best of ``--repeats``
passes, single process). Writes ``<out>.json`` (counts and speeds, never text) and ``<out>.png``.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_corpora_dir, machine_info, time_best_of, versions, write_result


def as_rtf(text: str) -> str:
    """``text`` as an RTF document (see the module docstring)."""

    def escape(ch: str) -> str:
        code = ord(ch)
        if ch in "\\{}":
            return "\\" + ch
        return ch if code < 128 else f"\\'{code:02x}" if code < 256 else f"\\u{code}?"

    body = "".join(escape(c) for c in text).replace("\n", "\\par\n")
    return "{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}\\f0 " + body + "}"


def as_html(text: str) -> str:
    """``text`` as an HTML document, one paragraph per line."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))
    return f"<!DOCTYPE html><html><body>{paragraphs}</body></html>"


def as_cda(text: str) -> str:
    """``text`` as a CDA document with one section, one paragraph per line."""
    paragraphs = "".join(f"<paragraph>{html.escape(line)}</paragraph>" for line in text.split("\n"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
        "<component><structuredBody><component><section><text>"
        f"{paragraphs}</text></section></component></structuredBody></component></ClinicalDocument>"
    )


def as_docx(text: str) -> bytes:
    """``text`` as a Word document, one paragraph per line."""
    import io

    import docx

    document = docx.Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


FORMATS: dict[str, tuple[Callable[[str], str | bytes], str, bool]] = {
    # name: (writer, markup, exact comparison)
    "rtf": (as_rtf, "rtf", True),
    "html": (as_html, "html", False),
    "cda": (as_cda, "cda", False),
    "docx": (as_docx, "docx", False),
}


def run(notes: Sequence[str], repeats: int) -> dict[str, Any]:
    """Fidelity and speed per format."""
    from alia_clin.io.markup import document_to_text, markup_to_text

    def read(source: str | bytes, markup: str) -> str:
        if isinstance(source, bytes):
            return document_to_text(source, markup)
        return markup_to_text(source, markup)

    out: dict[str, Any] = {}
    for name, (write, markup, exact) in FORMATS.items():
        try:
            sources = [write(t) for t in notes]
        except ImportError:
            continue  # docx without the extra alia-clin[office]
        timing, texts = time_best_of(
            lambda batch, m=markup: [read(s, m) for s in batch], sources, repeats=repeats
        )
        same = sum(
            (got == note) if exact else (_lines(got) == _lines(note))
            for got, note in zip(texts, notes, strict=True)
        )
        out[name] = {
            "comparison": "exact" if exact else "non-empty lines, spaces collapsed",
            "notes": len(notes),
            "faithful": same,
            "source_chars": sum(map(len, sources)),
            **{k: round(v, 1) for k, v in timing.to_dict().items() if k in ("docs_per_s", "chars_per_s")},
            "wall_s": round(timing.best_s, 3),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/markup"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    files = sorted((args.corpora / "cardioccc" / "train").glob("*.txt"))
    notes = [f.read_text(encoding="utf-8") for f in files]
    result = {
        "benchmark": "markup conversion (RTF, HTML, CDA, DOCX) of CardioCCC train notes",
        "documents": len(notes),
        "note_chars": sum(map(len, notes)),
        "formats": run(notes, args.repeats),
        "machine": machine_info(),
        "versions": versions(["alia-clin", "striprtf", "defusedxml", "python-docx"]),
    }
    write_result(args.out, result, _plot)
    return 0


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["formats"])
    rows = [result["formats"][n] for n in names]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.bar(names, [r["faithful"] / r["notes"] for r in rows], color="tab:green")
    ax1.set_ylim(0, 1.05)
    ax1.set_title("notes read back faithfully")
    ax2.bar(names, [r["chars_per_s"] / 1e6 for r in rows], color="tab:blue")
    ax2.set_title("conversion speed (M source chars / s)")
    fig.suptitle(f"{result['documents']} CardioCCC train notes, one CPU process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
