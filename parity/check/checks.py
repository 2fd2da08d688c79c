"""Check one discovered component of a learner's implementation (runs in the child process).

Every entry of the component's row in ``parity.check.table`` runs through the
engine with the learner's object on the scratch side.  An entry that fails is
then tried against the book's published defects ("book defect copied") and the
component's other valid conventions ("matches convention X"); what is left is a
MISMATCH, handed to the diagnosis catalogue, or a CRASHED run with an
explanation a learner can act on.
"""

import dataclasses
import inspect
import re
import traceback
from dataclasses import dataclass, field

import numpy as np
import torch

from parity.check import adapt, training
from parity.check.table import BY_NAME, DROPOUT_SEED, BookNesterov, Component, Entry
from parity.engine.compare import MISMATCH, PASSING, Check, compare
from parity.engine.inputs import source
from parity.engine.layer_pair import LayerPair
from parity.engine.optim_pair import OptimizerPair
from parity.engine.tolerances import tolerance_for
from scratch.models import with_input_grad

MATCH, CONVENTION, DEFECT, CRASHED = "match", "matches convention", "book defect copied", "CRASHED"
MISSPELLED = "API misspelled"
NOT_FOUND, NOT_IMPORTABLE = "not found", "not importable"
# verdicts that count as a pass for the exit code
PASSING_VERDICTS = (MATCH, CONVENTION, DEFECT)
NO_DIAGNOSIS = "(diagnosis not available)"


@dataclass
class Result:
    """One component's outcome: verdict, the rows of every check, and why."""

    component: str
    verdict: str
    where: str = ""  # module:qualname of the learner's code
    rows: list = field(default_factory=list)  # Check.row() dicts + diagnosis/evidence/location
    diagnosis: str = ""
    evidence: str = ""
    location: str = ""
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    def passed(self):
        return self.verdict.startswith(PASSING_VERDICTS)


# ---- building the learner's side of one entry ----

def is_class(obj):
    return inspect.isclass(obj)


def forward_takes_weights(cls):
    """Affine() holding no weights: forward(x, W, b)."""
    init = inspect.signature(cls.__init__).parameters if "__init__" in vars(cls) else {}
    fwd = getattr(cls, "forward", None) or getattr(cls, "forword", None)
    if fwd is None:
        return False
    n_fwd = len([p for p in inspect.signature(fwd).parameters if p != "self"])
    return len([p for p in init if p != "self"]) == 0 and n_fwd >= 3


def layer_factory(comp: Component, cls, entry: Entry, notes):
    def build(params):
        args = entry.args(params)
        if comp.params and forward_takes_weights(cls):
            obj = cls()
            layer = adapt.LayerAdapter(obj, comp.params, weights={k: params[k]
                                                               for k in comp.params},
                                       loss=comp.loss, notes=notes)
        else:
            obj = adapt.call_with(cls, args, notes, cls.__name__)
            for k in comp.params:  # finite differences perturb the engine's arrays in place
                if adapt.get_attr(obj, k) is not params[k]:
                    adapt.set_attr(obj, k, params[k])
            layer = adapt.LayerAdapter(obj, comp.params, loss=comp.loss, notes=notes)
        if comp.name == "Dropout":
            np.random.seed(DROPOUT_SEED)  # noqa: NPY002 (the book draws from np.random)
        return layer
    return build


def function_factory(comp, fn, entry, notes):
    def build(params):
        args = entry.args(params)
        return adapt.FunctionLayer(
            lambda *inputs: adapt.call_with(
                fn, {f"input {i}": x for i, x in enumerate(inputs)} | args, notes, fn.__name__),
            notes)
    return build


