"""Reasons of the node ranking: sentences, the claims behind them, and the explain rows.

Every sentence that places another node up- or downstream writes the direction word right
before the node's name (上游「化学原料药」, 下游「医院与专科医疗」), and only for a side the
direction model (:mod:`chainatlas.chains.direction`) gives; the scoring step hands over
neighbours it already checked against the model. Each such statement is also recorded as
a structured claim beside the text (``{"kind": "direction", "node", "other", "side",
"firms", "reason"}``, ``reason`` = the sentence's index), so
:func:`chainatlas.recommend.claims.check_reasons` can test text and claims alike.
Other claims: ``base`` (the node's own local firms, a 强链 node's base), ``parent`` (a
strong ancestor and its firms), ``target`` (outside firms to approach).

Non-production nodes (a wholesaler, a pharmacy chain, a hospital, a network operator) are
not told to 配套 or 延伸: their sentences speak of sourcing, distribution, sales channels
and services instead (``GAIN_UP_ZH``, ``GAIN_DOWN_ZH``, ``EXTEND_UP_ZH``, ``EXTEND_DOWN_ZH``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainatlas.analysis.explain import explain
from chainatlas.analysis.regional import FIRMS_NOUN_ZH, STRONG_MIN_FIRMS, provinces_zh
from chainatlas.analysis.weights import NODE_WEIGHTS
from chainatlas.chains.direction import DOWNSTREAM, UPSTREAM, WORDS_ZH
from chainatlas.recommend.node_context import ChainContext
from chainatlas.recommend.place_signals import NEAR_NAMED_KM
from chainatlas.sources.registry_files import PROVINCES

STRONG, WEAK, MISSING = "强", "弱", "缺"
#: Fewer firms outside the region than this: "可招引对象有限".
PLENTY = 10
#: Neighbours named per side of a node.
NAMED_PER_SIDE = 2
#: What a place is called in a sentence, by level.
PLACE_NOUN_ZH = {"city": "城市", "province": "省份"}
#: The component labels of the explain rows.
LABELS_ZH = {"density": "关联密度", "peers": "同类地区", "nearby": "周边布局",
             "momentum": "全国扩散", "adjacency": "供应链邻接", "availability": "可招引"}
#: What a local upstream neighbour gives the node, by the node's kind.
GAIN_UP_ZH = {"production": "可就近配套", "trade": "可就近组织货源", "retail": "可就近供货",
              "service": "可就近获得所需产品与设备", "operator": "可就近获得所需设备"}
#: What a local downstream neighbour gives the node, by the node's kind.
GAIN_DOWN_ZH = {"production": "本地即有需求", "trade": "本地即有分销需求",
                "retail": "本地即有需求", "service": "本地即有服务需求",
                "operator": "本地即有网络与运营需求"}
#: The 延链 headline when a strong node lies upstream (the node takes its output).
EXTEND_UP_ZH = {"production": "本环节可承接其产出、顺链发展",
                "trade": "本地产品需要批发配送渠道，可补上流通环节",
                "retail": "可发展零售终端，就近销售本地产品",
                "service": "可发展相关服务，就近使用本地产品",
                "operator": "可发展运营服务，就近采用本地设备"}
#: The 延链 headline when a strong node lies downstream (the node serves it).
EXTEND_DOWN_ZH = {"production": "可为其就近配套供应", "trade": "可为其提供流通配送",
                  "retail": "可为其提供销售渠道", "service": "可为其提供服务",
                  "operator": "可为其提供网络与运营服务"}


def _names(firms: Sequence[str]) -> str:
    return f"（{'、'.join(firms)}）" if firms else ""


class Reasons:
    """Sentences and their claims for one node, built in order."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.text: list[str] = []
        self.claims: list[dict[str, Any]] = []

    def add(self, sentence: str, *claims: dict[str, Any]) -> None:
        """Append a sentence and the claims it makes (tagged with its index)."""
        for claim in claims:
            self.claims.append({"node": self.node_id, **claim, "reason": len(self.text)})
        self.text.append(sentence)


def _direction(peer: Mapping[str, Any], side: str) -> dict[str, Any]:
    return {"kind": "direction", "other": peer["node_id"], "side": side,
            "firms": list(peer["local_firms"])}


