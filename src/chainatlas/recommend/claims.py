"""Check reasons against the chain: directions, firms cited twice, empty reasons, kinds.

A ranked record carries ``reasons_zh`` (sentences) and ``claims`` (what the sentences
state, structured; see :mod:`chainatlas.recommend.node_reasons`). :func:`check_reasons`
returns every problem it finds, in words, so a test can assert there are none and say
which reason broke which rule:

1. There is at least one reason and none is empty.
2. Text: every 上游 / 下游 in a sentence stands right before a node's name in 「」 (上游
   「化学原料药」), that name is a node of the chain, and the direction model puts that
   node on that side of the subject node. 配套 and 延伸 appear only in sentences that
   name a node that way (they extend or supply along a named link).
3. Claims: every ``direction`` claim agrees with the model, and its sentence names the
   node with the same direction word.
4. Firms: no firm is cited both as a strength (the local firms of a neighbour or of a
   strong ancestor: ``direction`` and ``parent`` claims) and as the subject's own base
   (``base`` claims) of one record.
5. Kind: a non-production node (trade, retail, service, operator) is never told to 配套
   or 延伸 (a pharmacy chain does not extend upstream to supply anyone).

The rules speak of a subject node; firm reasons can reuse them with the node the firm is
placed on as the subject.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, WORDS_ZH, Directions

_NAMED = re.compile(r"(上游|下游)「([^」]*)」")
_DIRECTION_WORDS = re.compile(r"上游|下游")
#: Words of extending or supplying along a link: production nodes only, and only
#: beside a named, directed node.
LINK_WORDS = ("配套", "延伸")
_SIDES = {WORDS_ZH[UPSTREAM]: UPSTREAM, WORDS_ZH[DOWNSTREAM]: DOWNSTREAM}
STRENGTH_CLAIMS = ("direction", "parent")


def _text_problems(node: str, index: int, text: str, directions: Directions,
                   names: Mapping[str, str], kind: str) -> list[str]:
    problems = []
    if not text.strip():
        return [f"reason {index} is empty"]
    named = list(_NAMED.finditer(text))
    if len(_DIRECTION_WORDS.findall(text)) != len(named):
        problems.append(f"reason {index} has a direction word without a named node: {text}")
    for match in named:
        other = names.get(match.group(2))
        if other is None:
            problems.append(f"reason {index} names no node of the chain: {match.group(0)}")
            continue
        side, actual = _SIDES[match.group(1)], directions.of(other, node)
        if actual != side:
            problems.append(f"reason {index} says {match.group(0)} of {node}, the model "
                            f"says {actual}: {text}")
    links = [w for w in LINK_WORDS if w in text]
    if links and not named:
        problems.append(f"reason {index} uses {'/'.join(links)} without a named link: {text}")
    if links and kind != "production":
        problems.append(f"reason {index} tells a {kind} node to {'/'.join(links)}: {text}")
    return problems


def _claim_problems(node: str, claims: Sequence[Mapping[str, Any]], reasons: Sequence[str],
                    directions: Directions, labels: Mapping[str, str]) -> list[str]:
    problems = []
    for claim in claims:
        if claim.get("kind") != "direction":
            continue
        other, side = str(claim["other"]), str(claim["side"])
        actual = directions.of(other, node)
        if actual != side:
            problems.append(f"claim {other} {side} of {node}: the model says {actual}")
        index = int(claim.get("reason", -1))
        phrase = f"{WORDS_ZH.get(side, side)}「{labels.get(other, other)}」"
        if not 0 <= index < len(reasons) or phrase not in reasons[index]:
            problems.append(f"claim {phrase} is not in its reason {index}")
    strength = {str(f) for c in claims if c.get("kind") in STRENGTH_CLAIMS
                for f in c.get("firms", [])}
    base = {str(f) for c in claims if c.get("kind") == "base" for f in c.get("firms", [])}
    problems.extend(f"firm {firm} is cited both as a strength and as the base of {node}"
                    for firm in sorted(strength & base))
    return problems


def check_reasons(node: str, reasons: Sequence[str], claims: Sequence[Mapping[str, Any]],
                  directions: Directions, labels: Mapping[str, str],
                  kind: str = "production") -> list[str]:
    """Every problem of one record's reasons (see the module docs); [] when none.

    ``node`` is the subject node id, ``labels`` the chain's node_id -> name_zh (the names
    the sentences use), ``kind`` the subject node's kind.
    """
    names = {name: node_id for node_id, name in labels.items()}
    problems = [] if reasons else [f"{node} has no reason"]
    for index, text in enumerate(reasons):
        problems.extend(_text_problems(node, index, text, directions, names, kind))
    problems.extend(_claim_problems(node, claims, reasons, directions, labels))
    return problems


def check_record(record: Mapping[str, Any], directions: Directions,
                 labels: Mapping[str, str], kind: str = "production") -> list[str]:
    """:func:`check_reasons` of a ranked node record (node_id, reasons_zh, claims)."""
    return check_reasons(str(record["node_id"]), record["reasons_zh"],
                         record.get("claims", []), directions, labels, kind)
