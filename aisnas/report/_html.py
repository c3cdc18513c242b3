"""A single offline HTML page: text, pandas tables and plotly figures, plotly.js inlined once.

Nothing is fetched from the web: the first figure carries plotly.js inline (about
4.6 MB), later figures reuse it, pictures are data: URIs, and the table sorter is a
few lines of inline script.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

__all__ = ["Page"]

# The scrollbar is always there, so the page width does not change while the figures
# are drawn one after another (a figure keeps the width it was drawn at).
_CSS = """
html { overflow-y: scroll; }
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.8em; }
.note { color: #555; font-size: .92em; margin: .3em 0 .8em; }
.message { background: #fff4e5; border-left: 4px solid #ff9f40; padding: .6em 1em; margin: .6em 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1em; }
.grid > div { min-width: 0; overflow: hidden; }
table { border-collapse: collapse; font-size: .85em; margin: .4em 0 1em; }
th, td { border-bottom: 1px solid #e5e5e5; padding: .25em .6em; text-align: right; white-space: nowrap; }
th { background: #f5f5f5; position: sticky; top: 0; }
table.sortable th { cursor: pointer; } table.sortable th[data-sort=asc]::after { content: " \\25B2"; }
table.sortable th[data-sort=desc]::after { content: " \\25BC"; }
table.kv th { text-align: left; } table.kv td { text-align: left; white-space: normal; }
.scroll { overflow-x: auto; max-height: 32em; }
img.picture { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
"""

# Sort a table by the clicked column: numbers numerically, anything else as text.
_SORT_JS = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.dataset.sort !== "asc";
    th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.sort; });
    th.dataset.sort = asc ? "asc" : "desc";
    function key(tr) {
      var t = tr.children[col].textContent.trim();
      return /^[-+]?[0-9][0-9,]*(\\.[0-9]*)?([eE][-+]?[0-9]+)?$/.test(t) ? parseFloat(t.replace(/,/g, "")) : t;
    }
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = (typeof x === "number" && typeof y === "number") ? x - y
            : (typeof x === "number" ? -1 : typeof y === "number" ? 1 : String(x).localeCompare(String(y)));
      return asc ? c : -c;
    }).forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _fmt(v) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.4g}"
    return str(v)


class Page:
    """Collects the page's parts in order; `html()` gives the finished document."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []
        self.figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def note(self, text: str) -> None:
        if text:
            self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def message(self, text: str) -> None:
        """A notice the reader must not miss (no trials yet, only failures, still running)."""
        self.parts.append(f'<div class="message">{html.escape(text)}</div>')

    def figures_grid(self, figures) -> None:
        figs = [f for f in figures if f is not None]
        if figs:
            self.parts.append('<div class="grid">' + "".join(self._figure(f) for f in figs) + "</div>")

    def figure(self, fig) -> None:
        if fig is not None:
            self.parts.append(self._figure(fig))

    def _figure(self, fig) -> str:
        first = self.figures == 0
        self.figures += 1
        return '<div class="figure">' + fig.to_html(
            full_html=False, include_plotlyjs=first, include_mathjax=False,
            config={"displaylogo": False, "responsive": True}) + "</div>"

    def table(self, df: pd.DataFrame, *, sortable: bool = False, table_id: str | None = None) -> None:
        classes = ["sortable"] if sortable else []
        body = df.to_html(index=False, border=0, na_rep="-", classes=classes, table_id=table_id, escape=True,
                          formatters={c: _fmt for c in df.columns})
        self.parts.append(f'<div class="scroll">{body}</div>')

    def key_values(self, items: list[tuple[str, object]]) -> None:
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>" for k, v in items)
        self.parts.append(f'<table class="kv">{rows}</table>')

    def picture(self, png: Path, alt: str) -> None:
        data = base64.b64encode(Path(png).read_bytes()).decode()
        self.parts.append(f'<img class="picture" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')

    def html(self) -> str:
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>\n"
                + "\n".join(self.parts) + f"\n<script>{_SORT_JS}</script>\n</body></html>\n")