def _headline(out: Reasons, node: Mapping[str, Any], label: str,
              adjacency: Mapping[str, Any], kind: str) -> set[str]:
    """The label's sentence; returns the neighbours it named (not repeated after)."""
    strong = {side: [p for p in adjacency[side] if p["class"] == STRONG]
              for side in (UPSTREAM, DOWNSTREAM)}
    if label == "强链":
        firms = list(node["base_firms"])
        if node["local_firms"] < STRONG_MIN_FIRMS:
            text = (f"本地仅有 {node['local_firms']} 家企业{_names(firms)}，尚未形成集聚，"
                    "宜引进同类企业做大做强")
        else:
            text = (f"本地已有 {node['local_firms']} 家企业{_names(firms)}，但区位商仅 "
                    f"{node['lq']:.2f}，集聚度不足，宜做大做强")
        out.add(text, {"kind": "base", "firms": firms})
        return set()
    parent = adjacency["strong_parent"]
    if label == "补链" and parent:
        out.add(f"所属「{parent['name_zh']}」为本地强项{_names(parent['local_firms'])}，"
                "本环节是其中的缺口", {"kind": "parent", "other": parent["node_id"],
                                      "firms": list(parent["local_firms"])})
        return set()
    if strong[UPSTREAM] and strong[DOWNSTREAM]:
        up, down = strong[UPSTREAM][0], strong[DOWNSTREAM][0]
        out.add(f"上游「{up['name_zh']}」{_names(up['local_firms'])}与下游"
                f"「{down['name_zh']}」{_names(down['local_firms'])}均为本地强项，"
                "本环节是本地链条的缺口", _direction(up, UPSTREAM),
                _direction(down, DOWNSTREAM))
        return {up["node_id"], down["node_id"]}
    for side, phrases in ((UPSTREAM, EXTEND_UP_ZH), (DOWNSTREAM, EXTEND_DOWN_ZH)):
        if strong[side]:
            peer = strong[side][0]
            out.add(f"{WORDS_ZH[side]}「{peer['name_zh']}」为本地强项"
                    f"{_names(peer['local_firms'])}，{phrases[kind]}", _direction(peer, side))
            return {peer["node_id"]}
    out.add("本地尚无直接关联的强项，属新布局方向")
    return set()


def _supply(out: Reasons, adjacency: Mapping[str, Any], named: set[str], kind: str) -> None:
    """One sentence per further neighbour: the strong ones, else the side's best weak one."""
    for side, gains in ((UPSTREAM, GAIN_UP_ZH), (DOWNSTREAM, GAIN_DOWN_ZH)):
        peers = adjacency[side]
        strong = [p for p in peers if p["class"] == STRONG]
        for peer in (strong or peers[:1])[:NAMED_PER_SIDE]:
            if peer["node_id"] in named:
                continue
            standing = "为本地强项" if peer["class"] == STRONG else "本地已有布局"
            text = (f"{WORDS_ZH[side]}「{peer['name_zh']}」{standing}"
                    f"{_names(peer['local_firms'])}，{gains[kind]}")
            if peer["relations"]:
                # the count is what the link's weight rests on; the example pair stays
                # in the components (from a diversified firm it can be off-topic)
                text += f"（产品图谱中有 {peer['relations']} 组供需关系）"
            out.add(text, _direction(peer, side))


def _scope_zh(context: ChainContext) -> str:
    """Where the place signals look: 全国, or the loaded registry provinces."""
    loaded = provinces_zh(context.provinces)
    if context.density_basis == "registry" and len(context.provinces) < len(PROVINCES):
        return f"{loaded}范围内" if loaded else "已载入地区中"
    return "全国"


def _signal_sentences(out: Reasons, components: Mapping[str, Any],
                      context: ChainContext) -> None:
    noun = PLACE_NOUN_ZH.get(context.level, "地区")
    names = context.signals.names if context.signals else {}
    peers = components["peers"]
    if peers["peers"]:
        examples = "、".join(names.get(p, p) for p in peers["examples"])
        out.add(f"产业结构与本地最相近的 {peers['peers']} 个{noun}中，有 "
                f"{peers['with_node']} 个已有该环节" + (f"（如{examples}）" if examples else ""))
    nearby = components["nearby"]
    if nearby["nearest"]:
        near = "、".join(f"{names.get(p, p)}（{km} 公里）" for p, km in nearby["nearest"])
        out.add(f"周边已有该环节的{noun}：{near}")
    elif context.signals is not None:
        out.add(f"周边 {NEAR_NAMED_KM:g} 公里内尚无{noun}布局该环节")
    momentum = components["momentum"]
    first, last = momentum["years"]
    where = _scope_zh(context)
    if momentum["entered"]:
        out.add(f"近 {last - first + 1} 年（{first}–{last}）{where}有 {momentum['entered']} 个"
                f"{noun}新布局该环节，占此前尚无该环节{noun}的 {momentum['share']:.0%}")
    elif context.signals is not None:
        out.add(f"近 {last - first + 1} 年（{first}–{last}）{where}没有新的{noun}布局该环节")


