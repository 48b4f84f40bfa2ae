"""The small tables the batch pipeline joins against, built from the project's own rules.

The pipeline's SQL holds no word lists: it joins the registry against these tables, and
each is built here from the one home of its rule, so the batch engines and the in-process
classifier read the same words:

- ``rules``: every keyword (``keyword`` rows) and exclusion (``exclude`` rows) of every
  chain node (:mod:`chainatlas.chains.templates`), and the generic drug and food goods
  words of selling clauses (``goods`` rows);
- ``nodes``: every node with its trade home, where a selling clause's goods land
  (:data:`chainatlas.chains.scope_rules.TRADE_HOMES`, else ``GENERAL_TRADE``, and the
  home's wholesale / retail child), whether it is a trade node, and whether it is a leaf
  (relatedness counts leaves only);
- ``verbs``: every verb word and its activity (:data:`chainatlas.chains.scope.VERB_CLASSES`);
- ``generic``: the catalogue clauses that say nothing about a chain
  (:data:`chainatlas.chains.matcher.GENERIC_CLAUSES`);
- ``provinces`` and ``cities``: every way the registry names a province (河北, 河北省) and a
  city (石家庄, 石家庄市) with its adcode (:mod:`chainatlas.sources.geography`);
- ``currencies``: currency words and CNY per unit
  (:mod:`chainatlas.sources.roster_values`);
- ``positions``: every pair (parts, pos) with 1 ≤ pos ≤ parts ≤ N, the portable way to cut
  a text into numbered parts (both engines join on it; neither's array functions are used,
  see :mod:`chainatlas.pipeline.steps`). The join is on ``parts`` = the text's part count,
  an equality: Spark plans a join on ``pos <= parts`` as a nested loop (scope_items took
  201 s on 200,000 firms that way against 17.7 s with the equality).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from chainatlas.chains.matcher import GENERIC_CLAUSES
from chainatlas.chains.scope import VERB_CLASSES
from chainatlas.chains.scope_rules import (
    DRUG_GOODS,
    FOOD_GOODS,
    GENERAL_TRADE,
    TRADE_CHILDREN,
    TRADE_HOMES,
)
from chainatlas.chains.templates import ChainTemplate, load_templates
from chainatlas.sources import geography
from chainatlas.sources.roster_values import CNY_PER_UNIT, CURRENCY_TOKENS

#: Most clauses (or items in a clause) a scope is cut into; longer tails are dropped.
MAX_PARTS = 64
_PROVINCE_SUFFIX = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|盟|自治州)$")


def rules_frame(templates: Mapping[str, ChainTemplate]) -> pd.DataFrame:
    """chain_id, node_id, word, role, length of the word. Roles: ``keyword`` and
    ``exclude`` of every node; ``goods``, the registration scopes' generic drug and food
    words (:data:`chainatlas.chains.scope_rules.DRUG_GOODS`, ``FOOD_GOODS``), which place a
    selling clause on that chain's trade home."""
    rows = [(cid, node.id, word, role)
            for cid, template in templates.items() for node in template.nodes
            for role, words in (("keyword", (*node.keywords, *node.scope_keywords)),
                                ("exclude", node.exclude))
            for word in words]
    rows += [(cid, TRADE_HOMES[cid], word, "goods")
             for cid, words in (("biomedicine", DRUG_GOODS), ("modern_food", FOOD_GOODS))
             if cid in templates for word in words]
    frame = pd.DataFrame(rows, columns=["chain_id", "node_id", "word", "role"])
    frame = frame.drop_duplicates().sort_values(["role", "chain_id", "node_id", "word"])
    frame["length"] = frame["word"].str.len().astype("int32")
    return frame.reset_index(drop=True)


