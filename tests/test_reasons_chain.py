"""Reasons of every leaf of every chain in the 50 cities with most firms, on the real mirror.

Node reasons (:mod:`chainatlas.recommend.node_reasons`) are built for every leaf: the
region's 弱/缺 leaves of every kind as ranked, and each 强 leaf demoted to 弱 (then it is a
强链 candidate citing its own base firms, the case where one firm could show up as both
its base and a neighbour's strength). Each record is checked with
:func:`chainatlas.recommend.claims.check_record` AND by the rules re-derived here from the
template (:func:`chainatlas.chains.direction.directions_from_store`) alone, so a bug in the
checker cannot hide one in the reasons:

- every 上游/下游 in a sentence stands before a node's name in 「」, the template puts
  that node on that side, and the sentence's direction claims say the same (both ways);
- every direction claim agrees with the template and its firms are in its sentence;
- no firm is cited as two of: a strength (neighbour or strong ancestor), the node's own
  base, an outside target (the gap to fill);
- reasons are never empty, nor blank;
- trade/retail/service/operator nodes are never told to 配套 or 延伸.

The place signals (peers, nearby, momentum) are left out of the bulk: their sentences name
neither a direction nor a firm, and a lookup costs ~2 ms (PlaceSignals._cell indexes with
lists), 68 ms a record. One city is ranked through rank_nodes with them.

Firm-target reasons (:mod:`chainatlas.recommend.target_reasons`) carry no structured
claims; their direction words come from template_links, whose positions
test_target_links checks for the same 50 cities. Here the sentences themselves are read
back (edge and own-node reasons of every node's template links).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from chainatlas.analysis.regional import region_profile
from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, Directions, directions_from_store
from chainatlas.recommend.claims import check_record
from chainatlas.recommend.node_context import ChainContext, chain_context
from chainatlas.recommend.node_reasons import (
    EXTEND_DOWN_ZH,
    EXTEND_UP_ZH,
    GAIN_UP_ZH,
    STRONG,
    WEAK,
)
from chainatlas.recommend.nodes import (
    NAMED_FIRMS,
    density_place,
    rank_nodes,
    score_node_candidates,
)
from chainatlas.recommend.target_links import node_standing, template_links
from chainatlas.recommend.target_reasons import FirmContext, edge_reasons, own_node_reason
from chainatlas.store import Database
from chainatlas.store.lookup import Chain, Region, as_chain, region_from_text

# written out, not imported: the test's own reading of the wording
SIDE_OF_WORD = {"上游": UPSTREAM, "下游": DOWNSTREAM}
_WORD = re.compile(r"上游|下游")
_NAMED = re.compile(r"「([^」]*)」")
#: What only a production node may be told.
PRODUCTION_ONLY = ("配套", "延伸", GAIN_UP_ZH["production"], EXTEND_UP_ZH["production"],
                   EXTEND_DOWN_ZH["production"])
STRENGTH_KINDS = ("direction", "parent")


def _cities(db: Database) -> list[str]:
    return [str(r[0]) for r in db.execute(
        "SELECT city_adcode FROM companies WHERE city_adcode IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC, 1 LIMIT 50").fetchall()]


def _chains(db: Database) -> list[Chain]:
    return [as_chain(db, r[0]) for r in db.execute(
        "SELECT chain_id FROM chains ORDER BY 1").fetchall()]


# --------------------------------------------------------------------------- the rules


def _named_directions(text: str, ids: Mapping[str, str]) -> list[tuple[str | None, str]]:
    """(node id or None when no chain node is named right after, side) of every 上游/下游."""
    out = []
    for word in _WORD.finditer(text):
        named = _NAMED.match(text, word.end())
        out.append((ids.get(named.group(1)) if named else None, SIDE_OF_WORD[word.group()]))
    return out


def _direction_problems(record: Mapping[str, Any], directions: Directions,
                        ids: Mapping[str, str]) -> Iterator[str]:
    node, reasons = str(record["node_id"]), record["reasons_zh"]
    claims = [c for c in record["claims"] if c["kind"] == "direction"]
    for claim in claims:
        if directions.of(str(claim["other"]), node) != claim["side"] or claim["node"] != node:
            yield f"claim {claim} against the template ({directions.of(claim['other'], node)})"
        if not 0 <= claim["reason"] < len(reasons) or not all(
                f in reasons[claim["reason"]] for f in claim["firms"]):
            yield f"claim {claim} does not match its sentence"
    for index, text in enumerate(reasons):
        said = _named_directions(text, ids)
        for other, side in said:
            if other is None or directions.of(other, node) != side:
                yield f"reason {index} says {side} of {other}, template: {text}"
        claimed = {(c["other"], c["side"]) for c in claims if c["reason"] == index}
        if set(said) != claimed:
            yield f"reason {index} says {sorted(said, key=str)}, claims {sorted(claimed)}"


def _firm_problems(record: Mapping[str, Any], own: Sequence[str]) -> Iterator[str]:
    """A firm cited as two of strength, base, target: from the claims and, apart from
    them, from the components (the neighbours' firms, the strong ancestor's when a
    sentence names it: it holds the node's own firms, cited or not, the targets)."""
    claims = record["claims"]
    adjacency = record["components"]["adjacency"]
    parent = adjacency["strong_parent"]
    cited_parent = parent is not None and any(
        f"「{parent['name_zh']}」" in t for t in record["reasons_zh"])
    strength = {f for c in claims if c["kind"] in STRENGTH_KINDS for f in c["firms"]} | {
        f for side in (UPSTREAM, DOWNSTREAM) for p in adjacency[side] for f in p["local_firms"]
    } | set(parent["local_firms"] if cited_parent else ())
    base = {f for c in claims if c["kind"] == "base" for f in c["firms"]} | set(own)
    target = {f for c in claims if c["kind"] == "target" for f in c["firms"]} | set(
        record["components"]["availability"]["targets"])
    for first, second, both in (("strength", "base", strength & base),
                                ("strength", "target", strength & target),
                                ("base", "target", base & target)):
        if both:
            yield f"{sorted(both)} cited as {first} and as {second}"


def record_problems(record: Mapping[str, Any], directions: Directions,
                    labels: Mapping[str, str], own: Sequence[str]) -> list[str]:
    """Every broken rule of one node record (module docs), the checker's findings too."""
    ids = {name: node_id for node_id, name in labels.items()}
    reasons, kind = record["reasons_zh"], str(record["kind"])
    problems = [] if reasons else ["no reason"]
    problems += [f"reason {i} is blank" for i, t in enumerate(reasons) if not t.strip()]
    problems += list(_direction_problems(record, directions, ids))
    problems += list(_firm_problems(record, own))
    if kind != "production":
        problems += [f"a {kind} node is told {w}: {t}" for t in reasons
                     for w in PRODUCTION_ONLY if w in t]
    problems += [f"checker: {p}" for p in check_record(record, directions, labels, kind)]
    return [f"{record['node_id']} ({record['name_zh']}): {p}" for p in problems]


# --------------------------------------------------------------------------- every leaf


def _linked(context: ChainContext, node_id: str) -> set[str]:
    """The nodes whose class a node's record reads: the ends of its supply links."""
    return ({str(r["source"]) for r in context.incoming.get(node_id, [])}
            | {str(r["target"]) for r in context.outgoing.get(node_id, [])})


def demotion_batches(nodes: Sequence[Mapping[str, Any]], context: ChainContext
                     ) -> list[set[str]]:
    """The region's 强 leaves in groups of which no two are linked. A record reads only
    its own class, its linked nodes' and its ancestors' (never a leaf), so demoting a
    group at once gives each member the record it gets demoted alone, at one scoring."""
    batches: list[set[str]] = []
    for node in nodes:
        if not (node["is_leaf"] and node["class"] == STRONG):
            continue
        node_id = str(node["node_id"])
        free = next((b for b in batches if not b & _linked(context, node_id)), None)
        if free is None:
            batches.append({node_id})
        else:
            free.add(node_id)
    return batches


def demoted_records(nodes: Sequence[Mapping[str, Any]], context: ChainContext,
                    region: Region, batch: set[str]) -> list[dict[str, Any]]:
    """The records of ``batch``'s leaves, each demoted from 强 to 弱."""
    demoted = [{**n, "class": WEAK} if n["node_id"] in batch else n for n in nodes]
    return [r for r in score_node_candidates(demoted, context, region, kinds=None)
            if r["node_id"] in batch]


def every_leaf(nodes: Sequence[Mapping[str, Any]], context: ChainContext,
               region: Region) -> list[dict[str, Any]]:
    """One record per leaf of every kind: the 弱/缺 ones as ranked, the 强 ones demoted."""
    records = score_node_candidates(nodes, context, region, kinds=None)
    for batch in demotion_batches(nodes, context):
        records += demoted_records(nodes, context, region, batch)
    return records


def _own_firms(node: Mapping[str, Any]) -> list[str]:
    # the names the ranking cites for a node: its first local leaders
    return [str(f["short_name"] or f["company_id"])
            for f in node["local_leaders"][:NAMED_FIRMS]]


@dataclasses.dataclass
class Place:
    """One city on one chain: its profile, the chain's context and every leaf's record."""

    region: Region
    chain: Chain
    directions: Directions
    profile: dict[str, Any]
    context: ChainContext
    records: list[dict[str, Any]]


@pytest.fixture(scope="module")
def places(real_db: Database) -> list[Place]:
    """Every leaf's record of every chain in the 50 cities with most firms (signals off:
    see the module docs)."""
    cities = [region_from_text(real_db, c) for c in _cities(real_db)]
    assert len(cities) == 50
    contexts: dict[tuple[Any, ...], ChainContext] = {}
    out = []
    for chain in _chains(real_db):
        directions = directions_from_store(real_db, chain)
        for region in cities:
            profile = region_profile(real_db, region, chain)
            level, _ = density_place(region)
            key = (chain.chain_id, None, level, profile["universe"],
                   profile["lq_basis"]["origin"])
            if key not in contexts:
                contexts[key] = dataclasses.replace(
                    chain_context(real_db, chain, None, level, key[3], key[4]), signals=None)
            context = contexts[key]
            out.append(Place(region, chain, directions, profile, context,
                             every_leaf(profile["nodes"], context, region)))
    return out


def test_every_leaf_of_every_chain_in_50_cities_has_sound_reasons(places: list[Place]) -> None:
    problems, kinds = [], set()
    checked = 0
    for place in places:
        labels, nodes = place.chain.names(), {n["node_id"]: n for n in place.profile["nodes"]}
        assert len(set(labels.values())) == len(labels)  # a name in 「」 is one node
        leaves = {n["node_id"] for n in place.profile["nodes"] if n["is_leaf"]}
        assert sorted(r["node_id"] for r in place.records) == sorted(leaves)
        for record in place.records:
            checked += 1
            kinds.add(record["kind"])
            own = _own_firms(nodes[record["node_id"]])
            problems += [f"{place.region.name} {place.chain.chain_id} {p}"
                         for p in record_problems(record, place.directions, labels, own)]
    assert not problems, "\n".join(problems[:30])
    assert checked > 8000  # 9150 when written: 250 city-chains, ~980 of them 强 leaves
    assert {"production", "trade", "retail", "service", "operator"} <= kinds


def _sample(places: list[Place], kind: str, label: str) -> tuple[Place, dict[str, Any]]:
    """A place and a record of ``kind`` and ``label`` citing a neighbour's firms."""
    return next((p, r) for p in places for r in p.records if r["kind"] == kind
                and r["label"] == label and any(
                    c["kind"] == "direction" and c["firms"] for c in r["claims"]))


def _own_problems(place: Place, record: dict[str, Any]) -> list[str]:
    """The rules' findings on a record other than the checker's."""
    nodes = {n["node_id"]: n for n in place.profile["nodes"]}
    found = record_problems(record, place.directions, place.chain.names(),
                            _own_firms(nodes[record["node_id"]]))
    return [p for p in found if "checker:" not in p]


def test_the_rules_find_planted_faults_without_the_checker(places: list[Place]) -> None:
    place, record = _sample(places, "production", "强链")
    assert _own_problems(place, record) == []
    claim = next(c for c in record["claims"] if c["kind"] == "direction")
    index, other = claim["reason"], place.chain.names()[claim["other"]]
    flipped = {"upstream": "下游", "downstream": "上游"}[claim["side"]]
    faults = {
        "word": {"reasons_zh": [re.sub(r"[上下]游(?=「" + re.escape(other) + "」)", flipped, t)
                                if i == index else t
                                for i, t in enumerate(record["reasons_zh"])]},
        "claim": {"claims": [{**c, "side": "downstream" if c["side"] == "upstream"
                              else "upstream"} if c is claim else c for c in record["claims"]]},
        "firm": {"claims": [*record["claims"], {"node": claim["node"], "kind": "base",
                                                "firms": claim["firms"][:1], "reason": 0}]},
        "blank": {"reasons_zh": [*record["reasons_zh"], " "]},
        "none": {"reasons_zh": [], "claims": []}}
    for name, change in faults.items():
        assert _own_problems(place, {**record, **change}), name
    place, record = _sample(places, "retail", "延链")
    assert _own_problems(place, record) == []
    told = [f"{t}，可延伸发展" for t in record["reasons_zh"]]
    assert _own_problems(place, {**record, "reasons_zh": told})


def test_a_batch_of_demoted_leaves_gives_each_its_record_demoted_alone(
        places: list[Place]) -> None:
    compared = 0
    for place in places[::25]:
        nodes = place.profile["nodes"]
        for batch in demotion_batches(nodes, place.context):
            if len(batch) < 2:
                continue
            together = {r["node_id"]: r for r in demoted_records(
                nodes, place.context, place.region, batch)}
            for node_id in sorted(batch)[:2]:
                [alone] = demoted_records(nodes, place.context, place.region, {node_id})
                assert {**together[node_id], "rank": 0} == {**alone, "rank": 0}
                compared += 1
    assert compared >= 4


def test_ranked_nodes_with_place_signals_have_sound_reasons(real_db: Database) -> None:
    # the path users see, place signals included, for the city with most firms
    region = region_from_text(real_db, _cities(real_db)[0])
    checked = 0
    for chain in _chains(real_db):
        directions, labels = directions_from_store(real_db, chain), chain.names()
        nodes = {n["node_id"]: n for n in region_profile(real_db, region, chain)["nodes"]}
        for record in rank_nodes(real_db, region, chain, kinds=None):
            checked += 1
            assert record_problems(record, directions, labels,
                                   _own_firms(nodes[record["node_id"]])) == []
    assert checked > 50


# --------------------------------------------------------------------------- firm reasons

_EDGE = re.compile(r"^所在「([^」]*)」是本地(?:优势环节|已有布局的环节)「([^」]*)」的(上游|下游)"
                   r"（[^，]*），(可为本地企业就近配套|可就近采购本地产品)$")
_SUMMARY = "上下游衔接"  # the count of further links names no node and no side


def _firm_sentences(place: Place, node: str, links: list[dict[str, Any]]) -> list[str]:
    """The edge and own-node reasons of a firm placed on ``node`` alone."""
    context = FirmContext(place.region.name, place.chain, node_standing(place.profile), False,
                          "", str(place.profile["universe"]))
    named: set[str] = set()
    record = {"nodes": [{"node_id": node, "name_zh": place.chain.names()[node]}]}
    return [*edge_reasons(links, named), own_node_reason(record, context, named)]


def _firm_reason_problems(place: Place, node: str, sentences: list[str]) -> Iterator[str]:
    ids = {name: n for n, name in place.chain.names().items()}
    cited: list[str] = []
    for text in sentences:
        edge = _EDGE.match(text)
        if edge:
            mine, local, side = ids.get(edge[1]), ids.get(edge[2]), SIDE_OF_WORD[edge[3]]
            if mine != node or local is None or place.directions.of(mine, local) != side:
                yield f"{text}: template says {place.directions.of(node, str(local))}"
            if (side == UPSTREAM) != ("配套" in edge[4]):
                yield f"{text}: the act does not fit the side"
        elif _WORD.search(text.replace(_SUMMARY, "")):
            yield f"a direction word outside an edge reason: {text}"
        cited += [f for f in set(_NAMED.findall(text)) if f not in ids]
    yield from (f"{f} cited twice: {sentences}" for f in set(cited) if cited.count(f) > 1)


def test_firm_reasons_of_every_node_in_50_cities_follow_the_template(
        places: list[Place]) -> None:
    problems, checked, edges = [], 0, 0
    for place in places:
        every = {n.node_id: [n.node_id] for n in place.chain.nodes if n.kind == "production"}
        standing = node_standing(place.profile)
        links = template_links(place.directions, every, standing, place.chain)
        for node in every:
            sentences = _firm_sentences(place, node, links.get(node, []))
            checked += 1
            edges += sum(1 for t in sentences if _EDGE.match(t))
            problems += [f"{place.region.name} {node}: {p}"
                         for p in _firm_reason_problems(place, node, sentences)]
            if standing[node]["class"] == "缺":  # a gap names no local firm
                assert not set(_NAMED.findall(sentences[-1])) - {place.chain.names()[node]}
    assert not problems, "\n".join(problems[:30])
    assert checked > 5000
    assert edges > 1000
