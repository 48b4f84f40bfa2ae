"""The frame every page shares: header, navigation, firm search, region and chain pickers,
and the firm-universe toggle (上市企业 / 工商登记企业 / 全部企业).

The pickers' values live in ``app.storage.user`` (per browser, across pages), so the
region, chain and universe a user chose stay chosen on every page; ``?region=``,
``?chain=`` and ``?universe=`` in a shared link set them. Changing one re-renders the
page's body in place; the body is an async function of the current :class:`Selection`,
and every page passes ``selection.universe`` to the library and shows it in its subtitle.
The toggle offers 工商登记企业 only when registry firms are loaded; an unknown or
unavailable stored choice falls back to the store's default universe.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nicegui import app, ui

from chainatlas.analysis.overview import (
    first_region,
    region_by_adcode,
    registry_loaded,
    search_regions,
)
from chainatlas.analysis.search import search_firms
from chainatlas.errors import ChainAtlasError
from chainatlas.store import Database
from chainatlas.store.lookup import (
    Chain,
    Region,
    chain_from_text,
    default_universe,
    list_chains,
    region_names,
)
from chainatlas.store.query import UNIVERSES
from chainatlas.store.stats import REGISTRY_LICENCE_ZH
from chainatlas.web import charts
from chainatlas.web.cache import cached
from chainatlas.web.pages.widgets import load, load_cached

log = logging.getLogger(__name__)

DEFAULT_REGION = "130100"
DEFAULT_CHAIN = "biomedicine"
PRODUCT_NAME = "ChainAtlas 产业链招商图谱"
NAV = (("/", "总览", "dashboard"), ("/chain", "产业链图谱", "account_tree"),
       ("/map", "招商地图", "public"), ("/recommend", "精准招商", "track_changes"),
       ("/resilience", "韧性分析", "shield"),
       ("/leaders", "链主企业", "military_tech"), ("/firm", "企业画像", "apartment"),
       ("/lists", "招商清单", "playlist_add_check"), ("/projects", "项目库", "work"),
       ("/targets", "目标监测", "flag"), ("/intake", "政策解读", "article"),
       ("/national", "全国分布", "travel_explore"))
SEARCH_LIMIT = 8

CSS = f"""
body {{ background:#F2F5F9; font-family:{charts.FONT}; color:#1F2937; }}
.q-header {{ box-shadow:0 2px 8px rgba(10,35,70,.18); }}
.ca-brand {{ font-size:18px; font-weight:700; letter-spacing:.5px; color:#FFFFFF; }}
.ca-brand-sub {{ font-size:11px; color:#BFD2EE; letter-spacing:1px; }}
.ca-nav {{ color:#DCE7F7; padding:6px 12px; border-radius:6px; font-size:14px;
           text-decoration:none; display:flex; align-items:center; gap:4px; }}
.ca-nav::before {{ content:attr(data-icon); font-family:'Material Icons'; font-size:18px;
                   font-feature-settings:'liga'; line-height:1; }}
.ca-nav:hover {{ background:rgba(255,255,255,.12); color:#FFFFFF; }}
.ca-nav-active {{ background:rgba(255,255,255,.18); color:#FFFFFF; font-weight:600; }}
.ca-subbar {{ background:#FFFFFF; border-bottom:1px solid #E3E9F2; }}
.ca-title {{ font-size:20px; font-weight:700; color:#0F2F57; }}
.ca-title-sub {{ font-size:13px; color:#6B7280; }}
.ca-card {{ border-radius:10px; box-shadow:0 1px 3px rgba(15,35,70,.08);
            border:1px solid #E6EBF2; padding:16px 18px; }}
.ca-card-title {{ font-size:16px; font-weight:700; color:#0F2F57;
                  border-left:4px solid {charts.PRIMARY}; padding-left:8px; line-height:1.1; }}
.ca-card-sub {{ font-size:12px; color:#6B7280; }}
.ca-stat {{ min-width:170px; flex:1; padding:14px 18px; gap:2px; }}
.ca-stat-value {{ font-size:28px; font-weight:700; line-height:1.15; }}
.ca-stat-label {{ font-size:13px; color:#374151; font-weight:600; }}
.ca-stat-hint {{ font-size:11px; color:#8A94A6; }}
.ca-chip {{ display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px;
            line-height:18px; white-space:nowrap; }}
.ca-empty {{ color:#8A94A6; text-align:center; padding:28px 0; font-size:14px; }}
.ca-link {{ color:{charts.PRIMARY}; text-decoration:none; font-weight:600; }}
.ca-link:hover {{ text-decoration:underline; }}
.ca-table th {{ background:#F5F8FC; color:#374151; font-weight:700; }}
.ca-note {{ font-size:12px; color:#6B7280; }}
.ca-reason {{ font-size:13px; color:#374151; line-height:1.6; }}
.ca-muted {{ color:#6B7280; font-size:12px; }}
.ca-search .q-field__control {{ background:rgba(255,255,255,.96); border-radius:6px; }}
.ca-wrap {{ max-width:1480px; margin-left:auto; margin-right:auto; }}
.ca-f1 {{ flex:1 1 0; min-width:0; }}
.ca-f2 {{ flex:2 1 0; min-width:0; }}
.ca-f3 {{ flex:3 1 0; min-width:0; }}
.ca-scroll {{ max-height:600px; overflow-y:auto; padding-right:4px; }}
.ca-strong {{ font-weight:700; font-size:15px; color:#0F2F57; }}
.ca-dialog {{ width:1100px; max-width:95vw; }}
"""


@dataclass(frozen=True)
class Selection:
    """The region, chain and firm universe a page shows, as chosen in the pickers
    (resolved once)."""

    region: Region
    chain: Chain
    chains: dict[str, str]
    #: listed, registry or all (see chainatlas.analysis.regional)
    universe: str = "listed"
    #: the universes the toggle offers (id -> Chinese name)
    universes: dict[str, str] | None = None

    @property
    def universe_zh(self) -> str:
        """The chosen universe's Chinese name (上市企业, 工商登记企业, 全部企业)."""
        return UNIVERSES[self.universe]

    @property
    def chain_id(self) -> str:
        """The chosen chain's id."""
        return self.chain.chain_id

    @property
    def chain_name(self) -> str:
        """The chosen chain's Chinese name."""
        return self.chain.name_zh


#: The picker values kept per browser (app.storage.user keys).
PICKER_KEYS = ("region", "chain", "universe")
#: Seconds a page waits for its browser's socket before giving the visit up.
CONNECT_TIMEOUT_S = 30.0
#: Regions a picker search offers at once (the picker never holds all 3,511 regions).
REGION_MATCHES = 30


def _stored(key: str, default: str) -> str:
    try:
        return str(app.storage.user.get(key, default))
    except RuntimeError:  # no storage secret configured: fall back to the defaults
        return default


def stored_choices() -> dict[str, str]:
    """This browser's stored picker values (read on the event loop: the storage belongs
    to the page's request, which worker threads do not see)."""
    return {key: value for key in PICKER_KEYS if (value := _stored(key, ""))}


def remember(key: str, value: str) -> None:
    """Store a picker value for this browser (ignored when storage is unavailable)."""
    try:
        app.storage.user[key] = value
    except RuntimeError:
        log.warning("app.storage.user is unavailable; start the app with a storage secret")


def valid_query(db: Database, params: Mapping[str, str]) -> dict[str, str]:
    """The picker values of a shared link (?region=130100&chain=biomedicine&universe=all)
    that name something stored; the others are ignored."""
    out: dict[str, str] = {}
    region, chain, universe = (params.get(key) for key in PICKER_KEYS)
    if region and region_by_adcode(db, region) is not None:
        out["region"] = region
    if chain and chain in chain_names(db):
        out["chain"] = chain
    if universe and universe in universe_options(db):
        out["universe"] = universe
    return out


def chain_names(db: Database) -> dict[str, str]:
    """Every stored chain as id -> Chinese name, by id."""
    return {str(r["chain_id"]): str(r["name_zh"]) for r in list_chains(db)}


def universe_options(db: Database) -> dict[str, str]:
    """The universes the toggle offers: 工商登记企业 only when registry firms are loaded."""
    loaded = registry_loaded(db)
    return {k: v for k, v in UNIVERSES.items() if loaded or k != "registry"}


def region_matches(db: Database, text: str, keep: Region | None = None,
                   limit: int = REGION_MATCHES) -> dict[str, str]:
    """The regions a picker offers for typed ``text`` (name fragment or adcode prefix,
    best first), as adcode -> label; ``keep`` (the chosen region) always among them."""
    rows = search_regions(db, text.strip() or None, limit=limit) if text.strip() else []
    places = [Region.from_row(r) for r in rows]
    if keep is not None and all(p.adcode != keep.adcode for p in places):
        places.insert(0, keep)
    parents = region_names(db, {p.parent for p in places if p.parent})
    return {p.adcode: region_label(p, parents.get(p.parent or "")) for p in places}


def region_label(place: Region, parent: str | None) -> str:
    """河北省, 石家庄市（河北省）, 长安区（石家庄市）; a municipality's city-level twin
    (北京市 under 北京市) as 北京市（市辖区）."""
    if not parent or place.level == "province":
        return place.name
    return f"{place.name}（市辖区）" if parent == place.name else f"{place.name}（{parent}）"


def current_selection(db: Database,
                      choices: Mapping[str, str] | tuple[tuple[str, str], ...]) -> Selection:
    """The chosen region, chain and universe (``choices``: the stored picker values),
    falling back to the defaults (and then to any)."""
    choices = dict(choices)
    chains = chain_names(db)
    if not chains:
        raise ChainAtlasError("产业链模板尚未载入：请先运行 chainatlas build。")
    chain_id = choices.get("chain", DEFAULT_CHAIN)
    if chain_id not in chains:
        chain_id = DEFAULT_CHAIN if DEFAULT_CHAIN in chains else next(iter(chains))
    region = (region_by_adcode(db, choices.get("region", DEFAULT_REGION))
              or region_by_adcode(db, DEFAULT_REGION) or first_region(db))
    if region is None:
        raise ChainAtlasError("地区数据尚未载入：请先运行 chainatlas build。")
    universes = universe_options(db)
    universe = choices.get("universe", "")
    if universe not in universes:
        universe = default_universe(db)
    return Selection(region, chain_from_text(db, chain_id), chains, universe, universes)


@dataclass(frozen=True)
class FrameData:
    """What the frame shows around the body, read in one worker-thread call."""

    #: the shared link's valid picker values (to remember for this browser)
    query: dict[str, str]
    selection: Selection
    #: the region picker's first options: the chosen region only
    regions: dict[str, str]
    registry: bool


def frame_data(db: Database, params: Mapping[str, str],
               stored: Mapping[str, str]) -> FrameData:
    """The selection (a shared link's values over the stored ones), the region picker's
    options and whether registry firms are loaded.

    Cached per store version (see chainatlas.web.cache): every page load asks for it, and
    a handful of picker values cover nearly every visit; the result must not be changed.
    """
    return cached(_frame_data, db, _picks(params), _picks(stored))


def _picks(values: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The picker values among ``values`` (a link's other parameters are no key)."""
    return tuple((key, str(values[key])) for key in PICKER_KEYS if key in values)


def _frame_data(db: Database, params: tuple[tuple[str, str], ...],
                stored: tuple[tuple[str, str], ...]) -> FrameData:
    query = valid_query(db, dict(params))
    selection = current_selection(db, {**dict(stored), **query})
    return FrameData(query, selection, region_matches(db, "", selection.region),
                     registry_loaded(db))


def chosen_selection(db: Database, choices: Mapping[str, str]) -> Selection:
    """:func:`current_selection`, cached per store version (must not be changed)."""
    return cached(current_selection, db, _picks(choices))


class Frame:
    """One page: the shared header and pickers around a body that re-renders in place.

    The page function returns at once with the header and empty pickers (NiceGUI sends
    that HTML and waits for the browser's socket); every store read runs afterwards in a
    worker thread, so a busy store never makes a page time out or stalls other requests.
    """

    def __init__(self, path: str, title: str,
                 body: Callable[[Selection], Awaitable[None]],
                 subtitle: Callable[[Selection], str] | None = None) -> None:
        self.path = path
        self.title = title
        self.body = body
        self.subtitle = subtitle
        self.content: ui.column | None = None
        self.title_label: ui.label | None = None
        self.subtitle_label: ui.label | None = None
        self.pickers: dict[str, ui.select | ui.toggle] = {}
        #: the value each picker shows
        self.shown: dict[str, str] = {}
        self.region: Region | None = None

    async def show(self) -> None:
        """Build the page: header and picker bar now, the rest once the browser is
        connected."""
        ui.add_css(CSS)
        ui.colors(primary=charts.PRIMARY, secondary="#3E72B8", accent=charts.ACCENT,
                  positive="#2E9D5B", warning="#F0B429")
        ui.page_title(f"{self.title} · {PRODUCT_NAME}")
        _header(self.path)
        self._subbar()
        self.content = ui.column().classes("ca-wrap w-full px-5 py-4 gap-4")
        with self.content:
            ui.spinner(size="lg").classes("self-center")
        footer = ui.column().classes("w-full gap-0")
        client = ui.context.client
        params = dict(client.request.query_params)
        # A visitor that never opens the socket (a script, a prefetch) is let go: NiceGUI
        # deletes the client on this timeout, so such visits hold no memory.
        await client.connected(timeout=CONNECT_TIMEOUT_S)
        data = await load(frame_data, params, stored_choices())
        for key, value in data.query.items():
            remember(key, value)
        self._fill_pickers(data)
        await self.render(data.selection)
        if data.registry:  # the registry's licence travels with its figures
            with footer:
                ui.label(REGISTRY_LICENCE_ZH).classes("ca-muted px-5 pb-4").mark("licence")

    def _subbar(self) -> None:
        with ui.element("div").classes("ca-subbar w-full"), \
                ui.row().classes("ca-wrap w-full px-5 py-2 items-center gap-4"):
            with ui.column().classes("gap-0"):
                self.title_label = ui.label(self.title).classes("ca-title")
                self.subtitle_label = ui.label("").classes("ca-title-sub")
            ui.space()
            ui.label("地区").classes("ca-muted")
            region = ui.select({}, with_input=True,
                               on_change=lambda e: self._picked("region", e.value)) \
                .props('dense outlined options-dense input-debounce="250" '
                       'placeholder="输入地区名称或代码"') \
                .classes("w-56").mark("region-picker")
            region.on("input-value", lambda e: self._search_regions(e.args))
            ui.label("产业链").classes("ca-muted")
            chain = ui.select({}, on_change=lambda e: self._picked("chain", e.value)) \
                .props("dense outlined options-dense").classes("w-44").mark("chain-picker")
            ui.label("企业范围").classes("ca-muted")
            universe = ui.toggle({}, on_change=lambda e: self._picked("universe", e.value)) \
                .props("dense no-caps unelevated toggle-color=primary") \
                .tooltip("上市企业：A 股上市公司；工商登记企业：已载入的企业登记数据；"
                         "全部企业：两者及导入名录") \
                .mark("universe-toggle")
            self.pickers = {"region": region, "chain": chain, "universe": universe}

    def _fill_pickers(self, data: FrameData) -> None:
        selection = data.selection
        self.region = selection.region
        values = {"region": (data.regions, selection.region.adcode),
                  "chain": (selection.chains, selection.chain_id),
                  "universe": (selection.universes
                               or {selection.universe: selection.universe_zh},
                               selection.universe)}
        for key, (options, value) in values.items():
            self.shown[key] = value  # so the change event of filling it is no pick
            # a copy: the cached frame data is shared by every visitor
            self.pickers[key].set_options(dict(options), value=value)

    async def _search_regions(self, text: Any) -> None:
        """The region picker's typed text: offer the matching regions from the store."""
        picker = self.pickers.get("region")
        if picker is None:
            return
        matches = await load(region_matches, str(text or ""), self.region)
        picker.set_options(matches, value=picker.value)

    async def _picked(self, key: str, value: Any) -> None:
        if value is None or str(value) == self.shown.get(key):
            return
        self.shown[key] = str(value)
        remember(key, str(value))
        await self.render()

    async def render(self, selection: Selection | None = None) -> None:
        """(Re)build the body for the current selection (``selection`` if already read)."""
        if self.content is None:
            return
        self.content.clear()
        self.content.mark("page-body")  # "page-ready" once the body is built (tests wait)
        with self.content:
            try:
                if selection is None:
                    selection = await load(chosen_selection, stored_choices())
                self.region = selection.region
                if self.subtitle_label is not None:
                    self.subtitle_label.text = (self.subtitle(selection) if self.subtitle
                                                else f"{selection.region.name} · "
                                                     f"{selection.chain_name}产业链") + \
                        f" · {selection.universe_zh}"
                await self.body(selection)
            except ChainAtlasError as exc:
                with ui.card().classes("ca-card w-full"):
                    ui.label("无法显示本页").classes("ca-card-title")
                    ui.label(str(exc)).classes("ca-reason")
        self.content.mark("page-body page-ready")


def firm_url(company_id: str) -> str:
    """The firm page's path: the id quoted whole, so a firm without a USCC whose name
    holds "/", "?" or "#" still reaches its own page."""
    return "/firm/" + quote(company_id, safe="")


def _header(active: str) -> None:
    with ui.header().classes("items-center px-5 py-2 gap-2").style(
            "background:linear-gradient(90deg,#0B2E5C 0%,#16498C 100%)"):
        with ui.link(target="/").classes("no-underline flex items-center gap-2"):
            ui.icon("hub", size="28px").style("color:#FFD666")
            with ui.column().classes("gap-0"):
                ui.label(PRODUCT_NAME).classes("ca-brand")
                ui.label("INDUSTRY CHAIN ATLAS").classes("ca-brand-sub")
        ui.element("div").style("width:28px")
        for path, name, icon in NAV:
            # One element per entry (the icon is drawn by CSS from data-icon): the header
            # is built on every page load, on the event loop every visitor shares.
            ui.link(name, target=path).classes(
                "ca-nav" + (" ca-nav-active" if path == active else "")) \
                .props(f'data-icon="{icon}"').mark(f"nav{path}")
        ui.space()
        _search_box()


def _search_box() -> None:
    with ui.element("div").classes("relative"):
        box = ui.input(placeholder="搜索企业：名称、简称、拼音或代码") \
            .props('dense outlined clearable debounce="250" input-class="text-sm"') \
            .classes("ca-search w-80").mark("firm-search")
        with box.add_slot("prepend"):
            ui.icon("search").style("color:#6B7280")
        with ui.menu().props("no-parent-event fit no-focus") as menu, \
                ui.list().props("dense separator").style("min-width:340px") as results:
            pass

    async def update(value: Any) -> None:
        text = str(value or "").strip()
        results.clear()
        if not text:
            menu.close()
            return
        hits = await load_cached(search_firms, text, SEARCH_LIMIT)
        with results:
            if not hits:
                ui.item("未找到匹配企业").props("disable")
            for hit in hits:
                _search_item(hit)
        menu.open()

    async def go_first() -> None:
        text = str(box.value or "").strip()
        hits = await load_cached(search_firms, text, 1) if text else []
        if hits:
            ui.navigate.to(firm_url(str(hits[0]["company_id"])))

    box.on_value_change(lambda e: update(e.value))
    box.on("keydown.enter", go_first)


def _search_item(hit: dict[str, Any]) -> None:
    target = firm_url(str(hit["company_id"]))
    with ui.item(on_click=lambda t=target: ui.navigate.to(t)).mark("search-result"), \
            ui.item_section():
            ui.item_label(str(hit.get("short_name") or hit.get("full_name") or ""))
            ui.item_label(" · ".join(str(x) for x in (
                hit.get("full_name"), hit.get("stock_code"), hit.get("city")) if x)) \
                .props("caption")
