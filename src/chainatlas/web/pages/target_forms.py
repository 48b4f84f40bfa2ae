"""The 目标监测 page's forms: an analyst adds an industry target and records its monthly
value (月度数据), as ``POST /api/v1/targets`` and ``/targets/{id}/snapshots`` do.

The values go to :func:`chainatlas.projects.targets.add_target` and
:func:`~chainatlas.projects.targets.record_snapshot` as typed text: the library checks
them (numbers, months, periods, indicator) and its error, naming the field, is what the
analyst sees. Writes run as the signed-in user and land in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nicegui import ui

from chainatlas.errors import ParameterError
from chainatlas.projects import targets
from chainatlas.projects.targets import INDICATORS
from chainatlas.store import Database
from chainatlas.web.pages.layout import Selection
from chainatlas.web.pages.widgets import section
from chainatlas.web.pages.writing import page_write

NO_CHAIN = "__none__"
#: The indicator picker's choices: key -> 营业收入（亿元）.
INDICATOR_CHOICES = {i.key: f"{i.label}（{i.unit}）" for i in INDICATORS.values()}


def year_of(text: Any, field: str) -> int:
    """A four-digit year typed in a form; ParameterError naming ``field`` otherwise."""
    value = str(text or "").strip()
    if not (value.isdigit() and len(value) == 4):
        raise ParameterError(f"{field}: {value!r} is not a year (e.g. 2025)")
    return int(value)


def target_fields(values: Mapping[str, Any], selection: Selection) -> dict[str, Any]:
    """The keyword arguments of ``add_target`` from the form's values (texts as typed;
    empty optional fields become None, the period defaults to the base year's next
    calendar year)."""
    def text(key: str) -> str | None:
        value = str(values.get(key) or "").strip()
        return value or None
    base_year = year_of(values.get("base_year"), "base_year")
    chain = text("chain")
    return {
        "name": text("name") or "", "indicator": str(values.get("indicator") or ""),
        "region": selection.region.adcode,
        "chain": None if chain in (None, NO_CHAIN) else chain, "node": text("node"),
        "unit": text("unit"), "base_year": base_year, "base_value": text("base_value"),
        "target_value": text("target_value") or "",
        "period_start": text("period_start") or dt.date(base_year + 1, 1, 1),
        "period_end": text("period_end") or dt.date(base_year + 1, 12, 31),
        "source": text("source")}


class TargetForms:
    """新增目标 and 录入月度数据, redrawing the page (``refresh``) after a write."""

    def __init__(self, selection: Selection, choices: Sequence[Mapping[str, Any]],
                 refresh: Callable[[], Awaitable[None]]) -> None:
        self.selection = selection
        #: the region's targets (target_id, name) the snapshot form offers
        self.choices = {int(r["target_id"]): str(r["name"]) for r in choices}
        self.refresh = refresh

    def build(self) -> None:
        """Both forms in one section."""
        with section("录入", f"新增{self.selection.region.name}的产业目标，或录入目标的月度数据"):
            self._target_form()
            self._snapshot_form()

    def _target_form(self) -> None:
        chains = {NO_CHAIN: "不限产业链", self.selection.chain_id: self.selection.chain_name}
        nodes = {n.node_id: n.name_zh for n in self.selection.chain.nodes}
        inputs: dict[str, Any] = {}
        with ui.grid(columns=5).classes("w-full gap-3").mark("target-form"):
            inputs["name"] = ui.input("目标名称").props("dense outlined").mark("target-name")
            inputs["indicator"] = ui.select(INDICATOR_CHOICES, value="revenue", label="指标") \
                .props("dense outlined").mark("target-indicator")
            inputs["chain"] = ui.select(chains, value=NO_CHAIN, label="产业链") \
                .props("dense outlined").mark("target-chain")
            inputs["node"] = ui.select(nodes, value=None, label="环节（节点企业数用）",
                                       clearable=True, with_input=True) \
                .props("dense outlined").mark("target-node")
            for key, label in (("unit", "单位（默认随指标）"), ("base_year", "基期年份"),
                               ("base_value", "基期值"), ("target_value", "目标值"),
                               ("period_start", "起始日期（默认次年1月1日）"),
                               ("period_end", "截止日期（默认次年12月31日）"),
                               ("source", "依据（文件名称）")):
                inputs[key] = ui.input(label).props("dense outlined").mark(f"target-{key}")
        ui.button("新增目标", icon="add", on_click=lambda: self.add(
            {k: i.value for k, i in inputs.items()})) \
            .props("unelevated color=primary").mark("target-submit")

    def _snapshot_form(self) -> None:
        if not self.choices:
            return
        with ui.row().classes("w-full items-end gap-3").mark("snapshot-form"):
            target = ui.select(self.choices, value=next(iter(self.choices)), label="目标") \
                .props("dense outlined").classes("w-72").mark("snapshot-target")
            month = ui.input("月份（2026-03）").props("dense outlined").classes("w-40") \
                .mark("snapshot-month")
            value = ui.input("当月累计值").props("dense outlined").classes("w-40") \
                .mark("snapshot-value")
            note = ui.input("说明（可选）").props("dense outlined").classes("w-64") \
                .mark("snapshot-note")
            ui.button("录入月度数据", icon="edit_calendar", on_click=lambda: self.snapshot(
                target.value, month.value, value.value, note.value)) \
                .props("outline").mark("snapshot-submit")

    async def _write(self, action: Callable[[Database, str], dict[str, Any]],
                     done: str) -> None:
        if await page_write(action) is None:
            return
        ui.notify(done, type="positive")
        await self.refresh()

    async def add(self, values: Mapping[str, Any]) -> None:
        """Store a new target of the page's region."""
        try:
            fields = target_fields(values, self.selection)
        except ParameterError as exc:
            ui.notify(f"未保存：{exc}", type="negative")
            return
        await self._write(lambda db, actor: {"target_id": targets.add_target(
            db, **fields, actor=actor)}, f"已新增目标「{fields['name']}」")

    async def snapshot(self, target_id: Any, month: Any, value: Any, note: Any) -> None:
        """Record (or replace) a target's value for a month."""
        if target_id is None:
            ui.notify("请选择目标", type="warning")
            return
        await self._write(lambda db, actor: targets.record_snapshot(
            db, int(target_id), str(month or ""), str(value or ""), actor=actor,
            note=str(note or "") or None), "月度数据已录入")
