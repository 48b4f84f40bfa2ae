"""Tests of the chain-template loader/validator and of the five built-in chains."""

from __future__ import annotations

import csv
import json
import os
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from chainatlas.chains.templates import (
    BUILTIN_DIR,
    STAGES,
    ChainTemplate,
    load_template,
    load_templates,
    template_to_dict,
    validate_codes,
)
from chainatlas.errors import InputError, NotFoundError, Problem

BUILTIN_IDS = {"biomedicine", "electronics", "advanced_equipment", "modern_food",
               "commerce_logistics"}

# ---------------------------------------------------------------------------- helpers

GOOD = """\
id: {id}
name_zh: 测试链
name_en: Test chain
nodes:
  - id: up
    name_zh: 上游原料
    name_en: Upstream
    stage: 上游
  - id: up_a
    name_zh: 原料甲
    name_en: Material A
    stage: 上游
    parent: up
    keywords: [原料甲, 甲材料]
  - id: mid
    name_zh: 中游制造
    name_en: Midstream
    stage: 中游
    keywords: [制造乙]
    exclude: [农用]
    shenwan: ["370101"]
    gbt: ["2710"]
  - id: down
    name_zh: 下游应用
    name_en: Downstream
    stage: 下游
    gbt: ["5151"]
edges:
  - {{from: up_a, to: mid, note_zh: 供应}}
  - {{from: mid, to: down}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    """Write a YAML fixture (dedented) and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    """Load a template that must fail; return its problems."""
    with pytest.raises(InputError) as info:
        load_template(path)
    problems = info.value.problems
    assert problems, "InputError must carry problems"
    assert all(p.file == str(path) for p in problems)
    return problems


def find(problems: list[Problem], field: str | None, *words: str) -> Problem:
    """The one problem on ``field`` whose reason contains every word."""
    hits = [p for p in problems
            if p.field == field and all(w in p.reason for w in words)]
    assert hits, f"no problem on {field!r} with {words}: {[str(p) for p in problems]}"
    return hits[0]


def node_block(node_id: str, extra: str = "", stage: str = "中游",
               keywords: str = "[关键词]") -> str:
    """YAML text of one node (4-space indented list item body)."""
    text = (f"  - id: {node_id}\n    name_zh: 节点{node_id}\n    name_en: Node {node_id}\n"
            f"    stage: {stage}\n")
    if keywords:
        text += f"    keywords: {keywords}\n"
    return text + extra


def chain(chain_id: str, nodes: str, edges: str = "") -> str:
    """YAML text of a chain with the given node and edge blocks."""
    text = f"id: {chain_id}\nname_zh: 链\nname_en: Chain\nnodes:\n{nodes}"
    if edges:
        text += f"edges:\n{edges}"
    return text


# ---------------------------------------------------------------------------- loader


def test_good_template_loads_with_tree_and_helpers(tmp_path: Path) -> None:
    path = write(tmp_path, "demo.yaml", GOOD.format(id="demo"))
    t = load_template(path)
    assert isinstance(t, ChainTemplate)
    assert (t.id, t.name_zh, t.name_en, t.path) == ("demo", "测试链", "Test chain", str(path))
    assert t.description_zh is None
    assert [n.id for n in t.nodes] == ["up", "up_a", "mid", "down"]
    assert [n.id for n in t.roots()] == ["up", "mid", "down"]
    assert [n.id for n in t.leaves()] == ["up_a", "mid", "down"]
    assert [n.id for n in t.children("up")] == ["up_a"]
    assert [n.id for n in t.ancestors("up_a")] == ["up"]
    assert [n.id for n in t.descendants("up")] == ["up_a"]
    assert t.node("up_a").level == 2 and t.node("up").level == 1
    assert t.node("up").children == ("up_a",)
    assert t.node("mid").keywords == ("制造乙",)
    assert t.node("mid").exclude == ("农用",)
    assert t.node("mid").shenwan == ("370101",)
    assert t.node("mid").gbt == ("2710",)
    assert t.node("up_a").line == 9
    assert [(e.source, e.target, e.note_zh) for e in t.edges] == [
        ("up_a", "mid", "供应"), ("mid", "down", None)]
    assert [n.id for n in t.nodes_at_stage("上游")] == ["up", "up_a"]
    with pytest.raises(NotFoundError, match="nope"):
        t.node("nope")


