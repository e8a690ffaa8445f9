"""alia_clin: clinical text mining for Spanish, Catalan, Basque and Galician.

``alia_clin.load()`` returns a spaCy ``Language`` with the alia_clin stages. torch and
transformers are imported lazily by the stages that need them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from spacy.language import Language

logging.getLogger("alia_clin").addHandler(logging.NullHandler())

#: The pipeline shipped in ``models/`` that ``load()`` uses when no model is given: the encoder
#: pipeline (fine-tuned PHI and entity heads on one shared encoder pass, plus the rule stages).
DEFAULT_MODEL = "alia-clin-es-small"
#: The rules-only pipeline shipped in ``models/``: no weights, hundreds of notes per second on a
#: CPU; the fallback default when the encoder pipeline is not there.
RULES_MODEL = "alia-clin-rules"
#: The tokenizer every alia_clin pipeline uses (tokens = the encoder's words).
TOKENIZER = "alia_clin.WordPunctTokenizer.v1"


def models_dir() -> Path:
    """The ``models/`` folder of the source checkout (it may not exist in an installed wheel)."""
    return Path(__file__).resolve().parent.parent / "models"


def resolve_model(model: str | Path) -> Path:
    """A pipeline directory for ``model``: an existing path, else the name of a pipeline shipped
    in ``models/`` (e.g. ``"alia-clin-es-small"``), else the path as given (the caller reports
    it missing)."""
    path = Path(model)
    if path.exists():
        return path
    shipped = models_dir() / str(model)
    if path.name == str(model) and (shipped / "config.cfg").is_file():
        return shipped
    return path


def default_model_path() -> Path | None:
    """Where the embedded default pipeline is: ``$ALIA_CLIN_MODEL`` (a directory or the name of a
    shipped pipeline), else ``models/<DEFAULT_MODEL>`` of the source checkout (editable installs),
    else ``models/<RULES_MODEL>``, else None."""
    env = os.environ.get("ALIA_CLIN_MODEL")
    if env:
        return resolve_model(env)
    for name in (DEFAULT_MODEL, RULES_MODEL):
        candidate = models_dir() / name
        if (candidate / "config.cfg").exists():
            if name != DEFAULT_MODEL:
                logging.getLogger("alia_clin").info("%s not found; using %s", DEFAULT_MODEL, name)
            return candidate
    return None


def load(model: str | Path | None = None, *, exclude: tuple[str, ...] = ()) -> Language:
    """Load an alia_clin pipeline from a directory or the name of a pipeline shipped in
    ``models/`` (default: the embedded default model).

    Without a model directory at hand (e.g. an installed wheel without the ``models/``
    folder), builds the rules-only de-identification pipeline, which needs no weights.
    Never downloads anything.
    """
    import spacy

    from .errors import AliaClinValueError, ErrorCode
    from .extensions import install_extensions

    install_extensions()
    path = resolve_model(model) if model is not None else default_model_path()
    if path is None:
        return build_rules_pipeline()
    if not path.exists():
        raise AliaClinValueError(ErrorCode.E010, path=str(path))
    return spacy.load(path, exclude=list(exclude))


#: The stages of the rules-only pipeline, in order.
RULES_PIPES = (
    "alia_deid",
    "alia_sections",
    "alia_measurements",
    "alia_terms",
    "alia_codes",
    "alia_context",
)


def build_rules_pipeline(lang: str = "es") -> Language:
    """A fresh, initialized rules-only pipeline (:data:`RULES_PIPES`; no weights needed)."""
    import spacy

    from .pipeline import codes, context, deid, measurements, sections, terms, tokenizer  # noqa: F401

    nlp = spacy.blank(lang, config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    for pipe in RULES_PIPES:
        nlp.add_pipe(pipe)
    nlp.initialize()
    nlp.meta.update({"name": "rules", "version": __version__})
    return nlp


__all__ = [
    "DEFAULT_MODEL",
    "RULES_MODEL",
    "__version__",
    "build_rules_pipeline",
    "default_model_path",
    "load",
    "models_dir",
    "resolve_model",
]
