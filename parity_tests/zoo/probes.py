"""NumPy-only probes of a book-style implementation: the zoo's own bite checks and self-check.

Run in a subprocess (learner code must never run inside pytest):

    python -m parity_tests.zoo.probes selfcheck CLEAN_DIR    -> JSON list of failures
    python -m parity_tests.zoo.probes bite CLEAN_DIR BUGS_DIR -> JSON {bug name: what differs}

``bite`` loads clean/ and each materialized bug in turn (purging the learner's modules in
between), runs the probe of the bug's component on the inputs its ``doc`` names and reports
which recorded quantities differ from clean's, plus, for networks, the first layer whose
output differs (what bisection must name) and the layers owning the gradients that differ.
No torch: this is the zoo checking itself, not the checker.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
import types
from pathlib import Path

import numpy as np

LEARNER_TOP = ("common", "two_layer_net", "simple_convnet", "deep_convnet")


def _purge():
    for name in list(sys.modules):
        if name.split(".")[0] in LEARNER_TOP:
            del sys.modules[name]


def load(root) -> types.SimpleNamespace:
    """Import every module of a book-layout folder (fresh: earlier roots' modules are purged)."""
    root = Path(root).resolve()
    _purge()
    saved = list(sys.path)
    sys.path[:0] = [str(root), str(root / "ch05"), str(root / "ch07"), str(root / "ch08")]
    importlib.invalidate_caches()
    try:
        m = types.SimpleNamespace(
            functions=importlib.import_module("common.functions"),
            gradient=importlib.import_module("common.gradient"),
            util=importlib.import_module("common.util"),
            layers=importlib.import_module("common.layers"),
            optimizer=importlib.import_module("common.optimizer"),
            multi_layer_net=importlib.import_module("common.multi_layer_net"),
            multi_layer_net_extend=importlib.import_module("common.multi_layer_net_extend"),
            two_layer_net=importlib.import_module("two_layer_net"),
            simple_convnet=importlib.import_module("simple_convnet"),
            deep_convnet=importlib.import_module("deep_convnet"),
        )
    finally:
        sys.path[:] = saved  # drops the network modules' sys.path.append(os.pardir) too
    return m


def _rng(seed=0):
    return np.random.default_rng(seed)


def _seed_learner(seed):
    """The book's code (Dropout masks, network init) draws from NumPy's global generator."""
    np.random.seed(seed)  # noqa: NPY002


def _record(out: dict, key: str, fn):
    """out[key] = fn(), or the exception's text: a crash is a recorded behaviour too."""
    try:
        out[key] = np.array(fn(), dtype=float, copy=True)
    except Exception as e:  # noqa: BLE001 - learner code may raise anything
        out[key] = f"{type(e).__name__}: {e}"


# --- component probes: name -> f(modules) -> {quantity: array or error text} --------------------

def probe_step_function(m):
    out = {}
    _record(out, "out", lambda: m.functions.step_function(np.array([-1.0, 0.0, 0.5, 0.0, 2.0])))
    return out


def probe_softmax(m):
    x = _rng().standard_normal((3, 5))
    x[2] = [1000.0, -1000.0, 0.0, 999.0, 1000.0]  # +-1000 logits and a tie
    out = {}
    _record(out, "out", lambda: m.functions.softmax(x.copy()))
    _record(out, "out_1d", lambda: m.functions.softmax(x[0].copy()))
    return out


def probe_cross_entropy_error(m):
    y = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5], [0.25, 0.25, 0.5]])  # a true class at y == 0
    t_idx = np.array([0, 0, 2])
    out = {}
    _record(out, "index", lambda: m.functions.cross_entropy_error(y, t_idx))
    _record(out, "onehot", lambda: m.functions.cross_entropy_error(y, np.eye(3)[t_idx]))
    _record(out, "finite", lambda: m.functions.cross_entropy_error(y[[0, 2]], t_idx[[0, 2]]))
    return out


