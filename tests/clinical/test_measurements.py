"""Table-driven tests of :func:`alia_clin.clinical.measurements.extract_measurements`."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from alia_clin.clinical.measurements import LOINC, extract_measurements, parse_number

# (text, kind, exact span text, value, value_high, comparator, unit_ucum, qualitative)
POSITIVES: list[tuple[str, str, str, float | None, float | None, str | None, str | None, str | None]] = [
    # LVEF numeric
    ("Ecocardiograma: FEVI 35 %.", "LVEF", "FEVI 35 %", 35, None, None, "%", None),
    ("con FEVI del 35% y dilatación", "LVEF", "FEVI del 35%", 35, None, None, "%", None),
    ("FE 35-40 % por Simpson", "LVEF", "FE 35-40 %", 35, 40, None, "%", None),
    ("fracción de eyección de 55%.", "LVEF", "fracción de eyección de 55%", 55, None, None, "%", None),
    ("LVEF <40% at discharge", "LVEF", "LVEF <40%", 40, None, "<", "%", None),
    ("FEVI > 55%). No derrame", "LVEF", "FEVI > 55%", 55, None, ">", "%", None),
    ("FEVI ≥ 50 %", "LVEF", "FEVI ≥ 50 %", 50, None, ">=", "%", None),
    ("FEVI ≤35%", "LVEF", "FEVI ≤35%", 35, None, "<=", "%", None),
    ("FEVI inferior al 40%", "LVEF", "FEVI inferior al 40%", 40, None, "<", "%", None),
    ("FEVI superior a 50%", "LVEF", "FEVI superior a 50%", 50, None, ">", "%", None),
    ("FEVI: 28%. Dilatación", "LVEF", "FEVI: 28%", 28, None, None, "%", None),
    ("FEVI al 32%; persiste", "LVEF", "FEVI al 32%", 32, None, None, "%", None),
    ("FEVI por Simpson biplano 35%", "LVEF", "FEVI por Simpson biplano 35%", 35, None, None, "%", None),
    ("FEVI Teich 27%", "LVEF", "FEVI Teich 27%", 27, None, None, "%", None),
    (
        "fracción de eyección del ventrículo izquierdo (FEVI) del 17%.",
        "LVEF",
        "fracción de eyección del ventrículo izquierdo (FEVI) del 17%",
        17,
        None,
        None,
        "%",
        None,
    ),
    ("FEVI 30-35% al ingreso", "LVEF", "FEVI 30-35%", 30, 35, None, "%", None),
    ("FEVI 22 % por Simpson", "LVEF", "FEVI 22 %", 22, None, None, "%", None),
    ("FEVI 45", "LVEF", "FEVI 45", 45, None, None, "%", None),
    ("FEVI estimada del 40 %", "LVEF", "FEVI estimada del 40 %", 40, None, None, "%", None),
    ("FEVI 37,5%", "LVEF", "FEVI 37,5%", 37.5, None, None, "%", None),
    ("fracció d'ejecció del 45%", "LVEF", "fracció d'ejecció del 45%", 45, None, None, "%", None),
    # LVEF qualitative
    ("con FEVI conservada.", "LVEF", "FEVI conservada", None, None, None, None, "preserved"),
    ("FEVI preservada. VD normal", "LVEF", "FEVI preservada", None, None, None, None, "preserved"),
    ("FEVI deprimida", "LVEF", "FEVI deprimida", None, None, None, None, "reduced"),
    ("FEVI reducida estadio C", "LVEF", "FEVI reducida", None, None, None, None, "reduced"),
    ("FEVI levemente reducida", "LVEF", "FEVI levemente reducida", None, None, None, None, "mildly_reduced"),
    (
        "FEVI ligeramente deprimida",
        "LVEF",
        "FEVI ligeramente deprimida",
        None,
        None,
        None,
        None,
        "mildly_reduced",
    ),
    (
        "FEVI moderadamente deprimida",
        "LVEF",
        "FEVI moderadamente deprimida",
        None,
        None,
        None,
        None,
        "moderately_reduced",
    ),
    (
        "FEVI severamente deprimida",
        "LVEF",
        "FEVI severamente deprimida",
        None,
        None,
        None,
        None,
        "severely_reduced",
    ),
    (
        "FEVI gravemente deprimida",
        "LVEF",
        "FEVI gravemente deprimida",
        None,
        None,
        None,
        None,
        "severely_reduced",
    ),
    (
        "función sistólica global moderadamente deprimida",
        "LVEF",
        "función sistólica global moderadamente deprimida",
        None,
        None,
        None,
        None,
        "moderately_reduced",
    ),
    ("FEVI normal (55 %)", "LVEF", "FEVI normal (55 %)", 55, None, None, "%", "preserved"),
    # NT-proBNP / BNP
    ("NT-proBNP 1.250 pg/ml", "NT_PROBNP", "NT-proBNP 1.250 pg/ml", 1250, None, None, "pg/mL", None),
    ("NT-proBNP 4.860.", "NT_PROBNP", "NT-proBNP 4.860", 4860, None, None, "pg/mL", None),
    ("NTproBNP de 3463 pg/mL", "NT_PROBNP", "NTproBNP de 3463 pg/mL", 3463, None, None, "pg/mL", None),
    ("NT-proBNP 4177 pg/mL (0 - 450)", "NT_PROBNP", "NT-proBNP 4177 pg/mL", 4177, None, None, "pg/mL", None),
    (
        "NT-proBNP de hasta 4623 pg/ml",
        "NT_PROBNP",
        "NT-proBNP de hasta 4623 pg/ml",
        4623,
        None,
        None,
        "pg/mL",
        None,
    ),
    ("NT-proBNP 850 ng/L", "NT_PROBNP", "NT-proBNP 850 ng/L", 850, None, None, "ng/L", None),
    ("NT-proBNP > 35.000 pg/ml", "NT_PROBNP", "NT-proBNP > 35.000 pg/ml", 35000, None, ">", "pg/mL", None),
    ("NT-pro-BNP 12.300", "NT_PROBNP", "NT-pro-BNP 12.300", 12300, None, None, "pg/mL", None),
    ("BNP 350 pg/mL", "BNP", "BNP 350 pg/mL", 350, None, None, "pg/mL", None),
    ("BNP de 1.200 pg/ml", "BNP", "BNP de 1.200 pg/ml", 1200, None, None, "pg/mL", None),
    ("BNP 95 ng/L", "BNP", "BNP 95 ng/L", 95, None, None, "ng/L", None),
    (
        "NT-proBNP mayor de 2000 pg/ml",
        "NT_PROBNP",
        "NT-proBNP mayor de 2000 pg/ml",
        2000,
        None,
        ">",
        "pg/mL",
        None,
    ),
    ("BNP menor de 100 pg/ml", "BNP", "BNP menor de 100 pg/ml", 100, None, "<", "pg/mL", None),
    ("FEVI >= 50%", "LVEF", "FEVI >= 50%", 50, None, ">=", "%", None),
    # heart rate
    ("FC 88 lpm", "HR", "FC 88 lpm", 88, None, None, "/min", None),
    ("frecuencia cardiaca de 110 lpm", "HR", "frecuencia cardiaca de 110 lpm", 110, None, None, "/min", None),
    (
        "frecuencia cardíaca (FC) 60 lpm.",
        "HR",
        "frecuencia cardíaca (FC) 60 lpm",
        60,
        None,
        None,
        "/min",
        None,
    ),
    ("FC: 65 lpm. Buen estado", "HR", "FC: 65 lpm", 65, None, None, "/min", None),
    ("FC 65. Saturación", "HR", "FC 65", 65, None, None, "/min", None),
    ("fibrilación auricular a 115 lpm", "HR", "115 lpm", 115, None, None, "/min", None),
    ("150 latidos por minuto", "HR", "150 latidos por minuto", 150, None, None, "/min", None),
    ("freqüència cardíaca 72 bpm", "HR", "freqüència cardíaca 72 bpm", 72, None, None, "/min", None),
    ("bihotz-maiztasuna 80 tau/min", "HR", "bihotz-maiztasuna 80 tau/min", 80, None, None, "/min", None),
    ("pulso 90 x'", "HR", "pulso 90 x'", 90, None, None, "/min", None),
    ("F.C. 100 latidos/minuto", "HR", "F.C. 100 latidos/minuto", 100, None, None, "/min", None),
    (
        "frecuencia cardiaca [FC] 70 lpm",
        "HR",
        "frecuencia cardiaca [FC] 70 lpm",
        70,
        None,
        None,
        "/min",
        None,
    ),
    # blood pressure (value None; components checked separately)
    ("TA 140/90 mmHg", "BP", "TA 140/90 mmHg", None, None, None, "mm[Hg]", None),
    ("PA: 130/80. FC 70", "BP", "PA: 130/80", None, None, None, "mm[Hg]", None),
    (
        "tensión arterial (TA) 113/83 mmHg",
        "BP",
        "tensión arterial (TA) 113/83 mmHg",
        None,
        None,
        None,
        "mm[Hg]",
        None,
    ),
    ("PA 140/80 MMHG, tiraje", "BP", "PA 140/80 MMHG", None, None, None, "mm[Hg]", None),
    ("tensió arterial 150/95 mmHg", "BP", "tensió arterial 150/95 mmHg", None, None, None, "mm[Hg]", None),
    ("llega con 180/100 mmHg", "BP", "180/100 mmHg", None, None, None, "mm[Hg]", None),
    (
        "presión arterial de 95/60 mm Hg",
        "BP",
        "presión arterial de 95/60 mm Hg",
        None,
        None,
        None,
        "mm[Hg]",
        None,
    ),
    # SpO2
    ("SatO2 94 %", "SPO2", "SatO2 94 %", 94, None, None, "%", None),
    ("saturación basal 92%", "SPO2", "saturación basal 92%", 92, None, None, "%", None),
    ("Sat O2 > 95 % con gafas", "SPO2", "Sat O2 > 95 %", 95, None, ">", "%", None),
    ("Saturación de O2 del 93 %", "SPO2", "Saturación de O2 del 93 %", 93, None, None, "%", None),
    ("SpO2 < 70%)", "SPO2", "SpO2 < 70%", 70, None, "<", "%", None),
    ("Sat 100% basal", "SPO2", "Sat 100%", 100, None, None, "%", None),
    ("SatO2 % 94, pisua 79 kg", "SPO2", "SatO2 % 94", 94, None, None, "%", None),
    ("FC 102 lpm, SO2 96%, T 38,6", "SPO2", "SO2 96%", 96, None, None, "%", None),
    (
        "saturación de oxígeno (SatO2) 96 % con aire ambiente",
        "SPO2",
        "saturación de oxígeno (SatO2) 96 %",
        96,
        None,
        None,
        "%",
        None,
    ),
    (
        "saturación de oxígeno (SO2) 91-92%",
        "SPO2",
        "saturación de oxígeno (SO2) 91-92%",
        91,
        92,
        None,
        "%",
        None,
    ),
    ("BM 92 tau/min", "HR", "BM 92 tau/min", 92, None, None, "/min", None),
    # weight / height / BMI
    ("peso 82 kg", "WEIGHT", "peso 82 kg", 82, None, None, "kg", None),
    ("pesa 82,5 kg", "WEIGHT", "pesa 82,5 kg", 82.5, None, None, "kg", None),
    ("registrado de 106 kg", "WEIGHT", "106 kg", 106, None, None, "kg", None),
    ("Peso: 77 Kg.", "WEIGHT", "Peso: 77 Kg", 77, None, None, "kg", None),
    ("pes 70 kg", "WEIGHT", "pes 70 kg", 70, None, None, "kg", None),
    ("pisua 65 kg", "WEIGHT", "pisua 65 kg", 65, None, None, "kg", None),
    ("talla 170 cm", "HEIGHT", "talla 170 cm", 170, None, None, "cm", None),
    ("talla 1,70 m", "HEIGHT", "talla 1,70 m", 1.7, None, None, "m", None),
    ("talla 1,74 metros.", "HEIGHT", "talla 1,74 metros", 1.74, None, None, "m", None),
    ("IMC 31,2 kg/m2", "BMI", "IMC 31,2 kg/m2", 31.2, None, None, "kg/m2", None),
    ("IMC de 37,86 kg/m2", "BMI", "IMC de 37,86 kg/m2", 37.86, None, None, "kg/m2", None),
    ("IMC 33,69.", "BMI", "IMC 33,69", 33.69, None, None, "kg/m2", None),
    (
        "índice de masa corporal 28 kg/m²",
        "BMI",
        "índice de masa corporal 28 kg/m²",
        28,
        None,
        None,
        "kg/m2",
        None,
    ),
    # creatinine / eGFR
    ("creatinina 0,9 mg/dl", "CREATININE", "creatinina 0,9 mg/dl", 0.9, None, None, "mg/dL", None),
    ("Creatinina 1,25 mg/dL.", "CREATININE", "Creatinina 1,25 mg/dL", 1.25, None, None, "mg/dL", None),
    ("creatinina 1.250 mg/dl", "CREATININE", "creatinina 1.250 mg/dl", 1.25, None, None, "mg/dL", None),
    ("creatinina 88 µmol/L", "CREATININE", "creatinina 88 µmol/L", 88, None, None, "umol/L", None),
    ("creatinina 2,1, urea 80", "CREATININE", "creatinina 2,1", 2.1, None, None, "mg/dL", None),
    ("Cr 1,6 mg/dl", "CREATININE", "Cr 1,6 mg/dl", 1.6, None, None, "mg/dL", None),
    ("FGe 45 ml/min/1,73 m2", "EGFR", "FGe 45 ml/min/1,73 m2", 45, None, None, "mL/min/{1.73_m2}", None),
    (
        "filtrado glomerular > 60 ml/min",
        "EGFR",
        "filtrado glomerular > 60 ml/min",
        60,
        None,
        ">",
        "mL/min",
        None,
    ),
    ("FG 28,4 ml/min/1,73 m2", "EGFR", "FG 28,4 ml/min/1,73 m2", 28.4, None, None, "mL/min/{1.73_m2}", None),
    (
        "filtrado glomerular estimado de 48,82 mL/minuto",
        "EGFR",
        "filtrado glomerular estimado de 48,82 mL/minuto",
        48.82,
        None,
        None,
        "mL/min",
        None,
    ),
    (
        "FGe (CKD-EPI) 52 ml/min/1.73m2",
        "EGFR",
        "FGe (CKD-EPI) 52 ml/min/1.73m2",
        52,
        None,
        None,
        "mL/min/{1.73_m2}",
        None,
    ),
    # electrolytes, haemoglobin, HbA1c
    ("sodio 140 mEq/l", "SODIUM", "sodio 140 mEq/l", 140, None, None, "meq/L", None),
    ("Na 134 mEq/l, K 4,6", "SODIUM", "Na 134 mEq/l", 134, None, None, "meq/L", None),
    ("sodio 142 mmol/l", "SODIUM", "sodio 142 mmol/l", 142, None, None, "mmol/L", None),
    ("potasio 4,5 mmol/L", "POTASSIUM", "potasio 4,5 mmol/L", 4.5, None, None, "mmol/L", None),
    ("potasio 3,9 mEq/l", "POTASSIUM", "potasio 3,9 mEq/l", 3.9, None, None, "meq/L", None),
    ("K+ 5,7 mmol/l.", "POTASSIUM", "K+ 5,7 mmol/l", 5.7, None, None, "mmol/L", None),
    ("Hb 12,5 g/dL", "HEMOGLOBIN", "Hb 12,5 g/dL", 12.5, None, None, "g/dL", None),
    (
        "hemoglobina 11,8 g/dl, hematocrito",
        "HEMOGLOBIN",
        "hemoglobina 11,8 g/dl",
        11.8,
        None,
        None,
        "g/dL",
        None,
    ),
    ("Hb 125 g/L", "HEMOGLOBIN", "Hb 125 g/L", 125, None, None, "g/L", None),
    ("HbA1c 7,2 %", "HBA1C", "HbA1c 7,2 %", 7.2, None, None, "%", None),
    ("hemoglobina glicada 6,8%", "HBA1C", "hemoglobina glicada 6,8%", 6.8, None, None, "%", None),
    ("HbA1c de 8.1%", "HBA1C", "HbA1c de 8.1%", 8.1, None, None, "%", None),
    # temperature
    ("Tª 36,5 ºC", "TEMPERATURE", "Tª 36,5 ºC", 36.5, None, None, "Cel", None),
    ("temperatura 38,3 oC", "TEMPERATURE", "temperatura 38,3 oC", 38.3, None, None, "Cel", None),
    ("Temperatura axilar 37.8°C", "TEMPERATURE", "Temperatura axilar 37.8°C", 37.8, None, None, "Cel", None),
    ("tª axilar 37,3 ºC", "TEMPERATURE", "tª axilar 37,3 ºC", 37.3, None, None, "Cel", None),
    ("fiebre de 39 ºC", "TEMPERATURE", "39 ºC", 39, None, None, "Cel", None),
    # notes typed in lower case: the unambiguous abbreviations match in any case
    ("eco: fevi 35 %.", "LVEF", "fevi 35 %", 35, None, None, "%", None),
    ("lvef 40%", "LVEF", "lvef 40%", 40, None, None, "%", None),
    ("nt-probnp 1.250 pg/ml", "NT_PROBNP", "nt-probnp 1.250 pg/ml", 1250, None, None, "pg/mL", None),
    ("bnp de 350 pg/ml", "BNP", "bnp de 350 pg/ml", 350, None, None, "pg/mL", None),
    ("spo2 92 % basal", "SPO2", "spo2 92 %", 92, None, None, "%", None),
    ("imc 31,2 kg/m2", "BMI", "imc 31,2 kg/m2", 31.2, None, None, "kg/m2", None),
    ("hba1c 7,9 %", "HBA1C", "hba1c 7,9 %", 7.9, None, None, "%", None),
    # units glued to the number, as notes often type them
    ("Peso 80kg, talla 1,72m", "WEIGHT", "Peso 80kg", 80, None, None, "kg", None),
    ("Peso 80kg, talla 1,72m", "HEIGHT", "talla 1,72m", 1.72, None, None, "m", None),
    ("talla 161cm.", "HEIGHT", "talla 161cm", 161, None, None, "cm", None),
    ("Cr 1,2mg/dl, urea 40", "CREATININE", "Cr 1,2mg/dl", 1.2, None, None, "mg/dL", None),
    ("NT-proBNP 3.280pg/ml", "NT_PROBNP", "NT-proBNP 3.280pg/ml", 3280, None, None, "pg/mL", None),
    ("TA 146/78mmHg, FC 90", "BP", "TA 146/78mmHg", None, None, None, "mm[Hg]", None),
    ("FC 120lpm.", "HR", "FC 120lpm", 120, None, None, "/min", None),
    ("FC: 72x'. Afebril", "HR", "FC: 72x'", 72, None, None, "/min", None),
    ("taquicardia a 130x´", "HR", "130x´", 130, None, None, "/min", None),
    ("IMC 41kg/m2", "BMI", "IMC 41kg/m2", 41, None, None, "kg/m2", None),
    ("Sodio 129mmol/l", "SODIUM", "Sodio 129mmol/l", 129, None, None, "mmol/L", None),
    ("K 4,5mEq/l", "POTASSIUM", "K 4,5mEq/l", 4.5, None, None, "meq/L", None),
    ("Hb 10g/dl", "HEMOGLOBIN", "Hb 10g/dl", 10, None, None, "g/dL", None),
    ("FGe 45ml/min/1,73m2", "EGFR", "FGe 45ml/min/1,73m2", 45, None, None, "mL/min/{1.73_m2}", None),
    ("temperatura 39oC", "TEMPERATURE", "temperatura 39oC", 39, None, None, "Cel", None),
    ("Tª 37,5ºC", "TEMPERATURE", "Tª 37,5ºC", 37.5, None, None, "Cel", None),
    # "º" is a letter to the regex engine: a space before "C" used to hide it
    ("fiebre de 38,4º C", "TEMPERATURE", "38,4º C", 38.4, None, None, "Cel", None),
    # one pressure written alone
    ("hipotensión con TAS 80 mmHg", "SBP", "TAS 80 mmHg", 80, None, None, "mm[Hg]", None),
    ("TAS > 200 mmHg", "SBP", "TAS > 200 mmHg", 200, None, ">", "mm[Hg]", None),
    ("PAD 95, FC 70", "DBP", "PAD 95", 95, None, None, "mm[Hg]", None),
    (
        "presión arterial diastólica de 48 mm de Hg",
        "DBP",
        "presión arterial diastólica de 48 mm de Hg",
        48,
        None,
        None,
        "mm[Hg]",
        None,
    ),
    ("TAS/TAD 140/90", "BP", "TAS/TAD 140/90", None, None, None, "mm[Hg]", None),
    # other spellings
    ("Hb 13,2 gr/dl", "HEMOGLOBIN", "Hb 13,2 gr/dl", 13.2, None, None, "g/dL", None),
    ("Hb glicada 6,8 %", "HBA1C", "Hb glicada 6,8 %", 6.8, None, None, "%", None),
    ("hemoglobina glucosilada 7,3%", "HBA1C", "hemoglobina glucosilada 7,3%", 7.3, None, None, "%", None),
    ("Hemoglobina A1c 7,7%", "HBA1C", "Hemoglobina A1c 7,7%", 7.7, None, None, "%", None),
    ("FEVI aproximada del 40%", "LVEF", "FEVI aproximada del 40%", 40, None, None, "%", None),
    ("con FE: 0,61, VTD 61 ml", "LVEF", "FE: 0,61", 61, None, None, "%", None),
    ("FEVI 0.35-0.40 por Simpson", "LVEF", "FEVI 0.35-0.40", 35, 40, None, "%", None),
    ("CKD-EPI > 90 ml/min/1,73", "EGFR", "CKD-EPI > 90 ml/min/1,73", 90, None, ">", "mL/min/{1.73_m2}", None),
    ("natremia 128 mEq/l", "SODIUM", "natremia 128 mEq/l", 128, None, None, "meq/L", None),
    ("kaliemia 5,9 mmol/l", "POTASSIUM", "kaliemia 5,9 mmol/l", 5.9, None, None, "mmol/L", None),
    # respiratory rate
    ("FR 18 rpm.", "RESP_RATE", "FR 18 rpm", 18, None, None, "/min", None),
    ("Fr: 24 rpm, Sat.O2:89%", "RESP_RATE", "Fr: 24 rpm", 24, None, None, "/min", None),
    ("F.R. 24 /minuto", "RESP_RATE", "F.R. 24 /minuto", 24, None, None, "/min", None),
    ("FR 35rpm y SatO2 89%", "RESP_RATE", "FR 35rpm", 35, None, None, "/min", None),
    ("taquipnea con FR > 30 rpm", "RESP_RATE", "FR > 30 rpm", 30, None, ">", "/min", None),
    (
        "frecuencia respiratoria de 36 respiraciones por minuto",
        "RESP_RATE",
        "frecuencia respiratoria de 36 respiraciones por minuto",
        36,
        None,
        None,
        "/min",
        None,
    ),
    ("frecuencia respiratoria (FR) 19 rpm", "RESP_RATE", "frecuencia respiratoria (FR) 19 rpm", 19, None,
     None, "/min", None),
    ("Frecuencia respiratoria ( rpm ) 16, PAS 103", "RESP_RATE", "Frecuencia respiratoria ( rpm ) 16", 16,
     None, None, "/min", None),
    ("FC 75; FR 18; SatO2 97%", "RESP_RATE", "FR 18", 18, None, None, "/min", None),
    ("freqüència respiratòria 22 respiracions per minut", "RESP_RATE",
     "freqüència respiratòria 22 respiracions per minut", 22, None, None, "/min", None),
]

NEGATIVES: list[str] = [
    "emisiones de SO2 del 12 % en la zona",  # SO2 is a saturation keyword, but 12 % is no saturation
    "Fecha de ingreso: 03/02/2024.",
    "Revisión el 12/05/23 en consulta.",
    "Tel.: 612 345 678.",
    "Teléfono de contacto 981 123 456",
    "furosemida 40 mg cada 12 horas",
    "bisoprolol 2,5 mg/24 h",
    "enoxaparina 1 mg/kg/12 h",
    "cloruro potásico 20 mEq/8h",
    "potasio 20 mEq/8 h por vía oral",
    "Mujer de 71 años con disnea.",
    "Varón de 82 años, exfumador desde 2015.",
    "En 2019 se diagnosticó FA.",
    "Código CIE-10 I50.9 e I10.",
    "Cita a las 10:30 h.",
    "oxigenoterapia con gafas nasales a 2 lpm",
    "pérdida de 5 kg en un mes",
    "ganancia de 3 kg de peso",
    "pérdida de peso superior a 10 Kg en tres meses",
    "con pérdida de peso de unos 15 Kg en los tres meses",
    "Rx de tórax PA y lateral sin hallazgos",
    "vitamina K 10 mg iv",
    "NHC 4455667, DNI 12345678Z",
    "FEVI conservada y FEVD deprimida",  # FEVD is the right ventricle (only FEVI must match)
    "ventrículo derecho con función sistólica levemente reducida (TAPSE 15 mm)",
    "aclaramiento de creatinina 45 ml/min",
    "Dosis de 80 mg de atorvastatina",
    "ECG: QRS 120 ms, PR 200 ms",
    "lesión de 3 cm en lóbulo inferior",
    "Hemoglobina glicada pendiente",
    "FC y TA normales",
    "2 comprimidos al día durante 7 días",
    "la paciente tomó 1.000 mg de paracetamol",
    "Ingresa en la cama 37C de planta.",
    "furosemida 40mg/12h y enalapril 5mg/24h",
    "enoxaparina 1mg/kg/12h",
    "tinción de PAS positiva",
    "Hb glicada pendiente",
    # "FR" is also rheumatoid factor, "Fr" the French gauge of a catheter
    "Inmunología: FR < 9. C3 94. C4: 48.",
    "PCR 3, FR 15, ANA negativo",
    "FR 12 UI/ml",
    "sonda vesical de 16 Fr sin incidencias",
    "FR negativo, ASLO normal",
]


def _one(text: str, kind: str) -> Any:
    found = [m for m in extract_measurements(text) if m.kind == kind]
    assert len(found) == 1, (kind, [m.to_dict() for m in extract_measurements(text)])
    return found[0]


def test_table_sizes() -> None:
    assert len(POSITIVES) >= 80
    assert len(NEGATIVES) >= 20


@pytest.mark.parametrize(("text", "kind", "span", "value", "high", "cmp", "unit", "qual"), POSITIVES)
def test_positive(
    text: str,
    kind: str,
    span: str,
    value: float | None,
    high: float | None,
    cmp: str | None,
    unit: str | None,
    qual: str | None,
) -> None:
    m = _one(text, kind)
    start = text.index(span)
    assert (m.start, m.end) == (start, start + len(span))
    assert m.value == (pytest.approx(value) if value is not None else None)
    assert m.value_high == (pytest.approx(high) if high is not None else None)
    assert m.comparator == cmp
    assert m.unit_ucum == unit
    assert m.qualitative == qual
    assert m.loinc in (LOINC[kind], "14682-9", "33914-3")
    assert m.start <= m.text_value_start < m.text_value_end <= m.end
    if value is not None and qual is None:
        value_text = text[m.text_value_start : m.text_value_end]
        assert value_text[0].isdigit() or value_text[0] in "<>≤≥" or value_text[0].isalpha()


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative(text: str) -> None:
    found = extract_measurements(text)
    if text.startswith("FEVI conservada"):
        assert [(m.kind, m.qualitative) for m in found] == [("LVEF", "preserved")]
        return
    assert found == [], [m.to_dict() for m in found]


def test_blood_pressure_components() -> None:
    text = "TA 140/90 mmHg, FC 88 lpm"
    bp = _one(text, "BP")
    assert bp.loinc == "85354-9" and bp.value is None
    sys_c, dia_c = bp.components
    assert (sys_c.code, sys_c.value, dia_c.code, dia_c.value) == ("8480-6", 140, "8462-4", 90)
    assert text[sys_c.text_value_start : sys_c.text_value_end] == "140"
    assert text[dia_c.text_value_start : dia_c.text_value_end] == "90"
    assert text[bp.text_value_start : bp.text_value_end] == "140/90"


@pytest.mark.parametrize(
    ("text", "span", "systolic", "diastolic"),
    [
        ("AMPA: TA 120-130/70-80 mmHg.", "TA 120-130/70-80 mmHg", (120, 130), (70, 80)),
        ("PA 90-95/60-65; FC 80 lpm", "PA 90-95/60-65", (90, 95), (60, 65)),
        ("en torno a 150-160/100 mmHg en domicilio", "150-160/100 mmHg", (150, 160), (100, None)),
        ("TA 130/80-85 en consulta", "TA 130/80-85", (130, None), (80, 85)),
        ("TA 130/80 mmHg", "TA 130/80 mmHg", (130, None), (80, None)),
    ],
)
def test_blood_pressure_ranges(
    text: str, span: str, systolic: tuple[int, int | None], diastolic: tuple[int, int | None]
) -> None:
    bp = _one(text, "BP")
    assert text[bp.start : bp.end] == span
    sys_c, dia_c = bp.components
    assert (sys_c.value, sys_c.value_high) == systolic and (dia_c.value, dia_c.value_high) == diastolic
    if systolic[1] is not None:
        written = text[sys_c.text_value_start : sys_c.text_value_end]
        assert written.replace(" ", "") == f"{systolic[0]}-{systolic[1]}"


@pytest.mark.parametrize(
    "text",
    [
        "TA 65-57/30-37 mmHg",  # a range must go up
        "TA 120-130/125-135 mmHg",  # diastolic above systolic
        "TA > 140-150/90",  # a comparator and a range
    ],
)
def test_blood_pressure_ranges_rejected(text: str) -> None:
    assert [m for m in extract_measurements(text) if m.kind == "BP"] == []


def test_blood_pressure_range_observation() -> None:
    from alia_clin.fhir.mapping import _component

    bp = _one("TA 120-130/70 mmHg", "BP").to_dict()
    systolic, diastolic = (_component(c) for c in bp["components"])
    assert systolic["valueRange"]["low"]["value"] == 120 and systolic["valueRange"]["high"]["value"] == 130
    assert systolic["valueRange"]["high"]["code"] == "mm[Hg]"
    assert diastolic["valueQuantity"]["value"] == 70


def test_value_offsets_and_unit_text() -> None:
    text = "NT-proBNP de 1.250 pg/ml"
    m = _one(text, "NT_PROBNP")
    assert text[m.text_value_start : m.text_value_end] == "1.250"
    assert m.unit_text == "pg/ml"
    implied = _one("FEVI 45", "LVEF")
    assert implied.unit_text is None and implied.unit_ucum == "%"


def test_codes_per_unit_and_formula() -> None:
    assert _one("creatinina 88 µmol/L", "CREATININE").loinc == "14682-9"
    assert _one("creatinina 0,9 mg/dl", "CREATININE").loinc == "2160-0"
    assert _one("FG (MDRD) 40 ml/min/1,73 m2", "EGFR").loinc == "33914-3"
    assert _one("FGe 40 ml/min/1,73 m2", "EGFR").loinc == "62238-1"
    assert _one("MDRD 46 ml/min", "EGFR").loinc == "33914-3"
    assert _one("TAS 80 mmHg", "SBP").loinc == "8480-6"
    assert _one("TAD 50 mmHg", "DBP").loinc == "8462-4"


def test_parse_number() -> None:
    assert parse_number("1.250") == [1250.0, 1.25]
    assert parse_number("4.860") == [4860.0, 4.86]
    assert parse_number("0,9") == [0.9]
    assert parse_number("1,25") == [1.25]
    assert parse_number("1.250,5") == [1250.5]
    assert parse_number("38.5") == [38.5]


def test_serializable_and_sorted() -> None:
    text = "TA 130/80 mmHg, FC 72 lpm, SatO2 96 %, peso 80 kg, FEVI 50 %, NT-proBNP 900 pg/ml."
    found = extract_measurements(text)
    assert [m.kind for m in found] == ["BP", "HR", "SPO2", "WEIGHT", "LVEF", "NT_PROBNP"]
    assert json.loads(json.dumps([m.to_dict() for m in found]))[0]["components"][0]["code"] == "8480-6"
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Constantes: TA 130/70 FC 75 Tª 36,6 SatO2 99 FR 18.",
            [
                ("BP", "TA 130/70"),
                ("HR", "FC 75"),
                ("TEMPERATURE", "Tª 36,6"),
                ("SPO2", "SatO2 99"),
                ("RESP_RATE", "FR 18"),
            ],
        ),
        (
            "Cr 1,2 Hb 13,5 K 4,1 Na 138",
            [
                ("CREATININE", "Cr 1,2"),
                ("HEMOGLOBIN", "Hb 13,5"),
                ("POTASSIUM", "K 4,1"),
                ("SODIUM", "Na 138"),
            ],
        ),
        ("FC 75 furosemida 40 mg", []),  # only the next reading's keyword, not any word, ends a value
        ("TA 130/70 FC 75 mEq", [("BP", "TA 130/70")]),  # a foreign unit still rejects the value
    ],
)
def test_readings_in_a_row_without_units(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(m.kind, text[m.start : m.end]) for m in extract_measurements(text)] == expected


def test_implausible_values_dropped() -> None:
    assert extract_measurements("FEVI 150 %") == []
    assert extract_measurements("TA 80/120 mmHg") == []
    assert extract_measurements("potasio 45 mEq/l") == []


# A typical value and unit per kind, to write after each of its names in the terminology table.
_TYPICAL_VALUE = {
    "LVEF": "35 %",
    "NT_PROBNP": "1250 pg/ml",
    "BNP": "400 pg/ml",
    "BP": "130/80 mmHg",
    "SBP": "130 mmHg",
    "DBP": "80 mmHg",
    "HR": "72 lpm",
    "SPO2": "95 %",
    "WEIGHT": "70 kg",
    "HEIGHT": "165 cm",
    "BMI": "27 kg/m2",
    "CREATININE": "1,1 mg/dl",
    "EGFR": "55 ml/min/1,73 m2",
    "SODIUM": "139 mmol/l",
    "POTASSIUM": "4,2 mmol/l",
    "HEMOGLOBIN": "12,5 g/dl",
    "HBA1C": "7,1 %",
    "TEMPERATURE": "37,8 ºC",
    "RESP_RATE": "18 rpm",
    "NYHA": "II",
}


def test_every_terminology_name_of_a_measurement_is_extracted() -> None:
    """Each name, synonym (es/ca/eu/gl) and abbreviation the terminology table gives a measurement
    concept, followed by a value, is read as that kind over the whole phrase."""
    from alia_clin.clinical.terminology import Terminology

    concepts = [c for c in Terminology.load().concepts.values() if c.category == "measurement"]
    assert {c.concept_id for c in concepts} == set(_TYPICAL_VALUE) == set(LOINC)
    missed = []
    for concept in concepts:
        names = {concept.preferred, *concept.abbreviations}
        names.update(name for terms in concept.synonyms.values() for name in terms)
        for name in sorted(names):
            text = f"{name} {_TYPICAL_VALUE[concept.concept_id]}"
            found = [(m.kind, m.start, m.end) for m in extract_measurements(text)]
            if found != [(concept.concept_id, 0, len(text))]:
                missed.append((concept.concept_id, name, found))
    assert missed == []
    assert sum(len(c.abbreviations) + sum(map(len, c.synonyms.values())) for c in concepts) > 60
