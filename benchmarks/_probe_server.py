"""The shared core of ``probe_hardening.py`` and its probes that need ``chainatlas serve``.

The core: :func:`run_cli` (one CLI call in a child process, its exit, seconds and peak
RSS under :data:`MEMORY_CAP`), :class:`Result` (one probe's verdict), :class:`Server` (a
served store on a free loopback port). The probes here cover the web side of issue 10:
sign-in and roles for writes (point 1), a team's load (point 2, through
``bench_load.py``), damaged stores served and CLI reads beside a server (point 8), the
route of a firm named with "/" and ``Allow`` on 405 (point 9).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HEADER = ["企业名称", "统一社会信用代码", "注册地址", "经营范围", "注册资本", "成立日期",
          "从业人数"]
ROW = ["石家庄测试制药有限公司", "", "河北省石家庄市长安区", "片剂、胶囊剂的生产", "503万元",
       "2001-05-01", "2762"]

#: The probes' children may use this much memory (the XFD1048576 workbook once took
#: 8.5 GB and more): past it they fail, and the probe says so, instead of the machine.
MEMORY_CAP = 8 * 2**30
EXE = str(Path(sys.executable).with_name("chainatlas"))


@dataclass
class Run:
    """What one CLI call gave (``output``: stderr then stdout)."""

    status: int
    seconds: float
    peak_mb: float
    output: str
    stdout: str = ""

    @property
    def traceback(self) -> bool:
        """Whether the child printed a Python traceback."""
        return "Traceback" in self.output

    @property
    def first_line(self) -> str:
        """The message: the first line saying Error (else the first line), bars left out."""
        lines = [ln.strip() for ln in self.output.splitlines()
                 if ln.strip() and "0:00:" not in ln]
        errors = [ln for ln in lines if "Error" in ln or "rror:" in ln]
        return ((errors or lines or [""])[0])[:160]

    def json(self) -> Any:
        """The child's ``--json`` answer on stdout (None when it printed none)."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            return None


@dataclass
class Result:
    """One probe: the issue's figure, the right answer, what it gave now, the verdict."""

    point: int
    name: str
    was: str
    want: str
    now: str
    ok: bool
    run: Run | None = None
    changed: bool | None = None


@dataclass
class Context:
    """What every probe needs: the base store (copied, never written), a work folder and
    the children's environment."""

    base: Path
    work: Path
    env: dict[str, str] = field(default_factory=dict)

    def copy_store(self, name: str = "store.duckdb") -> Path:
        """A fresh copy of the base store (an earlier copy's side files removed)."""
        target = self.work / name
        for side in [target, *self.work.glob(f"{name}.*")]:  # .wal, the text model cache
            side.unlink(missing_ok=True)
        target.write_bytes(self.base.read_bytes())
        return target

    def cli(self, args: list[str], timeout: float = 180, stdin: str | None = None) -> Run:
        """``chainatlas ARGS`` with this context's environment (the work folder left out
        of its messages, so that a message's point fits one line)."""
        run = run_cli(args, self.env, timeout, stdin)
        run.output = run.output.replace(f"{self.work}/", "")
        return run


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(args: list[str], env: dict[str, str], timeout: float = 180,
            stdin: str | None = None) -> Run:
    """Run ``chainatlas ARGS`` (killed past ``timeout``); its own peak RSS comes from
    wait4's rusage, so other children do not count."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as feed:
        feed.write((stdin or "").encode())
        feed.seek(0)
        proc = subprocess.Popen([EXE, *args], stdin=feed, stdout=out, stderr=err, env=env,
                                preexec_fn=_cap_memory)
        status, usage = _wait(proc, start + timeout)
        text = [_read(f) for f in (err, out)]
    return Run(os.waitstatus_to_exitcode(status), time.perf_counter() - start,
               usage.ru_maxrss / 1024, text[0] + text[1], text[1])


def _read(file: Any) -> str:
    file.seek(0)
    return str(file.read().decode("utf-8", "replace"))


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, Any]:
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return status, usage
        time.sleep(0.02)


def write_csv(path: Path, rows: list[list[str]], *, cut: int | None = None) -> Path:
    """A roster CSV with :data:`HEADER`; ``cut`` drops the last bytes (cut mid-row)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    if cut is not None:
        path.write_bytes(path.read_bytes()[:-cut])
    return path


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``chainatlas serve`` on a free port in a child process; its output kept in a file."""

    def __init__(self, ctx: Context, store: Path, host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = ctx.work / f"serve-{self.port}.log"
        env = {**ctx.env, "CHAINATLAS_SECRET": "probe-secret"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [EXE, "serve", "--host", host, "--port", str(self.port), "--db", str(store)],
                stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_cap_memory)

    def wait(self, limit: float = 60) -> float | None:
        """Seconds until the server answers anything (None: it exited or never did)."""
        start = time.perf_counter()
        while time.perf_counter() - start < limit and self.proc.poll() is None:
            try:
                httpx.get(self.base + "/api/v1/chains", timeout=2)
                return time.perf_counter() - start
            except httpx.HTTPError:
                time.sleep(0.3)
        return None

    def output(self) -> str:
        """What the server printed so far."""
        return self.log.read_text("utf-8", "replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL past 20 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serving(ctx: Context, store: Path, host: str = "127.0.0.1") -> Iterator[Server]:
    """A ready server on ``store`` (RuntimeError when it does not answer in 60 s)."""
    server = Server(ctx, store, host)
    try:
        if server.wait() is None:
            raise RuntimeError("the server did not answer: " + server.output()[-300:])
        yield server
    finally:
        server.stop()


def tail(text: str, width: int = 160) -> str:
    """The last non-empty line of ``text``, shortened."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[-1] if lines else "")[:width]


