"""Book weights: the three published networks classify the MNIST test set on both sides.

``parity.experiments.book_weights`` loads each pickle into the scratch model and its torch
twin; both score the 10,000 test images.  The accuracies must equal the
published figures and the two sides must agree image for image.
"""

from parity.engine.compare import PASSING, crash
from parity.engine.registry import Skipped
from parity.experiments.book_weights import (
    ENV_VAR,
    PUBLISHED,
    BookWeights,
    results_frame,
)
from reports.render import GREEN, RED, highlight
from reports.section import Result, Table, section


def row_colour(row):
    return GREEN if row["accuracy"] == row["published"] and row["agreement"] == 1 else RED


@section("book_weights", "Book weights: the published networks on both sides", order=25)
def book_weights(ctx):
    specs = [s for s in PUBLISHED if ctx.selected(s.network)]
    if not specs:
        return None
    skipped, problems, rows = [], [], []
    for spec in specs:
        try:
            checks = BookWeights(spec, rows=rows).run("published")
        except Skipped as why:
            skipped.append(f"skipped {spec.network}: {why} -- set {ENV_VAR} (folder with the "
                           "book's *.pkl) and MNIST_ROOT (folder with MNIST/raw/)")
            continue
        except Exception as err:  # a damaged file: this network's row fails, the rest run
            entry = BookWeights(spec)
            problems.append(crash(err, component=entry.component, variant=entry.variant,
                                  dtype="published").message())
            continue
        problems += [c.message() for c in checks if c.verdict not in PASSING]
    df = results_frame(rows)
    problems += [f"{r['network']} ({r['impl']}): accuracy {r['accuracy']:.4f}, published "
                 f"{r['published']:.4f}, agreement {r['agreement']:.4f}"
                 for _, r in df.iterrows() if row_colour(r) == RED]
    notes = skipped + ["accuracy: fraction of the 10,000 MNIST test images classified "
                       "correctly (pixels / 255, batches of 100, test mode); agreement: "
                       "fraction of images where scratch and torch predict the same class."]
    if df.empty:
        return Result(notes=notes, problems=problems)
    return Result(tables=[Table("book_weights", df, style=highlight(row_colour),
                                caption="Published weights, both implementations",
                                formats=("csv",))],
                  notes=notes, problems=list(dict.fromkeys(problems)))
