"""Read a business scope (经营范围) into weighted items with their activity.

A registry scope is the main evidence for an unlisted firm, but it is not a bag of words:
registrars list the main line first, ``主营：… 兼营：…`` separates the main business from
side lines, boilerplate (``依法须经批准的项目…``, licence notes in brackets) says nothing,
and the verb tells what the firm does with the goods it names — 生产/制造/加工 (makes them),
销售/批发/零售 (sells them) or 服务/施工/维修 (serves). :func:`scope_items` cuts a scope
into clauses (at ；;。 and line ends, and at 主营/兼营 markers), drops boilerplate, and gives
each clause:

- ``activities``: the verbs' classes that govern the clause's goods (a clause
  ``生产、销售：A、B`` makes and sells A and B; ``A、B的零售`` sells). A clause holding
  several verb phrases (``经营移动电话业务、信息服务、设备销售``) is cut at its list marks
  (、，) into parts, each governed by its own verb: a verb before a colon governs the
  verbless items after it, and so does a verb leading its item (``销售五金、电子产品``);
  a trailing verb governs its own item and the verbless ones just before it
  (``钢材、建材零售``); consecutive items under the same verbs stay one part, of
  the clause's rank and weight;
- ``weight``: 1.0 for the first substantive clause, then 1 / (1 + 0.25 × rank), halved
  for 兼营 side lines — a firm is what it lists first.

:func:`main_activity` reads the firm's activity off its main clauses, falling back to the
name (…厂 makes, …商店/门市部 sells) where the clauses carry no verb.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

PRODUCE, TRADE, SERVICE = "produce", "trade", "service"
SIDE_LINE_FACTOR = 0.5
RANK_DECAY = 0.5

_PRODUCE = ("生产", "制造", "加工", "研制", "种植", "养殖", "饲养", "屠宰", "酿造", "培育",
            "组装", "装配", "印制", "冶炼", "铸造", "锻造", "提取", "炮制", "配制", "制作",
            "烘焙", "生产经营", "来料加工", "制药", "研发", "产销")
_TRADE = ("销售", "批发", "零售", "经销", "代销", "购销", "收购", "进出口", "贸易", "门市",
          "供应", "专卖", "代购", "零兑", "批零", "供销")
_SERVICE = ("服务", "施工", "安装", "维修", "修理", "咨询", "设计", "租赁", "运输", "货运",
            "仓储", "配送", "装卸", "搬运", "餐饮", "住宿", "检测", "检验", "培训", "诊疗",
            "医疗", "治疗", "开发", "集成", "代理", "快递", "物流", "经纪", "中介", "美容",
            "保洁", "工程", "承包", "承揽", "维护", "改造")
_VERB_CLASS = {w: PRODUCE for w in _PRODUCE} | {w: TRADE for w in _TRADE} | {
    w: SERVICE for w in _SERVICE}
#: Every verb word and the activity it names (the batch pipeline joins against it).
VERB_CLASSES: dict[str, str] = dict(_VERB_CLASS)
_VERBS = re.compile("|".join(sorted(map(re.escape, _VERB_CLASS), key=len, reverse=True)))
# Words that contain a verb but are not that activity (技术开发 is boilerplate, 房地产开发
# is construction, 代理记账 is a service; a 生产资料 trader sells).
BOILER_VERB_WORDS = ("生产资料", "生产所需", "生活资料", "房地产开发", "技术开发", "技术服务",
                     "技术咨询", "技术转让", "技术推广", "信息咨询", "企业管理咨询", "商务咨询",
                     "投资咨询", "自营和代理", "代理各类商品", "进出口业务", "进出口权")
# Goods holding a verb that is not the firm's activity (医疗器械 are goods).
NOT_VERB_WORDS = ("医疗器械", "医疗用品", "医疗设备", "医疗仪器", "医疗卫生用品", "自产")
# The branch selling 总公司生产的 products sells: "<maker>(所|自己)生产(的)" is no making.
OWN_MAKERS = ("总公司", "本公司", "本企业", "隶属企业", "企业", "本厂", "公司", "厂家")
# A verb word that heads a noun names goods (检测试纸, 集成电路, 治疗仪).
GOODS_VERBS = ("检测", "检验", "治疗", "诊疗", "医疗", "服务", "集成", "运输", "加工", "维修",
               "安装", "印制", "制作", "培训", "设计", "仓储", "物流", "餐饮", "美容", "装卸",
               "配送")
GOODS_HEADS = ("设备", "器械", "仪器", "仪", "试纸", "试剂", "室", "器", "机", "电路", "中心",
               "工具", "用品", "材料", "板", "车", "包装")


def false_verb_pattern(look_ahead: bool = True) -> str:
    """The words whose verbs are no activity, as one regex alternation. With
    ``look_ahead`` a goods verb is matched before its head noun (检测 of 检测试纸) and the
    head is left; without (for RE2, which has no look-around) the head is matched too —
    no head holds a verb, so the verbs left are the same."""
    heads = "|".join(GOODS_HEADS)
    goods = f"(?:{'|'.join(GOODS_VERBS)})" + (f"(?={heads})" if look_ahead else f"(?:{heads})")
    return "|".join([*BOILER_VERB_WORDS, *NOT_VERB_WORDS,
                     f"(?:{'|'.join(OWN_MAKERS)})(?:所|自己)?生产的?", goods])


_BOILER_VERBS = "|".join(BOILER_VERB_WORDS)
_BOILER = re.compile(_BOILER_VERBS)
_FALSE_VERBS = re.compile(false_verb_pattern())
# Licence and permission notes: never evidence of a business line.
_BOILERPLATE = re.compile(
    r"[（(【][^（）()【】]*(?:依法须经批准|许可|有效期|审批|批准|不含|不包含|不包括|除外|凭|涉及|"
    r"专项规定|资质证|限分支|未经|须经)[^（）()【】]*[）)】]"
    r"|依法须经批准的项目[^；;。]*|(?:以上|上述)经营范围[^；;。]*|"
    r"国家法律[^；;。]*(?:禁止|限制)[^；;。]*|法律、?法规[^；;。]*(?:禁止|限制)[^；;。]*|"
    r"(?:法律|法规|国务院决定)[^；;。]*(?:许可|审批|自主选择)[^；;。]*|"
    r"(?:一般|许可)(?:经营)?项目[:：]|"
    # The foreign-trade rights of the 1990s (经营本企业自产产品的出口业务 …, 承办中外合资 …).
    r"经营本企业[^；;。]*(?:进出口|进口|出口)业务[^；;。]*|承办[^；;。]*(?:合资|合作|三来一补)[^；;。]*")
#: The boilerplate pattern as text, for engines that run it themselves (RE2 and Java
#: regexes read it the same: it has no look-around).
BOILERPLATE_PATTERN = _BOILERPLATE.pattern
# Every boilerplate match holds one of these (a cheap test before the full pattern).
_BOILERPLATE_HINT = re.compile(r"批准|许可|有效期|审批|不含|不包|除外|凭|涉及|专项|资质|限分支|"
                               r"未经|须经|经营范围|法律|项目[:：]|本企业|承办")
#: The hint as text: a scope without it holds no boilerplate (a cheap test first).
BOILERPLATE_HINT_PATTERN = _BOILERPLATE_HINT.pattern
_CLAUSE_SPLIT = re.compile(r"[；;。\n\r]+|(?=兼营[:：])|(?=主营[:：])")
_PHRASE_SPLIT = re.compile(r"[，,、]+")
_LIST_SPLIT = re.compile(r"[、，,]+")
# What may stand beside verbs in an item that is only verbs (销售及, 生产和, 加工：).
_BARE_LEFTOVER = re.compile(r"[\s及和与并兼、:：的*＊]+")
LIST_TRADE_ITEMS = 4
# A verb that ends in a colon (销售：A，B) governs the phrases after it.
_GOVERNS_AFTER = re.compile(r"[:：]\s*\S")
_MARKER = re.compile(r"^\s*(主营|兼营)\s*[:：]\s*")
#: An item shorter than this, once boilerplate verbs are gone, is no business line.
MIN_ITEM_CHARS = 3
_EMPTY_CHARS = re.compile(r"[\s、，,.·:：*＊\-—]+")
_EMPTY = re.compile(r"^[\s、，,.·:：*＊\-—]*$")
_MAKER_NAME = re.compile(r"(厂|制药|药业|制品|食品|机械|电子|电器|工业|酒业|饮品|"
                         r"乳业|器械|仪器|设备)(有限责任公司|有限公司|股份有限公司|公司)?$")
_TRADER_NAME = re.compile(r"(商店|商行|门市部|经营部|商场|超市|批发部|贸易|商贸|供销|经销|"
                          r"销售|百货|药店|药房|零售|购物|物资|工贸|科贸|经贸)")

#: The name patterns as text, for engines that run them themselves (no look-around).
MAKER_NAME_PATTERN, TRADER_NAME_PATTERN = _MAKER_NAME.pattern, _TRADER_NAME.pattern


@dataclass(frozen=True)
class ScopeItem:
    """One clause of a business scope, without boilerplate."""

    text: str
    rank: int
    weight: float
    activities: frozenset[str]
    side: bool


def strip_boilerplate(scope: str) -> str:
    """The scope without licence notes and catalogue boilerplate."""
    if not _BOILERPLATE_HINT.search(scope):
        return scope  # most clauses hold none: skip the costly pattern
    previous = None
    text = scope
    while text != previous:  # brackets can nest: strip from the inside out
        previous, text = text, _BOILERPLATE.sub("", text)
    return text


def activities(text: str) -> frozenset[str]:
    """The activity classes the verbs of a clause name (empty when it has none)."""
    return _verbs(_FALSE_VERBS.sub("", text))


def _verbs(cleaned: str) -> frozenset[str]:
    """Activity classes of a clause already stripped of false verbs."""
    return frozenset(_VERB_CLASS[m.group(0)] for m in _VERBS.finditer(cleaned))


def scope_items(scope: str | None) -> list[ScopeItem]:
    """The substantive clauses of a scope in order, weighted (see the module docstring)."""
    if not scope:
        return []
    items: list[ScopeItem] = []
    side = False
    for raw in _CLAUSE_SPLIT.split(strip_boilerplate(scope)):
        marker = _MARKER.match(raw)
        if marker:
            side = marker.group(1) == "兼营"
            raw = raw[marker.end():]
        for part, verbs in clause_parts(raw.strip(" 、，,.·:：")):
            rank = len(items)
            weight = (1.0 / (1.0 + RANK_DECAY * rank)) * (SIDE_LINE_FACTOR if side else 1.0)
            items.append(ScopeItem(part, rank, round(weight, 4), verbs, side))
    return items


@functools.lru_cache(maxsize=1 << 18)
def clause_parts(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The substantive parts of one clause with their verbs, boilerplate dropped.

    Cached: registrations repeat their clauses (over half of the registry's clauses occur
    more than once), and a clause's parts depend on its text alone.
    """
    if _EMPTY.match(_FALSE_VERBS.sub("", text)):
        return ()  # nothing, or only catalogue boilerplate (技术开发、技术咨询)
    # What a boilerplate verb leaves (网络技术开发 -> 网络) says nothing.
    return tuple((part, verbs) for part, verbs in governed_parts(text)
                 if len(_EMPTY_CHARS.sub("", _BOILER.sub("", part))) >= MIN_ITEM_CHARS)


