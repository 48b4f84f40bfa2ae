"""The one model of direction along a chain (chains.direction) and node kinds."""

from __future__ import annotations

import pytest

from chainatlas.chains.direction import (
    DOWNSTREAM,
    NONE,
    UPSTREAM,
    directions_from_edges,
    directions_from_store,
)
from chainatlas.chains.templates import load_templates
from chainatlas.store import Database

# raw -> api -> tablets -> wholesale; a cycle b <-> c; a parent "drugs" over api, tablets
PARENTS = {"raw": None, "drugs": None, "api": "drugs", "tablets": "drugs",
           "wholesale": None, "b": None, "c": None, "lonely": None}
EDGES = [("raw", "api"), ("api", "tablets"), ("tablets", "wholesale"), ("b", "c"),
         ("c", "b")]


@pytest.fixture
def model():  # type: ignore[no-untyped-def]
    return directions_from_edges(PARENTS, EDGES)


def test_direct_and_transitive_paths(model) -> None:  # type: ignore[no-untyped-def]
    assert model.of("raw", "api") == UPSTREAM
    assert model.of("api", "raw") == DOWNSTREAM
    assert model.of("raw", "wholesale") == UPSTREAM  # three edges away
    assert model.of("wholesale", "api") == DOWNSTREAM


def test_parents_stand_for_their_subtree(model) -> None:  # type: ignore[no-untyped-def]
    assert model.of("raw", "drugs") == UPSTREAM
    assert model.of("wholesale", "drugs") == DOWNSTREAM
    # a node and its own parent are one segment, not a supply pair
    assert model.of("api", "drugs") is NONE
    assert model.of("drugs", "tablets") is NONE


def test_cycles_and_unconnected_nodes_have_no_direction(model) -> None:  # type: ignore[no-untyped-def]
    assert model.of("b", "c") is NONE
    assert model.of("lonely", "api") is NONE


def test_neighbours_are_direct_edges_on_one_side(model) -> None:  # type: ignore[no-untyped-def]
    assert model.neighbours("api", UPSTREAM) == ("raw",)
    assert model.neighbours("api", DOWNSTREAM) == ("tablets",)
    assert model.neighbours("drugs", DOWNSTREAM) == ("wholesale",)
    assert model.neighbours("b", UPSTREAM) == ()  # the cycle says nothing
    with pytest.raises(ValueError, match="side"):
        model.neighbours("api", "sideways")


def test_builtin_chains_read_as_an_expert_would() -> None:
    templates = load_templates()
    bio = templates["biomedicine"]
    model = directions_from_edges({n.id: n.parent for n in bio.nodes},
                                  [(e.source, e.target) for e in bio.edges])
    # the contradictions: 化学制剂 is upstream of 医药批发, never its 下游
    assert model.of("bm_oral_solid", "bm_distribution") == UPSTREAM
    assert model.of("bm_formulations", "bm_distribution") == UPSTREAM
    assert model.neighbours("bm_pharmacy_retail", DOWNSTREAM) == ()
    kinds = {n.id: n.kind for n in bio.nodes}
    assert kinds["bm_distribution"] == "trade" and kinds["bm_pharmacy_retail"] == "retail"
    assert kinds["bm_api"] == "production"
    assert {n.kind for n in templates["electronics"].nodes if n.kind != "production"} == {
        "operator"}


def test_stored_chain_has_kinds_and_the_same_directions(mini_db: Database) -> None:
    built = mini_db
    model = directions_from_store(built, "biomedicine")
    assert model.of("bm_api", "bm_oral_solid") == UPSTREAM
    kinds = dict(built.execute("SELECT node_id, kind FROM chain_nodes WHERE chain_id = "
                               "'biomedicine'").fetchall())
    assert kinds["bm_hospitals"] == "service" and kinds["bm_vaccines"] == "production"
