"""ChainAtlas (产业链招商图谱): industry-chain maps and precision investment attraction.

The package reads as the pipeline it is::

    sources/  fetch, parse and normalise the open data and users' rosters
    store/    the DuckDB schema, its migrations and the one ``Database`` class
    chains/   chain templates and firm -> node classification
    analysis/ panorama, leaders, relatedness, resilience
    recommend/, projects/, web/, cli.py
"""

from chainatlas.errors import ChainAtlasError

__version__ = "0.1.0"
__all__ = ["ChainAtlasError", "__version__"]