def governed_parts(clause: str) -> list[tuple[str, frozenset[str]]]:
    """The clause cut into runs of list items under the same verbs (module docstring)."""
    phrases = _join_bare_verbs([p for p in _PHRASE_SPLIT.split(clause) if p.strip()])
    verbs = [_verbs(_FALSE_VERBS.sub("", p)) for p in phrases]
    if len(phrases) < 2 or not any(verbs):
        return [(clause, frozenset().union(*verbs))]
    governed: list[frozenset[str]] = []
    carry: frozenset[str] = frozenset()
    pending: list[int] = []
    for i, (phrase, found) in enumerate(zip(phrases, verbs, strict=True)):
        if not found:
            governed.append(carry)
            if not carry:
                pending.append(i)
            continue
        governed.append(found)
        # A verb before a colon or leading its item (销售：A、B; 销售A、B) governs what
        # follows; a trailing one (A、B的零售) what came before.
        colon = _GOVERNS_AFTER.search(phrase) or _VERBS.match(_FALSE_VERBS.sub("", phrase))
        if not colon:
            for j in pending:  # 钢材、建材零售: the verb governs the items before it
                governed[j] = found
        pending = []
        carry = found if colon else frozenset()
    parts: list[tuple[str, frozenset[str]]] = []
    for phrase, found in zip(phrases, governed, strict=True):
        if parts and parts[-1][1] == found:
            parts[-1] = (parts[-1][0] + "、" + phrase, found)
        else:
            parts.append((phrase, found))
    return parts