def optimizer_factory(comp, cls, entry, notes):
    def build(lr, weight_decay=0.0):
        args = {"lr": lr} | entry.args({})
        init = inspect.signature(cls).parameters
        holds = adapt.resolve(list(init), "params") or adapt.resolve(list(init), "parameters")
        if holds:
            notes.add(f"{cls.__name__}({holds}, ...) holds the parameters (PyTorch style): "
                      "built on the first update with them")

            def make(params):
                return adapt.call_with(cls, {"params": params} | args, notes, cls.__name__)
        else:
            obj = adapt.call_with(cls, args, notes, cls.__name__)

            def make(params):
                return obj
        adapter = adapt.OptimizerAdapter(make, notes)
        if not holds:
            adapter._ensure(None)
        else:
            adapter.__dict__["pending_lr"] = lr
        return adapter
    return build


def network_factory(comp, cls, entry, notes):
    def build(params):
        net = adapt.call_with(cls, entry.args(params), notes, cls.__name__)
        adapter = adapt.NetworkAdapter(net, params, notes)
        np.random.seed(DROPOUT_SEED)  # noqa: NPY002 (the twin replays these draws)
        return adapter
    return build


FACTORIES = {"layer": layer_factory, "function": function_factory,
             "optimizer": optimizer_factory, "network": network_factory}


def learner_side(comp, obj, entry, notes):
    return FACTORIES[comp.kind](comp, obj, entry, notes)


# ---- running an entry ----

def run_pair(pair, factory):
    """Every dtype of ``pair`` with the learner on the scratch side; a crash is a row."""
    pair = dataclasses.replace(pair, scratch=factory)
    checks = []
    for dtype in pair.dtypes:
        try:
            checks += pair.run(dtype)
        except Exception as err:  # e.g. the finite differences could not rebuild the layer
            checks.append(crash_row(pair, dtype, err))
    return checks


def crash_row(pair, dtype, err):
    tol = tolerance_for(dtype)
    return Check(component=pair.component, variant=pair.variant, dtype=dtype, quantity="run",
                 atol=tol.atol, rtol=tol.rtol, passed=False, verdict=MISMATCH, oracle="torch",
                 detail=f"the scratch side raised {type(err).__name__}: {err}")


def crashed(checks):
    return [c for c in checks if c.quantity == "run" and "scratch side raised" in c.detail]


def failing(checks):
    return [c for c in checks if c.verdict not in PASSING]


class CopyDout:
    """The learner's layer, handed a copy of dout (does it only fail by writing into it?)."""

    def __init__(self, layer):
        self.__dict__["layer"] = layer

    def backward(self, dout):
        return self.layer.backward(dout.copy())

    def __getattr__(self, name):
        return getattr(self.__dict__["layer"], name)


class ScaleDout(CopyDout):
    """The learner's backward at a unit upstream gradient, times dout: what it would return if
    it honoured dout (a loss layer that ignores dout, as the book's, then matches)."""

    def backward(self, dout):
        unit = np.full_like(dout, 1.0)
        return np.asarray(self.layer.backward(unit)) * dout


def defect_copied(defect, pair, factory):
    if defect.detect == "writes dout":
        return not failing(run_pair(pair, lambda p: CopyDout(factory(p))))
    if defect.detect == "ignores dout":
        return not failing(run_pair(pair, lambda p: ScaleDout(factory(p))))
    if defect.detect == "book nesterov":
        book = dataclasses.replace(without_state(pair), gap_when_lr_changes="",
                                   torch=lambda groups, lr: BookNesterov(groups, lr))
        return not failing(run_pair(book, factory))
    if defect.detect == "pool pad sizing":
        return pool_sized_without_pad(pair, factory)
    return False


