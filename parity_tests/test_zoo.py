"""The bug zoo checks itself: clean/ is correct, every planted bug applies and really bites.

No torch and no checker here: learner code runs in subprocesses (parity_tests.zoo.probes) with
a timeout, so a bad entry can never hang or poison pytest.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from parity_tests.zoo import variants
from parity_tests.zoo.bugs import BUGS, BY_NAME, CATALOGUE_IDS, CLEAN, PlantedBug, materialize
from parity_tests.zoo.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = {"TwoLayerNet", "SimpleConvNet", "DeepConvNet", "MultiLayerNet", "MultiLayerNetExtend"}


def run_python(args, cwd=ROOT, timeout=60):
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_table_covers_the_catalogue_with_unique_slugs():
    assert len(BUGS) >= 32
    assert {bug.diagnosis for bug in BUGS} == CATALOGUE_IDS
    names = [bug.name for bug in BUGS]
    assert len(set(names)) == len(names)
    assert all(name.replace("-", "").isalnum() for name in names)
    for bug in BUGS:
        assert bug.doc, f"{bug.name}: say where the bug shows"
        assert (bug.diagnosis.startswith("network_")) == (bug.component in NETWORKS), bug.name


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_bug_applies_once(bug):
    text = (CLEAN / bug.file).read_text(encoding="utf-8")
    assert text.count(bug.old) == 1
    assert bug.old != bug.new


def test_materialize_refuses_an_edit_that_does_not_apply(tmp_path):
    missing = PlantedBug("x", "common/layers.py", "no such text", "", "Relu", "relu_mask_strict")
    with pytest.raises(ValueError, match="0 times"):
        materialize(missing, tmp_path / "x")
    twice = PlantedBug("y", "common/layers.py", "self.", "", "Relu", "relu_mask_strict")
    with pytest.raises(ValueError, match="times"):
        materialize(twice, tmp_path / "y")


@pytest.mark.parametrize(("folder", "module", "check"), [
    ("ch05", "two_layer_net", "net = two_layer_net.TwoLayerNet(4, 3, 2)"),
    ("ch07", "simple_convnet", "net = simple_convnet.SimpleConvNet()"),
    ("ch08", "deep_convnet", "net = deep_convnet.DeepConvNet()"),
])
def test_clean_imports_the_books_way_quietly(folder, module, check):
    # the book runs `python x.py` inside chNN/; its sys.path.append(os.pardir) finds common/
    code = f"import {module}; import common.multi_layer_net_extend, common.optimizer; {check}"
    out = subprocess.run([sys.executable, "-c", code], cwd=CLEAN / folder, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "", "modules must not print (or train) at import"


def test_clean_passes_its_numpy_self_check():
    # numerical gradients of every layer and network, direct conv/pool, optimizers descend
    failures = json.loads(run_python(["-m", "parity_tests.zoo.probes", "selfcheck", str(CLEAN)]))
    assert failures == []


@pytest.mark.parametrize("name", ["affine-dW-transposed", "batchnorm-dgamma-missing-xhat",
                                  "col2im-overwrites", "sgd-sign-flipped",
                                  "numgrad-forward-difference", "twolayernet-grads-from-affine1"])
def test_self_check_bites(tmp_path, name):
    # the self-check above would notice if clean/ carried one of the planted bugs
    root = materialize(BY_NAME[name], tmp_path / name)
    failures = json.loads(run_python(["-m", "parity_tests.zoo.probes", "selfcheck", str(root)]))
    assert failures, f"the self-check passes clean/ with {name} planted"


@pytest.fixture(scope="module")
def bite_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    run_python(["-m", "parity_tests.zoo", "write", str(root)])
    assert sorted(p.name for p in root.iterdir()) == sorted(bug.name for bug in BUGS)
    return json.loads(run_python(["-m", "parity_tests.zoo.probes", "bite", str(CLEAN),
                                  str(root)], timeout=120))


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_bug_bites(bite_report, bug):
    found = bite_report[bug.name]
    assert "crash" not in found, found.get("crash")
    assert found["differs"], f"{bug.name} behaves exactly like clean/ on its probe"
    if bug.layer is None:
        # network-level bugs without a layer (weight decay) leave every layer's output alone
        assert found["first_layer"] is None, found
    elif found["first_layer"] is not None:
        assert found["first_layer"] == bug.layer, found  # what forward bisection must name
    else:
        assert bug.layer in found["grad_layers"], found  # gradients taken from the wrong layer


def test_variants_are_folders_and_only_the_syntax_fixture_fails_to_compile(tmp_path):
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    for variant, folder in zip(VARIANTS, variants.materialize_all(tmp_path), strict=True):
        sources = sorted(folder.rglob("*.py"))
        assert sources, variant.name
        broken = []
        for path in sources:
            try:
                compile(path.read_text(encoding="utf-8"), str(path), "exec")
            except SyntaxError:
                broken.append(path.name)
        assert bool(broken) == (variant.hostile == "syntax"), (variant.name, broken)


def test_old_numpy_variant_needs_a_shim_on_this_numpy(tmp_path):
    # the fixture is only useful while np.float is gone (NumPy >= 1.24)
    folder = variants.materialize(variants.BY_NAME["old_numpy"], tmp_path / "old_numpy")
    out = subprocess.run([sys.executable, "-c", "import layers"], cwd=folder,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "AttributeError" in out.stderr


def test_derived_variants_rename_names_only_and_refuse_edits_that_miss():
    # a comment or a string that says W keeps it; a rename or edit that finds nothing is an error
    assert variants.rename("W = dW  # W\nname = 'W'\n", [("W", "w"), ("dW", "dw")]) == \
        "w = dw  # W\nname = 'W'\n"
    sources = variants.clean_sources()
    with pytest.raises(ValueError, match="nothing to rename"):
        variants.derived_text(variants.Derived(("Relu",), renames=(("W", "w"),)), sources)
    with pytest.raises(ValueError, match="0 times"):
        variants.derived_text(variants.Derived(("Relu",), edits=(("np.int(", "int("),)), sources)
