"""Study pages (``make study``): one page per registry component, found from the registry;
the code found from the entries' own factories; verdicts from one parity table; links that
resolve; pages that render in headless Chromium; the report's headline screen."""

import re
import types
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import scratch.layers as S
import scratch.models as SM
import scratch.optimizers as SO
import torch_ref.layers as T
from parity import book
from parity.engine import registry
from parity.engine.compare import EXPECTED_GAP, MATCH, MISMATCH
from parity.engine.layer_pair import LayerPair, Sample
from parity.engine.runner import run_entries, to_frame
from reports import cli
from reports.headlines import headlines_html
from reports.render import GREEN, RED, index_html
from reports.section import Context, Result, Section, Table, load_sections
from reports.sections import study as study_section
from reports.study import code, collect, pages, screenshot

STUDY = next(s for s in load_sections() if s.name == "study")
# pages the Chromium test renders: a layer with parameters, and a network
LAYER, NETWORK = S.Affine.__name__, SM.SimpleConvNet.__name__


def run_study(out, select=None):
    ctx = Context(out=out, select=select, progress=False)
    assert cli.run_report(ctx, [STUDY]) == 0
    return out / "study"


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("a", "link") and a.get("href"):
            self.links.append(a["href"])


def links_of(page):
    parser = Links()
    parser.feed(page.read_text())
    return parser.links


@pytest.fixture(scope="module")
def study_out(tmp_path_factory):
    """Study pages of the whole registry; real verdicts for the two rendered components
    (a parity.csv of theirs, newer than the code), every other entry reported as not run."""
    out = tmp_path_factory.mktemp("study")
    shown = [e for e in registry.load_all() if e.component in (LAYER, NETWORK)]
    checks, _ = run_entries(shown)
    (out / "parity.csv").write_text(to_frame(checks).to_csv(index=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_section, "run_entries", lambda entries: ([], []))
        return run_study(out)


def test_every_registry_component_has_a_page_in_book_order(study_out):
    comps = collect.components(registry.load_all())
    names = {e.component for e in registry.load_all()}
    assert {c.name for c in comps} == names
    for c in comps:
        page = (study_out / f"{c.slug}.html").read_text()
        assert f"<h1>{pages.esc(c.name)}</h1>" in page
    # chapters appear in the book's order on the index
    index = (study_out / "index.html").read_text()
    keys = [k for k in re.findall(r"class='chapter-row' id='([^']+)'", index)]
    order = [c.key for c in book.CHAPTERS + (book.OTHER,)]
    assert keys == sorted(keys, key=order.index) and "perceptron" in keys
    assert keys.index("activations") < keys.index("backprop") < keys.index("convolution")
    assert "numerical-gradient" in keys and "other" not in keys  # empty: said why / left out


def test_every_link_on_the_study_pages_resolves(study_out):
    checked = 0
    for page in sorted(study_out.glob("*.html")):
        for link in links_of(page):
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page.name}: broken link {link}"
            checked += 1
    index_links = links_of(study_out / "index.html")
    assert len([x for x in index_links if x.endswith(".html")]) >= len(
        {e.component for e in registry.load_all()})
    assert checked > 100


def test_layer_page_lines_up_both_sides_and_shows_the_run(study_out):
    page = (study_out / "affine.html").read_text()
    rows = code.rows([e for e in registry.load_all() if e.component == LAYER])
    assert [b.title for b in rows["forward"]["scratch"]] == ["Affine.forward"]
    assert "torch.nn.Linear.forward" in [b.title for b in rows["forward"]["torch"]]
    assert rows["backward"]["torch"] == [] and pages.esc(pages.AUTOGRAD) in page  # said so
    # highlighted source pulled from the code, both columns, maths as MathML
    assert "self.grads[&quot;W&quot;]" in page or "self</span>" in page
    assert page.count("<td><div class='block'>") >= 4
    assert "<math" in page and "<script" not in page
    assert "every check passes" in page and "finite-diff" in page and "float32" in page


def test_network_page_shows_the_net_on_both_sides(study_out):
    page = (study_out / "simpleconvnet.html").read_text()
    assert "SimpleConvNet.__init__" in page and "Network (inherited).backward" in page
    assert "WithLoss.forward" in page and pages.esc(pages.AUTOGRAD) in page


