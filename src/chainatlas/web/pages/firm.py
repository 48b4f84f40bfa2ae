"""企业画像 (/firm and /firm/{company_id}): one firm, and corrections of its placements."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nicegui import run, ui
from starlette.requests import Request

from chainatlas.analysis.overview import firm_name, firm_province, region_firms
from chainatlas.analysis.profile import firm_profile
from chainatlas.build import apply_correction
from chainatlas.chains.evidence import METHOD_NAMES, evidence_zh
from chainatlas.errors import ChainAtlasError
from chainatlas.store.lookup import Chain, chain_from_text
from chainatlas.store.users import User
from chainatlas.web import auth, charts
from chainatlas.web.pages.layout import Frame, Selection, firm_url
from chainatlas.web.pages.widgets import (
    capital_zh,
    china_map_url,
    chip,
    data_table,
    echart,
    empty_note,
    ensure_map,
    link_table,
    load,
    number_zh,
    province_map_url,
    section,
    with_db,
)
from chainatlas.web.state import write_db

ACTIONS = {"assign": "纳入该环节", "unassign": "移出该环节"}
ORIGINS = {"listed": "A 股上市公司", "registry": "工商登记企业", "roster": "导入名录企业"}
FIRMS_LISTED = 200


def chain_nodes(chain: Chain) -> dict[str, str]:
    """A chain's nodes as id -> indented label, for the correction form."""
    return {n.node_id: "\u3000" * (n.level - 1) + n.name_zh for n in chain.nodes}


def _identity(profile: dict[str, Any]) -> None:
    ident, loc = profile["identity"], profile["location"]
    with section(str(ident["short_name"] or ident["full_name"] or ident["company_id"]),
                 str(ident["full_name"] or "")).classes("ca-f3"):
        facts = [("股票代码", f"{ident['stock_code'] or '—'} {ident['exchange'] or ''}".strip()),
                 ("企业类型", ORIGINS.get(str(ident["origin"]), str(ident["origin"]))),
                 ("所在地", " ".join(str(x) for x in dict.fromkeys(
                     (loc["province"], loc["city"], loc["district"])) if x) or "未定位"),
                 ("注册地址", loc["address"] or "—"),
                 ("注册资本", capital_zh(ident["registered_capital"])),
                 ("员工人数", number_zh(ident["employees"], " 人")),
                 ("成立日期", str(ident["setup_date"] or "—")),
                 ("上市日期", str(ident["listing_date"] or "—")),
                 ("统一社会信用代码", ident["uscc"] or "—")]
        with ui.grid(columns=2).classes("w-full gap-x-8 gap-y-1"):
            for key, value in facts:
                with ui.row().classes("gap-2 no-wrap"):
                    ui.label(key).classes("ca-muted w-28 shrink-0")
                    ui.label(str(value)).classes("ca-reason")
        industries = "、".join(str(i["name"] or i["code"]) for i in profile["industries"])
        names = "、".join(str(n["name"]) for n in profile["names"])
        ui.label(f"所属行业：{industries or '—'}").classes("ca-reason")
        ui.label(f"曾用名与简称：{names or '—'}").classes("ca-reason")
        with ui.row().classes("gap-2 items-center"):
            ui.label("产业链环节").classes("ca-muted")
            for p in profile["placements"][:8]:
                chip(f"{p['chain_name']} · {p['node_name']}", charts.PRIMARY, solid=False)
            if not profile["placements"]:
                ui.label("尚未定位").classes("ca-muted")


async def _pin(profile: dict[str, Any]) -> None:
    ident, loc = profile["identity"], profile["location"]
    province = with_db(lambda db: firm_province(db, str(ident["company_id"])))
    with section("地理位置", loc["city"] or loc["province"] or "未定位").classes("w-full"):
        holder = ui.column().classes("w-full")
    if province:
        map_name, url, area = f"province-{province}", province_map_url(str(province)), loc["city"]
    else:
        map_name, url, area = "china", china_map_url(), None
    ok = await ensure_map(map_name, url)
    with holder:
        if not ok:
            empty_note("地图数据暂不可用")
            return
        place = " ".join(str(x) for x in (loc["province"], loc["city"]) if x)
        echart(charts.firm_pin_option(str(ident["short_name"] or ident["company_id"]),
                                      loc["lon"], loc["lat"], map_name, area, place),
               300, marker="firm-pin")


def _products(profile: dict[str, Any]) -> None:
    products = profile["products"]
    option = charts.products_bar_option(products)
    shown = len(option["series"][0]["data"])
    with section("主营产品", "按营收占比").classes("ca-f1"):
        if not shown:
            empty_note("暂无产品营收数据")
            return
        echart(option, 40 + 26 * shown, marker="products-bars")