def _join_bare_verbs(phrases: list[str]) -> list[str]:
    """Join an item that is only verbs to its neighbour: ``加工、销售：A`` governs A by both
    verbs (joined forward), ``A的生产、销售`` too (joined back)."""
    out: list[str] = []
    for i, phrase in enumerate(phrases):
        # Catalogue words do not make an item (…的开发、生产、销售及技术咨询 ends in verbs).
        bare = not _BARE_LEFTOVER.sub("", _VERBS.sub("", _BOILER.sub("", phrase)))
        if bare and i + 1 < len(phrases) and _VERBS.match(phrases[i + 1].lstrip()):
            phrases[i + 1] = phrase + "、" + phrases[i + 1]
        elif bare and out and _verbs(_FALSE_VERBS.sub("", out[-1])):
            out[-1] = out[-1] + "、" + phrase
        else:
            out.append(phrase)
    return out


#: Verbs of technology work: developing, designing, advising, training (no making,
#: selling, installing or repairing).
TECH_VERBS = frozenset({"开发", "设计", "咨询", "服务", "培训"})


def tech_only(text: str) -> bool:
    """Whether a clause's verbs are all technology work (…设备的开发, 电梯的咨询, …的技术
    开发、技术转让、咨询服务): the field of the firm's know-how, not goods it makes."""
    found = {m.group(0) for m in _VERBS.finditer(_FALSE_VERBS.sub("", text))}
    return bool(found) and found <= TECH_VERBS