def _pool_zh(context: ChainContext) -> str:
    """Where the universe's firms to attract come from, for a sentence."""
    loaded = provinces_zh(context.provinces)
    if context.universe == "listed" or not loaded:
        return "全国" + ("" if context.universe == "listed" else "已知")
    if context.universe == "registry":
        return f"已载入的工商登记企业（{loaded}）中"
    return f"全国上市企业与{loaded}工商登记企业中"


def _market(out: Reasons, availability: Mapping[str, Any], density: Mapping[str, Any],
            context: ChainContext) -> None:
    national, outside = availability["national_firms"], availability["outside_firms"]
    pool, noun = _pool_zh(context), FIRMS_NOUN_ZH[context.universe]
    if national == 0 and context.universe == "listed":
        out.add("全国尚无该环节上市企业，需培育或引进非上市企业")
    elif national == 0:
        out.add(f"{pool}尚无该环节{noun}，需培育或引进")
    else:
        supply = "可招引对象充足" if outside >= PLENTY else "可招引对象有限"
        what = "上市企业" if context.universe == "listed" else f"该环节{noun}"
        out.add(f"{pool}有 {national} 家{what}，其中 {outside} 家在本地以外，{supply}")
    if availability["targets"]:
        out.add(f"可重点对接：{'、'.join(availability['targets'])}",
                {"kind": "target", "firms": list(availability["targets"])})
    # a district is measured on its city's row (see the module docs): say so
    where = "本地" if density["own_row"] else "所在城市"
    counted = FIRMS_NOUN_ZH[density["basis"]]
    if density["place_firms"] == 0:
        out.add(f"{where}尚无{counted}，关联密度为 0")
        return
    value, median = round(density["density"], 2), round(density["median"], 2)
    side = "高于" if value > median else "低于" if value < median else "持平于"
    basis = (f"（按{provinces_zh(context.provinces)}各地工商登记企业计算）"
             if density["basis"] == "registry" else "")
    out.add(f"与{where}现有产业的关联密度 {value:.2f}{basis}，{side}本链节点中位数"
            f"（{median:.2f}）")


def node_reasons(node: Mapping[str, Any], label: str, components: Mapping[str, Any],
                 context: ChainContext) -> tuple[list[str], list[dict[str, Any]]]:
    """The reasons (Chinese sentences) and their claims for one ranked node. Pure.

    ``node`` is the profile node with ``base_firms`` (its cited local firms) added;
    ``components`` the node's components (adjacency neighbours already checked against
    the direction model and stripped of the node's own firms).
    """
    out = Reasons(str(node["node_id"]))
    kind = context.kind(str(node["node_id"]))
    named = _headline(out, node, label, components["adjacency"], kind)
    _supply(out, components["adjacency"], named, kind)
    _signal_sentences(out, components, context)
    _market(out, components["availability"], components["density"], context)
    return out.text, out.claims


def _raw_zh(components: Mapping[str, Any], context: ChainContext) -> dict[str, str]:
    noun = PLACE_NOUN_ZH.get(context.level, "地区")
    density, peers = components["density"], components["peers"]
    nearby, momentum = components["nearby"], components["momentum"]
    adjacency, availability = components["adjacency"], components["availability"]
    strong = {side: sum(1 for p in adjacency[side] if p["class"] == STRONG)
              for side in (UPSTREAM, DOWNSTREAM)}
    return {
        "density": f"关联密度 {density['density']:.2f}，本链中位数 {density['median']:.2f}",
        "peers": f"最相近的 {peers['peers']} 个{noun}中 {peers['with_node']} 个已有",
        "nearby": f"按距离加权（{nearby['scale_km']:g} 公里衰减）{nearby['value']:.0%} "
                  f"的周边{noun}已有",
        "momentum": f"近 {momentum['years'][1] - momentum['years'][0] + 1} 年新增 "
                    f"{momentum['entered']} 个{noun}（占 {momentum['share']:.0%}）",
        "adjacency": f"本地上游强项 {strong[UPSTREAM]} 个、下游强项 {strong[DOWNSTREAM]} 个"
                     + ("、所属上级为强项" if adjacency["strong_parent"] else ""),
        "availability": f"本地以外 {availability['outside_firms']} 家"}


def node_explain(components: Mapping[str, Any], context: ChainContext
                 ) -> list[dict[str, Any]]:
    """The explain rows of a ranked node: each weighted component with its raw figure."""
    values = {k: float(components[k]["value"]) for k in NODE_WEIGHTS}
    return explain(values, NODE_WEIGHTS, LABELS_ZH, _raw_zh(components, context))