def test_template_to_dict_is_json_able(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, "demo.yaml", GOOD.format(id="demo")))
    d = template_to_dict(t)
    again = json.loads(json.dumps(d, ensure_ascii=False))
    assert again["id"] == "demo"
    assert again["stages"] == list(STAGES)
    assert again["nodes"][1] == {
        "id": "up_a", "name_zh": "原料甲", "name_en": "Material A", "stage": "上游",
        "kind": "production", "parent": "up", "level": 2, "children": [],
        "keywords": ["原料甲", "甲材料"],
        "scope_keywords": [], "exclude": [], "shenwan": [], "gbt": []}
    assert again["edges"][0] == {"from": "up_a", "to": "mid", "note_zh": "供应"}


def test_validate_codes_reports_unknown_codes(tmp_path: Path) -> None:
    t = load_template(write(tmp_path, "demo.yaml", GOOD.format(id="demo")))
    assert validate_codes(t, {"370101"}, {"2710", "5151"}) == []
    problems = validate_codes(t, set(), {"2710"})
    assert {(p.field, p.file) for p in problems} == {
        ("nodes[mid].shenwan", str(t.path)), ("nodes[down].gbt", str(t.path))}
    assert any("'370101'" in p.reason and "Shenwan" in p.reason for p in problems)
    assert any("'5151'" in p.reason and "GB/T" in p.reason for p in problems)


# ---------------------------------------------------------------------------- broken files


def test_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "id: bad\nnodes: [\n  - {id: x\n")
    (p,) = problems_of(path)
    assert "not valid YAML" in p.reason
    assert p.row is not None
    assert str(path) in str(p)


@pytest.mark.parametrize("text, what", [("- a\n- b\n", "a list"), ("", "empty"),
                                        ("just text\n", "a string")])
def test_not_a_mapping(tmp_path: Path, text: str, what: str) -> None:
    (p,) = problems_of(write(tmp_path, "bad.yaml", text))
    assert "must be a YAML mapping" in p.reason and what in p.reason


def test_missing_and_wrong_typed_required_fields(tmp_path: Path) -> None:
    text = ("id: bad\nname_en: 5\nunknown_top: 1\nnodes:\n"
            "  - id: a\n    name_zh: 甲\n    stage: 中游\n    keywords: 关键词\n"
            "  - id: b\n    name_zh: [列表]\n    name_en: B\n    stage: 中游\n"
            "    keywords: {a: 1}\n"
            "  - just a string\n")
    problems = problems_of(write(tmp_path, "bad.yaml", text))
    find(problems, "name_zh", "required field 'name_zh' is missing")
    find(problems, "name_en", "must be a text string", "number")
    find(problems, "unknown_top", "unknown field")
    find(problems, "nodes[a].name_en", "required field 'name_en' is missing")
    find(problems, "nodes[b].name_zh", "must be a text string", "list")
    find(problems, "nodes[b].keywords", "must be a list of strings", "mapping")
    find(problems, "nodes[2]", "must be a mapping")


def test_missing_nodes(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, "bad.yaml", "id: bad\nname_zh: 链\nname_en: C\n"))
    find(problems, "nodes", "required field 'nodes' is missing")
    problems = problems_of(write(tmp_path, "bad.yaml",
                                 "id: bad\nname_zh: 链\nname_en: C\nnodes: []\n"))
    find(problems, "nodes", "must not be empty")


