"""`make check`: a learner's implementation checked against the twins, bugs named.

The learner side is the bug zoo (parity_tests/zoo): a clean book-style implementation,
one copy per planted bug, and correct code written the ways learners vary (plus hostile
modules that hang, exit or do not compile).  Every learner module runs in child
processes, so nothing here can hang or poison pytest.
"""

import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from parity.check import adapt, report, run
from parity.check.checks import PASSING_VERDICTS
from parity.check.cli import main
from parity.check.diagnosis import HYPOTHESES
from parity.check.table import COMPONENTS
from parity.engine.compare import CSV_COLUMNS
from parity_tests.zoo import variants
from parity_tests.zoo.bugs import BUGS, CLEAN, materialize
from parity_tests.zoo.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[1]
FACADE = ROOT / "parity_tests" / "scratch_book_api"


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """`python -m parity check parity_tests/zoo/clean`: every component, timed."""
    out = tmp_path_factory.mktemp("out")
    started = time.perf_counter()
    code = main([str(CLEAN), "--out", str(out)])
    return code, time.perf_counter() - started, out


def test_clean_implementation_exits_0_with_reports(clean_run):
    code, _, out = clean_run
    assert code == 0
    csv = (out / "check" / "clean.csv").read_text()
    assert csv.splitlines()[0].split(",") == CSV_COLUMNS + ["diagnosis", "evidence", "location"]
    assert (out / "check" / "clean.md").exists() and (out / "check" / "clean.html").exists()
    # every component of the book's API but Tanh (the book has no Tanh layer) is found
    assert csv.count("\nTanh,") == 1 and ",not found," in csv
    for c in COMPONENTS:
        assert f"\n{c.name}," in csv, c.name


def test_full_check_of_a_book_sized_implementation_under_60s(clean_run):
    _, seconds, _ = clean_run
    print(f"full check of the zoo's clean implementation: {seconds:.1f} s")
    assert seconds < 60


def test_scratch_seen_through_the_book_api_checks_clean():
    outcome = run.check_implementation(FACADE)
    bad = [(r.component, r.verdict, r.evidence) for r in outcome.discovered if not r.passed()]
    assert not bad
    assert len(outcome.discovered) >= 20
    assert outcome.exit_code() == 0


def test_every_planted_bug_is_flagged_and_named(tmp_path):
    """The zoo, one implementation per planted bug, each checked for its component (all in
    one queue of 2 workers): 100 % flagged, the planted bug first for >= 90 %, and the
    network cases located at the planted layer."""
    assert len(BUGS) >= 30
    targets, only = [], {}
    for bug in BUGS:
        materialize(bug, tmp_path / bug.name)
        targets.append(str(tmp_path / bug.name))
        only[targets[-1]] = [bug.component]
    outcomes = run.check_many(targets, processes=2, only_by_target=only)
    rows, flagged, named, located = [], 0, 0, []
    for bug, outcome in zip(BUGS, outcomes):
        result = next(r for r in outcome.results if r.component == bug.component)
        hit = outcome.exit_code() == 1 and not result.passed()
        first = result.diagnosis == bug.diagnosis
        flagged += hit
        named += first
        if bug.layer:
            located.append((bug.name, bug.layer, result.location))
        rows.append(f"{bug.name:45s} {'flagged' if hit else 'MISSED ':7s} "
                    f"{'ok ' if first else 'BAD'} {result.diagnosis} @ {result.location}")
    print("\n".join(rows))
    print(f"flagged {flagged}/{len(BUGS)}, planted bug first {named}/{len(BUGS)}")
    assert flagged == len(BUGS), "\n".join(rows)
    assert named >= 0.9 * len(BUGS), "\n".join(rows)
    assert located and all(layer in (where or "") for _, layer, where in located), located


def report_text(outcome):
    return report.format_table(outcome) + "\n" + report.details(outcome, limit=10_000)


