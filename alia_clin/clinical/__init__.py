"""Clinical information extraction without a model: measurements and terminology coding.

Light on purpose: importing this package loads neither spaCy nor the terminology table.
Use :mod:`alia_clin.clinical.measurements` and :mod:`alia_clin.clinical.terminology`.
"""
