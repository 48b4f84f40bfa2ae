"""GB/T 4754 class names and notes as scope evidence for firms without an industry code."""

from __future__ import annotations

from chainatlas.chains.classify import gbt_classes
from chainatlas.chains.gbt_terms import CLASS_STRENGTH, ClassReader, class_terms
from chainatlas.chains.scope import scope_items
from chainatlas.chains.scope_rules import ScopeReader
from chainatlas.chains.signals import PLACE_THRESHOLD, Evidence
from chainatlas.chains.templates import load_templates
from chainatlas.store import Database

TEMPLATES = load_templates()
# Invented notes in the official style (the real ones come from the store).
CLASSES = [("3953", "影视录放设备制造",
            "指非专业用智能机顶盒、录像机、摄像机、激光视盘机等影视设备的制造"),
           ("3451", "滚动轴承制造", None), ("3441", "泵及真空设备制造", None),
           ("2669", "其他专用化学产品制造", "指各种化学、日用等产品的制造")]


def test_terms_come_from_class_names_and_note_enumerations() -> None:
    terms = class_terms(CLASSES)
    assert {"影视录放设备", "智能机顶盒", "录像机", "摄像机", "激光视盘机"} <= set(terms)
    assert terms["滚动轴承"] == {"3451"} and "真空设备" in terms
    # No generic words, no two-character note words, nothing of the 其他 classes.
    assert not {"设备", "泵", "化学", "日用", "其他专用化学产品"} & set(terms)


def test_class_terms_read_making_items_only_and_never_place_alone() -> None:
    reader = ClassReader(TEMPLATES, CLASSES)
    items = scope_items("录像机、摄像机生产；滚动轴承销售")
    hits = reader.read(items, ["produce", "trade"])
    nodes = {node for _, node in hits}
    assert "el_audio_video" in nodes and "ae_bearings" not in nodes
    hit = next(h for (_, node), h in hits.items() if node == "el_audio_video")
    assert hit.code == "3953" and hit.term in {"录像机", "摄像机"}
    assert hit.to_dict()["via"] == "scope"
    assert Evidence(gbt=hit.to_dict()).confidence() <= CLASS_STRENGTH < PLACE_THRESHOLD


def test_the_scope_reader_returns_classes_with_its_clauses() -> None:
    reader = ScopeReader(TEMPLATES, CLASSES)
    hits, classes = reader.read_with_classes("激光视盘机制造", "某某电子有限公司")
    assert any(node == "el_audio_video" for _, node in classes)
    assert ScopeReader(TEMPLATES).read_with_classes("激光视盘机制造")[1] == {}
    assert reader.read("激光视盘机制造") == hits


def test_the_store_serves_its_classes(db: Database) -> None:
    db.execute("INSERT INTO industries VALUES ('gbt2017', '3451', '滚动轴承制造', 4, '345', "
               "NULL, 1), ('gbt2017', '345', '轴承、齿轮和传动部件制造', 3, '34', NULL, 1)")
    assert gbt_classes(db) == [("3451", "滚动轴承制造", None)]