def _placements(profile: dict[str, Any]) -> None:
    rows = [{"key": f"{p['chain_id']}/{p['node_id']}", "chain": p["chain_name"],
             "node": p["node_name"], "stage": p["stage"],
             "confidence": f"{float(p['confidence']):.2f}",
             "method": METHOD_NAMES.get(str(p["method"]), str(p["method"])),
             "evidence": evidence_zh(p["evidence"])} for p in profile["placements"]]
    with section("产业链定位", "所在产业链环节及判定依据").classes("ca-f1"):
        if not rows:
            empty_note("尚未定位到重点产业链环节")
            return
        data_table([
            {"name": "chain", "label": "产业链", "field": "chain", "align": "left"},
            {"name": "node", "label": "环节", "field": "node", "align": "left"},
            {"name": "stage", "label": "阶段", "field": "stage"},
            {"name": "confidence", "label": "置信度", "field": "confidence"},
            {"name": "method", "label": "方式", "field": "method"},
            {"name": "evidence", "label": "依据", "field": "evidence", "wrap": True}],
            rows, "key", marker="placements-table")


def _links(profile: dict[str, Any]) -> None:
    columns: list[dict[str, Any]] = [
               {"name": "name", "label": "企业", "field": "name", "align": "left"},
               {"name": "city", "label": "所在地", "field": "city", "align": "left"},
               {"name": "weight", "label": "关联强度", "field": "weight"},
               {"name": "examples", "label": "产品关联示例", "field": "examples", "wrap": True}]
    with ui.row().classes("w-full gap-4 flex-nowrap items-start"):
        for key, title, hint in (("suppliers", "可能的供应商", "其产品是本企业产品的上游原料"),
                                 ("customers", "可能的客户", "本企业产品是其产品的上游原料")):
            with section(title, hint).classes("ca-f1"):
                rows = [{"company_id": r["company_id"], "name": str(r["short_name"] or
                                                                    r["company_id"]),
                         "city": r["city"] or "—", "weight": f"{float(r['weight']):.4f}",
                         "examples": str(r["examples"] or "—")} for r in profile[key]]
                if rows:
                    link_table(columns, rows, page=10, marker=f"{key}-table")
                else:
                    empty_note("供需图谱中暂无关联企业")


WRITER_ROLE = "analyst"
NO_RIGHT = "需要分析员或管理员账号：请先登录"


def _correct(request: Request, firm: str, chain: str, node: str, action: str,
             reason: str) -> dict[str, Any]:
    """Record a correction as the page's signed-in user, checked against the store now:
    the form's events come over the websocket, where no middleware sees a role."""
    user = auth.page_user(request)
    if user is None or not user.can(WRITER_ROLE):
        raise ChainAtlasError(NO_RIGHT)
    with write_db() as db:  # the one way the web app writes
        return apply_correction(db, firm, chain, node, action, reason, user.name)


def page_writer(request: Request) -> User | None:
    """The user the page request was signed in as, when they may correct placements."""
    user = auth.request_identity(request).user
    return user if user is not None and user.can(WRITER_ROLE) else None


