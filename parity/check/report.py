"""`make check` outputs: the terminal table, <name>.{csv,md,html}, the summary of many."""

import html

import pandas as pd

from parity.check.checks import NOT_FOUND, PASSING_VERDICTS
from parity.check.run import to_frame
from parity.engine.runner import write_atomic

SUMMARY_COLUMNS = ["component", "verdict", "where", "diagnosis", "evidence", "location",
                   "checks", "failed", "seconds", "notes"]


def summary(outcome):
    """One row per book component."""
    rows = []
    for r in outcome.results:
        failed = sum(1 for row in r.rows if not row["passed"])
        rows.append(dict(component=r.component, verdict=r.verdict, where=r.where,
                         diagnosis=r.diagnosis, evidence=r.evidence, location=r.location,
                         checks=len(r.rows), failed=failed, seconds=round(r.seconds, 2),
                         notes="; ".join(r.notes)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def short(text, width):
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(outcome, show_missing=True):
    df = summary(outcome)
    if not show_missing:
        df = df[df["verdict"] != NOT_FOUND]
    table = pd.DataFrame({
        "component": df["component"],
        "verdict": df["verdict"].map(lambda s: short(s, 44)),
        "where": df["where"].map(lambda s: short(s, 38)),
        "diagnosis": df["diagnosis"].map(lambda s: short(s, 40)),
    })
    fmt = {c: (lambda n: lambda s: f"{s:<{n}}")(max(table[c].str.len().max(), len(c)))
           for c in table.columns}
    return table.to_string(index=False, formatters=fmt, justify="left")


INFORMATIONAL = ("returns float64 for float32", "returns int64", "also defined in")


def details(outcome, limit=40, verbose=False):
    """What a learner reads next: each failing component's evidence, notes, module problems
    (``verbose``: also the informational notes of matching components)."""
    lines = []
    for r in outcome.results:
        if r.verdict == NOT_FOUND:
            continue
        if not r.verdict.startswith(PASSING_VERDICTS):
            lines.append(f"{r.component} [{r.where}]: {r.verdict}"
                         + (f" -- {r.diagnosis}" if r.diagnosis else ""))
            if r.evidence:
                lines.append(f"    {r.evidence}")
            if r.location:
                lines.append(f"    location: {r.location}")
            first = next((row for row in r.rows if not row["passed"]), None)
            if first is not None:
                err = (f"max abs err {first['max_abs_err']:.3g}"
                       if first["max_abs_err"] == first["max_abs_err"] else first.get("detail"))
                lines.append(f"    first failing check: {first['variant']} {first['dtype']} "
                             f"{first['quantity']} (sample {first['sample']!r}, vs "
                             f"{first['oracle']}): {err}")
        for note in r.notes:
            if verbose or not r.passed() or not note.startswith(INFORMATIONAL) and not any(
                    i in note for i in INFORMATIONAL):
                lines.append(f"  note: {r.component}: {note}")
    for m in outcome.modules:
        if m.verdict != "imported":
            lines.append(f"module {m.module}: {m.verdict}: {m.explanation}")
    return "\n".join(lines[:limit] + ([f"... ({len(lines) - limit} more lines in the report)"]
                                      if len(lines) > limit else []))


def not_found_line(outcome):
    missing = [r.component for r in outcome.results if r.verdict == NOT_FOUND]
    return f"not found: {', '.join(missing)}" if missing else ""


def styled(df):
    def colour(v):
        v = str(v)
        if v.startswith(("match",)):
            return "background-color: #d9f2d9"
        if v.startswith(("book defect", "matches convention")):
            return "background-color: #fff0c2"
        if v == NOT_FOUND:
            return "color: #888"
        return "background-color: #f8d0d0"
    return df.style.map(colour, subset=["verdict"]).hide(axis="index")


def write(outcome, out_dir):
    """<out>/check/<name>.csv (every check), .md and .html (the component table)."""
    base = out_dir / "check"
    checks = to_frame(outcome)
    table = summary(outcome)
    write_atomic(base / f"{outcome.name}.csv", checks.to_csv(index=False))
    md = [f"# make check: {outcome.name}", "", f"`{outcome.root}`, {outcome.seconds:.1f} s", "",
          markdown(table.drop(columns=["notes", "evidence"])), "", "```",
          details(outcome, limit=10_000, verbose=True), "```", ""]
    write_atomic(base / f"{outcome.name}.md", "\n".join(md))
    page = (f"<h1>make check: {html.escape(outcome.name)}</h1><p>{html.escape(outcome.root)}, "
            f"{outcome.seconds:.1f} s</p>" + styled(table).to_html()
            + "<h2>Details</h2><pre>" + html.escape(details(outcome, limit=10_000, verbose=True))
            + "</pre>")
    write_atomic(base / f"{outcome.name}.html", page)
    return base / f"{outcome.name}.csv"


def markdown(df):
    cells = [[str(v).replace("|", "\\|").replace("\n", " ") for v in row]
             for row in df.itertuples(index=False)]
    head = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    return "\n".join([head, rule] + ["| " + " | ".join(r) + " |" for r in cells])


def many_summary(outcomes):
    """implementation x component: verdict (and diagnosis) -- a course's submissions at once."""
    rows = {}
    for o in outcomes:
        rows[o.name] = {r.component: r.verdict + (f" ({r.diagnosis})" if r.diagnosis and
                                                  not r.verdict.startswith(PASSING_VERDICTS)
                                                  else "")
                        for r in o.results}
        rows[o.name]["exit"] = o.exit_code()
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("implementation")


def write_many(outcomes, out_dir):
    df = many_summary(outcomes)
    base = out_dir / "check"
    write_atomic(base / "summary.csv", df.to_csv())
    write_atomic(base / "summary.html", "<h1>make check: summary</h1>"
                 + df.style.map(_summary_colour).to_html())
    return df


class Styled(pd.DataFrame):
    """A DataFrame that Jupyter displays as the styled verdict table."""

    @property
    def _constructor(self):
        return Styled

    @property
    def checks(self):
        """Every check behind the table (the CSV's rows)."""
        return to_frame(self.attrs["outcome"]) if "outcome" in self.attrs else None

    def _repr_html_(self):
        plain = pd.DataFrame(self)
        if "verdict" in plain.columns:
            return styled(plain).to_html()
        return plain.style.map(_summary_colour).to_html()


def _summary_colour(v):
    v = str(v)
    if v.startswith("match"):
        return "background-color: #d9f2d9"
    if v.startswith(("book defect", "matches convention")):
        return "background-color: #fff0c2"
    if v in (NOT_FOUND, "0", "1", "2"):
        return ""
    return "background-color: #f8d0d0"
