"""Every score's weights, in one place (issue 11: "the weights live in one documented
place").

Each score of ChainAtlas is a weighted sum of components in [0, 1]; the modules that
compute the components import their weights from here, and every output shows each
component's value, its raw figure and its weight (:func:`chainatlas.analysis.explain.
explain`). Change a weight here and the CLI tables, the API, the web cards and the Excel
reasons sheets all follow.

- ``LEADER_WEIGHTS`` — chain leaders (链主), :mod:`chainatlas.analysis.leaders`.
- ``TARGET_WEIGHTS`` — outside firms to approach (招商清单), :mod:`chainatlas.recommend.firms`;
  chosen on one year of ``benchmarks/backtest_firms.py`` and reported on the others.
- ``NODE_WEIGHTS`` — nodes to develop (补链 / 延链 / 强链), :mod:`chainatlas.recommend.nodes`;
  chosen on one year of ``benchmarks/backtest_nodes.py`` and reported on the others.

Only the block of the score being tuned changes at a time; each block says how its values
were chosen.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- leaders
#: Chain leaders: size of the firm's business on the chain, breadth across the chain's
#: nodes, supply-graph centrality (a bonus: few firms have supply links).
LEADER_WEIGHTS: dict[str, float] = {"scale": 0.70, "breadth": 0.15, "centrality": 0.15}

# --------------------------------------------------------------------------- targets
#: Target firms: fit to the chain, strength (size), links to the region's chain,
#: expansion (branches opened in other cities), proximity.
TARGET_WEIGHTS: dict[str, float] = {"fit": 0.25, "strength": 0.30, "links": 0.25,
                                    "proximity": 0.20}

# --------------------------------------------------------------------------- nodes
#: Nodes to develop: relatedness density, adjacency to the region's strong nodes,
#: availability of firms to attract.
NODE_WEIGHTS: dict[str, float] = {"density": 0.4, "adjacency": 0.05, "availability": 0.55}