#: Verbs of work on goods others made: installing, repairing, maintaining.
FIX_VERBS = frozenset({"安装", "维修", "修理", "维护"})


def fixes_only(text: str) -> bool:
    """Whether a clause only installs, repairs or maintains (通信设备的维护, …的维修服务)."""
    found = {m.group(0) for m in _VERBS.finditer(_FALSE_VERBS.sub("", text))}
    return bool(found & FIX_VERBS) and found <= FIX_VERBS | TECH_VERBS


def clause_activity(item: ScopeItem, name_hint: str | None = None) -> str | None:
    """What a clause does: produce when it makes (a maker that also sells its products is
    a maker), else trade, else service; a verbless clause takes the name's hint, and
    without one a long verbless goods list (``LIST_TRADE_ITEMS`` or more) is a trade list:
    makers name a few products, the 1990s' 物资/实业 firms listed what they dealt in."""
    for activity in (PRODUCE, TRADE, SERVICE):
        if activity in item.activities:
            return activity
    if name_hint is None and len(_LIST_SPLIT.split(item.text)) >= LIST_TRADE_ITEMS:
        return TRADE
    return name_hint


def main_activity(items: Sequence[ScopeItem], name: str | None = None) -> str:
    """produce / trade / service / mixed / unknown, from the main (non-side) clauses."""
    hint = name_activity(name)
    found = {a for item in items if not item.side
             if (a := clause_activity(item, hint)) is not None}
    if not found:
        return hint or "unknown"
    return next(iter(found)) if len(found) == 1 else "mixed"


def name_activity(name: str | None) -> str | None:
    """The activity a firm's name shows (trade for …商店/贸易, produce for …厂/制药)."""
    if not name:
        return None
    # The word nearest the end names the firm (…工贸天一机械配件厂 is a factory).
    trader = [m.end() for m in _TRADER_NAME.finditer(name)]
    maker = _MAKER_NAME.search(name)
    if maker and (not trader or maker.end() > trader[-1]):
        return PRODUCE
    return TRADE if trader else None


#: A list's head: its first half, and never fewer than this many items.
HEAD_ITEMS = 3
#: Weight factor of a line named in the tail (second half) of a long making/serving list.
TAIL_FACTOR = 0.5
_ITEMS = re.compile(r"[、，,；;]+")


@functools.lru_cache(maxsize=1 << 16)
def list_head(text: str) -> str:
    """The first half of an item list, by items (at least the first HEAD_ITEMS)."""
    items = _ITEMS.split(text)
    return "、".join(items[: max((len(items) + 1) // 2, HEAD_ITEMS)])


def in_list_head(text: str, words: Sequence[str]) -> bool:
    """Whether one of ``words`` is named in the head of the list ``text``: a line named
    only in the tail of a long list is a side line."""
    head = list_head(text)
    return any(w in head for w in words)