def probe_mean_squared_error(m):
    rng = _rng()
    y, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = {}
    _record(out, "out", lambda: m.functions.mean_squared_error(y, t))
    return out


def _layer_fwd_bwd(layer, x, dout, out, *fwd_args):
    xc = x.copy()
    _record(out, "out", lambda: layer.forward(xc, *fwd_args))
    out["x_after_forward"] = xc
    dc = dout.copy()
    _record(out, "dx", lambda: layer.backward(dc))
    out["dout_after_backward"] = dc


def probe_Relu(m):
    rng = _rng()
    x = rng.standard_normal((3, 5))
    x[0, :3] = 0.0  # the kink
    out = {}
    _layer_fwd_bwd(m.layers.Relu(), x, rng.standard_normal((3, 5)), out)
    return out


def probe_Sigmoid(m):
    rng = _rng()
    out = {}
    x, dout = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    _layer_fwd_bwd(m.layers.Sigmoid(), x, dout, out)
    return out


def probe_Affine(m):
    rng = _rng()
    out = {}
    for tag, (n, d_in, d_out) in {"rect": (3, 6, 4), "square": (4, 4, 4)}.items():
        layer = m.layers.Affine(rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out))
        sub = {}
        _layer_fwd_bwd(layer, rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out)), sub)
        _record(sub, "dW", lambda layer=layer: layer.dW)
        _record(sub, "db", lambda layer=layer: layer.db)
        out.update({f"{tag}:{k}": v for k, v in sub.items()})
    return out


def probe_SoftmaxWithLoss(m):
    rng = _rng()
    x = rng.standard_normal((4, 5))
    t = np.array([0, 3, 4, 1])
    out = {}
    for tag, labels in {"index": t, "onehot": np.eye(5)[t]}.items():
        layer = m.layers.SoftmaxWithLoss()
        _record(out, f"{tag}:loss", lambda layer=layer, t=labels: layer.forward(x.copy(), t))
        _record(out, f"{tag}:dx", lambda layer=layer: layer.backward(1.7))
    return out


def probe_BatchNormalization(m):
    rng = _rng()
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    layer = m.layers.BatchNormalization(gamma.copy(), beta.copy())
    out = {}
    for step in range(3):
        x = 3.0 * rng.standard_normal((4, 5)) + 1.0
        _record(out, f"train{step}:out", lambda x=x: layer.forward(x, True))
        _record(out, f"train{step}:dx", lambda: layer.backward(rng.standard_normal((4, 5))))
        _record(out, f"train{step}:dgamma", lambda: layer.dgamma)
        _record(out, f"train{step}:dbeta", lambda: layer.dbeta)
        _record(out, f"train{step}:running_mean", lambda: layer.running_mean)
        _record(out, f"train{step}:running_var", lambda: layer.running_var)
    _record(out, "eval:out", lambda: layer.forward(rng.standard_normal((4, 5)), False))
    return out


def probe_Dropout(m):
    rng = _rng()
    x = rng.standard_normal((40, 50))
    layer = m.layers.Dropout(0.2)
    _seed_learner(0)
    out = {}
    _record(out, "train:out", lambda: layer.forward(x, True))
    _record(out, "kept_fraction", lambda: np.mean(layer.mask))
    _record(out, "dx", lambda: layer.backward(rng.standard_normal((40, 50))))
    _record(out, "eval:out", lambda: layer.forward(x, False))
    return out


def probe_im2col(m):
    x = _rng().standard_normal((2, 3, 5, 6))
    out = {}
    _record(out, "col", lambda: m.util.im2col(x, 3, 2, stride=2, pad=1))
    out.update({f"Convolution:{k}": v for k, v in probe_Convolution(m).items()})
    return out


def probe_col2im(m):
    col = _rng().standard_normal((2 * 4 * 4, 3 * 3 * 3))  # 3x3 windows, stride 2: overlaps
    out = {}
    _record(out, "img", lambda: m.util.col2im(col, (2, 3, 7, 7), 3, 3, stride=2, pad=1))
    out.update({f"Convolution:{k}": v for k, v in probe_Convolution(m).items()})
    return out


