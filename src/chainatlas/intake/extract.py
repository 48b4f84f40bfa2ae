"""Reading a policy text's figures as statements: indicator, value, target or result.

Each figure :func:`~chainatlas.intake.figures.find_figures` finds becomes a
:class:`Statement` with what a reviewer needs: the indicator it measures (the words of its
clause before it: "国内生产总值增长"), its qualifier (力争, 突破, 以上, 左右 …), its period
(an explicit year or range, else the year the text speaks of), the body it belongs to, and
whether it is a **target** (预期目标, 力争, 将, 要 …) or an **achieved** figure (过去一年,
已完成, 上半年 … 增长). The rules, in the order they decide:

1. cues in the figure's own clause (the words between two commas), nearest first;
2. cues in its sentence;
3. the section it is in: a text's review part (…工作回顾, 过去一年, 五年来) holds results,
   its plan part targets; a text without sections is read as a plan.

Every statement keeps its exact span (offsets into the text) and its sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from chainatlas.intake.figures import Found, find_figures
from chainatlas.intake.numbers import doubling, number_value

#: The marks a sentence ends with (items' sentences are cut where the extractor cuts).
SENTENCE_END = "。！？；\n"
_CLAUSE_END = "，、：,:（）()"
#: Words that make a figure a target (a commitment about the future). Single characters
#: are guarded: 要 is not 主要/重要/需要, 将 is not 将近.
TARGET_CUES = re.compile(
    r"预期目标|目标|力争|争取|力求|确保|计划|拟|预计|今年(?!以来)|明年|新的一年|到20\d\d年|"
    r"(?<![主重需只必纲概])要(?![求素点闻])|(?<!即)将(?!近)|努力|届时|有望")
#: Words that make a figure an achieved result.
ACHIEVED_CUES = re.compile(
    r"过去一年|去年|已经|已(?![经])|完成了|实现了|达到了|增长了|提高了|下降了|上半年|"
    r"前三季度|一季度|前两个月|五年来|十年来|一年来|创历史新高|再创|累计|同比|完成全年|"
    r"(?<![计预要将])(?<!信心)(?<!计划)完成(?!全年目标)|"
    # A span of months of the year so far (1—10月) reports results.
    r"1[-—～至](?:1[0-2]|[2-9])月|"
    # The state of things now (今年以来, 目前, 现有) and the perfective 了 (设立了, 用了)
    # report what is, not what is planned; 为了/除了 are not aspect.
    r"以来|目前|截至|截止|现有|已有|(?<![为除罢])了(?!解)")
#: Words in a heading or opening sentence that start a review part or a plan part.
_REVIEW = re.compile(r"工作回顾|过去一年|过去五年|五年来|一年来|回顾")
_PLAN = re.compile(r"总体要求|主要预期目标|工作任务|工作安排|重点工作|今年(?:政府)?工作|"
                   r"总体思路|主要目标|发展目标")
_BEFORE_QUALIFIERS = ("力争", "突破", "超过", "有望", "不低于", "不少于", "约", "近", "达到",
                      "逾", "超")
#: 约 and 近 are qualifiers, not in 签约, 合约, 节约, 附近, 最近.
_NOT_QUALIFIER = re.compile(r"[签合节预契条制]约$|[附最将接]近$")
_AFTER_QUALIFIERS = ("左右", "以上", "以内", "以下", "多", "余")
_YEAR = re.compile(r"(?<![比较])(?:到|至|在)?(20\d{2}|19\d{2})\s*(?:[—–\-~～至到]\s*(20\d{2}))?年")
_PLAN_PERIOD = {"十三五": "2016-2020", "十四五": "2021-2025", "十五五": "2026-2030"}
_LEADING = re.compile(r"^(?:其中|今年|全年|明年|去年|力争|争取|实现|确保|预计|计划|拟|"
                      r"要|将|并|和|同时|到\d{4}年|上半年|前三季度)+")
#: An indicator that is only a verb (增长, 下降) or nothing: it reads the clause before.
_BARE = re.compile(r"(?:增长|下降|降低|提高|增加|减少|实现|达到)?")
_TRAILING = re.compile(r"(?:为|达到|达|突破|超过|约|在|到|至|按|近|逾|超|了)+$")


@dataclass(frozen=True)
class Statement:
    """One figure of a text as a reviewable statement."""

    start: int
    end: int
    text: str
    indicator: str
    value: float | list[float]
    unit: str
    kind: str  # "target" or "achieved"
    qualifier: str | None
    period: str | None
    body: str | None
    sentence_start: int
    sentence_end: int

    def as_dict(self) -> dict[str, Any]:
        """The statement as a JSON-able dict."""
        return asdict(self)


def _spans(text: str, ends: str, start: int = 0, stop: int | None = None) -> Iterator[
        tuple[int, int]]:
    """(start, end) of the pieces of ``text[start:stop]`` cut after each of ``ends``."""
    stop = len(text) if stop is None else stop
    begin = start
    for i in range(start, stop):
        if text[i] in ends:
            yield begin, i + 1
            begin = i + 1
    if begin < stop:
        yield begin, stop


def _around(spans: list[tuple[int, int]], position: int) -> tuple[int, int]:
    return next(((s, e) for s, e in spans if s <= position < e), (position, position + 1))


def sections(text: str) -> list[tuple[int, str]]:
    """Where the review and plan parts of a text begin: (offset, "achieved"|"target")."""
    marks: list[tuple[int, str]] = []
    for start, end in _spans(text, "\n"):
        line = text[start:end].strip()
        if not line:
            continue
        head = line[:40]
        if _REVIEW.search(head):
            marks.append((start, "achieved"))
        elif _PLAN.search(head):
            marks.append((start, "target"))
    return marks


_PART_OF_YEAR = re.compile(r"上半年|前三季度|一季度|前两个月|1[-—～至](?:1[0-2]|[2-9])月")


_FUTURE = re.compile(r"力争|争取|计划|目标|预计|确保|拟|(?<![主重需只必纲概])要(?![求素点闻])|"
                     r"(?<!即)将(?!近)|到20\d\d年")


def default_kind(text: str) -> str:
    """How a text without review and plan sections reads: a report of results (a news
    piece on the first three quarters) when its result cues outnumber its target cues."""
    achieved = len(ACHIEVED_CUES.findall(text)) + len(re.findall(r"同比|完成|实现", text))
    target = len(_FUTURE.findall(text))
    return "achieved" if achieved > target else "target"


def _section_kind(marks: list[tuple[int, str]], position: int,
                  default: str = "target") -> str:
    kind = default
    for start, mark in marks:
        if start > position:
            break
        kind = mark
    return kind


def _last_cue(pattern: re.Pattern[str], window: str) -> int:
    """Where the last cue of ``pattern`` in ``window`` ends (-1: none)."""
    ends = [m.end() for m in pattern.finditer(window)]
    return ends[-1] if ends else -1


#: Comparisons with last year name no result: "比去年增加2000亿元" is this year's plan.
_COMPARISON = re.compile(r"[比较](?:去年|上年)(?:预算)?")
#: "完成全年计划的52%": a result measured against the plan, not a plan.
_AGAINST_PLAN = re.compile(r"(?<=完成)全年(?:计划|目标任务|目标|任务)")


def _frames(text: str, sentences: list[tuple[int, int]], paragraph: tuple[int, int],
            before: int) -> str:
    """The openings (up to the first comma) of the paragraph's sentences before
    ``before``: where a text sets a time frame that later sentences leave implied (an
    answer opening "前三季度，…" goes on reporting results). Cues inside a sentence
    ("从去年的2.1%提高到…") set no frame."""
    openings = []
    for start, end in sentences:
        if paragraph[0] <= start < before:
            head = text[start:min(end, start + 12)]
            openings.append(head.split("，")[0] if "，" in head else "")
    return "　".join(openings)


def _kind(text: str, windows: tuple[str, ...], section: str) -> str:
    """Target or result, from the last cue in the figure's clause before it, else its
    sentence before it, else the frames its paragraph set."""
    # Only words before the figure decide: "增长11.8%，全年目标为12%" is a result.
    for raw in windows:
        window = _COMPARISON.sub(lambda m: "　" * len(m.group()), raw)
        window = _AGAINST_PLAN.sub(lambda m: "　" * len(m.group()), window)
        achieved = _last_cue(ACHIEVED_CUES, window)
        target = _last_cue(TARGET_CUES, window)
        if achieved >= 0 or target >= 0:
            return "achieved" if achieved > target else "target"
    return section


_BASE_YEAR = re.compile(r"(?:比|较|在)(20\d{2})年(?:基础上)?")
_END_YEAR = re.compile(r"(?:到|至)(20\d{2})年")
_SPAN_YEARS = re.compile(r"(?:用)?([一二两三四五六七八九十]|\d{1,2})年(?:时间|内)")


def _doubling_years(text: str, sentence: tuple[int, int], figure: Found) -> Found:
    """翻一番 over the years its sentence gives (比2025年 … 到2030年; 用两年时间) is a
    yearly growth rate; with no years it stays a multiple."""
    if figure.figure.unit != "倍" or "翻" not in figure.text:
        return figure
    before = text[sentence[0]:figure.start]
    # The multiple says how many doublings: 2 倍 is 翻一番, 4 倍 翻两番.
    times = int(figure.figure.value).bit_length() - 1  # type: ignore[arg-type]
    years: int | None = None
    if (span := _SPAN_YEARS.search(before)) is not None:
        years = int(number_value(span[1]))
    elif (base := _BASE_YEAR.search(before)) is not None:
        end = _END_YEAR.search(text[sentence[0]:sentence[1]])
        last = int(end[1]) if end else None
        if last and last > int(base[1]):
            years = last - int(base[1])
    if not years:
        return figure
    return Found(figure.start, figure.end, figure.text, doubling(years, times))


def _by_year(kind: str, period: str | None, year: int | None) -> str:
    """A figure the sentence dates to a year before the text's is a result, after it a
    target ("由2007年的1.4%提高到2012年的1.97%" in a 2013 report: both results)."""
    if year is None or period is None or not period[:4].isdigit():
        return kind
    first, last = int(period[:4]), int(period[-4:])
    if last < year:
        return "achieved"
    if first > year:
        return "target"
    return kind


def _qualifier(text: str, figure: Found, kind: str) -> str | None:
    """The qualifier of a figure (the guideline's words: 多/余/逾 are 超过, 近 is 约, a
    target 控制在 X is 以内, 力争 wins over 突破 in one clause)."""
    after = text[figure.end:figure.end + 2]
    for word in _AFTER_QUALIFIERS:
        if after.startswith(word):
            return {"多": "超过", "余": "超过", "以下": "以内"}.get(word, word)
    if "多" in figure.text or "余" in figure.text:
        return "超过"
    before = text[max(0, figure.start - 8):figure.start]
    if kind == "target" and "控制在" in before[-5:]:
        return "以内"
    found = [(before.rfind(w), w) for w in _BEFORE_QUALIFIERS if w in before
             and not _NOT_QUALIFIER.search(before[:before.rfind(w) + len(w)])]
    if not found:
        return None
    if any(w == "力争" for _, w in found):
        return "力争"
    word = max(found)[1]
    return {"超": "超过", "逾": "超过", "近": "约", "达到": None}.get(word, word)


def _period(text: str, sentence: tuple[int, int], figure: Found, year: int | None,
            kind: str, section: str) -> str | None:
    window = text[sentence[0]:figure.end]
    years = list(_YEAR.finditer(window))
    if years:
        last = years[-1]
        return f"{last[1]}-{last[2]}" if last[2] else last[1]
    for name, span in _PLAN_PERIOD.items():
        if name in window:
            return span
    if year is None:
        return None
    part = _PART_OF_YEAR.search(window) or (_PART_OF_YEAR.search(text[:300])
                                            if kind == "achieved" else None)
    if part:
        return f"{part.group()} {year}"
    if kind == "achieved" and (section == "achieved" or any(
            w in window for w in ("过去一年", "去年"))):
        return str(year - 1)
    return str(year)


#: A policy's standard, not a figure of the economy: what a firm is given (给予最高500万元
#: 奖励, 每平方米每月12元的租金补贴). It is a commitment with no period of its own.
_STANDARD_BEFORE = re.compile(r"给予|补贴最高|奖励最高|补助最高|资助最高")
_STANDARD_AFTER = re.compile(r"^的?[^，。；、]{0,6}?(?:奖励|补助|补贴|资助|奖补)")


def is_standard(text: str, clause: tuple[int, int], figure: Found) -> bool:
    """Whether the figure is a reward or subsidy a policy grants."""
    return bool(_STANDARD_BEFORE.search(text[clause[0]:figure.start])
                or _STANDARD_AFTER.match(text[figure.end:clause[1]]))


def _indicator(text: str, clause: tuple[int, int], figure: Found) -> str:
    words = text[clause[0]:figure.start].strip(" 　\t，、；：")
    words = _LEADING.sub("", words)
    words = _TRAILING.sub("", words)
    return words[-24:]


#: A document's title (《…倍增行动方案》) names it; its figures state nothing.
_TITLE = re.compile(r"《[^《》\n]{1,60}》")


def extract_statements(text: str, *, year: int | None = None,
                       body: str | None = None) -> list[Statement]:
    """Every figure of ``text`` as a statement; ``year`` is the year the text speaks of
    (its 今年), ``body`` the region or body it is the text of."""
    sentences = list(_spans(text, SENTENCE_END))
    paragraphs = list(_spans(text, "\n"))
    marks = sections(text)
    default = default_kind(text) if not marks else "target"
    out: list[Statement] = []
    titles = [m.span() for m in _TITLE.finditer(text)]
    for figure in find_figures(text):
        if any(start < figure.start < end for start, end in titles):
            continue
        sentence = _around(sentences, figure.start)
        clauses = list(_spans(text, _CLAUSE_END, *sentence))
        clause = _around(clauses, figure.start)
        section = _section_kind(marks, figure.start, default)
        windows = (text[clause[0]:figure.start], text[sentence[0]:figure.start],
                   _frames(text, sentences, _around(paragraphs, figure.start), sentence[0]))
        kind = _by_year(_kind(text, windows, section),
                        _period(text, sentence, figure, None, "target", section), year)
        standard = is_standard(text, clause, figure)
        kind = "target" if standard else kind
        figure = _doubling_years(text, sentence, figure)
        indicator = _indicator(text, clause, figure)
        if _BARE.fullmatch(indicator) and out and out[-1].sentence_start == sentence[0]:
            # "…营业收入突破1300亿元，三年倍增": the figure measures the clause before.
            indicator = _TRAILING.sub("", out[-1].indicator) + indicator
        out.append(Statement(
            start=figure.start, end=figure.end, text=figure.text,
            indicator=indicator, value=figure.figure.as_json(),
            unit=figure.figure.unit, kind=kind, qualifier=_qualifier(text, figure, kind),
            period=None if standard else _period(text, sentence, figure, year, kind, section),
            body=body,
            sentence_start=sentence[0], sentence_end=sentence[1]))
    return out
