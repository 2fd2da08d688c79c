"""Turn section Results into files: CSV, Markdown, PNG and one index.html.

Every file goes through ``parity.engine.runner.write_atomic``: a crash or Ctrl-C
leaves the previous file intact.  index.html is written last and embeds the
plots (base64), so it is one self-contained page.
"""

import base64
import html
import io
import math

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from parity.engine.runner import write_atomic  # noqa: E402

RED, AMBER, GREEN = "#f8c4c4", "#ffe2a8", "#cdebc9"


def cell(value):
    """One value as short text: floats in 4 significant digits, NaN as empty."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def to_markdown(df):
    """A GitHub Markdown table (pandas' to_markdown needs `tabulate`, not a dependency)."""
    def row(values):
        return "| " + " | ".join(cell(v).replace("|", "\\|") for v in values) + " |"
    lines = [row(df.columns), "|" + "---|" * len(df.columns)]
    return "\n".join(lines + [row(r) for r in df.itertuples(index=False)]) + "\n"


def png_bytes(figure):
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buf.getvalue()


def styled(table):
    styler = table.view.style.hide(axis="index").format(cell)
    return table.style(styler) if table.style else styler


def write_section(section, result, out):
    """Write a section's tables and figures; returns {file name: bytes or None}."""
    written = {}
    for t in result.tables:
        if "csv" in t.formats:
            data = t.view if t.data is None else t.data
            write_atomic(out / f"{t.name}.csv", data.to_csv(index=False))
            written[f"{t.name}.csv"] = None
        if "md" in t.formats:
            text = [f"# {section.title}\n"] + [f"{line}  " for line in result.notes]
            text += [f"**{line}**  " for line in result.problems]
            text += ["", *( [t.caption, ""] if t.caption else []), to_markdown(t.view)]
            text += [f"![{f.caption or f.name}]({f.name}.png)\n" for f in result.figures]
            write_atomic(out / f"{t.name}.md", "\n".join(text))
            written[f"{t.name}.md"] = None
    for f in result.figures:
        data = png_bytes(f.figure)
        write_atomic(out / f"{f.name}.png", data)
        written[f"{f.name}.png"] = data
    for name, data in result.files.items():
        write_atomic(out / name, data)
        written[name] = None
    return written


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 110em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
th { background: #eee; } caption { text-align: left; font-weight: bold; }
.problem { color: #a00; font-weight: bold; } .note { color: #333; margin: 0.2em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def index_html(header, sections):
    """``sections``: (Section, Result | None, written files, error text) per section run."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>dlfs-parity report"
             f"</title><style>{CSS}</style></head><body><h1>dlfs-parity report</h1>"]
    parts += [f"<p class='note'>{html.escape(line)}</p>" for line in header]
    from reports.headlines import headlines_html  # it reads render's colours: import here

    parts.append(headlines_html(sections))
    shown = [(s, r, w, e) for s, r, w, e in sections if r is not None or e]
    parts.append("<ul>" + "".join(f"<li><a href='#{s.name}'>{html.escape(s.title)}</a></li>"
                                  for s, *_ in shown) + "</ul>")
    for s, result, written, error in shown:
        parts.append(f"<h2 id='{s.name}'>{html.escape(s.title)}</h2>")
        if error:
            parts.append(f"<pre class='problem'>section failed:\n{html.escape(error)}</pre>")
            continue
        parts += [f"<p class='problem'>{html.escape(line)}</p>" for line in result.problems]
        parts += [f"<p class='note'>{html.escape(line)}</p>" for line in result.notes]
        for t in result.tables:
            parts.append(styled(t).set_caption(html.escape(t.caption)).to_html())
        for f in result.figures:
            data = base64.b64encode(written[f"{f.name}.png"]).decode()
            parts.append(f"<figure><img alt='{html.escape(f.name)}' "
                         f"src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(f.caption)}</figcaption></figure>")
        # files in sub-folders (the study pages) are reached through their folder's index
        files = sorted(n for n in written if "/" not in n or n.endswith("/index.html"))
        parts.append("<p class='note'>files: " + ", ".join(
            f"<a href='{html.escape(n)}'>{html.escape(n)}</a>" for n in files) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def highlight(colour_of, columns=None):
    """A ``Table.style`` function: colour each row by ``colour_of(row) -> colour | None``,
    in ``columns`` only (default: the whole row)."""
    def colours(df):
        out = pd.DataFrame("", index=df.index, columns=df.columns)
        cols = [c for c in (columns or df.columns) if c in df.columns]
        for i, row in df.iterrows():
            colour = colour_of(row)
            if colour:
                out.loc[i, cols] = f"background-color: {colour}"
        return out
    return lambda styler: styler.apply(colours, axis=None)