def test_documented_gaps_are_shown_with_their_measured_size(tmp_path):
    """The Adam page from a real run of its probe: the gap row and its size."""
    probe = registry.find(SO.Adam.__name__, "book vs torch")
    checks = probe.run("float64")
    (tmp_path / "parity.csv").write_text(to_frame(checks).to_csv(index=False))
    comps = collect.components([probe])
    df = pd.read_csv(tmp_path / "parity.csv", keep_default_na=False,
                     na_values={"max_abs_err": [""], "max_rel_err": [""]})
    df["passed"] = df["passed"].astype(str) == "True"
    collect.attach_results(comps, df, {}, "")
    gaps = collect.gap_table(comps[0].checks)
    assert len(gaps) == 1 and gaps["kind"].iloc[0] == EXPECTED_GAP
    measured = max(c.max_abs_err for c in checks)
    assert gaps["largest abs gap"].iloc[0] == pytest.approx(measured)
    assert "eps" in gaps["what differs"].iloc[0]


FAKE = "fake twin (test_study)"


def fake_entry(broken=False):
    """A layer pair nobody listed anywhere: relu on one side, (optionally) tanh on the other."""
    twin = T.Tanh if broken else T.Relu
    return LayerPair(FAKE, "default", scratch=lambda p: S.Relu(), torch=lambda p: twin(),
                     samples=lambda rng: [Sample.of("randn(3,4)", rng.standard_normal((3, 4)))],
                     dtypes=("float64",))


@pytest.mark.parametrize("broken", [False, True])
def test_a_new_registry_entry_gets_its_page_with_no_other_change(tmp_path, monkeypatch, broken):
    monkeypatch.setattr(registry, "REGISTRY", list(registry.load_all()))
    registry.register(fake_entry(broken))  # what a new parity/pairs module would do
    out = run_study(tmp_path, select="fake_twin")
    page = (out / f"{collect.slugify(FAKE)}.html").read_text()
    assert "Relu.forward" in page  # the scratch code its factory builds
    assert (("Tanh.forward" if broken else "torch.nn.ReLU.forward") in page)
    assert "fresh run of the registry" in page  # no parity.csv here: it ran the entry
    written = pd.read_csv(tmp_path / "parity.csv")  # ... and wrote it for the next run
    assert set(written["component"]) == {FAKE} and written["passed"].all() != broken
    assert ("FAILS" if broken else "every check passes") in page
    assert book.OTHER.title in page  # its module (this test) names no chapter
    index = (out / "index.html").read_text()
    assert f"href='{collect.slugify(FAKE)}.html'" in index
    assert ("class='fail'" if broken else "class='pass'") in index


def test_chapter_is_read_from_the_registering_module():
    entry = types.SimpleNamespace(component="Flatten", variant="default")
    module = types.SimpleNamespace(CHAPTER="dropout", CHAPTER_OF={"Flatten": "backprop"})
    assert book.chapter_of(entry, module).key == "backprop"
    assert book.chapter_of(types.SimpleNamespace(component="x"), module).key == "dropout"
    assert book.chapter_of(entry, None) is book.OTHER
    # a module that names no chapter (settings of components registered elsewhere):
    # the component's chapter in the module that registered its other entries
    assert book.chapter_of(entry, types.SimpleNamespace()).key == "backprop"
    assert book.chapter_of(types.SimpleNamespace(component="x"), types.SimpleNamespace()) \
        is book.OTHER
    with pytest.raises(ValueError, match="unknown chapter"):
        book.chapter_of(entry, types.SimpleNamespace(CHAPTER="chapter 99"))
    # every registered entry's module names a real chapter
    assert all(book.chapter_of(e, registry.origin(e)) is not book.OTHER
               for e in registry.load_all())


def test_every_formula_renders_to_mathml():
    for e in registry.load_all():
        formula = book.formula_of(e.component, registry.origin(e))
        if formula:
            html = pages.formula_html(formula)
            assert html.count("<math") == 1 + bool(formula.backward), e.component
            assert "\\" not in re.sub(r"<[^>]+>", "", html), f"unconverted LaTeX: {e.component}"