def test_bad_id_slugs(tmp_path: Path) -> None:
    path = write(tmp_path, "Bad Chain.yaml",
                 chain("Bad Chain", node_block("Node-1") + node_block("节点")))
    problems = problems_of(path)
    find(problems, "id", "'Bad Chain'", "not a valid slug")
    find(problems, "nodes[Node-1].id", "'Node-1'", "not a valid slug")
    find(problems, "nodes[节点].id", "not a valid slug")


def test_file_name_must_match_id(tmp_path: Path) -> None:
    path = write(tmp_path, "other.yaml", chain("mychain", node_block("a")))
    (p,) = problems_of(path)
    assert p.field == "id" and "'other.yaml'" in p.reason and "'mychain'" in p.reason
    assert p.row == 1


def test_duplicate_node_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", chain("dup", node_block("a") + node_block("a")))
    p = find(problems_of(path), "nodes[a].id", "duplicate node id 'a'")
    assert "nodes[0]" in p.reason


def test_unknown_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "orphan.yaml",
                 chain("orphan", node_block("a", "    parent: ghost\n")))
    p = find(problems_of(path), "nodes[a].parent", "unknown parent 'ghost'")
    assert p.row == 10
    assert "orphan.yaml, row 10, field 'nodes[a].parent'" in str(p)


def test_parent_cycles(tmp_path: Path) -> None:
    nodes = (node_block("a", "    parent: c\n") + node_block("b", "    parent: a\n")
             + node_block("c", "    parent: b\n") + node_block("s", "    parent: s\n"))
    problems = problems_of(write(tmp_path, "cyc.yaml", chain("cyc", nodes)))
    cycles = [p for p in problems if "parent cycle" in p.reason]
    assert len(cycles) == 2  # the a-b-c loop once, the self-parent once
    find(problems, "nodes[s].parent", "own parent", "cycle")
    loop = next(p for p in cycles if "->" in p.reason)
    assert all(n in loop.reason for n in ("a", "b", "c"))


def test_depth_over_three_levels(tmp_path: Path) -> None:
    nodes = (node_block("l1", keywords="") + node_block("l2", "    parent: l1\n", keywords="")
             + node_block("l3", "    parent: l2\n", keywords="")
             + node_block("l4", "    parent: l3\n"))
    p = find(problems_of(write(tmp_path, "deep.yaml", chain("deep", nodes))),
             "nodes[l4].parent", "level 4", "at most 3 levels")
    assert "l1 > l2 > l3 > l4" in p.reason


def test_bad_stage(tmp_path: Path) -> None:
    path = write(tmp_path, "stage.yaml", chain("stage", node_block("a", stage="中间")))
    find(problems_of(path), "nodes[a].stage", "'中间'", "上游, 中游, 下游")


def test_leaf_without_signal(tmp_path: Path) -> None:
    nodes = node_block("parent", keywords="") + node_block("leaf", "    parent: parent\n",
                                                             keywords="")
    problems = problems_of(write(tmp_path, "nosig.yaml", chain("nosig", nodes)))
    p = find(problems, "nodes[leaf]", "leaf node has no classification signal")
    assert p.row == 9
    assert not [q for q in problems if q.field == "nodes[parent]"], "parents need no signal"


def test_keyword_also_in_exclude(tmp_path: Path) -> None:
    path = write(tmp_path, "excl.yaml",
                 chain("excl", node_block("a", "    exclude: [疫苗, 兽用]\n",
                                          keywords="[疫苗, 单抗]")))
    find(problems_of(path), "nodes[a].keywords", "'疫苗'", "also listed in exclude")


def test_bad_codes(tmp_path: Path) -> None:
    extra = '    shenwan: ["37010", "abcdef"]\n    gbt: ["271", 2710]\n'
    problems = problems_of(write(tmp_path, "codes.yaml", chain("codes", node_block("a", extra))))
    find(problems, "nodes[a].shenwan", "'37010'", "6 digits")
    find(problems, "nodes[a].shenwan", "'abcdef'", "6 digits")
    find(problems, "nodes[a].gbt", "'271'", "4-digit")
    find(problems, "nodes[a].gbt", "2710", "quoted string")