def probe_Convolution(m):
    rng = _rng()
    layer = m.layers.Convolution(rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4),
                                 stride=2, pad=1)
    x = rng.standard_normal((2, 3, 7, 6))
    out = {}
    _record(out, "out", lambda: layer.forward(x))
    shape = out["out"].shape if isinstance(out["out"], np.ndarray) else (2, 4, 4, 4)
    _record(out, "dx", lambda: layer.backward(rng.standard_normal(shape)))
    _record(out, "dW", lambda: layer.dW)
    _record(out, "db", lambda: layer.db)
    return out


def probe_Pooling(m):
    rng = _rng()
    x = rng.integers(-3, 3, size=(2, 3, 6, 5)).astype(float)  # small integers: ties everywhere
    layer = m.layers.Pooling(3, 2, stride=2, pad=1)
    out = {}
    _record(out, "out", lambda: layer.forward(x))
    shape = out["out"].shape if isinstance(out["out"], np.ndarray) else (2, 3, 3, 3)
    _record(out, "dx", lambda: layer.backward(rng.standard_normal(shape)))
    return out


def _optimizer_probe(cls_name):
    def probe(m):
        rng = _rng()
        params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
        opt = getattr(m.optimizer, cls_name)(lr=0.1)
        out = {}
        with np.errstate(all="ignore"):
            for step in range(4):
                grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
                try:
                    opt.update(params, grads)
                except Exception as e:  # noqa: BLE001
                    out[f"step{step}"] = f"{type(e).__name__}: {e}"
                    break
                for k, v in params.items():
                    out[f"step{step}:{k}"] = v.copy()
        return out
    return probe


def probe_numerical_gradient(m):
    x = _rng().standard_normal((3, 4))
    xc = x.copy()
    out = {}
    _record(out, "grad", lambda: m.gradient.numerical_gradient(lambda v: np.sum(v ** 3), xc))
    out["x_after"] = xc
    return out


# --- networks ---------------------------------------------------------------------------------

def _named_layers(net):
    if isinstance(net.layers, dict):
        return list(net.layers.items())
    return [(f"layers[{i}]", layer) for i, layer in enumerate(net.layers)]


def _hook(net, log, prefix):
    """Record every layer's forward output, in call order, as log['<prefix>:<layer name>']."""
    for name, layer in _named_layers(net):
        def forward(*args, _orig=layer.forward, _key=f"{prefix}:{name}", **kwargs):
            y = _orig(*args, **kwargs)
            log[_key] = np.array(y, dtype=float, copy=True)
            return y
        layer.forward = forward


def _unhook(net):
    for _, layer in _named_layers(net):
        layer.__dict__.pop("forward", None)


def _network_probe(build, x_shape, n_classes):
    def probe(m):
        _seed_learner(0)
        net = build(m)
        rng = _rng(1)
        for key, val in net.params.items():  # nonzero biases, so a penalty on them shows
            val[...] = (np.abs(rng.standard_normal(val.shape)) + 0.5 if key.startswith("gamma")
                        else 0.3 * rng.standard_normal(val.shape))
        x = rng.standard_normal(x_shape)
        t = rng.integers(0, n_classes, size=x_shape[0])
        out = {}
        owners = {}
        for name, layer in _named_layers(net):
            for attr in ("W", "b", "gamma", "beta"):
                for key, val in net.params.items():
                    if getattr(layer, attr, None) is val:
                        owners[key] = name
        out["owners"] = owners
        for step, call in (("predict", lambda: net.predict(x)), ("loss", lambda: net.loss(x, t)),
                           ("gradient", lambda: net.gradient(x, t))):
            _seed_learner(2)
            _hook(net, out, step)
            try:
                result = call()
            except Exception as e:  # noqa: BLE001
                out[step] = f"{type(e).__name__}: {e}"
                continue
            finally:
                _unhook(net)
            if step == "gradient":
                for key, val in result.items():
                    out[f"grad:{key}"] = np.array(val, dtype=float, copy=True)
            else:
                out[step] = np.array(result, dtype=float, copy=True)
        return out
    return probe


