"""Lineage: the Device (pipeline name, version, model hashes) and the Provenance of a bundle.

:func:`device_info` reads a loaded pipeline (``nlp.meta``, ``nlp.path``) and hashes the files
of its model directory deterministically: per component folder, SHA-256 over the sorted
relative paths and each file's SHA-256 (so renames and content changes both change it, and
file-system order or timestamps do not). Hashes are cached per directory and modification
state. Writes nothing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .ids import KEY_TAG_SYSTEM, PROVENANCE_PARTICIPANT, V3_DATA_OPERATION, stable_uuid, urn
from .policy import RESOURCE_KEY_SYSTEM


@dataclass(frozen=True)
class DeviceInfo:
    """What produced a bundle: ``name`` and ``version`` of the pipeline, the alia_clin version,
    and ``model_hashes`` (component or ``"model"`` → SHA-256 hex of its files)."""

    name: str
    version: str
    library_version: str
    model_hashes: tuple[tuple[str, str], ...] = field(default=())

    @property
    def key(self) -> str:
        """The stable key of this device (name, versions and hashes)."""
        parts = [self.name, self.version, self.library_version] + [f"{k}={v}" for k, v in self.model_hashes]
        return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_directory(path: str | Path) -> str:
    """SHA-256 over the sorted relative paths and file hashes under ``path`` (see module doc)."""
    root = Path(path)
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        h.update(rel.encode("utf-8") + b"\x00" + _file_sha256(file).encode("ascii") + b"\n")
    return h.hexdigest()


@lru_cache(maxsize=16)
def _hash_model_dir(path: str, _stamp: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, str], ...]:
    root = Path(path)
    hashes = [("model", hash_directory(root))]
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        hashes.append((sub.name, hash_directory(sub)))
    return tuple(hashes)


def model_hashes(path: str | Path) -> tuple[tuple[str, str], ...]:
    """``("model", whole-dir hash)`` then one ``(component, hash)`` per sub-folder, cached."""
    root = Path(path)
    stamp = tuple(
        sorted(
            (p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")
            if p.is_file()
        )
    )
    return _hash_model_dir(os.fspath(root), stamp)


def device_info(nlp: Any = None, *, model_dir: str | Path | None = None) -> DeviceInfo:
    """Describe ``nlp`` (a spaCy Language, or None for the library alone) as a :class:`DeviceInfo`."""
    from .. import __version__

    meta: dict[str, Any] = dict(getattr(nlp, "meta", {}) or {})
    name = str(meta.get("name") or "alia-clin")
    if meta.get("lang") and not name.startswith(str(meta["lang"])):
        name = f"{meta['lang']}_{name}"
    version = str(meta.get("version") or __version__)
    path = model_dir if model_dir is not None else getattr(nlp, "path", None)
    hashes = model_hashes(path) if path is not None and Path(path).is_dir() else ()
    return DeviceInfo(name, version, __version__, hashes)


def device_resource(info: DeviceInfo, version: str) -> dict[str, Any]:
    """The Device resource for ``info`` (R4 ``deviceName`` / R5 ``name``)."""
    rid = stable_uuid("Device", info.key)
    res: dict[str, Any] = {
        "resourceType": "Device",
        "id": rid,
        "identifier": [{"system": RESOURCE_KEY_SYSTEM, "value": rid}],
        "status": "active",
        "manufacturer": "alia_clin",
    }
    if version == "R4":
        res["deviceName"] = [{"name": info.name, "type": "model-name"}]
    else:
        res["name"] = [{"value": info.name, "type": "user-friendly-name"}]
    versions = [
        {"type": {"text": "pipeline"}, "value": info.version},
        {"type": {"text": "alia_clin"}, "value": info.library_version},
    ]
    versions += [{"type": {"text": f"sha256:{name}"}, "value": digest} for name, digest in info.model_hashes]
    res["version"] = versions
    return res


def provenance_resource(
    *, note_key: str, targets: list[str], source: str, device_id: str, recorded: str, version: str
) -> dict[str, Any]:
    """A Provenance: ``targets`` (urn references) derived from ``source`` by the Device.

    Provenance has no ``identifier``: its stable key travels as a ``meta.tag`` (used by the
    transaction's ``ifNoneExist``).
    """
    rid = stable_uuid(note_key, "Provenance")
    return {
        "resourceType": "Provenance",
        "id": rid,
        "meta": {"tag": [{"system": KEY_TAG_SYSTEM, "code": rid}]},
        "target": [{"reference": t} for t in targets],
        "recorded": recorded,
        "activity": {"coding": [{"system": V3_DATA_OPERATION, "code": "DERIVE", "display": "derive"}]},
        "agent": [
            {
                "type": {
                    "coding": [
                        {"system": PROVENANCE_PARTICIPANT, "code": "assembler", "display": "Assembler"}
                    ]
                },
                "who": {"reference": urn(device_id)},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": source}}],
    }
