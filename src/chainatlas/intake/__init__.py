"""Policy intake: reading a plan or a report into targets, priorities and projects.

    numbers.py    numbers, magnitudes and units of Chinese text, normalised (cn2an)
    figures.py    where the figures of a text are, with their normalised values
    extract.py    figures as statements: indicator, target or achieved, qualifier, period
    directions.py industry directions mapped to chain nodes (directions.yaml), or unmapped
    places.py     regions, zones (zones.yaml) and firms named, resolved to the store
    text.py       the text of a .txt, .docx, .pdf or .html file
    draft.py      every item of a text, with its span and sentence, for review
    review.py     stored drafts reviewed item by item: targets to the ledger, priority nodes

Offline and model-free: rules and packages that ship their resources.
"""
