"""The real app in a real browser: ``chainatlas serve`` driven by headless Chromium.

Every page must draw non-blank charts, log no console errors and load nothing from
outside the server. A screenshot of each page goes to test-artifacts/ (gitignored).
Needs Debian's chromium and chromium-driver (``scripts/install-system-deps.sh``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chainatlas.build import build_store
from chainatlas.store import Database
from tests.helpers import REPO, XSS, XSS_ID, unpinned_bundle, web_bundle

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO / "test-artifacts"
WIDTH = 1400
#: page -> (screenshot name, charts it must draw)
PAGES = {"/": ("overview", 1), "/chain": ("chain", 1), "/map": ("map", 1),
         "/recommend": ("recommend", 2), "/leaders": ("leaders", 2),
         "/resilience": ("resilience", 2),
         "/firm/002603.SZ": ("firm", 2), f"/firm/{XSS_ID}": ("firm-script-name", 2)}

if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
    pytest.skip("needs Debian's /usr/bin/chromium and /usr/bin/chromedriver: run "
                "scripts/install-system-deps.sh", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extras)")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# Share of sampled pixels that are painted (alpha > 0): an empty canvas has none.
PAINTED_JS = """
const c = arguments[0], ctx = c.getContext('2d');
if (!ctx || !c.width || !c.height) { return 0; }
const data = ctx.getImageData(0, 0, c.width, c.height).data;
let painted = 0, seen = 0;
for (let i = 3; i < data.length; i += 4 * 7) { seen++; if (data[i] > 0) { painted++; } }
return seen ? painted / seen : 0;
"""
# Every URL the page loaded or links to, resolved against the page.
URLS_JS = """
const out = performance.getEntriesByType('resource').map(e => e.name);
for (const el of document.querySelectorAll('[src],[href]')) {
  for (const attr of ['src', 'href']) {
    const raw = el.getAttribute(attr);
    if (raw) { out.push(new URL(raw, location.href).href); }
  }
}
return out;
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chainatlas serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``chainatlas serve`` on a free local port, serving the small web store."""
    folder = tmp_path_factory.mktemp("browser")
    store = folder / "web.duckdb"
    with Database(store) as db:
        build_store(db, unpinned_bundle(web_bundle(folder / "bundle")))
    port = _free_port()
    # a clean environment: NiceGUI takes a server started under pytest for its own tests
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "NICEGUI_", "CHAINATLAS_"))}
    env |= {"CHAINATLAS_HOME": str(folder / "home"),
           "CHAINATLAS_SECRET": "browser-test", "NICEGUI_STORAGE_PATH": str(folder / "ng")}
    command = [sys.executable, "-c", "from chainatlas.cli import main; main()", "serve",
               "--db", str(store), "--port", str(port)]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url + "/", process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (selenium-manager never runs)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 f"--window-size={WIDTH},1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    # record alert() calls instead of showing them: an injected script would call it
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.__alerts = []; window.alert = (m) => window.__alerts.push(String(m));"})
    try:
        yield browser
    finally:
        browser.quit()


def _charts_drawn(browser: Any, count: int) -> bool:
    canvases = browser.find_elements(By.CSS_SELECTOR, ".nicegui-echart canvas")
    if len(canvases) < count:
        return False
    return all(browser.execute_script(PAINTED_JS, c) > 0.002 for c in canvases)


def _screenshot(browser: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script(
        "const e = document.querySelector('.nicegui-content');"
        "return Math.ceil(e.getBoundingClientRect().bottom + window.scrollY) + 24;")
    browser.set_window_size(WIDTH, max(700, min(int(height) + 140, 6000)))
    time.sleep(0.8)  # ECharts resizes on the next frame
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    browser.set_window_size(WIDTH, 1000)


def _assert_clean(browser: Any, server: str, path: str) -> None:
    try:
        alert = browser.switch_to.alert
        pytest.fail(f"{path} opened an alert: {alert.text}")
    except NoAlertPresentException:
        pass
    assert browser.execute_script("return window.__alerts") == [], path
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, (path, severe)
    foreign = [u for u in browser.execute_script(URLS_JS)
               if not (u.startswith(server + "/") or u.startswith(("data:", "blob:")))]
    assert not foreign, (path, foreign)


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_locally(driver: Any, server: str, path: str) -> None:
    name, charts = PAGES[path]
    driver.get_log("browser")  # drop messages of earlier pages
    driver.get(server + path)
    WebDriverWait(driver, 30, poll_frequency=0.3).until(
        lambda d: _charts_drawn(d, charts), f"{path}: {charts} non-blank chart(s)")
    _assert_clean(driver, server, path)
    _screenshot(driver, name)


def test_script_named_firm_is_inert_text(driver: Any, server: str) -> None:
    driver.get(f"{server}/firm/{XSS_ID}")
    WebDriverWait(driver, 30).until(lambda d: _charts_drawn(d, 2))
    body = driver.find_element(By.TAG_NAME, "body").text
    assert XSS in body  # shown as text, markup and all
    # the name travels as JSON data inside NiceGUI's page state, never as a script
    injected = driver.execute_script(
        "return [...document.scripts].filter(s => s.textContent.trim() === 'alert(1)').length")
    assert injected == 0
    _assert_clean(driver, server, f"/firm/{XSS_ID}")


def test_clicking_a_chain_node_lists_its_firms(driver: Any, server: str) -> None:
    driver.get(server + "/chain")
    WebDriverWait(driver, 30).until(lambda d: _charts_drawn(d, 1))
    # the graph is pinned to its canvas, so a box's option coordinates are its pixels
    x, y = driver.execute_script("""
        return import('nicegui-echart').then(m => {
          const chart = m.echarts.getInstanceByDom(document.querySelector('.nicegui-echart'));
          const box = chart.getOption().series[0].data.find(d => d.id === 'bm_api');
          return [box.x, box.y];
        });""")
    canvas = driver.find_element(By.CSS_SELECTOR, ".nicegui-echart canvas")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect();"
                                 "return [r.left, r.top];", canvas)
    driver.execute_script("""
        const [el, x, y] = arguments;
        for (const type of ['mousemove', 'mousedown', 'mouseup', 'click']) {
          el.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true}));
        }""", canvas, rect[0] + x, rect[1] + y)
    WebDriverWait(driver, 15).until(
        lambda d: "华北制药" in d.find_element(By.CSS_SELECTOR, ".q-dialog").text)
    dialog = driver.find_element(By.CSS_SELECTOR, ".q-dialog").text
    assert "化学原料药" in dialog and XSS in dialog
    _assert_clean(driver, server, "/chain (clicked)")
    driver.save_screenshot(str(ARTIFACTS / "chain-node-firms.png"))
