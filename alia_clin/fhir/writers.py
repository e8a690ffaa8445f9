"""Streaming FHIR writers for ``alia-clin process``: ``fhir-ndjson`` and ``fhir-bundle``.

Both take processed Docs one at a time (``write(doc)``), build the note's bundle with
:func:`~alia_clin.fhir.doc_to_bundle` and write it out; nothing is held in memory beyond the
ids already written. Use them as context managers (or call ``close()``).

``fhir-ndjson`` (:class:`FhirNdjsonWriter`): one ``<ResourceType>.ndjson`` file per type, as
in a Bulk Data export; shared resources (the Device, a patient's Patient) are written once.
``manifest()`` lists the files and their counts (Bulk Data ``output`` style).
``fhir-bundle`` (:class:`FhirBundleWriter`): one ``<name>.json`` Bundle per note, where
``name`` is the note id made file-safe, like the other per-note outputs of a run (or the
bundle id when the note has none, or always with ``name_by="bundle_id"``, when note ids are
themselves identifying).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from spacy.tokens import Doc

from .bundle import BundleType, doc_to_bundle, resources_by_type
from .device import DeviceInfo
from .policy import DEFAULT_POLICY, FhirPolicy

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class _Writer:
    def __init__(
        self,
        out_dir: str | Path,
        *,
        version: str = "R4",
        policy: FhirPolicy = DEFAULT_POLICY,
        device: DeviceInfo | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.version = version
        self.policy = policy
        self.device = device

    def _bundle(self, doc: Doc, bundle_type: BundleType, note_id: str | None, patient: str | None) -> dict:
        return doc_to_bundle(
            doc,
            patient=patient,
            note_id=note_id,
            version=self.version,
            bundle_type=bundle_type,
            policy=self.policy,
            device=self.device,
        )

    def close(self) -> None:
        """Flush and close (idempotent)."""

    def __enter__(self) -> _Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FhirNdjsonWriter(_Writer):
    """Append every note's resources to ``<out_dir>/<ResourceType>.ndjson`` (collection ids)."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        version: str = "R4",
        policy: FhirPolicy = DEFAULT_POLICY,
        device: DeviceInfo | None = None,
    ) -> None:
        super().__init__(out_dir, version=version, policy=policy, device=device)
        self._files: dict[str, IO[str]] = {}
        self._counts: dict[str, int] = {}
        self._seen: set[tuple[str, str]] = set()

    def write(self, doc: Doc, *, note_id: str | None = None, patient: str | None = None) -> dict[str, int]:
        """Write one Doc's resources; returns how many resources of each type were written."""
        bundle = self._bundle(doc, "collection", note_id, patient)
        written: dict[str, int] = {}
        for rtype, resources in resources_by_type(bundle).items():
            for res in resources:
                key = (rtype, str(res["id"]))
                if key in self._seen:
                    continue
                self._seen.add(key)
                f = self._files.get(rtype)
                if f is None:
                    f = (self.out_dir / f"{rtype}.ndjson").open("a", encoding="utf-8", newline="\n")
                    self._files[rtype] = f
                f.write(_dumps(res) + "\n")
                written[rtype] = written.get(rtype, 0) + 1
                self._counts[rtype] = self._counts.get(rtype, 0) + 1
        return written

    def manifest(self) -> list[dict[str, Any]]:
        """``[{"type", "url" (file name), "count"}]`` sorted by type."""
        return [{"type": t, "url": f"{t}.ndjson", "count": n} for t, n in sorted(self._counts.items())]

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()


class FhirBundleWriter(_Writer):
    """Write one Bundle JSON per note to ``<out_dir>/<name>.json``."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        version: str = "R4",
        policy: FhirPolicy = DEFAULT_POLICY,
        device: DeviceInfo | None = None,
        bundle_type: BundleType = "collection",
        name_by: Literal["note_id", "bundle_id"] = "note_id",
    ) -> None:
        super().__init__(out_dir, version=version, policy=policy, device=device)
        self.bundle_type: BundleType = bundle_type
        self.name_by = name_by

    def write(self, doc: Doc, *, note_id: str | None = None, patient: str | None = None) -> Path:
        """Write one Doc's bundle; returns its path."""
        bundle = self._bundle(doc, self.bundle_type, note_id, patient)
        nid = note_id if note_id is not None else doc._.note_id
        name = _UNSAFE.sub("_", str(nid)).strip("._") if nid and self.name_by == "note_id" else ""
        path = self.out_dir / f"{name or bundle['id']}.json"
        path.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path
