"""Synthetic note exports for smoke tests and benchmarks (no real patient data).

Fills short Spanish/Catalan/Basque/Galician clinical templates with seeded random values
(ages, record numbers, dates, phones, names from a small invented list) and writes them as
JSONL or CSV with columns ``id``, ``patient``, ``date``, ``text``. Deterministic for a seed.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path

_NAMES = ("Laura Pérez Soto", "Jordi Vidal Puig", "Miren Etxeberria", "Xosé Castro Lema", "Ana Ruiz Gil")
_TEMPLATES = (
    "Paciente de {age} años, NHC {nhc}, ingresa el {date} por disnea de esfuerzo. Niega dolor torácico. "
    "FEVI {lvef}%. Contacto: {phone}. Médico: Dr. {name}.",
    "Pacient de {age} anys, NHC {nhc}, ingressa el {date} per dispnea. No presenta febre. "
    "Telèfon {phone}. Metgessa: Dra. {name}.",
    "{age} urteko gaixoa, NHC {nhc}, {date} datan ospitaleratua. Ez du sukarrik. Telefonoa: {phone}.",
    "Paciente de {age} anos, NHC {nhc}, ingresa o {date} por dispnea. Non refire dor torácica. "
    "Teléfono {phone}. Médica: Dra. {name}.",
)


def synthetic_rows(n: int, *, seed: int = 0) -> Iterator[dict[str, str]]:
    """``n`` rows ``{"id", "patient", "date", "text"}`` (ids ``note-000001`` …)."""
    rng = random.Random(seed)
    for i in range(1, n + 1):
        day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(2015, 2025)
        values = {
            "age": rng.randint(18, 99),
            "nhc": rng.randint(1_000_000, 9_999_999),
            "date": f"{day:02d}/{month:02d}/{year}",
            "lvef": rng.randint(20, 65),
            "phone": f"6{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}",
            "name": rng.choice(_NAMES),
        }
        yield {
            "id": f"note-{i:06d}",
            "patient": f"pat-{rng.randint(1, max(1, n // 3)):06d}",
            "date": f"{year}-{month:02d}-{day:02d}",
            "text": rng.choice(_TEMPLATES).format(**values),
        }


def write_jsonl(path: str | Path, n: int, *, seed: int = 0) -> Path:
    """Write ``n`` synthetic notes as JSONL; return the path."""
    p = Path(path)
    with p.open("w", encoding="utf-8") as fh:
        for row in synthetic_rows(n, seed=seed):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return p


def write_csv(path: str | Path, n: int, *, seed: int = 0, delimiter: str = ",", bom: bool = False) -> Path:
    """Write ``n`` synthetic notes as CSV; return the path."""
    p = Path(path)
    with p.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "patient", "date", "text"], delimiter=delimiter)
        writer.writeheader()
        writer.writerows(synthetic_rows(n, seed=seed))
    return p
