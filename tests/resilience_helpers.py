"""The tiny resilience chain of tests/test_resilience_store.py as a store file (the CLI and
the web app open files), and a 卡脖子 list that marks two of its nodes.

    甲原料 -> 乙部件 -> 丙整机 -> 丁服务      戊配件 -> 丙整机      己孤件, 庚一, 庚二

石家庄 (130100) has 甲原料, 丙整机, 庚一, one 戊配件 and 丁服务; 乙部件 is made only in
唐山 (130200) by 唐乙; 苏州 (320500) has eleven 戊配件 firms, 己孤件, 丁服务 and 庚二.
"""

from __future__ import annotations

from pathlib import Path

from chainatlas.analysis.chokepoints import Chokepoint, ChokepointList
from tests.test_recommend_nodes import _build

#: 乙部件 (made only in 唐山) and 庚二 (only in 苏州) are marked 卡脖子.
TINY_POINTS = ChokepointList("test", {"title_zh": "测试"}, (
    Chokepoint("tiny_b", "乙部件芯片", 1, (("tiny", "tn_b"),)),
    Chokepoint("tiny_g", "庚二材料", 2, (("tiny", "tn_g2"),)),
    Chokepoint("other", "别链技术", 3, (("biomedicine", "bm_api"),))))


def tiny_store_file(folder: Path) -> Path:
    """The tiny chain's in-memory store copied into a file."""
    memory = _build(folder)
    path = folder / "tiny.duckdb"
    memory.execute(f"ATTACH '{path}' AS out")
    memory.execute("COPY FROM DATABASE memory TO out")
    memory.execute("DETACH out")
    memory.close()
    return path