def test_duplicate_keyword_empty_item_and_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "kw.yaml",
                 chain("kw", node_block("a", "    exclude: 农药\n",
                                        keywords='[甲, 甲, " ", 原料药，中间体]')))
    problems = problems_of(path)
    find(problems, "nodes[a].keywords", "'甲' is listed twice")
    find(problems, "nodes[a].keywords", "item 2 is empty")
    find(problems, "nodes[a].keywords", "item 3", "contains a separator")
    find(problems, "nodes[a].exclude", "must be a list of strings", "a string")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    extra = "    keywords: [乙]\n"
    path = write(tmp_path, "twice.yaml", chain("twice", node_block("a", extra)))
    p = find(problems_of(path), "keywords", "appears twice")
    assert p.row == 10


def test_unknown_node_field(tmp_path: Path) -> None:
    path = write(tmp_path, "typo.yaml", chain("typo", node_block("a", "    keyword: [甲]\n")))
    find(problems_of(path), "nodes[a].keyword", "unknown field 'keyword'")


def test_edge_problems(tmp_path: Path) -> None:
    nodes = node_block("a") + node_block("b")
    edges = ("  - {from: a, to: ghost}\n"
             "  - {from: phantom, to: b}\n"
             "  - {from: a, to: a}\n"
             "  - {from: a, to: b}\n"
             "  - {from: a, to: b, note_zh: 重复}\n"
             "  - {from: a}\n"
             "  - not an edge\n"
             "  - {from: a, to: b, weight: 3}\n")
    problems = problems_of(write(tmp_path, "edges.yaml", chain("edges", nodes, edges)))
    find(problems, "edges[0].to", "unknown node 'ghost'")
    find(problems, "edges[1].from", "unknown node 'phantom'")
    find(problems, "edges[2]", "self-loop", "'a'")
    p = find(problems, "edges[4]", "duplicate edge a -> b", "edges[3]")
    assert p.row is not None
    find(problems, "edges[5].to", "required field 'to' is missing")
    find(problems, "edges[6]", "must be a mapping")
    find(problems, "edges[7].weight", "unknown field 'weight'")
    assert not [q for q in problems if q.field == "edges[3]"], "the first a->b is fine"


def test_every_problem_reported_together(tmp_path: Path) -> None:
    nodes = (node_block("a", "    parent: ghost\n", stage="上")
             + node_block("a")
             + node_block("b", '    exclude: [乙]\n    shenwan: ["1"]\n', keywords="[乙]")
             + node_block("c", keywords=""))
    edges = "  - {from: a, to: zzz}\n  - {from: b, to: b}\n"
    path = write(tmp_path, "wrongname.yaml", chain("many", nodes, edges))
    with pytest.raises(InputError) as info:
        load_template(path)
    problems = info.value.problems
    reasons = " | ".join(str(p) for p in problems)
    for expected in ("does not match the chain id", "must be one of", "unknown parent",
                     "duplicate node id", "also listed in exclude", "must be 6 digits",
                     "no classification signal", "unknown node 'zzz'", "self-loop"):
        assert expected in reasons, expected
    assert len(problems) >= 9
    assert f"and {len(problems) - 1} more problems" in str(info.value)
    assert all(str(path) in str(p) for p in problems)


# ---------------------------------------------------------------------------- load_templates