class CorrectionForm:
    """Analysts assign the firm to a node or take it off one, with a reason; it persists."""

    def __init__(self, company_id: str, selection: Selection,
                 on_saved: Any) -> None:
        self.company_id = company_id
        self.selection = selection
        self.on_saved = on_saved

    def build(self, corrections: list[dict[str, Any]]) -> None:
        """The form (for analysts and admins) and the firm's correction history."""
        request = ui.context.client.request
        writer = page_writer(request)
        with ui.expansion("分析员校正：纳入 / 移出产业链环节", icon="edit_note") \
                .classes("ca-card w-full").props("header-class=text-bold"):
            if writer is None:
                with ui.row().classes("items-center gap-2").mark("fix-sign-in"):
                    ui.label(NO_RIGHT).classes("ca-muted")
                    # quoted twice: once as a path segment, then as the query value
                    ui.link("登录", f"/login?next={quote(firm_url(self.company_id), safe='')}")
                self._history(corrections)
                return
            chains = self.selection.chains
            nodes = chain_nodes(self.selection.chain)
            with ui.row().classes("w-full items-end gap-3"):
                chain = ui.select(chains, value=self.selection.chain_id, label="产业链") \
                    .props("dense outlined").classes("w-44").mark("fix-chain")
                node = ui.select(nodes, value=next(iter(nodes), None), label="环节",
                                 with_input=True).props("dense outlined options-dense") \
                    .classes("w-72").mark("fix-node")
                action = ui.radio(ACTIONS, value="assign").props("inline dense") \
                    .mark("fix-action")
            chain.on_value_change(lambda e: self._chain_changed(e.value, node))
            with ui.row().classes("w-full items-end gap-3"):
                reason = ui.input("理由（必填）").props("dense outlined") \
                    .classes("ca-f3").mark("fix-reason")
                ui.label(f"校正人：{writer.name}").classes("ca-muted").mark("fix-author")
                ui.button("提交校正", icon="check", on_click=lambda: self.submit(
                    request, chain.value, node.value, action.value, reason.value)) \
                    .props("unelevated color=primary").mark("fix-submit")
            self._history(corrections)

    @staticmethod
    def _chain_changed(chain_id: Any, node: ui.select) -> None:
        nodes = chain_nodes(with_db(lambda db: chain_from_text(db, str(chain_id))))
        node.set_options(nodes, value=next(iter(nodes), None))

    async def submit(self, request: Request, chain_id: Any, node_id: Any, action: Any,
                     reason: Any) -> None:
        """Record the correction (firm_nodes and derived tables update at once)."""
        if not str(reason or "").strip():
            ui.notify("请填写校正理由", type="warning")
            return
        try:
            await run.io_bound(_correct, request, self.company_id, str(chain_id),
                               str(node_id), str(action), str(reason))
        except ChainAtlasError as exc:
            ui.notify(f"校正失败：{exc}", type="negative")
            return
        ui.notify("校正已保存", type="positive")
        await self.on_saved()

    @staticmethod
    def _history(corrections: list[dict[str, Any]]) -> None:
        if not corrections:
            ui.label("暂无校正记录").classes("ca-muted")
            return
        rows = [{"id": c["correction_id"], "chain": c["chain_id"], "node": c["node_id"],
                 "action": ACTIONS.get(str(c["action"]), str(c["action"])),
                 "reason": c["reason"], "author": c["author"],
                 "at": str(c["created_at"])[:16], "active": "生效" if c["active"] else "已被替代"}
                for c in corrections]
        data_table([{"name": k, "label": v, "field": k, "align": "left", "wrap": k == "reason"}
                    for k, v in (("at", "时间"), ("chain", "产业链"), ("node", "环节"),
                                 ("action", "操作"), ("reason", "理由"), ("author", "校正人"),
                                 ("active", "状态"))], rows, "id", marker="corrections-table")


def firm_body(company_id: str) -> Any:
    """The body of one firm's page."""
    async def body(selection: Selection) -> None:
        try:
            profile = await load(firm_profile, company_id)
        except ChainAtlasError:
            empty_note(f"未找到企业 {company_id}，请使用右上角搜索框查找")
            return
        frame_body = ui.column().classes("w-full gap-4")

        async def refresh() -> None:
            fresh = await load(firm_profile, company_id)
            frame_body.clear()
            with frame_body:
                await _firm_sections(fresh, company_id, selection, refresh)

        with frame_body:
            await _firm_sections(profile, company_id, selection, refresh)
    return body


async def _firm_sections(profile: dict[str, Any], company_id: str, selection: Selection,
                         refresh: Any) -> None:
    with ui.row().classes("w-full gap-4 flex-nowrap items-stretch"):
        _identity(profile)
        pin = ui.column().classes("ca-f2")
    with ui.row().classes("w-full gap-4 flex-nowrap items-start"):
        _products(profile)
        _placements(profile)
    _links(profile)
    CorrectionForm(company_id, selection, refresh).build(profile["corrections"])
    with pin:
        await _pin(profile)


async def _index_body(selection: Selection) -> None:
    rows = await load(region_firms, selection.region, FIRMS_LISTED, selection.universe)
    for row in rows:
        row["origin"] = ORIGINS.get(str(row["origin"]), str(row["origin"]))
    with section(f"{selection.region.name}{selection.universe_zh}",
                 "点击企业查看画像；其他企业请使用右上角搜索"):
        if not rows:
            empty_note("本地区暂无企业")
            return
        link_table([{"name": "name", "label": "企业", "field": "name", "align": "left"},
                    {"name": "full_name", "label": "全称", "field": "full_name", "wrap": True},
                    {"name": "code", "label": "股票代码", "field": "code"},
                    {"name": "origin", "label": "企业类型", "field": "origin"},
                    {"name": "city", "label": "所在地", "field": "city", "align": "left"}],
                   rows, page=20, marker="region-firms")


def page(company_id: str) -> Frame:
    """One firm's page frame."""
    name = with_db(lambda db: firm_name(db, company_id))
    return Frame("/firm", "企业画像", firm_body(company_id),
                 lambda s: f"{name or company_id} · 画像、产业链定位与供需关系")


def index_page() -> Frame:
    """The firm index page frame."""
    return Frame("/firm", "企业画像", _index_body,
                 lambda s: f"{s.region.name} · 本地企业名录")
