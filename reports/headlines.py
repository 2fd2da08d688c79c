"""The front page's first screen: the report's headline numbers, before any long table.

Read from the tables the sections of this run returned (by table name); a
section that did not run says so instead of showing an old number.
"""

import html

import numpy as np

from parity.engine.compare import EXPECTED_GAP, KNOWN_DEFECT
from reports.render import AMBER, GREEN, RED

CSS = """
.headlines { border: 1px solid #ccc; padding: 0.5em 1em; margin: 0.8em 0 1.2em;
             background: #fcfcfc; max-width: 70em; }
.headlines table { margin: 0.2em 0 0.6em; } .headlines h2 { margin: 0.2em 0; font-size: 1.1em; }
.headlines .absent { color: #777; }
"""


def _tables(sections):
    return {t.name: t for _, result, _, _ in sections if result for t in result.tables}


def _cell(text, colour=None):
    style = f" style='background:{colour}'" if colour else ""
    return f"<td{style}>{html.escape(str(text))}</td>"


def _row(label, *cells):
    return f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>"


def parity_lines(table):
    if table is None:
        return [_row("parity", _cell("not in this run"))]
    df = table.view if table.data is None else table.data
    failed = int((~df["passed"].astype(bool)).sum())
    entries = len(df[["component", "variant"]].drop_duplicates())
    gaps = int((df["verdict"] == EXPECTED_GAP).sum())
    return [_row("parity", _cell(f"{entries} entries, {len(df)} checks run")),
            _row("failures", _cell(failed, RED if failed else GREEN)),
            _row("documented gaps reproduced", _cell(gaps, AMBER if gaps else None)),
            _row("known defects confirmed", _cell(int((df["verdict"] == KNOWN_DEFECT).sum())))]


def book_weight_lines(table):
    if table is None:
        return [_row("book weights", _cell("not in this run (needs DLFS_WEIGHTS and "
                                           "MNIST_ROOT)"))]
    df = table.view
    out = []
    for network, g in df.groupby("network", sort=False):
        acc = {r["impl"]: r["accuracy"] for _, r in g.iterrows()}
        published, agreement = g["published"].iloc[0], g["agreement"].iloc[0]
        ok = all(a == published for a in acc.values()) and agreement == 1
        text = (f"scratch {acc.get('scratch', np.nan):.4f}, torch {acc.get('torch', np.nan):.4f}"
                f" (published {published:.4f}); predictions agree on {100 * agreement:.2f} %")
        out.append(_row(f"book weights: {network}", _cell(text, GREEN if ok else RED)))
    return out


def accuracy_lines(table, limit_pp):
    if table is None:
        return [_row("largest accuracy gap", _cell("not in this run (needs MNIST_ROOT)"))]
    df = table.view
    worst = df.loc[df["test acc diff pp"].abs().idxmax()]
    gap = abs(worst["test acc diff pp"])
    return [_row("largest accuracy gap",
                 _cell(f"{gap:.2f} percentage points ({worst['model']}: scratch "
                       f"{worst['test acc % scratch']:.2f} %, torch "
                       f"{worst['test acc % torch']:.2f} %); limit {limit_pp}",
                       RED if gap > limit_pp else GREEN))]


def speed_lines(table):
    if table is None:
        return [_row("speed", _cell("not in this run"))]
    df = table.view if table.data is None else table.data
    targeted = df[df["target"].notna()]
    if targeted.empty:
        return [_row("speed", _cell("no model with a target in this run"))]
    threads = (lambda r: f" on {r['threads']} thread(s)") if "threads" in df else (lambda r: "")
    return [_row(f"speed: {r['component']} {r['phase']}{threads(r)}",
                 # three decimals: 1.004 misses a target of 1, which "1.00" would hide
                 _cell(f"scratch/torch {r['scratch/torch']:.3f} (target <= {r['target']:g}: "
                       f"{'met' if r['scratch/torch'] <= r['target'] else 'MISSED'})",
                       GREEN if r["scratch/torch"] <= r["target"] else RED))
            for _, r in targeted.iterrows()]


def headlines_html(sections):
    """One screen of headline numbers for index.html; ``sections`` as ``index_html``'s."""
    from reports.sections.accuracy import MAX_DIFF_PP

    tables = _tables(sections)
    rows = (parity_lines(tables.get("parity")) + book_weight_lines(tables.get("book_weights"))
            + accuracy_lines(tables.get("accuracy"), MAX_DIFF_PP)
            + speed_lines(tables.get("speed")))
    study = any("study/index.html" in written for _, _, written, _ in sections)
    link = ("<p>Every component's code side by side, with its verdict: "
            "<a href='study/index.html'>study pages</a></p>" if study else "")
    return (f"<style>{CSS}</style><div class='headlines'><h2>At a glance</h2>"
            f"<table>{''.join(rows)}</table>{link}</div>")