def test_load_templates_builtins_then_overrides(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    write(user, "biomedicine.yaml", GOOD.format(id="biomedicine"))
    write(user, "zz_new.yaml", GOOD.format(id="zz_new"))
    (user / "notes.txt").write_text("ignored", encoding="utf-8")
    later = tmp_path / "later"
    later.mkdir()
    write(later, "zz_new.yaml", GOOD.format(id="zz_new").replace("测试链", "后加载的链"))

    templates = load_templates([user, later])
    assert list(templates) == sorted(templates)
    assert set(templates) == BUILTIN_IDS | {"zz_new"}
    bm = templates["biomedicine"]
    assert bm.path == str(user / "biomedicine.yaml")
    assert len(bm.nodes) == 4  # the user's file replaced the built-in chain
    assert templates["zz_new"].name_zh == "后加载的链"
    assert templates["electronics"].path.startswith(str(BUILTIN_DIR))


def test_load_templates_collects_problems_from_all_files(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    write(user, "one.yaml", chain("one", node_block("a", stage="x")))
    write(user, "two.yaml", "id: [\n")
    with pytest.raises(InputError) as info:
        load_templates([user, tmp_path / "missing"])
    files = {p.file for p in info.value.problems}
    assert files == {str(user / "one.yaml"), str(user / "two.yaml"), str(tmp_path / "missing")}
    assert any("does not exist" in p.reason for p in info.value.problems)


# ---------------------------------------------------------------------------- built-ins


@pytest.fixture(scope="module")
def builtins() -> dict[str, ChainTemplate]:
    return load_templates()


def test_all_builtins_load(builtins: dict[str, ChainTemplate]) -> None:
    assert set(builtins) == BUILTIN_IDS
    for t in builtins.values():
        assert Path(t.path).parent == BUILTIN_DIR
        assert {n.stage for n in t.nodes} == set(STAGES), t.id
        assert t.description_zh


@pytest.mark.parametrize("chain_id, min_leaves", [
    ("biomedicine", 30), ("electronics", 30), ("advanced_equipment", 15),
    ("modern_food", 12), ("commerce_logistics", 12)])
def test_builtin_sizes(builtins: dict[str, ChainTemplate], chain_id: str,
                       min_leaves: int) -> None:
    t = builtins[chain_id]
    leaves = t.leaves()
    assert len(leaves) >= min_leaves
    assert len(t.edges) >= 1.5 * len(leaves)
    linked = {e.source for e in t.edges} | {e.target for e in t.edges}
    assert [n.id for n in leaves if n.id not in linked] == [], "every leaf is on an edge"
    order = {s: i for i, s in enumerate(STAGES)}
    backwards = [(e.source, e.target) for e in t.edges
                 if order[t.node(e.source).stage] > order[t.node(e.target).stage]]
    assert backwards == [], "edges run upstream -> midstream -> downstream"


def names(t: ChainTemplate) -> list[str]:
    return [n.name_zh for n in t.nodes]


BIOMEDICINE_TOPICS = [
    ("中药材",), ("饮片",), ("中成药",), ("原料药",), ("中间体",), ("化学制剂", "制剂"),
    ("辅料",), ("试剂",), ("培养基",), ("制药机械", "制药装备"), ("疫苗",), ("抗体",),
    ("血液制品",), ("细胞",), ("基因",), ("体外诊断", "诊断"), ("测序",),
    ("CRO",), ("CDMO",), ("医疗器械",), ("耗材",), ("流通",), ("零售", "药店"),
    ("医疗服务",), ("医院",)]

ELECTRONICS_TOPICS = [
    ("集成电路设计", "IC设计"), ("晶圆制造", "制造"), ("封装测试",), ("半导体材料",),
    ("半导体设备",), ("PCB", "印制电路板"), ("被动元件",), ("显示",), ("光通信",),
    ("网络设备",), ("终端",), ("汽车电子",), ("软件",), ("卫星",), ("导航",), ("遥感",),
    ("机器人",), ("消费电子",), ("传感器",), ("光纤",)]

OTHER_TOPICS = {
    "advanced_equipment": [("轴承",), ("齿轮",), ("液压",), ("数控机床",), ("工程机械",),
                           ("轨道交通",), ("新能源",), ("汽车零部件",), ("电力",),
                           ("环保",), ("农业机械",), ("专用",)],
    "modern_food": [("种",), ("饲料",), ("养殖",), ("屠宰",), ("粮油",), ("乳制品",),
                    ("肉制品",), ("饮料",), ("白酒",), ("啤酒",), ("调味品",), ("休闲食品",),
                    ("烘焙",), ("保健食品",), ("机械",), ("包装",), ("冷链",), ("零售",)],
    "commerce_logistics": [("物流装备",), ("仓储",), ("快递",), ("公路",), ("铁路",),
                           ("航空",), ("水路",), ("港口",), ("供应链",), ("冷链",),
                           ("批发",), ("超市",), ("电子商务",), ("跨境",)],
}


@pytest.mark.parametrize("chain_id, topics", [
    ("biomedicine", BIOMEDICINE_TOPICS), ("electronics", ELECTRONICS_TOPICS),
    *OTHER_TOPICS.items()])
def test_builtin_topics_covered(builtins: dict[str, ChainTemplate], chain_id: str,
                                topics: list[tuple[str, ...]]) -> None:
    node_names = names(builtins[chain_id])
    missing = [alts for alts in topics
               if not any(a in name for a in alts for name in node_names)]
    assert missing == []


def test_builtin_keyword_hygiene(builtins: dict[str, ChainTemplate]) -> None:
    generic = {"系统", "材料", "设备", "服务", "产品", "业务", "销售", "制造", "技术", "贸易",
               "工程", "软件", "计算机", "批发", "零售", "手机游戏"}
    all_ids: Counter[str] = Counter()
    for t in builtins.values():
        seen: dict[str, str] = {}
        for n in t.nodes:
            all_ids[n.id] += 1
            assert n.id.startswith(t.id[:1]), n.id  # per-chain prefix keeps ids distinct
            assert not generic & set(n.keywords), (t.id, n.id)
            scope_only = set(n.scope_keywords) - set(n.keywords)
            assert not generic & scope_only, (t.id, n.id)
            for kw in (*n.keywords, *scope_only):
                assert len(kw) >= 2, (n.id, kw)
                assert not (kw.isascii() and len(kw) < 3), (n.id, kw)
                assert kw not in seen, f"{kw!r} on both {seen[kw]} and {n.id} in {t.id}"
                seen[kw] = n.id
        for leaf in t.leaves():
            # Up to 20: a few flagship products (片仔癀, 通心络) name a node best.
            assert 4 <= len(leaf.keywords) <= 20 or (leaf.shenwan and leaf.gbt), leaf.id
            assert leaf.keywords, leaf.id
    assert [i for i, c in all_ids.items() if c > 1] == []


def _mirror() -> Path | None:
    root = os.environ.get("CHAINATLAS_MIRROR")
    if not root:
        return None
    path = Path(root)
    needed = (path / "chainkg" / "industry.json", path / "gbt4754" / "gbt4754_2017.csv")
    return path if all(p.is_file() for p in needed) else None


@pytest.mark.skipif(_mirror() is None,
                    reason="needs CHAINATLAS_MIRROR with chainkg/ and gbt4754/ reference files")
def test_builtin_codes_exist_in_reference_data(builtins: dict[str, ChainTemplate]) -> None:
    mirror = _mirror()
    assert mirror is not None
    with (mirror / "chainkg" / "industry.json").open(encoding="utf-8") as f:
        shenwan = {json.loads(line)["code"] for line in f if line.strip()}
    with (mirror / "gbt4754" / "gbt4754_2017.csv").open(encoding="utf-8") as f:
        gbt = {row["class4"].strip() for row in csv.DictReader(f) if row["level"] == "4"}
    problems = [p for t in builtins.values() for p in validate_codes(t, shenwan, gbt)]
    assert [str(p) for p in problems] == []


def test_unknown_node_kind_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "kinds.yaml", chain("kinds", node_block("a", "    kind: 销售\n")))
    find(problems_of(path), "nodes[a].kind", "kind '销售' must be one of",
         "production, trade, retail, service, operator")
    good = write(tmp_path, "kinds2.yaml", chain("kinds2", node_block("a", "    kind: trade\n")))
    assert load_template(good).nodes[0].kind == "trade"
