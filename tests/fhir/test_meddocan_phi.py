"""No PHI in emitted bundles under the default policy, over the MEDDOCAN dev notes (slow).

Reads ``meddocan/dev`` with the project's corpus reader (MEDDOCAN's own dev split; the test
split is held back), runs the default pipeline and builds each note's R4 bundle with the
default policy (plus a secret). For every PHI span the pipeline found (``doc.spans["phi"]``),
its string must not occur — case-insensitively, as a whole word — in any string of the bundle
nor in the decoded DocumentReference text. Strings shorter than 3 characters (sex "H"/"M",
two-digit ages) are replaced where they were detected but are not searched for elsewhere: as
whole words they also occur as ordinary letters and numbers, so no test can tell a leak from a
coincidence (the policy does not propagate them either; see ``alia_clin.fhir.text``).
No note text is printed: failures report note ids, labels and lengths only.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import regex

from alia_clin.fhir import FhirPolicy, doc_to_bundle
from alia_clin.fhir.text import MIN_PROPAGATE_CHARS

from .helpers import walk_strings


@pytest.mark.slow
def test_no_phi_in_bundles_on_meddocan_dev(corpora: Path) -> None:
    import alia_clin
    from alia_clin.training.corpora import read_source

    examples = read_source(corpora, "meddocan/dev")
    assert len(examples) >= 200
    nlp = alia_clin.load()
    policy = FhirPolicy(secret="meddocan-test")
    checked = 0
    leaks: list[tuple[str, str, int]] = []
    for ex, doc in zip(examples, nlp.pipe(ex.text for ex in examples), strict=True):
        doc._.note_id = ex.id
        bundle = doc_to_bundle(doc, policy=policy)
        (docref,) = [
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"
        ]
        attachment = docref["content"][0]["attachment"]
        encoded = {attachment["data"], attachment["hash"]}
        strings = [s for s in walk_strings(bundle) if s not in encoded]
        strings.append(base64.b64decode(attachment["data"]).decode("utf-8"))
        blob = "\n".join(strings)
        for span in doc.spans["phi"]:
            value = span.text.strip()
            if len(value) < MIN_PROPAGATE_CHARS:
                continue
            checked += 1
            if regex.search(r"(?<!\w)" + regex.escape(value) + r"(?!\w)", blob, regex.IGNORECASE):
                leaks.append((ex.id, span.label_, len(value)))
    assert checked > 3000
    assert not leaks, leaks[:20]
