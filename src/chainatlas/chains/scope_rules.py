"""Place a firm from its business scope, clause by clause, by what it does with the goods.

Keyword hits come from the chains' keyword automaton (:class:`ScopeMatcher`), one clause of
:func:`~chainatlas.chains.scope.scope_items` at a time, and the clause's activity decides
where they land:

- a clause that only **sells** (销售/批发/零售 …) never places a firm on a producer node:
  drugs and devices go to 医药流通 (``bm_circulation``), food to 食品流通与消费
  (``mf_distribution``), any other goods to 商贸流通 (``cl_commerce``) — to the wholesale or
  retail child when the verb says which; a selling clause whose goods match no node still
  places the firm on 商贸流通 (it trades, whatever it trades);
- a clause that **makes** keeps its producer hits and drops trade-node hits;
- a **repair or installation** clause moves equipment hits to 装备应用与后市场服务
  (``ae_services``);
- a clause without a verb takes the name's hint (…厂 makes, …商店 sells).

Each hit keeps its clause, the clause weight (first clauses weigh most, 兼营 side lines
half) and where it was moved from, so the evidence says why. A firm with no scope is read
from its name alone, at a lower weight.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chainatlas.chains.gbt_terms import ClassHit, ClassReader
from chainatlas.chains.matcher import ScopeMatcher
from chainatlas.chains.scope import (
    PRODUCE,
    SERVICE,
    TAIL_FACTOR,
    TRADE,
    ScopeItem,
    clause_activity,
    fixes_only,
    in_list_head,
    name_activity,
    scope_items,
    tech_only,
)
from chainatlas.chains.signals import scope_strength
from chainatlas.chains.templates import ChainTemplate

#: Where a selling clause's hits land, per chain; every other chain's goods -> GENERAL_TRADE.
TRADE_HOMES = {"biomedicine": "bm_circulation", "modern_food": "mf_distribution",
               "commerce_logistics": "cl_commerce"}
GENERAL_TRADE = ("commerce_logistics", "cl_commerce")
#: The child of a trade home a verb points at, where the template has it.
TRADE_CHILDREN = {"bm_circulation": {"批发": "bm_distribution", "零售": "bm_pharmacy_retail"},
                  "mf_distribution": {"批发": "mf_wholesale", "零售": "mf_retail"},
                  "cl_commerce": {"批发": "cl_wholesale_trade"}}
SERVICE_HOME = ("advanced_equipment", "ae_services")
# Veterinary makers: their dosage forms (片剂, 注射剂, 中药提取) are veterinary drugs.
VET_HOME = ("biomedicine", "bm_vet_biologics")
VET_WORDS = ("兽药", "兽用", "动物保健", "动物药业", "动物药品", "禽药")
HUMAN_DRUG_HOMES = (("biomedicine", "bm_chem_drugs"), ("biomedicine", "bm_tcm"))
# Guard services: the 保安服务管理条例 counts 安全技术防范 among the guards' own services
# (门卫、巡逻、守护、押运、随身护卫、安全检查 …), so named beside them it is guarding, not
# security equipment or its engineering (a 保安服务公司 is no 安防 maker).
SECURITY_NODE = ("electronics", "el_security_video")
GUARD_WORDS = ("保安", "门卫", "巡逻", "守护", "押运", "护卫", "安保")
# An item that only develops, designs or advises on goods (机电设备、通讯设备的开发, 电梯的
# 咨询) names the field of the firm's know-how, the 1990s' 技术开发 formula with its field
# named, not goods it makes: its goods keywords weigh TECH_FACTOR (a software or other
# service line stays whole).
TECH_FACTOR = 0.5
_GOODS_HEADS = ("设备", "器材", "器件", "产品", "仪器", "仪表", "元件", "材料", "装置", "配件",
                "机械", "机", "器")
_REPAIR = ("维修", "修理", "安装", "保养", "检修", "调试")
#: How far before a repair verb (in characters) the repaired equipment may be named.
REPAIR_REACH = 6
# What an equipment after-market service works on, when no node keyword names it.
_EQUIPMENT_WORDS = ("汽车", "机动车", "车辆", "货车", "摩托车", "农机", "机械", "机电", "电机",
                    "电梯", "锅炉", "机械设备", "机电设备")
NAME_WEIGHT = 0.8
# A name that declares a trade outside every chain (…园林绿化工程集团, …建筑工程公司, …物业)
# says what the firm mainly does; the IT, equipment or food lines its scope also lists
# (大数据处理和储存服务 at a landscaper) are side lines: FOREIGN_FACTOR, unless the name
# also names goods of that chain. Trade lines are left to the trade rules.
FOREIGN_TRADE_WORDS = ("园林", "绿化", "建筑", "建设工程", "装饰", "装修", "物业", "房地产",
                       "置业", "劳务", "家政", "保洁", "旅游", "酒店", "保安")
FOREIGN_FACTOR = 0.5
# Only the technology chains: a hotel's catering or a builder's materials trade is a real
# line of the food and commerce chains (the labelled sets lose such hits otherwise).
FOREIGN_CHAINS = frozenset({"electronics", "advanced_equipment", "biomedicine"})
_SERVICE_WORDS = ("业务", "服务", "工程")
_BUILDING = ("工程", "施工", "建筑", "承包")
#: The word lists as public names, for engines that run the rules themselves.
REPAIR_VERBS, EQUIPMENT_WORDS, BUILDING_WORDS = _REPAIR, _EQUIPMENT_WORDS, _BUILDING
# Goods words of registration scopes (generic, unlike the templates' product keywords):
# a selling clause naming them trades drugs or food, whatever else it lists.
DRUG_GOODS = ("药品", "中成药", "中药材", "中药饮片", "西药", "化学药", "生物制品", "医疗器械",
              "医疗用品", "卫生材料", "医用", "保健药品", "药材", "兽药")
FOOD_GOODS = ("食品", "副食", "粮油", "粮食", "食用油", "水产品", "肉类", "肉食", "禽蛋", "蔬菜",
              "水果", "干鲜果品", "酒", "饮料", "茶叶", "乳制品", "糕点", "糖果", "调味品",
              "农副产品", "土特产", "冷饮")
_GOODS = tuple((chain, re.compile("|".join(map(re.escape, words))), words)
               for chain, words in (("biomedicine", DRUG_GOODS), ("modern_food", FOOD_GOODS)))
# Food-chain inputs and equipment (seeds, feed, packaging, machinery) are not food: sold,
# they are general trade (an agricultural-supplies shop is 商贸流通, not 食品流通).
NOT_FOOD_GOODS = ("种子", "种苗", "饲料", "包装", "机械", "设备", "容器", "添加剂")
# Words that show a verbless list names goods (材料, 制品, 百货 …), not services.
GOODS_WORDS = ("材料", "产品", "制品", "用品", "器材", "设备", "配件", "百货", "五金", "交电",
               "建材", "原料", "农药", "化肥", "日杂", "针织", "纺织品", "钢材", "木材")
# Sold "goods" that make nobody a trader: real estate, utilities, a maker's own output.
NOT_GOODS = ("商品房", "房屋", "房地产", "自产产品", "本公司产品", "天然气", "燃气", "电力",
             "客运", "票务", "机票", "保险",
             "发电", "供水", "供热")
# Not a bare 药: 农药 and 炸药 shops are not pharmacies.
_MEDICAL_NAME = ("医药", "药店", "药房", "药业", "药品", "药材", "中药", "兽药", "医疗", "医院")
# Fuel stations sell convenience food and goods; they are fuel retailers (商贸流通) only.
_FUEL_NAME = ("加油站", "加气站", "油库")

Key = tuple[str, str]


@dataclass(frozen=True)
class ClauseHit:
    """Keywords of one clause that place the firm on one node."""

    clause: str
    keywords: tuple[str, ...]
    weight: float
    activity: str | None
    moved_from: str | None = None

    @property
    def strength(self) -> float:
        """The clause's scope strength, scaled by its weight."""
        return scope_strength(self.keywords) * self.weight

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, for placement evidence."""
        out: dict[str, Any] = {"clause": self.clause[:80], "keywords": list(self.keywords),
                               "weight": self.weight, "activity": self.activity}
        if self.moved_from:
            out["moved_from"] = self.moved_from
        return out


class ScopeReader:
    """Clause-aware scope placement for every chain of ``templates`` at once."""

    def __init__(self, templates: Mapping[str, ChainTemplate],
                 classes: Sequence[tuple[str, str, str | None]] = ()) -> None:
        self.matcher = ScopeMatcher(templates)
        #: GB/T class terms (names and official notes), read when classes are given.
        self.classes = ClassReader(templates, classes) if classes else None
        self._nodes = {(cid, n.id) for cid, t in templates.items() for n in t.nodes}
        self._trade = {(cid, nid) for cid, home in TRADE_HOMES.items() if cid in templates
                       for nid in _subtree(templates[cid], home)}
        self._human_drugs = {(cid, nid) for cid, home in HUMAN_DRUG_HOMES if cid in templates
                             for nid in _subtree(templates[cid], home)}
        self._equipment = {(cid, n.id) for cid, t in templates.items() for n in t.nodes
                           if cid == SERVICE_HOME[0] and n.id != SERVICE_HOME[1]}

    def read(self, scope: str | None, name: str | None = None) -> dict[Key, list[ClauseHit]]:
        """(chain_id, node_id) -> the clauses that place the firm there."""
        return self.read_with_classes(scope, name)[0]

    def read_with_classes(self, scope: str | None, name: str | None = None
                          ) -> tuple[dict[Key, list[ClauseHit]], dict[Key, ClassHit]]:
        """:meth:`read`, and the GB/T classes the making/serving items name
        (:mod:`chainatlas.chains.gbt_terms`; empty without classes)."""
        items = scope_items(scope)
        hint = name_activity(name)
        kinds = [clause_activity(item, hint) for item in items]  # read once, used twice
        classes = ({} if self.classes is None or not items
                   else self.classes.read(items, kinds))
        out = self._read_items(items, kinds, name, hint)
        if not out and name and not any(item.activities for item in items):
            # The scope names no business of its own (N/A, boilerplate, "the parent's
            # licensed scope"): read the name, as an analyst would (…卫生院, …营业厅).
            out = self._read_items([ScopeItem(name, 0, NAME_WEIGHT, frozenset(), False)],
                                   [hint], name, hint)
        return out, classes

    def _read_items(self, items: list[ScopeItem], kinds: list[str | None], name: str | None,
                    hint: str | None) -> dict[Key, list[ClauseHit]]:
        """The hits of ``items``, whose activities (:func:`clause_activity`) are ``kinds``."""
        out: dict[Key, list[ClauseHit]] = {}
        # An unnamed trade line counts only where trading is the firm's main line.
        trader = bool(items) and kinds[0] == TRADE
        # A pharmacy's 日用百货 and food, a fuel station's snacks: side lines of one trade.
        keep = ("biomedicine",) if any(w in (name or "") for w in _MEDICAL_NAME) else (
            GENERAL_TRADE[0],) if any(w in (name or "") for w in _FUEL_NAME) else None
        matched = self.matcher.match_cached([item.text for item in items])
        # The chains whose goods the name names (…齿轮有限公司): what it develops there it makes.
        named = frozenset(c for c, _ in self.matcher.match_cached([name])[0]) if name else (
            frozenset())
        foreign = any(w in (name or "") for w in FOREIGN_TRADE_WORDS)
        vet = any(w in (name or "") for w in VET_WORDS) or any(
            w in item.text for item in items[:2] for w in VET_WORDS)
        for index, (item, hits, activity) in enumerate(zip(items, matched, kinds, strict=True)):
            for key, hit in self._clause(item, hits, activity, trader, hint, index == 0,
                                         vet, named, foreign).items():
                if keep and activity == TRADE and key[0] not in keep:
                    continue
                out.setdefault(key, []).append(hit)
        return out

    def _clause(self, item: ScopeItem, matched: Mapping[Key, list[str]], activity: str | None,
                trader: bool, hint: str | None, first: bool, vet: bool,
                named: frozenset[str] = frozenset(),
                foreign: bool = False) -> dict[Key, ClauseHit]:
        hits = {key: tuple(words) for key, words in matched.items()}
        if activity == TRADE:
            hits.update(_goods_hits(item.text))
        found: dict[Key, ClauseHit] = {}

        def put(key: Key, words: tuple[str, ...], moved: str | None = None) -> None:
            if key not in self._nodes:
                return
            old = found.get(key)
            merged = tuple(dict.fromkeys((*(old.keywords if old else ()), *words)))
            found[key] = ClauseHit(item.text, merged, weight(key, words, old), activity,
                                   moved or (old.moved_from if old else None))

        def weight(key: Key, words: tuple[str, ...], old: ClauseHit | None) -> float:
            # A line named in the tail of a long list is a side line: half weight.
            # (A selling list's tail is skipped before this point.)
            tail = activity != TRADE and not in_list_head(item.text, words)
            own = item.weight * TAIL_FACTOR if tail else item.weight
            if tech and key[0] not in named and all(_is_goods(w) for w in words):
                own *= TECH_FACTOR
            if foreign and activity != TRADE and key[0] in FOREIGN_CHAINS and (
                    key[0] not in named):
                own *= FOREIGN_FACTOR
            return max(own, old.weight) if old else own

        tech = activity == SERVICE and tech_only(item.text)
        fixes = activity == SERVICE and fixes_only(item.text)
        guards = activity != TRADE and any(w in item.text for w in GUARD_WORDS)
        for key, words in hits.items():
            if guards and key == SECURITY_NODE:
                continue  # 安全技术防范 among guard services is guarding
            if activity == TRADE and not in_list_head(item.text, words):
                continue  # goods at the tail of a long list are a side line
            if activity == TRADE and all(_is_service(w) for w in words):
                put(key, words)  # a service sold (电话业务, 网络工程) is the service
            elif activity == TRADE and key not in self._trade:
                chain = (GENERAL_TRADE[0] if key[0] == "modern_food"
                         and all(any(g in w for g in NOT_FOOD_GOODS) for w in words)
                         else key[0])
                put(self._trade_home(chain, item.text), words, key[1])
            elif activity == TRADE and key[1] == TRADE_HOMES.get(key[0]):
                put(self._trade_home(key[0], item.text), words)  # the verb picks the child
            elif activity == PRODUCE and key in self._trade:
                continue
            elif vet and key in self._human_drugs:
                put(VET_HOME, words, key[1])  # a veterinary maker's 片剂 are 兽药
            elif activity == SERVICE and key in self._equipment and _repairs(item.text):
                # Repair is the firm's business only as its first line (a dealer's or a
                # haulier's workshop is part of its trade or transport), and only of the
                # equipment it names (a builder's 设备安装 or 维修林道 is not).
                if first and _repairs(item.text, words) and not _builds(item.text):
                    put(SERVICE_HOME, words, key[1])
            elif fixes and key[0] != SERVICE_HOME[0] and all(_is_goods(w) for w in words):
                continue  # installing or repairing goods (通信设备的维护) is not making them
            else:
                put(key, words)
        # The unnamed-goods trade line needs a selling verb: a verbless list read as trade
        # (实业投资，创业投资，企业管理…) sells nothing unless it names goods.
        if activity == TRADE and not found and trader and (
                TRADE in item.activities or hint == TRADE
                or any(w in item.text for w in GOODS_WORDS)) and not any(
                w in item.text for w in NOT_GOODS):
            put(self._trade_home(GENERAL_TRADE[0], item.text), ("销售",), None)
        elif (activity == SERVICE and not found and first and _repairs(item.text)
              and not _builds(item.text)):
            words = tuple(w for w in _EQUIPMENT_WORDS if _repairs(item.text, (w,)))
            if words:
                put(SERVICE_HOME, words, None)
        return found

    def _trade_home(self, chain_id: str, text: str) -> Key:
        chain, home = ((chain_id, TRADE_HOMES[chain_id]) if chain_id in TRADE_HOMES
                       else GENERAL_TRADE)
        for verb, child in TRADE_CHILDREN.get(home, {}).items():
            if verb in text and (chain, child) in self._nodes:
                return chain, child
        return chain, home


def _subtree(template: ChainTemplate, node_id: str) -> list[str]:
    if node_id not in {n.id for n in template.nodes}:
        return []
    return [node_id, *(n.id for n in template.descendants(node_id))]


@functools.lru_cache(maxsize=1 << 16)
def _goods_hits(text: str) -> dict[Key, tuple[str, ...]]:
    """Drug or food goods named in a selling clause (cached: selling items repeat; the
    result is shared, callers copy it)."""
    out: dict[Key, tuple[str, ...]] = {}
    for chain, pattern, words in _GOODS:
        if pattern.search(text):
            out[(chain, TRADE_HOMES[chain])] = tuple(w for w in words if w in text)
    return out


def _is_service(word: str) -> bool:
    """A keyword naming a service, not goods (电话业务, 通信工程, 餐饮服务)."""
    return any(w in word for w in _SERVICE_WORDS)


def _is_goods(word: str) -> bool:
    """A keyword naming goods by their head noun (通讯设备, 电子元器件), not a service or
    software line (计算机网络, 软件开发)."""
    return word.endswith(_GOODS_HEADS) and not _is_service(word)


def _builds(text: str) -> bool:
    """Construction work: a builder's 机电设备安装工程 is not equipment after-sales."""
    return any(w in text for w in _BUILDING)


def _repairs(text: str, objects: tuple[str, ...] = ()) -> bool:
    """Whether the text repairs or installs something; with ``objects``, one of them,
    named just before the verb (汽车维修, 机电设备的安装、维修)."""
    for verb in _REPAIR:
        at = text.find(verb)
        while at >= 0:
            if not objects or any(w in text[max(0, at - REPAIR_REACH - len(w)):at]
                                  for w in objects):
                return True
            at = text.find(verb, at + 1)
    return False