NETWORKS = {
    "TwoLayerNet": (lambda m: m.two_layer_net.TwoLayerNet(6, 5, 4), (3, 6), 4),
    "SimpleConvNet": (lambda m: m.simple_convnet.SimpleConvNet(
        input_dim=(3, 10, 8), conv_param={"filter_num": 4, "filter_size": 3, "pad": 1, "stride": 1},
        hidden_size=6, output_size=5, weight_init_std=0.3), (2, 3, 10, 8), 5),
    "DeepConvNet": (lambda m: m.deep_convnet.DeepConvNet(), (2, 1, 28, 28), 10),
    "MultiLayerNet": (lambda m: m.multi_layer_net.MultiLayerNet(
        6, [5, 4], 3, weight_decay_lambda=0.1), (4, 6), 3),
    "MultiLayerNetExtend": (lambda m: m.multi_layer_net_extend.MultiLayerNetExtend(
        6, [5, 4], 3, weight_decay_lambda=0.1, use_dropout=True, dropout_ration=0.3,
        use_batchnorm=True), (4, 6), 3),
}

PROBES = {
    "step_function": probe_step_function,
    "softmax": probe_softmax,
    "cross_entropy_error": probe_cross_entropy_error,
    "mean_squared_error": probe_mean_squared_error,
    "Relu": probe_Relu,
    "Sigmoid": probe_Sigmoid,
    "Affine": probe_Affine,
    "SoftmaxWithLoss": probe_SoftmaxWithLoss,
    "BatchNormalization": probe_BatchNormalization,
    "Dropout": probe_Dropout,
    "im2col": probe_im2col,
    "col2im": probe_col2im,
    "Convolution": probe_Convolution,
    "Pooling": probe_Pooling,
    "numerical_gradient": probe_numerical_gradient,
    **{name: _optimizer_probe(name)
       for name in ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam")},
    **{name: _network_probe(*spec) for name, spec in NETWORKS.items()},
}


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
    return type(a) is type(b) and a == b


def diff(clean: dict, buggy: dict) -> dict:
    """What differs between two probe records, in clean's recording order."""
    keys = [k for k in clean if k != "owners"] + [k for k in buggy if k not in clean]
    differing = [k for k in keys if k not in clean or k not in buggy
                 or not _same(clean[k], buggy[k])]
    layer_keys = [k for k in differing if k.split(":")[0] in ("predict", "loss", "gradient")
                  and ":" in k]
    owners = clean.get("owners", {})
    return {
        "differs": differing,
        "first_layer": layer_keys[0].split(":", 1)[1] if layer_keys else None,
        "grad_layers": sorted({owners.get(k[5:], "?") for k in differing
                               if k.startswith("grad:")}),
        "errors": {k: v for k, v in buggy.items() if isinstance(v, str) and k != "owners"},
    }


def bite(clean_dir, bugs_dir) -> dict:
    from parity_tests.zoo.bugs import BUGS

    components = sorted({bug.component for bug in BUGS})
    m = load(clean_dir)
    with np.errstate(all="ignore"):
        reference = {c: PROBES[c](m) for c in components}
    report = {}
    for bug in BUGS:
        try:
            m = load(Path(bugs_dir) / bug.name)
            with np.errstate(all="ignore"):
                report[bug.name] = diff(reference[bug.component], PROBES[bug.component](m))
        except Exception:  # noqa: BLE001 - report, do not hide the other bugs
            report[bug.name] = {"differs": [], "crash": traceback.format_exc()}
    return report


# --- self-check of the clean implementation ---------------------------------------------------

def _close(got, want, rtol=1e-5):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and (
        np.linalg.norm(got - want) <= rtol * max(np.linalg.norm(want), 1e-12))


def _conv_naive(x, W, b, stride, pad):
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    FN, _, FH, FW = W.shape
    oh, ow = (xp.shape[2] - FH) // stride + 1, (xp.shape[3] - FW) // stride + 1
    out = np.empty((x.shape[0], FN, oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
            out[:, :, i, j] = np.tensordot(win, W, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def _maxpool_naive(x, ph, pw, stride, pad):
    xp = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], constant_values=-np.inf)
    oh, ow = (xp.shape[2] - ph) // stride + 1, (xp.shape[3] - pw) // stride + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = win.max(axis=(2, 3))
    return out


def _check_layer(name, numeric, make, x, params, failures, fwd_args=(), seed=None):
    """backward (dx and every named parameter gradient) == d/d? of sum(forward(x) * dout)."""
    try:
        _compare_layer(name, numeric, make, x, params, failures, fwd_args, seed)
    except Exception as e:  # noqa: BLE001 - a crash is a failure to report, not to raise
        failures.append(f"{name}: raised {type(e).__name__}: {e}")


def _compare_layer(name, numeric, make, x, params, failures, fwd_args, seed):
    layer = make()
    if seed is not None:
        _seed_learner(seed)
    y = layer.forward(x, *fwd_args)
    dout = _rng(7).standard_normal(y.shape)
    dx = layer.backward(dout.copy())
    grads = {p: getattr(layer, g) for p, g in params.items()}

    def f():
        if seed is not None:
            _seed_learner(seed)
        return float(np.sum(layer.forward(x, *fwd_args) * dout))

    if not _close(dx, numeric(f, x)):
        failures.append(f"{name}: dx differs from central differences")
    for p, g in grads.items():
        if not _close(g, numeric(f, getattr(layer, p))):
            failures.append(f"{name}: {p} gradient differs from central differences")


def selfcheck(clean_dir) -> list[str]:
    m = load(clean_dir)
    L, F = m.layers, m.functions
    rng = _rng(3)
    failures: list[str] = []

    # clean's own numerical_gradient is the oracle below, so it is checked first, analytically
    cube = rng.standard_normal((3, 4))
    before = cube.copy()
    ng = m.gradient.numerical_gradient(lambda v: np.sum(v ** 3), cube)
    if not (_close(ng, 3 * before ** 2, 1e-6) and np.array_equal(cube, before)):
        return ["numerical_gradient: not central differences, or x not restored"]

    def numeric(f, x):
        return m.gradient.numerical_gradient(lambda _: f(), x)

    x = rng.standard_normal((3, 5))
    _check_layer("Relu", numeric, L.Relu, x, {}, failures)
    _check_layer("Sigmoid", numeric, L.Sigmoid, x, {}, failures)
    W, b = rng.standard_normal((8, 4)), rng.standard_normal(4)
    _check_layer("Affine", numeric, lambda: L.Affine(W, b), rng.standard_normal((3, 2, 4)),
                 {"W": "dW", "b": "db"}, failures)
    g, be = rng.standard_normal(5), rng.standard_normal(5)
    _check_layer("BatchNormalization", numeric, lambda: L.BatchNormalization(g, be),
                 rng.standard_normal((4, 5)), {"gamma": "dgamma", "beta": "dbeta"}, failures,
                 fwd_args=(True,))
    g4, be4 = rng.standard_normal(2 * 3 * 2), rng.standard_normal(2 * 3 * 2)
    _check_layer("BatchNormalization 4-D", numeric, lambda: L.BatchNormalization(g4, be4),
                 rng.standard_normal((3, 2, 3, 2)), {"gamma": "dgamma", "beta": "dbeta"},
                 failures, fwd_args=(True,))
    _check_layer("Dropout", numeric, lambda: L.Dropout(0.3), x, {}, failures,
                 fwd_args=(True,), seed=5)
    Wc, bc = rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    xc = rng.standard_normal((2, 3, 7, 6))
    _check_layer("Convolution", numeric, lambda: L.Convolution(Wc, bc, stride=2, pad=1), xc,
                 {"W": "dW", "b": "db"}, failures)
    if not _close(L.Convolution(Wc, bc, 2, 1).forward(xc), _conv_naive(xc, Wc, bc, 2, 1), 1e-12):
        failures.append("Convolution: forward differs from a direct convolution")
    xp = rng.standard_normal((2, 3, 7, 6)) - 1.0  # mostly negative: a 0 padding would win
    _check_layer("Pooling", numeric, lambda: L.Pooling(3, 2, stride=2, pad=1), xp, {},
                 failures)
    if not _close(L.Pooling(3, 2, 2, 1).forward(xp), _maxpool_naive(xp, 3, 2, 2, 1), 1e-12):
        failures.append("Pooling: forward differs from a direct max over -inf padded windows")

    logits, t = rng.standard_normal((4, 5)), np.array([1, 0, 4, 2])
    for labels in (t, np.eye(5)[t]):
        layer = L.SoftmaxWithLoss()
        layer.forward(logits, labels)
        dx = layer.backward(1.7)
        # the book's (y - t)/N is the derivative of -sum(t log y)/N; its 1e-7 shifts it by ~1e-7
        num = numeric(lambda t=labels: 1.7 * L.SoftmaxWithLoss().forward(logits, t), logits)
        if not _close(dx, num, 1e-4):
            failures.append("SoftmaxWithLoss: dx differs from central differences")
    y = F.softmax(np.array([[1000.0, -1000.0, 0.0], [1.0, 2.0, 3.0]]))
    if not (np.all(np.isfinite(y)) and _close(y.sum(axis=1), np.ones(2), 1e-12)):
        failures.append("softmax: not a distribution per row at +-1000 logits")
    if list(F.step_function(np.array([-1.0, 0.0, 2.0]))) != [0, 0, 1]:
        failures.append("step_function: wrong at -1, 0, 2")

    A = np.array([1.0, 10.0, 0.1])  # f(p) = 0.5 * sum(A p^2), gradient A p
    for name, lr in (("SGD", 0.05), ("Momentum", 0.01), ("Nesterov", 0.01),
                     ("AdaGrad", 0.5), ("RMSprop", 0.05), ("Adam", 0.1)):
        params = {"p": np.array([1.0, -1.0, 2.0])}
        start = 0.5 * np.sum(A * params["p"] ** 2)
        opt = getattr(m.optimizer, name)(lr=lr)
        for _ in range(300):
            opt.update(params, {"p": A * params["p"]})
        if not 0.5 * np.sum(A * params["p"] ** 2) < 1e-2 * start:
            failures.append(f"{name}: does not minimise a quadratic")

    for name, (build, x_shape, n_classes) in NETWORKS.items():
        if name == "DeepConvNet":
            continue  # a full numerical gradient is too slow; its layers are checked above
        _seed_learner(0)
        net = build(m)
        if name == "MultiLayerNetExtend":
            net = m.multi_layer_net_extend.MultiLayerNetExtend(
                6, [5, 4], 3, weight_decay_lambda=0.1, use_batchnorm=True)  # no random masks
        for val in net.params.values():
            val += 0.1 * rng.standard_normal(val.shape)
        xn = rng.standard_normal(x_shape)
        tn = rng.integers(0, n_classes, size=x_shape[0])
        try:
            analytic, numeric = net.gradient(xn, tn), net.numerical_gradient(xn, tn)
        except Exception as e:  # noqa: BLE001
            failures.append(f"{name}: raised {type(e).__name__}: {e}")
            continue
        for key in net.params:
            # the book's h = 1e-4 and its loss's 1e-7 leave ~1e-4; a real bug is O(1)
            if not _close(analytic[key], numeric[key], 1e-3):
                failures.append(f"{name}: gradient()['{key}'] differs from numerical_gradient")
    return failures


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["selfcheck"] and len(argv) == 2:
        print(json.dumps(selfcheck(argv[1])))
    elif argv[:1] == ["bite"] and len(argv) == 3:
        print(json.dumps(bite(argv[1], argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
