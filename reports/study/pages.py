"""HTML of the study pages: one per component and the index, static files only.

No script, no network: code is highlighted by Pygments at build time, formulas
are MathML (latex2mathml), which browsers render natively; the stylesheet is a
file next to the pages (``study.css``, this package's plus Pygments' colours).
"""

import html
import math
import os
from pathlib import Path

from latex2mathml.converter import convert as latex_to_mathml
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from parity.book import CHAPTERS, OTHER
from parity.engine.registry import entry_id
from reports.study import collect
from reports.study.code import ROW_TITLES

CSS_FILE = "study.css"
COLOURS = {"PASS": "pass", "gaps": "gap", "defects": "gap", "FAIL": "fail",
           "not run": "notrun"}
VERDICT_WORDS = {"PASS": "every check passes", "gaps": "passes, with documented gaps",
                 "defects": "known defect confirmed (kept as published)", "FAIL": "FAILS",
                 "not run": "not run"}
AUTOGRAD = ("no backward to read: torch's autograd derives it from the forward above "
            "(loss.backward() walks the recorded graph)")


def stylesheet():
    own = (Path(__file__).with_name(CSS_FILE)).read_text()
    return own + "\n/* Pygments (default style) */\n" + HtmlFormatter().get_style_defs(".code")


def esc(value):
    return html.escape(str(value), quote=True)


def number(value):
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return ""
        return f"{value:.3g}" if isinstance(value, float) else str(value)
    return str(value)


def href(target, page_dir):
    """A relative link from ``page_dir`` to a file (works from file://)."""
    return Path(os.path.relpath(target, page_dir)).as_posix()


def page(title, body, crumbs=""):
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)}</title><link rel='stylesheet' href='{CSS_FILE}'></head>"
            f"<body>{crumbs}{body}</body></html>\n")


def table(df, colour=None, numeric=()):
    """A plain HTML table; ``colour(row) -> css class`` per row."""
    if df is None or df.empty:
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cls = f" class='{colour(row)}'" if colour and colour(row) else ""
        cells = "".join(f"<td class='num'>{esc(number(row[c]))}</td>" if c in numeric
                        else f"<td>{esc(number(row[c]))}</td>" for c in df.columns)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def maths(tex):
    return latex_to_mathml(tex, display="inline")


def formula_html(formula):
    if formula is None:
        return ("<p class='muted'>No formula recorded for this component (FORMULAS in the "
                "parity/pairs module that registers it).</p>")
    parts = [f"<div class='formula'><span class='label'>forward</span> {maths(formula.forward)}"
             "</div>"]
    if formula.backward:
        parts.append(f"<div class='formula'><span class='label'>backward</span> "
                     f"{maths(formula.backward)}</div>")
    if formula.note:
        parts.append(f"<p class='note'>{esc(formula.note)}</p>")
    return "".join(parts)


def code_block(block, page_dir):
    formatter = HtmlFormatter(cssclass="code", linenos="inline", linenostart=block.line)
    where = f"{Path(block.path).name}:{block.line}"
    return (f"<div class='block'><div class='title'>{esc(block.title)} &mdash; "
            f"<a href='{esc(href(block.path, page_dir))}'>{esc(where)}</a></div>"
            f"{highlight(block.source, PythonLexer(), formatter)}</div>")


