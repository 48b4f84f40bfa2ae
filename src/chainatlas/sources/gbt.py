"""GB/T 4754-2017 national economy industry classification, read from its public source.

The source is a JavaScript module (an array of object literals with unquoted keys and
single-quoted strings), not JSON; :func:`records_from_js` reads that subset of JS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from chainatlas.errors import InputError, Problem
from chainatlas.sources.staging import Issue

GBT = "gbt2017"
_KEY = re.compile(r"([A-Za-z_$][\w$]*)\s*:")


def _json_from_js(text: str) -> str:
    """Rewrite JS object-literal syntax (unquoted keys, '…' strings) as JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            j, buf = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            out.append(json.dumps("".join(buf), ensure_ascii=False))
            i = j + 1
            continue
        match = _KEY.match(text, i)
        if match and (not out or out[-1].rstrip()[-1:] in "{,"):
            out.append(json.dumps(match.group(1)) + ":")
            i = match.end()
            continue
        out.append(ch)
        i += 1
    return re.sub(r",\s*([\]}])", r"\1", "".join(out))


def records_from_js(path: Path, label: str) -> list[dict[str, str]]:
    """Parse the category.js array into a list of row dicts."""
    text = path.read_text(encoding="utf-8-sig")
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        raise InputError.single(label, "no JavaScript array found")
    try:
        rows = json.loads(_json_from_js(text[start:end + 1]))
    except json.JSONDecodeError as exc:
        line = text[:start].count("\n") + 1
        raise InputError.single(label, f"cannot read the array near line {line}: {exc}") from exc
    if not isinstance(rows, list):
        raise InputError.single(label, "expected an array of classification rows")
    return [r for r in rows if isinstance(r, dict)]


def classes_from_records(rows: list[dict[str, str]],
                         label: str) -> tuple[pd.DataFrame, list[Issue]]:
    """Return code, name, level, parent, remark for every section, division, group and class.

    A class whose group has no row of its own (a group of one class) hangs from its
    division. A code listed twice keeps its first row; the repeat is returned as an issue.
    """
    out, problems = [], []
    for number, row in enumerate(rows, start=1):
        level = str(row.get("level", "")).strip()
        parts = [str(row.get(f"class{k}", "") or "").strip() for k in range(1, 5)]
        if level not in {"1", "2", "3", "4"} or not parts[int(level) - 1]:
            problems.append(Problem(label, number, "level", f"bad level/code in {row!r}"))
            continue
        depth = int(level)
        code = parts[depth - 1]
        parent = parts[depth - 2] if depth > 1 else None
        out.append({"code": code, "name": str(row.get("name", "")).strip(), "level": depth,
                    "parent": parent, "remark": str(row.get("remark", "") or "") or None,
                    "section": parts[0], "line": number})
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(out)
    repeats = frame[frame.duplicated("code")]
    issues = [Issue(int(line), "code", "duplicate_code", "merged",
                    f"code {code} ({name}) listed again; first row kept")
              for line, code, name in zip(repeats["line"], repeats["code"], repeats["name"],
                                          strict=True)]
    frame = frame.drop_duplicates("code").reset_index(drop=True)
    codes = set(frame["code"])
    orphan = frame["parent"].notna() & ~frame["parent"].isin(codes)
    frame.loc[orphan, "parent"] = frame.loc[orphan, "parent"].str[:2]
    frame["name"] = frame["name"].str.strip()
    return frame, issues
