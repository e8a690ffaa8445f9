"""Complete a trained encoder pipeline with the rule stages of another pipeline.

``alia-clin train`` writes ``alia_encoder`` → ``alia_deid`` → ``alia_ner``. The embedded default
also needs the stages that have no encoder head: sections, measurements, dictionary terms (they
only add entities that do not overlap the model's), coding, assertions and heart-failure risk.
:func:`add_rule_stages` reads a trained pipeline directory and a source pipeline directory
(default: ``models/alia-clin-rules``), copies every source stage the trained pipeline lacks
(``nlp.add_pipe(name, source=...)``, with its saved data) in the source's order after the
trained stages, and writes the result to ``out_dir`` together with the trained pipeline's
``training_metrics.json`` / ``training_log.jsonl``. Reads and writes no note text.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode

logger = logging.getLogger("alia_clin")

#: Files of a trained pipeline directory that are not spaCy's and travel with it.
TRAINING_FILES = ("training_metrics.json", "training_log.jsonl")


def add_rule_stages(
    trained_dir: str | Path, source_dir: str | Path, out_dir: str | Path, *, skip: tuple[str, ...] = ()
) -> list[str]:
    """Write ``trained_dir`` + the stages of ``source_dir`` it lacks (minus ``skip``) to
    ``out_dir``; returns the final pipe names. ``out_dir`` may equal ``trained_dir``.

    Raises ``E010`` when a directory does not exist and ``E136`` when ``out_dir`` exists and is
    not a pipeline directory.
    """
    import spacy

    from ..extensions import install_extensions

    trained, source, out = Path(trained_dir), Path(source_dir), Path(out_dir)
    for p in (trained, source):
        if not (p / "config.cfg").is_file():
            raise AliaClinValueError(ErrorCode.E010, path=str(p))
    if out.exists() and any(out.iterdir()) and not (out / "config.cfg").is_file():
        raise AliaClinValueError(ErrorCode.E136, path=str(out))
    install_extensions()
    nlp = spacy.load(trained)
    src = spacy.load(source)
    for name in src.pipe_names:
        if name in nlp.pipe_names or name in skip:
            continue
        nlp.add_pipe(name, source=src)
        logger.info("added stage %s from %s", name, source.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        nlp.to_disk(tmp)
        for name in TRAINING_FILES:
            if (trained / name).is_file():
                shutil.copyfile(trained / name, tmp / name)
        for f in tmp.rglob("*"):
            f.chmod(0o755 if f.is_dir() else 0o644)
        tmp.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        shutil.move(str(tmp), str(out))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return list(nlp.pipe_names)


__all__ = ["TRAINING_FILES", "add_rule_stages"]