def test_variants_are_discovered_as_their_manifest_says(tmp_path):
    """Correct code written the ways learners vary: found, checked, passing; a hostile
    module (hangs, does not compile, exits, writes files) ends as a module verdict with
    an explanation and the run goes on; nothing is written into the learner's folder."""
    variants.materialize_all(tmp_path / "variants")
    targets = [str(tmp_path / "variants" / v.name) for v in VARIANTS]
    outcomes = run.check_many(targets, processes=2, import_timeout=3)
    for variant, outcome in zip(VARIANTS, outcomes):
        verdicts = {r.component: r.verdict for r in outcome.discovered}
        for component in variant.expect_found:
            assert component in verdicts, (variant.name, component, verdicts)
            if variant.name == "backword" and component == "Relu":
                # the misspelling is reported as the bug it is; the numbers still checked
                assert verdicts[component] == "API misspelled"
            else:
                assert verdicts[component].startswith(PASSING_VERDICTS), (variant.name,
                                                                          verdicts)
        text = report_text(outcome)
        for note in variant.expect_notes:
            assert note in text, (variant.name, note, text)
        modules = {m.module: m for m in outcome.modules}
        if variant.hostile in ("hang", "exit", "syntax"):
            bad = [m for m in modules.values() if m.verdict == "not importable"]
            assert len(bad) == 1 and bad[0].explanation, (variant.name, modules)
            expected = {"hang": "did not finish importing", "exit": "exit(",
                        "syntax": "does not compile"}[variant.hostile]
            assert expected in bad[0].explanation
    assert not list((tmp_path / "variants").rglob("import_log.txt"))


def test_nothing_discovered_exits_2_and_says_what_was_looked_for(tmp_path, capsys):
    (tmp_path / "notes.py").write_text("def hello():\n    return 1\n")
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    out = capsys.readouterr().out
    assert "Looked for" in out and "SoftmaxWithLoss" in out and str(tmp_path) in out


def test_map_option_and_single_file(tmp_path, capsys):
    """--map maps what discovery cannot; a single .py file is an implementation too."""
    (tmp_path / "mylayers.py").write_text(
        "import numpy as np\n\n\nclass Dense:\n    def __init__(self, W, b):\n"
        "        self.W, self.b = W, b\n\n    def forward(self, x):\n"
        "        self.x = x.reshape(len(x), -1)\n        self.shape = x.shape\n"
        "        return self.x @ self.W + self.b\n\n    def backward(self, dout):\n"
        "        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)\n"
        "        return (dout @ self.W.T).reshape(self.shape)\n")
    code = main([str(tmp_path / "mylayers.py"), "--map", "Affine=mylayers.Dense",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().out
    assert "mylayers.py:Dense" in capsys.readouterr().out


def test_adapters_resolve_spellings():
    class Layer:
        def __init__(self):
            self.w, self.d_W = 1, 2

        def backword(self, dout):
            return dout

    notes = adapt.Notes()
    notes.misspelled = False
    assert adapt.get_attr(Layer(), "W", notes) == 1
    assert adapt.get_attr(Layer(), "dW", notes) == 2
    assert adapt.find_method(Layer(), "backward", notes)(3) == 3
    assert notes.misspelled
    with pytest.raises(AttributeError, match="closest"):
        adapt.get_attr(Layer(), "d_b")


def test_readme_documents_make_check_and_every_catalogue_id():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## `make check"):]
    assert "make check IMPL=" in section
    for hypothesis in HYPOTHESES:
        assert f"`{hypothesis.id}`" in section, hypothesis.id
    for code in ("0", "1", "2"):
        assert re.search(rf"\b{code}\b", section)


@pytest.mark.slow
def test_installed_wheel_checks_from_another_folder(tmp_path):
    """`pip install` the project and run `dlfs-parity check` from a learner's folder: the
    reports land there, parity_tests is not installed, nothing is written into the package.
    The fresh venv borrows the dependencies (torch...) from this one through a .pth file."""
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", str(ROOT), "-w", str(tmp_path / "wheel")],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("dlfs_parity-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("parity/check/") for n in names)
    assert not any(n.startswith("parity_tests/") for n in names)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                              "--quiet", str(wheel)], capture_output=True, text=True,
                             timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    learner = tmp_path / "learner"
    shutil.copytree(CLEAN, learner / "my-dlfs")
    run_ = subprocess.run([str(venv / "bin" / "dlfs-parity"), "check", "my-dlfs", "-k", "Affine",
                           "-k", "SGD"], cwd=learner, capture_output=True, text=True,
                          timeout=600)
    assert run_.returncode == 0, run_.stdout[-3000:] + run_.stderr[-3000:]
    assert (learner / "reports" / "out" / "check" / "my-dlfs.csv").exists()
    assert not list(site.rglob("reports/out"))