def pool_sized_without_pad(pair, factory):
    """The book's Pooling: output (H - pool_h)/stride + 1, padding ignored -- a wrong shape,
    or a failed reshape inside forward."""
    sample = pair.sample_list()[0]
    x = sample.calls[0].inputs[0]
    layer = pair.torch({})
    kernel, stride, pad = layer.kernel_size, layer.stride, layer.padding
    if not pad:
        return False
    try:
        out = np.asarray(factory({}).forward(x.copy()))
    except ValueError as err:
        return "reshape" in str(err)
    kh, kw = (kernel, kernel) if np.ndim(kernel) == 0 else kernel
    sh = stride if np.ndim(stride) == 0 else stride[0]
    sw = stride if np.ndim(stride) == 0 else stride[1]
    return out.shape[2:] == ((x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1)


def network_case(entry, pair, factory):
    """(learner's net, the project's scratch net, x, t) with the same weights: the first
    loss sample of the entry."""
    params = pair._params(source(pair.component, pair.variant, "diagnosis"), "float64")
    sample = next(s for s in pair.sample_list() if len(s.calls[0].inputs) == 2)
    x, t = sample.calls[0].inputs
    learner = factory(params).net
    reference = with_input_grad(entry.reference(params))  # bisection compares every dx
    rename_layers(reference, [name for name, _ in adapt.layer_items(learner)])
    return learner, reference, np.asarray(x, float), t


def rename_layers(net, names):
    """Give the project's scratch network the learner's layer names (same count, same
    order): bisection then names the learner's layer ("Relu1", "layers[3]"), not ours."""
    old = list(net.layers)
    if len(old) != len(names):
        return
    new = dict(zip(old, names))
    net.layers = {new[k]: v for k, v in net.layers.items()}
    net._takes_mode = {new[k]: v for k, v in net._takes_mode.items()}
    net._param_keys = {k: (new[n], key) for k, (n, key) in net._param_keys.items()}


def try_diagnose(comp, pair, factory, dtype, obj=None, entry=None):
    """The catalogue's best hypothesis, or a plain 'first difference' (parity.check.diagnosis)."""
    try:
        from parity.check import diagnosis
    except ImportError:
        return None
    try:
        if comp.kind == "network":
            if entry is None or entry.reference is None:
                return None
            case = network_case(entry, pair, factory)
            found = diagnosis.diagnose_network(*case) or [diagnosis.bisect_network(*case)]
            layers = [name for name, _ in adapt.layer_items(case[0])] + ["lastLayer"]
            if found[0].location not in layers:  # e.g. "TwoLayerNet.gradient": which layer
                bisected = diagnosis.bisect_network(*case)
                if bisected.location in layers:
                    return dataclasses.replace(found[0], location=(
                        f"{found[0].location} ({bisected.location})"))
            return found[0]
        if comp.kind == "optimizer":
            found = diagnosis.diagnose_optimizer(pair, factory, dtype)
        elif comp.kind == "function":
            found = diagnosis.diagnose_function(comp.name, obj, dtype)
            return found[0] if found else diagnosis.first_difference(comp.name, obj, dtype)
        else:
            found = diagnosis.diagnose_layer(pair, factory, dtype)
        if found:
            return found[0]
        return diagnosis.first_difference(pair, factory, dtype)
    except Exception as err:  # the diagnosis must never cost the verdict
        return dataclasses.make_dataclass("D", ["id", "text", "residual", "evidence",
                                                "location"])(
            "", f"(diagnosis failed: {type(err).__name__}: {err})", np.nan, "", "")


NATIVE_MISSING = re.compile(r"'(\w+)' object has no attribute '(\w+)'")


def explain_crash(check, comp, obj):
    """What a learner can act on, from the engine's crash row."""
    detail = check.detail.replace("the scratch side raised ", "")
    name = getattr(obj, "__name__", comp.name)
    native = NATIVE_MISSING.search(detail)
    if native:  # raised inside the learner's own code
        cls, attr = native.groups()
        return (f"{detail}: the code of {name} reads .{attr}, which {cls} never sets -- check "
                f"the spelling against what {cls} defines (the book's names: W, b, dW, db, "
                "gamma, beta, dgamma, dbeta, running_mean, running_var, mask).")
    if "has no method" in detail or "has no attribute" in detail:
        return f"{detail}. The book's {comp.name} defines " + ", ".join(
            f"{m}()" for m in comp.methods) + (
            f" and keeps {', '.join(comp.params)} with gradients "
            + ", ".join("d" + p for p in comp.params) if comp.params else "") + "."
    if "shape" in detail or "broadcast" in detail or "reshape" in detail:
        return (f"{name} raised {detail} on the input of sample {check.sample!r} "
                f"({check.variant}); check the shapes it assumes.")
    return f"{name} raised {detail} ({check.variant}, sample {check.sample!r})."


def check_component(comp_name, obj, where=""):
    """Run every entry of one component for the learner's ``obj``; a ``Result``."""
    comp = BY_NAME[comp_name]
    notes = adapt.Notes()
    notes.misspelled = False
    if comp_name == "numerical_gradient":
        return check_numerical_gradient(obj, where, notes)
    rows, verdicts, diag, crash_text = [], [], None, ""
    for entry in comp.entries:
        pair = entry.pair()
        factory = learner_side(comp, obj, entry, notes)
        checks = run_pair(pair, factory)
        verdict = MATCH
        if failing(checks):
            verdict = MISMATCH
            for defect in comp.defects:
                if defect_copied(defect, pair, factory):
                    verdict = f"{DEFECT}: {defect.text}"
                    break
            else:
                for conv in comp.conventions:
                    conv_pair = conv.pair()
                    if isinstance(conv_pair, OptimizerPair):
                        conv_pair = without_state(conv_pair)
                    conv_factory = learner_side(comp, obj, conv, notes)
                    if not failing(run_pair(conv_pair, conv_factory)):
                        verdict = f"{CONVENTION} {conv.label} ({conv.why})"
                        break
            if verdict == MISMATCH and crashed(checks):
                verdict = CRASHED
                crash_text = crash_text or explain_crash(crashed(checks)[0], comp, obj)
            if verdict in (MISMATCH, CRASHED) and diag is None:
                dtype = failing(checks)[0].dtype
                diag = try_diagnose(comp, pair, factory, dtype, obj, entry) or False
        rows += [c.row() | {"entry verdict": verdict, "detail": c.detail} for c in checks]
        verdicts.append(verdict)
    parted = None
    if comp_name in training.TRAINED and comp.entries:
        checks, parted, train_diag = training_entry(comp, obj, notes)
        verdict = MISMATCH if failing(checks) else MATCH
        rows += [c.row() | {"entry verdict": verdict, "detail": c.detail} for c in checks]
        verdicts.append(verdict)
        if verdict == MISMATCH and diag is None:
            diag = train_diag
    verdict = summary_verdict(verdicts)
    if verdict == MATCH and notes.misspelled:
        verdict = MISSPELLED
    result = Result(comp_name, verdict, where, rows, notes=list(notes))
    if verdict == CRASHED and diag and diag.id:
        result.diagnosis, result.location = diag.id or diag.text, diag.location
        result.evidence = f"{crash_text} Diagnosis: {diag.text}" + (
            f"; {diag.evidence}" if diag.evidence else "")
    elif verdict == CRASHED:
        result.diagnosis, result.evidence = "crashed", crash_text
    elif verdict == MISSPELLED:
        result.diagnosis = "method name misspelled"
        result.evidence = ("the numbers match when it is called as the book's method; rename it, "
                           "or a network calling layer.backward() crashes: "
                           + "; ".join(n for n in notes if "misspelled" in n))
    elif verdict == MISMATCH:
        if diag:
            result.diagnosis = diag.id or diag.text
            result.evidence = (diag.text + (f" (residual {diag.residual:.1e})"
                                            if np.isfinite(diag.residual) else "")
                               + (f"; {diag.evidence}" if diag.evidence else ""))
            result.location = diag.location
        elif diag is None:
            result.diagnosis = NO_DIAGNOSIS
    if parted and not result.passed():
        step, quantity, _ = parted
        result.evidence += (f"; training run (book SGD): first parts from the reference at "
                            f"step {step}, in {quantity}")
    return result


def training_entry(comp, cls, notes):
    """The training run of ``parity.check.training`` for the component's first entry:
    (check rows, the first (step, quantity, check) where it parts or None, a diagnosis)."""
    entry = comp.entries[0]
    try:
        checks, parted = training.training_run(comp.name, cls, entry, notes)
    except Exception as err:
        tol = tolerance_for("training-float64")
        return [Check(component=comp.name, variant=training.variant(comp.name), dtype="float64",
                      quantity="run", atol=tol.atol, rtol=tol.rtol, passed=False,
                      verdict=MISMATCH, oracle="reference",
                      detail=f"the training run raised {type(err).__name__}: {err}")], None, None
    if parted is None:
        return checks, None, None
    from parity.check import diagnosis
    text = training.parted_text(comp.name, parted)
    try:  # why a run parts when one step agrees: a layer computing with a copy
        copies = diagnosis.layers_holding_copies(training.build_learner(cls, entry, notes))
    except Exception:  # the diagnosis must never cost the verdict
        copies = []
    hyp = next(h for h in diagnosis.HYPOTHESES if h.id == "network_layer_holds_copy")
    if copies:
        key, name, attr = copies[0]
        return checks, parted, diagnosis.Diagnosis(
            hyp.id, hyp.text.format(component=comp.name), 0.0,
            f"the update to params[{key!r}] never reaches layer {name}: {name}.{attr} is a "
            f"copy; {text}", f"{hyp.location.format(component=comp.name)} ({name})")
    return checks, parted, diagnosis.Diagnosis("", text, np.nan, "", comp.name)


def summary_verdict(verdicts):
    """The component's verdict: the worst of its entries'."""
    for worst in (CRASHED, MISMATCH):
        if worst in verdicts:
            return worst
    special = [v for v in verdicts if v != MATCH]
    return special[0] if special else MATCH


def without_state(pair):
    return dataclasses.replace(pair, state=())


# ---- numerical_gradient: central differences against autograd ----

def smooth_objective(shape, lib):
    rng = source("check", "numerical_gradient", str(shape))
    a, b = rng.standard_normal(shape), rng.uniform(0.5, 1.5, shape)
    if lib == "torch":
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        return lambda x: (torch.sin(x) * ta).sum() + 0.5 * (x * x * tb).sum()
    return lambda x: float(np.sum(np.sin(x) * a) + 0.5 * np.sum(x * x * b))


def check_numerical_gradient(fn, where, notes):
    """numerical_gradient(f, x) on a smooth f against the exact gradient (torch autograd):
    central differences with h = 1e-4 are within ~h^2; x must come back unchanged."""
    rows, verdict = [], MATCH
    for shape in ((3, 4), (5,)):
        x = source("check", "numerical_gradient", "x", str(shape)).standard_normal(shape)
        label = dict(component="numerical_gradient", variant=f"x{shape}".replace(" ", ""),
                     dtype="float64", sample="sum(a*sin(x)) + 0.5*sum(b*x^2)", oracle="torch")
        t = torch.from_numpy(x.copy()).requires_grad_(True)
        smooth_objective(shape, "torch")(t).backward()
        given = x.copy()
        try:
            got = np.asarray(adapt.call_with(fn, {"f": smooth_objective(shape, "numpy"),
                                                  "x": given}, notes, fn.__name__))
        except Exception as err:
            verdict = CRASHED
            rows.append(crash_row(LayerPair("numerical_gradient", label["variant"], None, None,
                                            None), "float64", err).row())
            continue
        checks = [compare(got, t.grad.numpy(), tolerance_for("numerical-gradient"),
                          quantity="gradient", **label),
                  compare(given, x, tolerance_for("exact"), quantity="x after", **label)]
        rows += [c.row() | {"entry verdict": ""} for c in checks]
        if failing(checks) and verdict == MATCH:
            verdict = MISMATCH
    result = Result("numerical_gradient", verdict, where, rows, notes=list(notes))
    if verdict == MISMATCH:
        diag = try_diagnose(BY_NAME["numerical_gradient"], None, None, "float64", obj=fn)
        if diag:
            result.diagnosis, result.location = diag.id or diag.text, diag.location
            result.evidence = diag.text + (f"; {diag.evidence}" if diag.evidence else "")
        elif diag is None:
            result.diagnosis = NO_DIAGNOSIS
    return result


def format_exception(err):
    return "".join(traceback.format_exception_only(type(err), err)).strip()
