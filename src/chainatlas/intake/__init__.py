"""Policy intake: reading a plan or a report into targets, priorities and projects.

    numbers.py    numbers, magnitudes and units of Chinese text, normalised (cn2an)
    figures.py    where the figures of a text are, with their normalised values
    extract.py    figures as statements: indicator, target or achieved, qualifier, period

Offline and model-free: rules and packages that ship their resources.
"""