def nodes_frame(templates: Mapping[str, ChainTemplate]) -> pd.DataFrame:
    """Every node: whether it is a leaf, whether it is a trade node (in a trade home's
    subtree), and where a selling clause's hit on it lands — its chain's trade home, or the
    home's wholesale / retail child when the clause says 批发 / 零售
    (:data:`chainatlas.chains.scope_rules.TRADE_CHILDREN`)."""
    rows = []
    for cid, template in templates.items():
        chain, home = (cid, TRADE_HOMES[cid]) if cid in TRADE_HOMES else GENERAL_TRADE
        ids = {n.id for n in templates[chain].nodes} if chain in templates else set()
        children = {verb: child for verb, child in TRADE_CHILDREN.get(home, {}).items()
                    if child in ids}
        trade = set(_subtree(template, TRADE_HOMES[cid])) if cid in TRADE_HOMES else set()
        for node in template.nodes:
            rows.append((cid, node.id, node.is_leaf, node.id in trade, chain, home,
                         children.get("批发"), children.get("零售")))
    return pd.DataFrame(rows, columns=["chain_id", "node_id", "is_leaf", "in_trade",
                                       "trade_chain_id", "trade_node_id", "wholesale_node_id",
                                       "retail_node_id"])


def _subtree(template: ChainTemplate, node_id: str) -> list[str]:
    if node_id not in {n.id for n in template.nodes}:
        return []
    return [node_id, *(n.id for n in template.descendants(node_id))]


def verbs_frame() -> pd.DataFrame:
    """verb, activity (produce / trade / service)."""
    return pd.DataFrame(sorted(VERB_CLASSES.items()), columns=["verb", "activity"])


def generic_frame() -> pd.DataFrame:
    """clause: the catalogue phrases that name no chain on their own."""
    return pd.DataFrame({"clause": sorted(GENERIC_CLAUSES)})


def provinces_frame() -> pd.DataFrame:
    """name (every form the registry uses), province_adcode, municipal (its one city)."""
    regions = geography.regions_frame()
    rows = []
    for adcode, name in zip(*(regions.loc[regions["level"] == geography.PROVINCE, c]
                              for c in ("adcode", "name")), strict=True):
        city = adcode[:3] + "100" if adcode in geography.MUNICIPALITIES else None
        for form in {name, _PROVINCE_SUFFIX.sub("", name)}:
            rows.append((form, adcode, city))
    return pd.DataFrame(rows, columns=["name", "province_adcode", "municipal_city"]
                        ).drop_duplicates("name").sort_values("name").reset_index(drop=True)


def cities_frame() -> pd.DataFrame:
    """province_adcode, name (石家庄 and 石家庄市), city_adcode of every prefecture city."""
    regions = geography.regions_frame()
    cities = regions[regions["level"] == geography.CITY]
    rows = []
    for adcode, name in zip(cities["adcode"], cities["name"], strict=True):
        for form in {name, _CITY_SUFFIX.sub("", name)}:
            rows.append((adcode[:2] + "0000", form, adcode))
    return pd.DataFrame(rows, columns=["province_adcode", "name", "city_adcode"]
                        ).drop_duplicates(["province_adcode", "name"]).sort_values(
        ["province_adcode", "name"]).reset_index(drop=True)


def currencies_frame() -> pd.DataFrame:
    """token (人民币, 美元, US$ …), currency code, CNY per unit (null when unknown)."""
    rows = [(token, code, CNY_PER_UNIT.get(code)) for token, code in CURRENCY_TOKENS]
    return pd.DataFrame(rows, columns=["token", "currency", "cny_per_unit"])


def positions_frame(count: int = MAX_PARTS) -> pd.DataFrame:
    """parts, pos: one row per position of a text of 1 … ``count`` parts."""
    pairs = [(parts, pos) for parts in range(1, count + 1) for pos in range(1, parts + 1)]
    return pd.DataFrame(pairs, columns=["parts", "pos"]).astype("int32")


def reference_frames(templates: Mapping[str, ChainTemplate] | None = None
                     ) -> dict[str, pd.DataFrame]:
    """Every reference table by name (the built-in templates unless others are given)."""
    templates = load_templates() if templates is None else templates
    return {"rules": rules_frame(templates), "nodes": nodes_frame(templates),
            "verbs": verbs_frame(), "generic": generic_frame(),
            "provinces": provinces_frame(), "cities": cities_frame(),
            "currencies": currencies_frame(), "positions": positions_frame()}