def test_stale_parity_csv_is_not_reused(tmp_path, monkeypatch):
    """A parity.csv older than the code is ignored: the verdicts come from a fresh run."""
    csv = tmp_path / "parity.csv"
    fake = to_frame([]).assign()
    fake.loc[0] = ["relu", "default", "float64", "out", 9.0, 9.0, 0, 0, False, "s", "torch",
                   MISMATCH, "", ""]
    csv.write_text(fake.to_csv(index=False))
    relu = [registry.find("relu", "default")]
    monkeypatch.setattr(study_section, "newest_source", lambda: csv.stat().st_mtime - 1)
    df, _, source, ran = study_section.parity_results(Context(out=tmp_path), relu)
    assert "from parity.csv" in source and not df["passed"].any() and not ran  # reused as is
    monkeypatch.setattr(study_section, "newest_source", lambda: csv.stat().st_mtime + 1)
    df, _, source, ran = study_section.parity_results(Context(out=tmp_path), relu)
    assert "fresh run" in source and df["passed"].all() and len(df) > 10 and ran


# ---- the report's front page opens with the headlines ----

def fake_sections(failed=False, ratio=0.8, acc_gap=0.0):
    checks = pd.DataFrame({"component": ["a", "a", "b"], "variant": ["v", "v", "w"],
                           "passed": [True, not failed, True],
                           "verdict": [MATCH, MISMATCH if failed else MATCH, EXPECTED_GAP]})
    weights = pd.DataFrame({"network": ["net A"] * 2, "impl": ["scratch", "torch"],
                            "accuracy": [0.96, 0.96], "published": [0.96] * 2,
                            "agreement": [1.0] * 2})
    accuracy = pd.DataFrame({"model": ["model A"], "test acc % scratch": [90.0 + acc_gap],
                             "test acc % torch": [90.0], "test acc diff pp": [acc_gap]})
    speed = pd.DataFrame({"component": ["model A", "relu"], "phase": ["train step", "forward"],
                          "scratch/torch": [ratio, 3.0], "target": [1.0, np.nan]})
    result = Result(tables=[Table("parity", checks.iloc[:0], data=checks),
                            Table("book_weights", weights), Table("accuracy", accuracy),
                            Table("speed", speed, data=speed)])
    return [(Section("all", "all", 0, None), result, {"study/index.html": None}, "")]


def test_headlines_show_the_numbers_and_colour_what_missed():
    good = headlines_html(fake_sections())
    assert "2 entries, 3 checks run" in good and "scratch 0.9600, torch 0.9600" in good
    assert "0.00 percentage points" in good and "scratch/torch 0.800" in good
    assert "met" in good and RED not in good and "study/index.html" in good
    bad = headlines_html(fake_sections(failed=True, ratio=1.004, acc_gap=0.5))
    assert "scratch/torch 1.004" in bad
    assert "MISSED" in bad and bad.count(RED) == 3 and GREEN in bad  # failures, speed, gap
    assert "not in this run" in headlines_html([])


def test_report_front_page_opens_with_the_headlines():
    page_text = index_html(["header"], fake_sections())
    assert page_text.index("At a glance") < page_text.index("<h2 id=")


# ---- in a real browser ----

@pytest.mark.skipif(screenshot.chromium() is None,
                    reason="no headless Chromium on PATH (apt-get install -y chromium)")
@pytest.mark.parametrize("name", ["index", collect.slugify(LAYER), collect.slugify(NETWORK)])
def test_pages_render_in_headless_chromium(study_out, tmp_path, name):
    page = study_out / f"{name}.html"
    shot = tmp_path / f"{name}.png"
    dom, console = screenshot.render(page.as_uri(), shot, dump_dom=True)
    assert console == [], console
    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == tuple(reversed(screenshot.WINDOW))
    assert pixels[..., :3].std() > 0.05, "the page rendered blank"
    if name == "index":
        assert "every check passes" in dom
    else:
        assert "scratch (NumPy)" in dom and "torch twin" in dom
        assert dom.count("class=\"block\"") >= 3 and "every check passes" in dom


def test_screenshot_tool_names_a_missing_page(tmp_path, monkeypatch):
    monkeypatch.setattr(screenshot, "OUT_DIR", Path(tmp_path))
    assert screenshot.main(["no-such-page", str(tmp_path / "x.png")]) == 2


def test_published_defects_are_not_shown_as_plain_passes():
    """The notes' SimpleCNN, kept as written, must fail -- its page says so, not 'passes'."""
    notes = [registry.find("study notes: SimpleCNN", "as written")]
    checks, _ = run_entries(notes)
    comps = collect.components(notes)
    collect.attach_results(comps, to_frame(checks), {}, "")
    assert comps[0].verdict == "defects"
    assert "known defect" in pages.VERDICT_WORDS[comps[0].verdict]
    assert comps[0].chapter.key == "notes"