def test_notebook_entry_point_returns_the_styled_table():
    from parity import check

    df = check(CLEAN, only=["Relu", "SGD"])
    assert list(df["component"]) == ["Relu", "SGD"]
    assert list(df["verdict"]) == ["match", "match"]
    assert "background-color" in df._repr_html_()
    assert len(df.checks) > 20 and set(df.checks["component"]) == {"Relu", "SGD"}


HANGS_IN_BACKWARD = '''
import numpy as np


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0.0, x)

    def backward(self, dout):
        while True:  # a learner's endless loop
            pass


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out
'''


def test_a_component_that_hangs_is_a_verdict_and_the_rest_is_checked(tmp_path):
    (tmp_path / "layers.py").write_text(HANGS_IN_BACKWARD)
    outcome = run.check_implementation(tmp_path, component_timeout=3, only=["Relu", "Sigmoid"])
    verdicts = {r.component: r for r in outcome.results}
    assert verdicts["Relu"].verdict == "CRASHED"
    assert "did not finish in 3 s" in verdicts["Relu"].evidence
    assert verdicts["Sigmoid"].verdict == "match"
    assert outcome.exit_code() == 1


def test_many_implementations_and_an_installed_module(tmp_path, monkeypatch, capsys):
    """IMPL='subs/*': one summary table (implementation x component); --module: an
    importable package checked where it is installed."""
    subs = tmp_path / "subs"
    for name in ("flat_file", "attr_lower"):
        variants.materialize(variants.BY_NAME[name], subs / name)
    out = tmp_path / "out"
    assert main([str(subs / "*"), "-k", "Relu", "-k", "Affine", "--out", str(out)]) == 0
    summary = (out / "check" / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("implementation,Relu,Affine")
    assert {line.split(",")[0] for line in summary[1:]} == {"flat_file", "attr_lower"}
    assert (out / "check" / "summary.html").exists()
    package = tmp_path / "site" / "learner_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(subs / "flat_file" / "layers.py", package / "layers.py")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert main(["--module", "learner_pkg", "-k", "Relu", "--out", str(out)]) == 0
    assert "learner_pkg" in capsys.readouterr().out


def test_training_run_parts_where_one_step_cannot_see(tmp_path):
    """The book-SGD training run: the clean networks agree at every step; a TwoLayerNet whose
    Affine1 holds a copy of W1 (one forward/backward right) parts at step 1, in the loss."""
    from parity.check import training
    from parity_tests.zoo.bugs import BY_NAME

    def training_rows(result):
        return [r for r in result.rows if r["variant"] == training.variant(result.component)]

    clean = run.check_implementation(str(CLEAN), only=list(training.TRAINED))
    assert clean.exit_code() == 0
    assert sorted(r.component for r in clean.results) == sorted(training.TRAINED)
    for result in clean.results:
        rows = training_rows(result)
        loss = [r for r in rows if r["quantity"] == "loss at every step"]
        assert loss and loss[0]["sample"] == f"{training.STEPS} steps", result.component
        assert all(r["passed"] for r in rows), result.component
    root = materialize(BY_NAME["twolayernet-affine1-holds-copy"], tmp_path / "copy")
    outcome = run.check_implementation(str(root), only=["TwoLayerNet"])
    result = outcome.results[0]
    assert outcome.exit_code() == 1 and result.diagnosis == "network_layer_holds_copy"
    assert "Affine1" in result.location
    assert "first parts from the reference at step 1, in loss" in result.evidence
    assert [r["quantity"] for r in training_rows(result) if not r["passed"]][-1] == "step 1: loss"