def damaged_store(ctx: Context, kind: str) -> Path:
    """A copy of the base store cut to a third (``truncated``) or with 4 KiB inverted at a
    quarter, the middle and three quarters of the file (``flipped``)."""
    store = ctx.copy_store(f"{kind}.duckdb")
    data = bytearray(store.read_bytes())
    if kind == "truncated":
        del data[len(data) // 3:]
    else:
        for at in (len(data) // 4, len(data) // 2, 3 * len(data) // 4):
            data[at:at + 4096] = bytes(b ^ 0xFF for b in data[at:at + 4096])
    store.write_bytes(bytes(data))
    return store


def short(text: str, width: int = 110) -> str:
    """One line of an answer, shortened."""
    return " ".join(text.split())[:width]


# -- users and what they may write (point 1) ------------------------------------------

PASSWORD = "probe-Passw0rd-2024"
USERS = (("probe_admin", "admin"), ("probe_viewer", "viewer"), ("probe_analyst", "analyst"))


def add_users(ctx: Context, store: Path) -> tuple[dict[str, str], str]:
    """:data:`USERS`, a token each (keyed by role), made with ``users add|token``; with the
    library while the CLI has no ``users`` command (the note says which)."""
    tokens: dict[str, str] = {}
    for name, role in USERS:
        added = ctx.cli(["users", "add", name, "--role", role, "--password-stdin",
                         "--db", str(store)], stdin=PASSWORD + "\n")
        if "No such command" in added.output:
            return _library_users(store), "no 'users' CLI yet: users made with the library"
        issued = ctx.cli(["users", "token", name, "--db", str(store)])
        if added.status or issued.status:
            raise RuntimeError(f"users add/token {name}: {added.first_line} "
                               f"{issued.first_line}")
        tokens[role] = issued.stdout.strip().splitlines()[-1]
    return tokens, "users made with 'chainatlas users add|token'"


def _library_users(store: Path) -> dict[str, str]:
    from chainatlas.store import Database
    from chainatlas.store.users import add_user, issue_token

    tokens: dict[str, str] = {}
    with Database(store) as db:
        for name, role in USERS:
            add_user(db, name, role, PASSWORD, actor="probe")
            tokens[role] = issue_token(db, name, actor="probe")
    return tokens


def correction_targets(store: Path, count: int) -> list[tuple[str, str]]:
    """``count`` listed firms and the first biomedicine leaf node none of them is on."""
    from chainatlas.store import Database

    with Database(store, read_only=True) as db:
        node = str(db.scalar("SELECT node_id FROM chain_nodes WHERE chain_id = 'biomedicine'"
                             " AND is_leaf ORDER BY ord, node_id LIMIT 1"))
        rows = db.rows("SELECT company_id FROM companies WHERE origin = 'listed' AND "
                       "company_id NOT IN (SELECT company_id FROM placements WHERE "
                       "chain_id = 'biomedicine' AND node_id = ?) ORDER BY company_id "
                       "LIMIT ?", [node, count])
    return [(str(r["company_id"]), node) for r in rows]


def write_checks(server: Server, tokens: dict[str, str], target: tuple[str, str],
                 note: str) -> list[Result]:
    """POST /api/v1/corrections as nobody, from another Host or Origin, as a viewer, with
    a free-text author and as an analyst."""
    body = {"firm": target[0], "chain": "biomedicine", "node": target[1],
            "action": "assign", "reason": "probe: hardening"}

    def post(headers: dict[str, str], payload: dict[str, str] = body) -> httpx.Response:
        return httpx.post(server.base + "/api/v1/corrections", json=payload,
                          headers=headers, timeout=30)

    def bearer(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    cases = [("anonymous_post", "201: no login needed", 401, post({})),
             ("evil_host", "accepted with Host: evil.example", 400,
              post({**bearer("analyst"), "Host": "evil.example"})),
             ("evil_origin", "(not probed)", 403,
              post({**bearer("analyst"), "Origin": "http://evil.example"})),
             ("viewer_post", "(no roles)", 403, post(bearer("viewer"))),
             ("free_author", "author was free text", 422,
              post(bearer("analyst"), {**body, "author": "mallory"})),
             ("analyst_post", "(anyone could)", 201, post(bearer("analyst")))]
    results = [Result(1, name, was, f"{code}", f"{resp.status_code} {short(resp.text)}",
                      resp.status_code == code) for name, was, code, resp in cases]
    answer = cases[-1][3]
    author = answer.json().get("author") if answer.status_code == 201 else None
    results[-1].ok = results[-1].ok and author == "probe_analyst"
    results[-1].want = f"201, author probe_analyst ({note})"
    return results


def audit_check(ctx: Context, store: Path) -> Result:
    """The analyst's correction has its line in ``chainatlas audit --json``."""
    run = ctx.cli(["audit", "--json", "--db", str(store)])
    rows = run.json()
    if "No such command" in run.output:
        from chainatlas.store import Database
        from chainatlas.store.audit import audit_rows

        with Database(store, read_only=True) as db:
            rows = audit_rows(db, limit=100)
    lines = [r for r in rows or [] if r.get("actor") == "probe_analyst"]
    how = "no 'audit' CLI yet: read with the library" if "No such command" in run.output \
        else f"audit exit {run.status}"
    return Result(1, "audit_line", "no audit log", "a line by probe_analyst",
                  f"{len(lines)} line(s) by probe_analyst "
                  f"({short(str(lines[0].get('action')), 40) if lines else '-'}); {how}",
                  bool(lines) and not run.traceback, run)


def wildcard_refused(ctx: Context) -> Result:
    """``serve --host 0.0.0.0`` on a store without users must refuse to start."""
    store = ctx.copy_store("nousers.duckdb")
    run = ctx.cli(["serve", "--host", "0.0.0.0", "--port", str(free_port()),
                   "--db", str(store)], timeout=40)
    said = "user" in run.output.lower()
    return Result(1, "wildcard_no_users", "served without a word",
                  "refused: exit≠0 within 40 s, message names the users",
                  f"exit {run.status}: {run.first_line}",
                  run.status > 0 and not run.traceback and said, run)


def wildcard_warns(ctx: Context) -> Result:
    """``serve --host 0.0.0.0`` with a user: a warning, and reads need a signed-in user."""
    store = ctx.copy_store("wild.duckdb")
    add_users(ctx, store)
    with serving(ctx, store, host="0.0.0.0") as server:
        anonymous = httpx.get(server.base + "/api/v1/chains", timeout=30).status_code
        warned = [ln for ln in server.output().splitlines() if "arning" in ln]
    return Result(1, "wildcard_with_user", "no warning",
                  "a warning printed; anonymous read 401",
                  f"warning: {short(warned[0], 70) if warned else 'none'}; anonymous GET "
                  f"{anonymous}", bool(warned) and anonymous == 401)


# -- one served store: routes, reads beside the server (points 1, 2, 8, 9) -------------

SLASH_NAME = "石家庄斜杠/测试有限公司"


def slash_firm(ctx: Context, store: Path) -> str:
    """Import a roster firm named with "/" and no USCC; return its company id."""
    from chainatlas.store import Database

    file = write_csv(ctx.work / "slash.csv", [[SLASH_NAME, *ROW[1:]]])
    run = ctx.cli(["import", "roster", str(file), "--db", str(store)])
    if run.status:
        raise RuntimeError(f"importing {SLASH_NAME}: {run.first_line}")
    with Database(store, read_only=True) as db:
        return str(db.scalar("SELECT company_id FROM companies WHERE origin = 'roster' AND "
                             "(full_name = ? OR short_name = ?)", [SLASH_NAME, SLASH_NAME]))


def slash_routes(server: Server, company_id: str) -> Result:
    """GET /api/v1/firms/<id> and /firm/<id> of the "/" firm (id percent-encoded)."""
    quoted = quote(company_id, safe="")
    api = httpx.get(f"{server.base}/api/v1/firms/{quoted}", timeout=30)
    page = httpx.get(f"{server.base}/firm/{quoted}", timeout=30)
    named = api.status_code == 200 and SLASH_NAME in api.text
    return Result(9, "slash_name_routes", "404 on its API route and page",
                  "both 200 (API answer names the firm)",
                  f"id {company_id!r}: API {api.status_code}, page {page.status_code}",
                  named and page.status_code == 200)


PAGE_PATHS = ("/", "/chain", "/map", "/recommend", "/leaders", "/firm", "/login")


def allow_on_405(server: Server) -> Result:
    """PATCH (a method no route takes) on every OpenAPI path and page: each 405 names the
    methods in ``Allow``."""
    document = httpx.get(server.base + "/openapi.json", timeout=30).json()
    paths = [re.sub(r"\{[^}]+\}", "x", p) for p in document.get("paths", {})]
    answers = [httpx.request("PATCH", server.base + p, timeout=30)
               for p in [*paths, *PAGE_PATHS]]
    refused = [a for a in answers if a.status_code == 405]
    bare = [str(a.url.path) for a in refused if "allow" not in a.headers]
    return Result(9, "allow_on_405", "15 routes answered 405 without Allow",
                  "every 405 carries Allow",
                  f"{len(answers)} routes, {len(refused)} answered 405, {len(bare)} without "
                  f"Allow {bare[:3]}", bool(refused) and not bare)


def page_payload(server: Server, path: str, limit: float = 30) -> tuple[int, str]:
    """What a browser gets for a page: the bytes of its HTML and of the socket.io packets
    up to its body, and their decoded text (``bench_load.page_load``'s handshake)."""
    from bench_load import _QUERY, PAGE_BODIES, SOCKET, _packets, _texts

    with httpx.Client(base_url=server.base, timeout=30) as client:
        page = client.get(path)
        found = _QUERY.search(page.text)
        if page.status_code != 200 or found is None:
            return len(page.content), page.text
        query = {k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in ast.literal_eval(found.group(1)).items()}
        query |= {"tab_id": str(uuid.uuid4()), "document_id": str(uuid.uuid4()),
                  "EIO": "4", "transport": "polling"}
        query["sid"] = json.loads(client.get(SOCKET, params=query).text[1:])["sid"]
        client.post(SOCKET, params=query, content="40")
        size, texts = len(page.content), [page.text]
        deadline = time.perf_counter() + limit
        # The marker is looked for in the socket's packets only: a title may hold it too.
        while time.perf_counter() < deadline and (
                len(texts) == 1 or PAGE_BODIES[path] not in texts[-1]):
            polled = client.get(SOCKET, params=query)
            size += len(polled.content)
            packets = _packets(polled.text)
            texts.append("".join(_texts(p) for p in packets))
            if "2" in packets:  # ping: answer as a browser does
                client.post(SOCKET, params=query, content="3")
        client.post(SOCKET, params=query, content="41")
    return size, "".join(texts)


def sample_districts(store: Path, count: int = 50) -> list[str]:
    """Names of districts outside 河北 (the default region), none a page has reason to
    show unless it embeds every region."""
    from chainatlas.store import Database

    with Database(store, read_only=True) as db:
        rows = db.rows("SELECT DISTINCT name FROM regions WHERE level = 'district' AND "
                       "province_adcode <> '130000' AND length(name) >= 3 ORDER BY "
                       "hash(name), name LIMIT ?", [count])
    return [str(r["name"]) for r in rows]


def page_weight(server: Server, store: Path) -> Result:
    """Bytes a browser receives per page, and how many of 50 sample districts they name
    (every region was embedded: 210–320 KB)."""
    districts = sample_districts(store)
    sizes, named = {}, {}
    for path in ("/", "/map", "/recommend", "/chain"):
        sizes[path], payload = page_payload(server, path)
        named[path] = sum(d in payload for d in districts)
    return Result(2, "page_payload", "210–320 KB of HTML per page (3,511 regions)",
                  f"no page names > 5 of {len(districts)} sample districts",
                  ", ".join(f"{p} {sizes[p] / 1024:.0f} KB ({named[p]} named)"
                            for p in sizes), max(named.values()) <= 5)


def reads_beside_server(ctx: Context, store: Path) -> list[Result]:
    """``stats`` and ``region`` on the store the server holds."""
    runs = {"stats": ctx.cli(["stats", "--db", str(store)]),
            "region": ctx.cli(["region", "石家庄", "--chain", "biomedicine", "--db",
                               str(store)])}
    return [Result(8, f"{name}_while_serving", "read-only commands failed",
                   "exit 0", f"exit {run.status}: {run.first_line}",
                   run.status == 0 and not run.traceback, run) for name, run in runs.items()]


def served_probes(ctx: Context) -> list[Result]:
    """One served store (users, a "/" firm): writes, routes, pages, CLI reads beside it,
    then the audit log once the server stopped."""
    store = ctx.copy_store("served.duckdb")
    company_id = slash_firm(ctx, store)
    tokens, note = add_users(ctx, store)
    target = correction_targets(store, 1)[0]
    with serving(ctx, store) as server:
        results = write_checks(server, tokens, target, note)
        results += [slash_routes(server, company_id), allow_on_405(server),
                    page_weight(server, store), *reads_beside_server(ctx, store)]
    return [*results, audit_check(ctx, store)]


# -- damaged stores served (point 8) ----------------------------------------------------

DAMAGED_READS = ("/api/v1/chains", "/api/v1/search?q=%E7%9F%B3%E5%AE%B6",
                 "/api/v1/region-profile?chain=biomedicine&region=130100",
                 "/api/v1/map?chain=biomedicine&level=province")


def serve_damaged(ctx: Context, kind: str) -> Result:
    """``serve`` on a truncated or bit-flipped store: refuse with a message, or serve and
    answer every read without a 5xx; never a traceback."""
    server = Server(ctx, damaged_store(ctx, kind))
    try:
        ready = server.wait(limit=40)
        answers = [httpx.get(server.base + p, timeout=30)
                   for p in DAMAGED_READS] if ready is not None else []
    finally:
        server.stop()
    output, status = server.output(), server.proc.returncode
    traced = "Traceback" in output
    if ready is None:
        message = next((ln for ln in output.splitlines() if "rror" in ln), tail(output))
        return Result(8, f"serve_{kind}", "traceback", "refused: exit≠0, a message",
                      f"exit {status}: {short(message, 130)}",
                      status not in (0, None) and not traced)
    raised = [ln for ln in output.splitlines() if re.match(r"^\w[\w.]*(Error|Exception)", ln)]
    codes = [a.status_code for a in answers]
    return Result(8, f"serve_{kind}", "traceback",
                  "served reads: answered, or the store's 'damaged' message; no traceback",
                  f"served; answers {codes}; traceback in log: {'yes' if traced else 'no'}"
                  + (f" ({short(raised[0], 80)})" if raised else ""),
                  all(_read_or_damaged(a) for a in answers) and not traced)


def _read_or_damaged(answer: httpx.Response) -> bool:
    """A read answered, or refused with the store's own message (damaged: rebuild)."""
    if answer.status_code < 500:
        return True
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return error.get("type") == "StoreError" and "damaged" in str(error.get("message"))


# -- a team at once (point 2): bench_load.py, shortened ---------------------------------

LOAD_ARGS = ["--clients", "50", "--seconds", "10", "--baseline-seconds", "3",
             "--pages", "20", "--page-rounds", "1", "--rss-requests", "2000"]
_PHASE = re.compile(r"^(?P<name>\S.*?)\s+n=\s*(?P<n>\d+)\s+(?P<rate>[\d.]+) req/s.*?"
                    r"p95\s+(?P<p95>\d+) ms.*?errors (?P<errors>\d+)")
_NO_ANSWERS = re.compile(r"^(?P<name>\S.*?)\s+no answers; (?P<errors>\d+) errors")
_RSS = re.compile(r"start (\d+) MiB, end (\d+) MiB, max (\d+) MiB")


#: The issue's figure beside each phase bench_load prints (matched by how it starts).
LOAD_WAS = {"load": "50 clients: 21 req/s, p95 5.4 s", "pages beside": "(not probed)",
            "pages": "10 pages at once: all 68 answered 500",
            "API beside": "API p95 2.8 s beside page loads"}
_LOG_ERRORS = re.compile(r"server log: (\d+) error lines")


def load_probes(ctx: Context) -> list[Result]:
    """``bench_load.py`` for about a minute on a copy of the store: 50 API clients, 20
    page loads at once (alone and beside the API), the server's RSS over 2,000 requests,
    the error lines of the server's log."""
    store = ctx.copy_store("load.duckdb")
    script = Path(__file__).with_name("bench_load.py")
    proc = subprocess.run([sys.executable, str(script), "--db", str(store), *LOAD_ARGS],
                          env=ctx.env, capture_output=True, text=True, timeout=400,
                          check=False)
    results = []
    for line in proc.stdout.splitlines():
        found = _PHASE.match(line.strip()) or _NO_ANSWERS.match(line.strip())
        name = found["name"] if found else ""
        # Phases bench_load names differently over time: matched by their first words.
        key = next((k for k in LOAD_WAS if name.startswith(k)), None)
        if found and key:
            results.append(_phase(name, found.groupdict(), LOAD_WAS[key],
                                  3000 if name.startswith("pages") else 1000))
    if not results:
        raise RuntimeError(f"bench_load gave no figures: {tail(proc.stdout + proc.stderr)}")
    logged = _LOG_ERRORS.search(proc.stdout)
    errors = int(logged.group(1)) if logged else -1
    first = proc.stdout.split("server log:", 1)[-1].splitlines()[1:2] if logged else []
    results += [_rss(proc.stdout), Result(
        2, "load_server_log", "(not probed)", "0 error lines in the server's log",
        f"{errors} error lines {short(first[0], 70) if first else ''}", errors == 0)]
    return results


def _phase(name: str, found: dict[str, str], was: str, goal_ms: int) -> Result:
    p95 = int(found.get("p95") or 10**9)
    errors = int(found.get("errors") or 0)
    now = (f"n={found['n']} {found['rate']} req/s p95 {p95} ms errors {errors}"
           if found.get("p95") else f"no answers; {errors} errors")
    label = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")
    return Result(2, f"load_{label}"[:28], was, f"0 errors, p95 ≤ {goal_ms} ms", now,
                  errors == 0 and p95 <= goal_ms)


def _rss(stdout: str) -> Result:
    found = _RSS.search(stdout)
    start, end, peak = (int(v) for v in found.groups()) if found else (0, 0, 0)
    return Result(2, "load_server_rss", "780 MB → 1.3 GB", "end ≤ start + 150 MiB",
                  f"start {start} MiB, end {end} MiB, max {peak} MiB over 2,000 requests",
                  found is not None and end <= start + 150)
