"""The heart-failure evidence lexicon: criteria, their groups, text patterns and codes.

Pure data plus compiled patterns; reads nothing at import time except the packaged
terminology table (:class:`~alia_clin.clinical.terminology.Terminology`) when patterns are
first compiled. A :class:`Criterion` names one piece of evidence (``"crackles"``) and its
``group``:

``diagnosis``          an explicit HF diagnosis mention (explicit setting only; masked away in
                       the early-detection setting, see :mod:`alia_clin.hf.masking`)
``framingham_major``   PND/orthopnoea, JVD, crackles, cardiomegaly, acute pulmonary oedema, S3
                       gallop, hepatojugular reflux, weight loss on treatment
``framingham_minor``   bilateral ankle oedema, nocturnal cough, exertional dyspnoea,
                       hepatomegaly, pleural effusion, tachycardia (> 120/min when measured),
                       reduced vital capacity
``esc``                ESC 2021 elements: NT-proBNP ≥ 125 pg/mL, BNP ≥ 35 pg/mL (and their
                       normal values), LVEF category (reduced ≤ 40 %, mildly reduced 41–49 %,
                       preserved ≥ 50 %), structural heart disease
``risk_factor``        hypertension, diabetes, atrial fibrillation, ischaemic heart disease /
                       previous MI, valvular disease, cardiomyopathy, CKD, obesity, age ≥ 65,
                       male sex
``medication``         loop diuretics, ARNI, SGLT2 inhibitors, MRAs, beta-blockers (the dose in
                       mg is kept as ``value`` when written; "HF dose" is left to the model),
                       other HF drugs (digoxin, ivabradine, vericiguat, hydralazine)

Text criteria match the terms of the concepts they name in the terminology table (es, ca, eu,
gl synonyms; abbreviations case-sensitive) plus extra regular expressions written here. The
codes (SNOMED CT, ATC, LOINC) of the concept that matched become the evidence ``codings``.
Measurement criteria (peptides, LVEF, heart rate, BMI) are derived from ``doc._.measurements``
in :mod:`alia_clin.hf.evidence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import regex

from ..clinical.terminology import Terminology

#: Criterion groups, in display order.
GROUPS = ("diagnosis", "framingham_major", "framingham_minor", "esc", "risk_factor", "medication")

#: Thresholds of the ESC 2021 guideline (chronic / non-acute setting).
NT_PROBNP_THRESHOLD = 125.0
BNP_THRESHOLD = 35.0
LVEF_REDUCED_MAX = 40.0
LVEF_PRESERVED_MIN = 50.0
TACHYCARDIA_MIN = 120.0
OBESITY_BMI_MIN = 30.0
AGE_RISK_MIN = 65.0


@dataclass(frozen=True)
class Criterion:
    """One evidence criterion.

    ``concepts``: terminology concept ids whose terms match it; ``patterns``: extra regular
    expressions (``regex`` V1 syntax, case-insensitive unless they set ``(?-i)``) with the
    concept id whose codes they carry (or None); ``display``: English name for reports.
    """

    id: str
    group: str
    display: str
    concepts: tuple[str, ...] = ()
    patterns: tuple[tuple[str, str | None], ...] = ()
    codings: tuple[tuple[str, str, str], ...] = field(default=())


_LVEF = (("http://loinc.org", "10230-1", "Left ventricular Ejection fraction"),)
_NTPROBNP = (
    (
        "http://loinc.org",
        "33762-6",
        "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
    ),
)
_BNP = (("http://loinc.org", "30934-4", "Natriuretic peptide B [Mass/volume] in Serum or Plasma"),)

CRITERIA: tuple[Criterion, ...] = (
    # -- explicit diagnosis (the masking module owns its pattern) -----------------------------
    Criterion("hf_diagnosis", "diagnosis", "Heart failure diagnosis mentioned", concepts=("HF",)),
    # -- Framingham major ---------------------------------------------------------------------
    Criterion(
        "pnd_orthopnea",
        "framingham_major",
        "Paroxysmal nocturnal dyspnoea or orthopnoea",
        concepts=("PND", "ORTHOPNEA"),
        patterns=((r"ortopnea\w*", "ORTHOPNEA"), (r"disnea\s+parox[ií]stica(?:\s+nocturna)?", "PND")),
    ),
    Criterion(
        "jvd",
        "framingham_major",
        "Jugular venous distension",
        concepts=("JVD",),
        patterns=(
            (
                r"ingurgitaci[oó]n\s+(?:venosa\s+)?yugular|ingurgitaci[oó]\s+jugular|ingurxitaci[oó]n\s+xugular",
                "JVD",
            ),
            (r"(?:presi[oó]n\s+venosa\s+(?:yugular|central)\s+(?:elevada|aumentada))|PVY\s+elevada", "JVD"),
            (r"(?-i:\bIVY\b)", "JVD"),
        ),
    ),
    Criterion(
        "crackles",
        "framingham_major",
        "Rales / crackles",
        concepts=("CRACKLES",),
        patterns=((r"crepitantes?|crepitants|crepitaci[oó]n(?:es)?|estertores(?!\s+roncus)", "CRACKLES"),),
    ),
    Criterion(
        "cardiomegaly",
        "framingham_major",
        "Cardiomegaly",
        concepts=("CARDIOMEGALY",),
        patterns=(
            (r"cardiomeg[aà]lia|kardiomegalia", "CARDIOMEGALY"),
            (r"(?:aumento|agrandamiento)\s+de(?:\s+la)?\s+silueta\s+card[ií]aca", "CARDIOMEGALY"),
            (r"[ií]ndice\s+cardiotor[aá]cico\s+(?:aumentado|elevado)", "CARDIOMEGALY"),
        ),
    ),
    Criterion(
        "acute_pulmonary_edema",
        "framingham_major",
        "Acute pulmonary oedema",
        concepts=("ACUTE_PULMONARY_EDEMA",),
        patterns=(
            (
                r"edema\s+(?:agudo\s+)?(?:de\s+)?pulm(?:[oó]n|onar)(?:\s+agudo)?|edema\s+agut\s+de\s+pulm[oó]",
                "ACUTE_PULMONARY_EDEMA",
            ),
            (r"(?-i:\bEAP\b)", "ACUTE_PULMONARY_EDEMA"),
        ),
    ),
    Criterion(
        "s3_gallop",
        "framingham_major",
        "S3 gallop",
        concepts=("GALLOP_S3",),
        patterns=((r"tercer\s+(?:ruido|tono)|ritmo\s+de\s+galope|galope|(?-i:\bS3\b)", "GALLOP_S3"),),
    ),
    Criterion(
        "hepatojugular_reflux",
        "framingham_major",
        "Hepatojugular reflux",
        concepts=("HEPATOJUGULAR_REFLUX",),
        patterns=(
            (r"reflujo\s+(?:hepato|abdomino)[-\s]?yugular|reflux\s+hepatojugular", "HEPATOJUGULAR_REFLUX"),
        ),
    ),
    Criterion(
        "weight_loss_on_treatment",
        "framingham_major",
        "Weight loss on treatment (diuresis)",
        patterns=(
            (
                r"(?:p[eé]rdida|descenso|reducci[oó]n|disminuci[oó]n)\s+(?:de(?:l)?\s+)?(?:\d+(?:[.,]\d+)?\s*kg|peso)"
                r"[^.\n]{0,60}?(?:diur[eé]tic\w*|diuresis|tratamiento|furosemida|depleci[oó]n)",
                None,
            ),
        ),
    ),
    # -- Framingham minor ---------------------------------------------------------------------
    Criterion(
        "ankle_edema",
        "framingham_minor",
        "Bilateral ankle / lower-limb oedema",
        concepts=("ANKLE_EDEMA", "PERIPHERAL_EDEMA"),
        patterns=(
            (r"edemas?\s+(?:bi)?maleolar(?:es)?|edemes?\s+mal[·.]?leolars?", "ANKLE_EDEMA"),
            (
                r"edemas?\s+(?:con\s+f[oó]vea\s+)?(?:en|de)\s+(?:(?:ambos|los|las|ambas)\s+)?"
                r"(?:miembros\s+inferiores|extremidades\s+inferiores|MMII|EEII|tobillos|piernas|pies)",
                "PERIPHERAL_EDEMA",
            ),
            (
                r"edemas?\s+(?:con\s+f[oó]vea|perif[eé]ricos?|en\s+extremitats\s+inferiors)",
                "PERIPHERAL_EDEMA",
            ),
            (r"orkatiletako\s+edema\w*", "ANKLE_EDEMA"),
        ),
    ),
    Criterion(
        "nocturnal_cough",
        "framingham_minor",
        "Nocturnal cough",
        concepts=("NOCTURNAL_COUGH",),
        patterns=(
            (
                r"tos\s+(?:seca\s+)?(?:nocturna|de\s+predominio\s+nocturno)|gaueko\s+eztul\w*",
                "NOCTURNAL_COUGH",
            ),
        ),
    ),
    Criterion(
        "exertional_dyspnea",
        "framingham_minor",
        "Dyspnoea on exertion",
        concepts=("DOE",),
        patterns=(
            (
                r"(?:disnea|dispnea|fatiga)\s+(?:de|a|al|con\s+el|con\s+los|d'|als|ante)\s*"
                r"(?:(?:m[ií]nimos|moderados|medianos|grandes|peque[nñ]os|leves)\s+)?esfuer(?:zo|ç)s?",
                "DOE",
            ),
            (
                r"(?:clase\s+funcional\s+)?(?-i:NYHA)\s*(?:clase\s+)?(?:I{2,3}|IV|2|3|4)(?:\s*[-/]\s*(?:I{1,3}|IV))?",
                "DOE",
            ),
            (r"clase\s+funcional\s+(?:I{2,3}|IV)", "DOE"),
            (r"ahaleginezko\s+dispnea\w*|dispnea\s+de\s+esforzo", "DOE"),
        ),
    ),
    Criterion(
        "hepatomegaly",
        "framingham_minor",
        "Hepatomegaly",
        concepts=("HEPATOMEGALY",),
        patterns=((r"hepatomeg[aà]lia", "HEPATOMEGALY"),),
    ),
    Criterion(
        "pleural_effusion",
        "framingham_minor",
        "Pleural effusion",
        concepts=("PLEURAL_EFFUSION",),
        patterns=(
            (r"derrames?\s+pleural(?:es)?|vessament\s+pleural|isuri\s+pleural\w*", "PLEURAL_EFFUSION"),
        ),
    ),
    Criterion(
        "tachycardia",
        "framingham_minor",
        "Tachycardia (> 120/min when measured)",
        concepts=("SINUS_TACHYCARDIA",),
        patterns=(
            (
                r"taquicardia(?!\s+(?:ventricular|supraventricular|auricular|nodal|por\s+reentrada))|taquic[aá]rdic[oa]",
                "TACHYCARDIA",
            ),
        ),
    ),
    Criterion(
        "reduced_vital_capacity",
        "framingham_minor",
        "Reduced vital capacity",
        patterns=(
            (
                r"capacidad\s+vital\s+(?:forzada\s+)?(?:reducida|disminuida|baja|descendida)|(?:patr[oó]n|alteraci[oó]n)\s+(?:ventilatori[oa]\s+)?restrictiv[oa]",
                None,
            ),
        ),
    ),
    # -- ESC 2021 (text forms; measured values come from doc._.measurements) ------------------
    Criterion("nt_probnp_elevated", "esc", "NT-proBNP ≥ 125 pg/mL", codings=_NTPROBNP),
    Criterion("bnp_elevated", "esc", "BNP ≥ 35 pg/mL", codings=_BNP),
    Criterion("natriuretic_peptide_normal", "esc", "Natriuretic peptide below the ESC threshold"),
    Criterion(
        "lvef_reduced",
        "esc",
        "LVEF reduced (≤ 40 %)",
        codings=_LVEF,
        patterns=(
            (
                r"(?:FEVI|FE|fracci[oó]n\s+de\s+eyecci[oó]n(?:\s+del?\s+ventr[ií]culo\s+izquierdo)?)\s+"
                r"(?:(?:severamente|gravemente|moderadamente|muy)\s+)?(?:deprimida|reducida|disminuida)",
                None,
            ),
            (
                r"disfunci[oó]n\s+(?:sist[oó]lica\s+)?(?:del?\s+)?(?:ventricular\s+izquierda|VI|ventr[ií]culo\s+izquierdo)"
                r"(?:\s+sist[oó]lica)?\s+(?:severa|grave|moderada|moderada-severa|importante)",
                None,
            ),
            (r"disfunci[oó]n\s+sist[oó]lica\s+(?:severa|grave|moderada)", None),
        ),
    ),
    Criterion(
        "lvef_mildly_reduced",
        "esc",
        "LVEF mildly reduced (41–49 %)",
        codings=_LVEF,
        patterns=(
            (
                r"(?:FEVI|FE|fracci[oó]n\s+de\s+eyecci[oó]n)\s+(?:ligeramente|levemente|discretamente)\s+"
                r"(?:deprimida|reducida|disminuida)|disfunci[oó]n\s+(?:sist[oó]lica\s+)?(?:ventricular\s+izquierda|"
                r"del?\s+VI)\s+(?:leve|ligera)",
                None,
            ),
        ),
    ),
    Criterion(
        "lvef_preserved",
        "esc",
        "LVEF preserved (≥ 50 %)",
        codings=_LVEF,
        patterns=(
            (
                r"(?:FEVI|FE|fracci[oó]n\s+de\s+eyecci[oó]n(?:\s+del?\s+ventr[ií]culo\s+izquierdo)?|funci[oó]n\s+"
                r"(?:sist[oó]lica\s+)?(?:ventricular\s+izquierda|biventricular|del?\s+VI))\s+(?:conservada|preservada|normal)",
                None,
            ),
        ),
    ),
    Criterion(
        "structural_heart_disease",
        "esc",
        "Structural heart disease (LVH, LA dilatation, diastolic dysfunction)",
        patterns=(
            (
                r"hipertrofia\s+(?:ventricular\s+izquierda|del?\s+ventr[ií]culo\s+izquierdo|concéntrica)|(?-i:\bHVI\b)",
                None,
            ),
            (
                r"dilataci[oó]n\s+(?:de\s+)?(?:la\s+)?(?:aur[ií]cula\s+izquierda|biauricular|ventricular|del?\s+ventr[ií]culo|de\s+cavidades)",
                None,
            ),
            (
                r"disfunci[oó]n\s+diast[oó]lica|patr[oó]n\s+(?:de\s+llenado\s+)?restrictivo|alteraci[oó]n\s+de\s+la\s+relajaci[oó]n",
                None,
            ),
            (r"ventr[ií]culo\s+izquierdo\s+dilatado|hipocinesia|acinesia|aquinesia|discinesia", None),
        ),
    ),
    # -- risk factors and comorbidities -------------------------------------------------------
    Criterion(
        "hypertension",
        "risk_factor",
        "Hypertension",
        concepts=("HTN",),
        patterns=(
            (
                r"hipertensi[oó]n(?!\s+(?:pulmonar|portal|intracraneal|endocraneal|ocular|intraocular|arterial\s+pulmonar))(?:\s+arterial)?",
                "HTN",
            ),
            (r"hipertens[oa]s?\b|hipertensi[oó]\s+arterial|hipertentsio\w*", "HTN"),
            (r"(?-i:\bHTA\b)", "HTN"),
        ),
    ),
    Criterion(
        "diabetes",
        "risk_factor",
        "Diabetes mellitus",
        concepts=("DM", "DM2", "DM1"),
        patterns=(
            (r"diabet(?:es|is)\w*|diab[eé]tic[oa]s?", "DM"),
            (r"(?-i:\bDM(?:\s?[12]|\s?II?|ID|NID)?\b)", "DM"),
        ),
    ),
    Criterion(
        "atrial_fibrillation",
        "risk_factor",
        "Atrial fibrillation / flutter",
        concepts=("AF",),
        patterns=(
            (
                r"fibril[·.]?laci[oó]n?\s+auricular|fibrilazio\s+aurikular\w*|flutter\s+auricular|aleteo\s+auricular",
                "AF",
            ),
            (r"(?-i:\b(?:FA|ACxFA|ACXFA|FANV)\b)", "AF"),
        ),
    ),
    Criterion(
        "ischaemic_heart_disease",
        "risk_factor",
        "Ischaemic heart disease / previous MI",
        concepts=("IHD", "MI"),
        patterns=(
            (
                r"cardiopat[ií]a\s+isqu[eèé]mica|kardiopatia\s+iskemiko\w*|enfermedad\s+coronaria|enfermedad\s+arterial\s+coronaria",
                "IHD",
            ),
            (
                r"infarto\s+(?:agudo\s+)?(?:de(?:l)?\s+)?mioc[aá]rdi\w*|infart\s+(?:agut\s+)?de\s+miocardi|s[ií]ndrome\s+coronario\s+agudo",
                "MI",
            ),
            (r"(?-i:\b(?:IAM|IAMCEST|IAMSEST|IAMEST|SCACEST|SCASEST|SCA|EAC)\b)", "MI"),
            (
                r"angina\s+(?:de\s+pecho|inestable|estable)|revascularizaci[oó]n\s+coronaria|bypass\s+coronario|by-pass\s+coronario|stent\s+coronario",
                "IHD",
            ),
        ),
    ),
    Criterion(
        "valvular_disease",
        "risk_factor",
        "Valvular heart disease",
        concepts=("VALVE_DISEASE", "AORTIC_STENOSIS", "MITRAL_REGURG", "AORTIC_REGURG"),
        patterns=(
            (
                r"(?:estenosis|insuficiencia|regurgitaci[oó]n|doble\s+lesi[oó]n)\s+(?:valvular\s+)?(?:a[oó]rtica|mitral|tricusp[ií]dea)",
                "VALVE_DISEASE",
            ),
            (
                r"(?:estenosi|insufici[eè]ncia)\s+(?:a[oò]rtica|mitral|tricusp[ií]dea)|valvulopat[ií]a\w*|balbulopatia\w*|pr[oó]tesis\s+(?:valvular|mitral|a[oó]rtica|biol[oó]gica|mec[aá]nica)",
                "VALVE_DISEASE",
            ),
        ),
    ),
    Criterion(
        "cardiomyopathy",
        "risk_factor",
        "Cardiomyopathy",
        concepts=("CARDIOMYOPATHY", "DCM", "HCM"),
        patterns=(
            (
                r"miocardiopat[ií]a\w*|cardiomiopat[ií]a\w*|miokardiopatia\w*|amiloidosis\s+card[ií]aca|no\s+compactaci[oó]n",
                "CARDIOMYOPATHY",
            ),
            (r"(?-i:\b(?:MCD|MCDI|MCH|MCHO)\b)", "CARDIOMYOPATHY"),
        ),
    ),
    Criterion(
        "ckd",
        "risk_factor",
        "Chronic kidney disease",
        concepts=("CKD",),
        patterns=(
            (
                r"enfermedad\s+renal\s+cr[oó]nica|insuficiencia\s+renal(?:\s+cr[oó]nica)?|malaltia\s+renal\s+cr[oò]nica|insufici[eè]ncia\s+renal|nefropat[ií]a\s+(?:diab[eé]tica|cr[oó]nica)|hemodi[aá]lisis|di[aá]lisis\s+peritoneal",
                "CKD",
            ),
            (r"(?-i:\b(?:ERC|IRC|ERCA)\b)", "CKD"),
        ),
    ),
    Criterion(
        "obesity",
        "risk_factor",
        "Obesity",
        concepts=("OBESITY",),
        patterns=((r"obesidad\w*|obes[oa]s?\b|obesitat|obesitate\w*|obesidade", "OBESITY"),),
    ),
    Criterion("age", "risk_factor", "Age ≥ 65 years", codings=(("http://loinc.org", "30525-0", "Age"),)),
    Criterion(
        "male_sex",
        "risk_factor",
        "Male sex",
        patterns=((r"\b(?:var[oó]n|hombre|paciente\s+masculino|home\s+de|gizonezko\w*|gizon\w*)\b", None),),
        codings=(("http://snomed.info/sct", "248153007", "Male"),),
    ),
    # -- medication ---------------------------------------------------------------------------
    Criterion(
        "loop_diuretic",
        "medication",
        "Loop diuretic",
        concepts=("FUROSEMIDE", "TORASEMIDE", "BUMETANIDE"),
        patterns=((r"diur[eé]ticos?\s+de\s+asa", None),),
    ),
    Criterion("arni", "medication", "ARNI (sacubitril/valsartan)", concepts=("SACUBITRIL_VALSARTAN",)),
    Criterion(
        "sglt2_inhibitor",
        "medication",
        "SGLT2 inhibitor",
        concepts=("DAPAGLIFLOZIN", "EMPAGLIFLOZIN", "CANAGLIFLOZIN"),
        patterns=((r"ertugliflozina|(?-i:\biSGLT-?2\b)|inhibidor(?:es)?\s+(?:del?\s+)?SGLT-?2", None),),
    ),
    Criterion(
        "mra",
        "medication",
        "Mineralocorticoid receptor antagonist",
        concepts=("SPIRONOLACTONE", "EPLERENONE"),
        patterns=((r"finerenona|antialdoster[oó]nic\w*", None),),
    ),
    Criterion(
        "beta_blocker",
        "medication",
        "Beta-blocker",
        concepts=("BISOPROLOL", "CARVEDILOL", "METOPROLOL", "NEBIVOLOL"),
        patterns=((r"betabloquea\w*|beta-bloquea\w*|betabloqueig\w*", None),),
    ),
    Criterion(
        "other_hf_drug",
        "medication",
        "Other HF drug (digoxin, ivabradine, vericiguat, hydralazine)",
        concepts=("DIGOXIN", "IVABRADINE", "VERICIGUAT", "HYDRALAZINE"),
    ),
)

#: Criteria by id.
BY_ID: dict[str, Criterion] = {c.id: c for c in CRITERIA}
#: Criteria derived from measurements or demographics, not from their own text patterns.
DERIVED = frozenset({"nt_probnp_elevated", "bnp_elevated", "natriuretic_peptide_normal", "age"})
#: Framingham groups (for the rule baseline and the features).
FRAMINGHAM_GROUPS = ("framingham_major", "framingham_minor")

_ACCENTS = {"a": "[aáà]", "e": "[eéè]", "i": "[iíï]", "o": "[oóò]", "u": "[uúü]", "n": "[nñ]"}


def term_pattern(term: str) -> str:
    """A case-insensitive, accent-tolerant pattern for a terminology term (word bounded)."""
    out = []
    for ch in term.lower():
        if ch in _ACCENTS:
            out.append(_ACCENTS[ch])
        elif ch in "áàéèíïóòúüñ":
            base = {"á": "a", "à": "a", "é": "e", "è": "e", "í": "i", "ï": "i", "ó": "o", "ò": "o"}.get(ch)
            base = base or {"ú": "u", "ü": "u", "ñ": "n"}[ch]
            out.append(_ACCENTS[base])
        elif ch.isspace():
            out.append(r"\s+")
        elif ch in "-/":
            out.append(r"[-/\s]?")
        else:
            out.append(regex.escape(ch))
    return r"(?<!\w)" + "".join(out) + r"(?!\w)"


@dataclass(frozen=True)
class CompiledCriterion:
    """A criterion with its patterns compiled: ``[(pattern, concept_id | None), ...]``."""

    criterion: Criterion
    patterns: tuple[tuple[regex.Pattern[str], str | None], ...]


@lru_cache(maxsize=1)
def compiled_criteria() -> tuple[CompiledCriterion, ...]:
    """Every text criterion (not :data:`DERIVED`, not ``hf_diagnosis``) with compiled patterns."""
    terms = Terminology.load()
    out = []
    for crit in CRITERIA:
        if crit.id in DERIVED or crit.id == "hf_diagnosis":
            continue
        pats: list[tuple[regex.Pattern[str], str | None]] = []
        for cid in crit.concepts:
            concept = terms.concepts.get(cid)
            if concept is None:
                continue
            words = {concept.preferred, *(t for ts in concept.synonyms.values() for t in ts)}
            alts = sorted((term_pattern(w) for w in words if len(w) > 3), key=len, reverse=True)
            if alts:
                pats.append((regex.compile("|".join(alts), regex.IGNORECASE | regex.V1), cid))
            abbrs = [a for a in concept.abbreviations if len(a) >= 2]
            if abbrs:
                alt = "|".join(regex.escape(a) for a in sorted(abbrs, key=len, reverse=True))
                pats.append((regex.compile(rf"(?<![\w-])(?:{alt})(?![\w-])", regex.V1), cid))
        for pattern, pattern_cid in crit.patterns:
            pats.append((regex.compile(pattern, regex.IGNORECASE | regex.V1), pattern_cid))
        out.append(CompiledCriterion(crit, tuple(pats)))
    return tuple(out)


def criterion_codings(criterion_id: str, concept_id: str | None = None) -> list[dict[str, str]]:
    """Codings of an evidence item: the matched concept's codes, else the criterion's own."""
    if concept_id is not None:
        concept = Terminology.load().concepts.get(concept_id)
        if concept is not None and concept.codings:
            return [c.to_dict() for c in concept.codings]
    crit = BY_ID[criterion_id]
    own = [{"system": s, "code": c, "display": d} for s, c, d in crit.codings]
    if own:
        return own
    for cid in crit.concepts:
        concept = Terminology.load().concepts.get(cid)
        if concept is not None and concept.codings:
            return [c.to_dict() for c in concept.codings]
    return []
