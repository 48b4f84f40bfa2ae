"""The 卡脖子 list: the built-in file loads, maps to real nodes, and bad files say where."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from chainatlas.analysis.chokepoints import (
    BUILTIN,
    builtin_chokepoints,
    chokepoints_by_node,
    load_chokepoints,
    mark_chokepoints,
    on_chain,
    unmapped,
)
from chainatlas.chains.templates import load_template, load_templates
from chainatlas.errors import InputError

TINY = """
id: tiny
name_zh: 小链
name_en: Tiny
nodes:
  - {id: tn_a, name_zh: 甲, name_en: A, stage: 上游, keywords: [甲]}
  - {id: tn_b, name_zh: 乙, name_en: B, stage: 中游, keywords: [乙]}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return {"tiny": load_template(path)}


def _write(folder: Path, text: str) -> Path:
    path = folder / "points.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_list_has_the_35_items_mapped_to_real_nodes() -> None:
    points = builtin_chokepoints()
    assert BUILTIN.is_file() and "科技日报" in points.source["title_zh"]
    assert len(points.items) == 35
    assert [i.ordinal for i in points.items] == list(range(1, 36))
    names = {i.name_zh for i in points.items}
    assert {"光刻机", "光刻胶", "高端电容电阻", "手机射频器件", "扫描电镜"} <= names
    templates = load_templates()
    for item in points.items:
        for chain, node in item.nodes:
            assert node in {n.id for n in templates[chain].nodes}
    kept = {i["name_zh"] for i in unmapped(points)}
    assert kept == {"适航标准", "航空钢材", "超精密抛光工艺", "高强度不锈钢"}
    assert all(i["note_zh"] for i in unmapped(points))
    assert "光刻机" in chokepoints_by_node(points, "electronics")["el_fab_equipment"]
    assert {i.id for i in on_chain(points, "biomedicine")} >= {"tem", "sem", "iclip"}


def test_mark_chokepoints_on_nodes_and_products(tiny: dict[str, object],
                                                tmp_path: Path) -> None:
    path = _write(tmp_path, "source: {title_zh: 测试}\nitems:\n"
                  "  - {id: x, name_zh: 甲技术, nodes: [{chain: tiny, node: tn_a}]}\n")
    points = load_chokepoints(path, tiny)  # type: ignore[arg-type]
    frame = pd.DataFrame({"unit_id": ["tn_a", "tn_b"]})
    assert mark_chokepoints(frame, "tiny", None, points)["chokepoints"].tolist() == [
        ["甲技术"], []]
    products = pd.DataFrame({"unit_id": ["某产品", "高端甲技术材料"]})
    marked = mark_chokepoints(products, "tiny", {"某产品": "tn_a", "高端甲技术材料": "tn_a"},
                              points)
    assert marked["node_chokepoints"].tolist() == [["甲技术"], ["甲技术"]]
    assert marked["chokepoints"].tolist() == [[], ["甲技术"]]  # named in the product


def test_bad_entries_are_reported_with_file_entry_and_field(tiny: dict[str, object],
                                                             tmp_path: Path) -> None:
    path = _write(tmp_path, """source: {title_zh: 测试}
items:
  - {id: ok, name_zh: 好, nodes: [{chain: tiny, node: tn_a}]}
  - {id: bad_chain, name_zh: 甲, nodes: [{chain: nope, node: tn_a}]}
  - {id: bad_node, name_zh: 乙, nodes: [{chain: tiny, node: tn_zz}]}
  - {id: no_note, name_zh: 丙, nodes: null}
  - {id: ok, name_zh: 重复, nodes: null, note_zh: 说明}
  - {id: extra, name_zh: 丁, nodes: [{chain: tiny, node: tn_b}], colour: red}
  - {id: Bad Id, name_zh: 戊, nodes: [], ordinal: first}
""")
    with pytest.raises(InputError) as caught:
        load_chokepoints(path, tiny)  # type: ignore[arg-type]
    problems = {(p.field, p.row) for p in caught.value.problems}
    fields = {f for f, _ in problems}
    assert {"items[1].nodes[0].chain", "items[2].nodes[0].node", "items[3].note_zh",
            "items[4].id", "items[5].colour", "items[6].id", "items[6].nodes",
            "items[6].ordinal"} <= fields
    rows = dict(problems)
    assert rows["items[2].nodes[0].node"] == 5  # YAML line of the entry
    assert all(p.file == str(path) for p in caught.value.problems)


def test_a_file_without_items_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="items"):
        load_chokepoints(_write(tmp_path, "source: {title_zh: x}\n"), {})
    with pytest.raises(InputError, match="YAML"):
        load_chokepoints(_write(tmp_path, "items: [\n"), {})