def code_html(rows, page_dir):
    """Two columns, one row per role: forward beside forward, backward beside backward."""
    if not rows:
        return "<p class='muted'>No scratch or torch code found behind this component.</p>"
    out = ["<table class='code'><thead><tr><th>scratch (NumPy)</th><th>torch twin</th></tr>"
           "</thead><tbody>"]
    for role, sides in rows.items():
        out.append(f"<tr class='role'><th colspan='2'>{esc(ROW_TITLES[role])}</th></tr><tr>")
        for side in ("scratch", "torch"):
            blocks = sides[side]
            if blocks:
                out.append("<td>" + "".join(code_block(b, page_dir) for b in blocks) + "</td>")
            elif side == "torch" and role == "backward":
                out.append(f"<td class='empty'>{esc(AUTOGRAD)}</td>")
            else:
                out.append("<td class='empty'>nothing here on this side</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def verdict_colour(row):
    v = row["verdict"]
    return "fail" if v == "FAIL" else "gap" if "gaps" in v or "defect" in v else "pass"


def speed_html(speed):
    if speed is None:
        return ("<p class='muted'>No row for this component in reports/out/speed.csv "
                "(run <code>python -m reports --sections speed</code>; networks and the "
                "benchmarked layers have rows).</p>")
    cols = [c for c in speed.columns if c in (
        "component", "phase", "input", "scratch ms", "torch ms", "scratch/torch", "ratio low",
        "ratio high", "target", "scratch GFLOP/s", "torch GFLOP/s")]
    return table(speed[cols], numeric=cols[3:])


def links_html(comp, page_dir, tests):
    items = []
    for e in comp.entries:
        found = collect.registry_lines(e)
        where = "(registered outside a module)"
        if found:
            path, line = found
            shown = path.relative_to(collect.ROOT) if path.is_relative_to(collect.ROOT) else path
            where = f"<a href='{esc(href(path, page_dir))}'>{esc(shown)}</a> line {line}"
        doc = getattr(e, "doc", "")
        items.append(f"<li>[{esc(e.variant)}] &mdash; {where}"
                     + (f" &mdash; <span class='note'>{esc(doc)}</span>" if doc else "")
                     + f"<br><code>python -m parity -k '{esc(entry_id(e))}'</code></li>")
    out = ["<h3>Registry entries</h3><ul class='links'>", *items, "</ul>"]
    out.append("<h3>Tests that bite</h3><ul class='links'>")
    out.append("<li>every entry, every dtype: <code>pytest parity_tests/test_registry.py -k "
               f"'{esc(comp.entries[0].component.replace(' ', '_'))}'</code></li>")
    for path, name, line in tests:
        out.append(f"<li><a href='{esc(href(path, page_dir))}'>{esc(path.name)}</a> "
                   f"<code>{esc(name)}</code> (line {line})</li>")
    if not tests:
        out.append("<li class='muted'>no test in parity_tests names this component or its "
                   "code</li>")
    out.append("</ul>")
    return "".join(out)


def crumbs(comps, k):
    prev_, next_ = (comps[k - 1] if k else None), (comps[k + 1] if k + 1 < len(comps) else None)
    c = comps[k]
    parts = ["<nav class='crumbs'><a href='index.html'>study index</a>",
             f"<a href='index.html#{esc(c.chapter.key)}'>{esc(c.chapter.title)}</a>"]
    parts.append(f"<a class='prev' rel='prev' href='{prev_.slug}.html'>&larr; {esc(prev_.name)}</a>"
                 if prev_ else "<span class='prev muted'>first component</span>")
    parts.append(f"<a class='next' rel='next' href='{next_.slug}.html'>{esc(next_.name)} "
                 f"&rarr;</a>" if next_ else "<span class='next muted'>last component</span>")
    return "".join(parts) + "</nav>"


def component_page(comps, k, page_dir, source_line):
    c = comps[k]
    tests = collect.tests_for(c.name, collect.object_names(c))
    badge = (f"<span class='badge {COLOURS[c.verdict]}'>{esc(VERDICT_WORDS[c.verdict])}"
             f"</span> <span class='muted'>{len(c.checks) if c.checks is not None else 0} "
             f"checks, {c.gap_count} documented gaps, worst relative error of the checks "
             f"that must agree: {esc(number(c.worst_rel_err)) or '-'}</span>")
    gaps = collect.gap_table(c.checks)
    body = [f"<h1>{esc(c.name)}</h1>",
            f"<p class='chapter'>{esc(c.chapter.title)} (book {esc(c.chapter.book)})</p>",
            f"<p>{badge}</p>",
            "<h2 id='formula'>The book's formula</h2>", formula_html(c.formula),
            "<h2 id='code'>The code, side by side</h2>", code_html(c.rows, page_dir),
            "<h2 id='verdict'>Parity verdict</h2>",
            f"<p class='note'>{esc(source_line)}</p>",
            table(collect.verdict_table(c.checks), verdict_colour,
                  numeric=("checks", "failed", "gaps", "worst abs err", "worst rel err"))]
    bad = collect.failures(c.checks)
    if not bad.empty:
        body += ["<h3>Failing checks</h3>", table(bad, lambda r: "fail")]
    if c.not_run:
        body.append("<ul>" + "".join(f"<li class='muted'>[{esc(v)}] not run: {esc(why)}</li>"
                                     for v, why in c.not_run) + "</ul>")
    body += ["<h2 id='gaps'>Documented differences, measured</h2>",
             table(gaps, lambda r: "gap", numeric=("checks", "largest abs gap",
                                                   "largest rel gap"))
             if not gaps.empty else "<p class='muted'>None: the two sides must agree "
             "everywhere.</p>",
             "<h2 id='speed'>Speed (last speed report)</h2>", speed_html(c.speed),
             "<h2 id='links'>Where it is checked</h2>", links_html(c, page_dir, tests),
             crumbs(comps, k)]
    return page(f"{c.name} - dlfs-parity study", "".join(body), crumbs(comps, k))


def speed_summary(speed):
    if speed is None:
        return ""
    return "; ".join(f"{r['phase']} {r['scratch/torch']:.2f}" for _, r in speed.iterrows())


def index_page(comps, source_line, header_lines=()):
    head = ["chapter", "component", "entries", "verdict", "checks",
            "worst rel err (must agree)", "documented gaps", "speed scratch/torch"]
    rows = []
    shown = {c.chapter.key for c in comps}
    for chapter in CHAPTERS + (OTHER,):
        if chapter.key not in shown and (not chapter.note or chapter is OTHER):
            continue  # an empty chapter is listed only when its note says why it is empty
        rows.append(f"<tr class='chapter-row' id='{esc(chapter.key)}'><th colspan='"
                    f"{len(head)}'>{esc(chapter.title)} <span class='muted'>(book "
                    f"{esc(chapter.book)})</span>"
                    + (f"<div class='note'>{esc(chapter.note)}</div>" if chapter.note else "")
                    + "</th></tr>")
        for c in (c for c in comps if c.chapter.key == chapter.key):
            cells = [esc(c.chapter.book), f"<a href='{c.slug}.html'>{esc(c.name)}</a>",
                     str(len(c.entries)), esc(VERDICT_WORDS[c.verdict]),
                     str(0 if c.checks is None else len(c.checks)),
                     esc(number(c.worst_rel_err)), str(c.gap_count),
                     esc(speed_summary(c.speed))]
            rows.append(f"<tr class='{COLOURS[c.verdict]}'>"
                        + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    counts = {v: sum(c.verdict == v for c in comps) for v in COLOURS}
    summary = (f"{len(comps)} components: {counts['PASS']} pass, {counts['gaps']} pass with "
               f"documented gaps (amber), {counts['defects']} confirm a known defect of "
               f"published code (amber), {counts['FAIL']} fail (red), {counts['not run']} "
               "not run (grey).")
    body = ["<nav class='crumbs'><a href='../index.html'>report</a></nav>",
            "<h1>Study: every component, NumPy and PyTorch side by side</h1>",
            *[f"<p class='note'>{esc(line)}</p>" for line in header_lines],
            f"<p>{esc(summary)}</p><p class='note'>{esc(source_line)}</p>",
            "<table class='index'><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"]
    return page("dlfs-parity study", "".join(body))
