"""The text of a file to read: plain text, Word (.docx), PDF or a web page (.html).

Plain text is decoded by charset detection (GBK and GB18030 are common in government
files). A .docx is read from its XML (paragraphs in order) with the standard library; an
HTML page keeps its visible text, block elements as line breaks; a PDF's text is
extracted by pdfminer.six (a scanned PDF has no text layer: the error says so). Line
breaks are kept: the intake reads headings from them.
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

from charset_normalizer import from_bytes

from chainatlas.errors import InputError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
           "article", "table", "ul", "ol", "header", "footer"}
_SKIP = {"script", "style", "noscript", "head", "template"}
SUFFIXES = (".txt", ".text", ".md", ".docx", ".pdf", ".html", ".htm")


def text_from_bytes(data: bytes, name: str = "text") -> str:
    """Decode plain text in whatever encoding it is in; InputError when it is not text."""
    if not data.strip():
        raise InputError.single(name, "the file is empty")
    best = from_bytes(data).best()
    if best is None:
        raise InputError.single(name, "the file is not text in any known encoding")
    return str(best).replace("\r\n", "\n").replace("\r", "\n")


def text_from_docx(path: Path) -> str:
    """The paragraphs of a Word document, one per line."""
    try:
        with zipfile.ZipFile(path) as book:
            root = ElementTree.fromstring(book.read("word/document.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise InputError.single(str(path), f"not a readable .docx file ({exc})") from None
    lines = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]
    return "\n".join(lines)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skip:
            self._skip -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_from_html(html: str) -> str:
    """The visible text of a web page, blocks on their own lines."""
    parser = _Visible()
    parser.feed(html)
    text = "".join(parser.parts)
    return re.sub(r"\n[ \t\u3000]*\n+", "\n\n", text).strip()


def text_from_pdf(path: Path) -> str:
    """The text layer of a PDF (pdfminer.six)."""
    from pdfminer.high_level import extract_text

    try:
        text = str(extract_text(str(path)))
    except Exception as exc:  # pdfminer raises many types for a damaged file
        raise InputError.single(str(path), f"not a readable PDF ({exc})") from None
    if not text.strip():
        raise InputError.single(str(path), "the PDF has no text layer (a scan?): convert "
                                "it with OCR first")
    return text


def text_from_file(path: Path) -> str:
    """The text of ``path`` by its suffix (.txt/.md, .docx, .pdf, .html/.htm)."""
    if not path.is_file():
        raise InputError.single(str(path), "no such file")
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return text_from_docx(path)
    if suffix == ".pdf":
        return text_from_pdf(path)
    if suffix in (".html", ".htm"):
        return text_from_html(text_from_bytes(path.read_bytes(), str(path)))
    if suffix in (".txt", ".text", ".md", ""):
        return text_from_bytes(path.read_bytes(), str(path))
    raise InputError.single(str(path), f"cannot read {suffix} files: use one of "
                            f"{', '.join(SUFFIXES)}")
