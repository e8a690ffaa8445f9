"""A tiny synthetic BRAT corpus tree (invented notes) laid out like the shared corpora."""

from __future__ import annotations

from pathlib import Path

PHI_NOTES = [
    (
        "Paciente: Marta Ibarra Soler. Fecha de ingreso: 03/02/2024.\nMujer de 71 años con disnea.\n",
        [
            ("NOMBRE_SUJETO_ASISTENCIA", "Marta Ibarra Soler"),
            ("FECHAS", "03/02/2024"),
            ("EDAD_SUJETO_ASISTENCIA", "71 años"),
        ],
    ),
    (
        "Médico: Dr. Joan Puig Ferrer.\r\nDomicilio: calle Mayor 12, Madrid.\r\n",
        [
            ("NOMBRE_PERSONAL_SANITARIO", "Joan Puig Ferrer"),
            ("CALLE", "calle Mayor 12"),
            ("TERRITORIO", "Madrid"),
        ],
    ),
    (
        "Paciente: Joan Soler. Fecha de ingreso: 03/02/2024. Varón de 80 años.\n",
        [
            ("NOMBRE_SUJETO_ASISTENCIA", "Joan Soler"),
            ("FECHAS", "03/02/2024"),
            ("EDAD_SUJETO_ASISTENCIA", "80 años"),
        ],
    ),
]
NER_NOTES = [
    (
        "Mujer con insuficiencia cardiaca y disnea de esfuerzo. Tratada con furosemida 40 mg.\n",
        [
            ("DISEASE", "insuficiencia cardiaca"),
            ("SYMPTOM", "disnea de esfuerzo"),
            ("MEDICATION", "furosemida"),
        ],
    ),
    (
        "Varón con edemas y disnea. Se realiza ecocardiograma: FEVI 35 %.\n",
        [("SYMPTOM", "edemas"), ("SYMPTOM", "disnea"), ("PROCEDURE", "ecocardiograma")],
    ),
]


def write_doc(folder: Path, stem: str, text: str, ents: list[tuple[str, str]]) -> None:
    """Write ``stem.txt`` (exact bytes) and ``stem.ann`` with one T line per (label, surface)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{stem}.txt").open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    lines = []
    pos: dict[tuple[str, str], int] = {}
    for i, (label, surface) in enumerate(ents, start=1):
        start = text.index(surface, pos.get((label, surface), 0))
        pos[(label, surface)] = start + 1
        lines.append(f"T{i}\t{label} {start} {start + len(surface)}\t{surface}")
    (folder / f"{stem}.ann").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def make_corpus_tree(root: Path, n_cardio: int = 10) -> Path:
    """meddocan/{train,dev}, cardioccc/train, distemist…/train, pharmaconer/train, cantemist/train, e3c.

    Shared documents: ``S0001-1`` is a MEDDOCAN dev note whose body also sits in DisTEMIST
    (as ``es-S0001-1``) and PharmaCoNER train; ``S0002-1`` is in DisTEMIST and PharmaCoNER train
    (same text: merged for ner).
    """
    for i in range(4):
        text, ents = PHI_NOTES[i % len(PHI_NOTES)]
        write_doc(root / "meddocan" / "train", f"S1000-{i}", f"Nota {i}. " + text, ents)
    text, ents = PHI_NOTES[0]
    write_doc(root / "meddocan" / "dev", "S0001-1", text, ents)
    write_doc(root / "meddocan" / "dev", "S0003-1", *PHI_NOTES[1])
    for i in range(n_cardio):
        text, ents = NER_NOTES[i % len(NER_NOTES)]
        write_doc(root / "cardioccc" / "train", f"casos_clinicos_cardiologia{i}", f"Caso {i}. " + text, ents)
    shared = "Paciente con cirrosis hepática y ascitis. Recibe omeprazol y albúmina.\n"
    write_doc(
        root / "distemist_symptemist_medprocner" / "train",
        "es-S0002-1",
        shared,
        [("ENFERMEDAD", "cirrosis hepática"), ("SINTOMA", "ascitis")],
    )
    write_doc(
        root / "pharmaconer" / "train",
        "S0002-1",
        shared,
        [("NORMALIZABLES", "omeprazol"), ("PROTEINAS", "albúmina")],
    )
    # the MEDDOCAN dev note's body (without header) in other corpora: must never be trained on
    dev_body = PHI_NOTES[0][0]
    write_doc(
        root / "distemist_symptemist_medprocner" / "train", "es-S0001-1", dev_body, [("SINTOMA", "disnea")]
    )
    write_doc(root / "pharmaconer" / "train", "S0001-1", dev_body, [])
    write_doc(
        root / "pharmaconer" / "train",
        "S0004-1",
        "Se pauta enalapril. Proteína C reactiva alta.\n",
        [("NORMALIZABLES", "enalapril"), ("UNCLEAR", "Proteína C"), ("NO_NORMALIZABLES", "enalapril")],
    )
    write_doc(
        root / "cantemist" / "train",
        "cc_onco1",
        "Carcinoma ductal infiltrante de mama.\n",
        [("MORFOLOGIA_NEOPLASIA", "Carcinoma ductal infiltrante")],
    )
    write_doc(root / "e3c" / "Spanish", "x", "Texto.\n", [])
    return root
