"""Diagnosis: which classic bug reproduces a learner's numbers.

A *hypothesis* is the correct reference with one classic bug put back in: a small
wrapper around the layer (or optimizer) that the registry pair's own ``scratch``
factory builds, so every layer setting (stride, pad, kernel, convention) comes for
free, or a one-line change of a reference function.  The hypothesis runs through the
same engine machinery as the learner (``pair.scratch_results`` on the pair's samples)
and *reproduces* the learner when every quantity matches within the tolerance table
and it explains at least one place where the learner differs from the reference.
Near misses are never a diagnosis; they only appear as "closest" evidence.

The book's own published defects (loss backward ignoring ``dout``, ``Relu.backward``
zeroing ``dout`` in place, BatchNorm's and Dropout's backward after a test-mode forward
reusing the last training call's cache) are not bugs of the learner: they are tried as *bases* under
every hypothesis, so a learner who copied one of them still gets the real bug named.

Networks: ``diagnose_network`` tests the network-level hypotheses (gradients read
from the wrong layer, weight decay on the biases, predict in training mode) and
``bisect_network`` walks the layers of both nets, forward then backward from the
loss, to name the first layer whose output, input gradient or parameter gradient
differs.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from parity.engine.compare import compare
from parity.engine.inputs import cast, source
from parity.engine.layer_pair import LayerPair
from parity.engine.optim_pair import OptimizerPair
from parity.engine.tolerances import tolerance_for
from scratch import conv as SC
from scratch import functions as F
from scratch import layers as S


@dataclass
class Diagnosis:
    id: str
    text: str
    residual: float
    evidence: str
    location: str


@dataclass(frozen=True)
class Hypothesis:
    """One catalogued bug.

    ``kind``: "layer" (variants: ``(make, params) -> layer``, ``make`` builds the
    reference layer from book-layout params), "optimizer" (``(make, lr, wd) ->
    optimizer``), "function" (``reference function -> buggy function``) or
    "network" (``check(learner_net, reference_net, x, t) -> (reproduces, residual,
    evidence)``).  ``components``: lower-case prefixes of the registry component or
    function names it applies to ("*": every layer with a backward except losses).
    ``text``/``location`` may name ``{component}``.
    """

    id: str
    kind: str
    components: tuple
    text: str
    location: str
    variants: tuple

    def applies(self, component):
        name = component.lower()
        if "*" in self.components:
            return not name.startswith(LOSSES)
        return name.startswith(self.components)


LOSSES = ("softmaxwithloss", "meansquarederror")


# ---------------------------------------------------------------------------------------
# Layer wrappers: the reference layer with one bug put back.
# ---------------------------------------------------------------------------------------

class _Wrap:
    """Delegates everything to ``inner`` (the reference layer, possibly wrapped itself).

    Own state lives in attributes starting with "_"; any other attribute set on the
    wrapper (e.g. a schedule setting ``opt.lr``) goes to the innermost object.
    """

    def __init__(self, inner):
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name):
        if name == "_inner":  # not built yet (copy/pickle probing): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)

    @property
    def _root(self):
        obj = self._inner
        while isinstance(obj, _Wrap):
            obj = obj._inner
        return obj

    def forward(self, *inputs, **mode):
        return self._inner.forward(*inputs, **mode)

    def backward(self, dout):
        return self._inner.backward(dout)


def wrapping(cls, *args):
    """A layer-hypothesis variant: the reference built by ``make``, wrapped in ``cls``."""
    return lambda make, params: cls(make(params), *args)


class _CachesX(_Wrap):
    def forward(self, x, *rest, **mode):
        self._x = np.array(x, copy=True)
        return self._inner.forward(x, *rest, **mode)


class _ReluMaskStrict(_CachesX):
    def backward(self, dout):
        at_zero = dout * (self._x == 0)  # before the inner call: a book base zeroes dout
        return self._inner.backward(dout) + at_zero


class _ForwardWritesInput(_Wrap):
    def forward(self, x, *rest, **mode):
        out = self._inner.forward(x, *rest, **mode)
        np.copyto(x, out)  # the caller's x now holds the output (negatives zeroed)
        return out


class _SigmoidBackwardUsesX(_CachesX):
    def backward(self, dout):
        return dout * (1 - self._x) * self._x


class _IgnoresDout(_Wrap):
    def backward(self, dout):
        # the bug modelled: whatever upstream gradient the engine draws, the layer acts
        # as if it were 1 (the engine's own upstream gradients stay random)
        as_if_one = np.ones_like(dout)
        return self._inner.backward(as_if_one)


class _GradsEdited(_Wrap):
    """``grads`` with some entries replaced by ``edit(grads, self)``."""

    def __init__(self, inner, edit):
        super().__init__(inner)
        self._edit = edit

    @property
    def grads(self):
        g = dict(self._inner.grads)
        return g | self._edit(g, self)

    def backward(self, dout):
        self._dout = dout
        return self._inner.backward(dout)


class _AffineDxWeight(_CachesX):
    def __init__(self, inner, weight):
        super().__init__(inner)
        self._weight = weight  # W -> the matrix the buggy dx multiplies dout by

    def backward(self, dout):
        self._inner.backward(dout)  # dW, db stay right
        return np.dot(dout, self._weight(self.params["W"])).reshape(self._x.shape)


class _LossTimesN(_Wrap):
    def forward(self, x, t, **mode):
        self._n = x.shape[0]
        return self._inner.forward(x, t, **mode)

    def backward(self, dout=1):
        return self._inner.backward(dout) * self._n


class _LossSoftmax(_Wrap):
    """SoftmaxWithLoss whose softmax (and so its loss and backward) is ``softmax``."""

    def __init__(self, inner, softmax):
        super().__init__(inner)
        self._softmax = softmax

    def forward(self, x, t, **mode):
        self._inner.forward(x, t, **mode)
        root = self._root
        with np.errstate(all="ignore"):
            root.y = self._softmax(x)
            return _book_loss(root.y, root.t, root.eps)


class _LossCrossEntropy(_Wrap):
    """SoftmaxWithLoss whose loss is ``loss(y, t, reference loss)``; backward unchanged."""

    def __init__(self, inner, loss):
        super().__init__(inner)
        self._loss = loss

    def forward(self, x, t, **mode):
        ref = self._inner.forward(x, t, **mode)
        root = self._root
        with np.errstate(all="ignore"):
            return self._loss(root.y, root.t, ref)


class _SoftmaxLayer(_Wrap):
    def __init__(self, inner, softmax):
        super().__init__(inner)
        self._softmax = softmax

    def forward(self, x, **mode):
        self._inner.forward(x, **mode)
        with np.errstate(all="ignore"):
            self._root.out = out = self._softmax(x)
        return out


def _book_loss(y, t, eps):
    return -np.sum(t * np.log(y + y.dtype.type(eps))) / y.dtype.type(y.shape[0])


def _create_running_stats(layer, x):
    """Let the reference create its running statistics in their start state (zeros for
    the book, var 1 for torch's convention) with a side-effect-free test-mode call."""
    if layer._root.running_mean is None:
        layer._inner.forward(x, train_flg=False)


class _RunningVarFrozen(_Wrap):
    def forward(self, x, train_flg=True):
        _create_running_stats(self, x)
        before = self._root.running_var
        out = self._inner.forward(x, train_flg=train_flg)
        self._root.running_var = before
        return out


class _EvalUsesBatchStats(_Wrap):
    def forward(self, x, train_flg=True):
        if train_flg:
            return self._inner.forward(x, train_flg=True)
        _create_running_stats(self, x)
        root = self._root
        kept = root.running_mean, root.running_var
        out = self._inner.forward(x, train_flg=True)  # normalised with the batch's stats
        root.running_mean, root.running_var = kept  # which a test-mode call leaves alone
        return out


class _MomentumSwapped(_Wrap):
    def forward(self, x, train_flg=True):
        root = self._root
        m = root.momentum
        root.momentum = 1 - m  # running = (1-m)*running + m*batch
        try:
            return self._inner.forward(x, train_flg=train_flg)
        finally:
            root.momentum = m


class _StaleEvalBackward(_Wrap):
    """The book's BatchNormalization and Dropout: backward after a test-mode forward uses
    what the last training forward cached (``attrs`` of the reference layer), and fails
    when there was none."""

    def __init__(self, inner, attrs):
        super().__init__(inner)
        self._attrs, self._cache, self._after_eval = attrs, None, False

    def forward(self, x, train_flg=True):
        out = self._inner.forward(x, train_flg=train_flg)
        if train_flg:
            self._cache = {k: getattr(self._root, k) for k in self._attrs}
        self._after_eval = not train_flg
        return out

    def backward(self, dout):
        if self._after_eval:
            if self._cache is None:
                raise TypeError("unsupported operand type(s) for *: 'NoneType' and "
                                "'numpy.ndarray' (backward after a test-mode forward with "
                                "no training forward before)")
            for k, v in self._cache.items():
                setattr(self._root, k, v)
        return self._inner.backward(dout)


BATCHNORM_CACHE = ("xc", "xn", "std", "count", "axes", "train_flg", "input_shape")


class _BackwardWritesDout(_CachesX):
    """The book's Relu.backward: zeroes the caller's dout where x <= 0, in place."""

    def backward(self, dout):
        dx = self._inner.backward(dout)
        dout[self._x <= 0] = 0
        return dx


class _DropoutScaled(_Wrap):
    def __init__(self, inner, backward_too):
        super().__init__(inner)
        self._backward_too = backward_too

    def forward(self, x, train_flg=True):
        out = self._inner.forward(x, train_flg=train_flg)
        self._scale = x.dtype.type(1 - self.dropout_ratio) if train_flg else None
        return out / self._scale if train_flg else out

    def backward(self, dout):
        dx = self._inner.backward(dout)
        return dx / self._scale if self._backward_too and self._scale is not None else dx


class _BackwardIdentity(_Wrap):
    def backward(self, dout):
        self._inner.backward(dout)
        return np.array(dout, copy=True)


def _dropout_mask_inverted(make, params):
    layer = make(params)
    root = layer._root if isinstance(layer, _Wrap) else layer
    keep = root.mask_source
    root.mask_source = lambda shape: ~np.asarray(keep(shape), dtype=bool)
    return layer


def _windows(shape, kernel, stride, pad):
    """(padded image shape, (out_h, out_w), window taps) of ``scratch.conv``'s im2col."""
    N, C, H, W = shape
    kernel, stride, pad = SC.pair(kernel), SC.pair(stride), SC.pair(pad)
    out_size = SC.output_shape((H, W), kernel, stride, pad)
    padded = (N, C, H + 2 * pad[0], W + 2 * pad[1])
    return padded, out_size, list(SC.window_taps(kernel, out_size, stride))


def book_im2col(x, filter_h, filter_w, stride=1, pad=0):
    """The book's im2col signature on ``scratch.conv.im2col``: rows (N, out_h, out_w),
    columns (C, filter_h, filter_w)."""
    return SC.im2col(x, (filter_h, filter_w), SC.pair(stride), SC.pair(pad))


def book_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0, accumulate=True):
    """The book's col2im signature on ``scratch.conv.col2im``; ``accumulate=False`` is the
    bug that assigns where windows overlap, in the book's loop order (later taps win)."""
    kernel, stride, pad = (filter_h, filter_w), SC.pair(stride), SC.pair(pad)
    if accumulate:
        return SC.col2im(col, input_shape, kernel, stride, pad)
    N, C = input_shape[:2]
    padded, out_size, taps = _windows(input_shape, kernel, stride, pad)
    col = col.reshape(N, *out_size, C, *kernel).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros(padded, dtype=col.dtype)
    for y, xx, where in taps:
        img[where] = col[:, :, y, xx]
    return SC.crop(img, pad)


def kernel_transposed_columns(col, C, filter_h, filter_w):
    """im2col's columns read in (C, filter_w, filter_h) order: the kernel-transposed bug."""
    rows = col.shape[0]
    return (col.reshape(rows, C, filter_h, filter_w).transpose(0, 1, 3, 2)
            .reshape(rows, -1))


class _ConvCol2imOverwrites(_CachesX):
    def backward(self, dout):
        self._inner.backward(dout)  # dW, db are right
        W = self.params["W"]
        FN, C, FH, FW = W.shape
        dcol = dout.transpose(0, 2, 3, 1).reshape(-1, FN) @ W.reshape(FN, -1)
        return book_col2im(dcol, self._x.shape, FH, FW, self._root.stride, self._root.pad,
                           accumulate=False)


class _ConvKernelTransposed(_Wrap):
    """The book's Convolution with im2col's columns in (C, FW, FH) order: the forward and
    dW are those of a convolution with the kernel read transposed (``W_eff``), while dx
    (col2im, not transposed) is the correct one's."""

    def __init__(self, make, params):
        super().__init__(make(params))
        W = params["W"]
        FN, C, FH, FW = W.shape
        self._shape = W.shape
        self._eff = make(params | {"W": W.reshape(FN, C, FW, FH).transpose(0, 1, 3, 2).copy()})

    def forward(self, x, **mode):
        self._inner.forward(x, **mode)
        return self._eff.forward(x, **mode)

    def backward(self, dout):
        dx = self._inner.backward(dout)
        self._eff.backward(dout)
        return dx

    @property
    def grads(self):
        FN, C, FH, FW = self._shape
        g = dict(self._eff.grads)
        g["W"] = g["W"].transpose(0, 1, 3, 2).reshape(FN, C, FH, FW)
        return g


class _MaxPoolAllTies(_CachesX):
    def backward(self, dout):
        root = self._root
        (fh, fw), stride, pad = root.kernel, root.stride, root.pad
        x = self._x
        (ph, pw) = SC.pair(pad)
        padded, _, taps = _windows(x.shape, (fh, fw), stride, pad)
        xp = np.full(padded, -np.inf, dtype=x.dtype)
        xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
        out = root.out
        dxp = np.zeros_like(xp)
        for _, _, where in taps:
            dxp[where] += (xp[where] == out) * dout  # every element equal to the max
        return dxp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


class _PoolBackward(_CachesX):
    """The book's Pooling.backward (arg_max routed back through col2im) with im2col's
    columns read kernel-transposed or col2im overwriting: the forward's maxima are the
    same whatever the column order, the gradient lands elsewhere."""

    def __init__(self, inner, transposed=False, accumulate=True):
        super().__init__(inner)
        self._transposed, self._accumulate = transposed, accumulate

    def backward(self, dout):
        self._inner.backward(dout)
        root = self._root
        (ph, pw), stride, (py, px) = root.kernel, root.stride, SC.pair(root.pad)
        x = self._x
        padded = np.pad(x, [(0, 0), (0, 0), (py, py), (px, px)], constant_values=-np.inf)
        col = book_im2col(padded, ph, pw, stride, 0)
        if self._transposed:
            col = kernel_transposed_columns(col, x.shape[1], ph, pw)
        col = col.reshape(-1, ph * pw)  # one row per (N, out_h, out_w, C) window
        flat = dout.transpose(0, 2, 3, 1).reshape(-1)
        dmax = np.zeros_like(col)
        dmax[np.arange(col.shape[0]), np.argmax(col, axis=1)] = flat
        rows = dout.shape[0] * dout.shape[2] * dout.shape[3]
        return book_col2im(dmax.reshape(rows, -1), x.shape, ph, pw, stride, (py, px),
                           accumulate=self._accumulate)


# ---------------------------------------------------------------------------------------
# Optimizer wrappers.
# ---------------------------------------------------------------------------------------

def _book_decay(params, grads, wd):
    """The book's weight decay as an adapter applies it: grad + wd * W on weights."""
    return {k: g + wd * params[k] if wd and k.startswith("W") else g for k, g in grads.items()}


class _NegatedGradient(_Wrap):
    """An update that climbs: with the sign of the gradient flipped the reference's
    formula is exactly ``params += lr * grad`` (SGD) or ``v = m*v + lr*g`` (Momentum)."""

    def __init__(self, inner, wd):
        super().__init__(inner)
        self._wd = wd

    def update(self, params, grads):
        grads = _book_decay(params, grads, self._wd)
        self._inner.update(params, {k: -g for k, g in grads.items()})


def _negated(make, lr, wd):
    return _NegatedGradient(make(lr, 0.0), wd)


class _AdamLate(_Wrap):
    """lr_t computed with the step count before its increment: lr_t uses t - 1."""

    def update(self, params, grads):
        root = self._root
        t, lr = root.iter + 1, root.lr

        def correction(k):
            return np.sqrt(1.0 - root.beta2 ** k) / (1.0 - root.beta1 ** k)

        with np.errstate(all="ignore"):  # t = 1: 0/0, as in the learner's code
            root.lr = lr * (correction(t - 1) / correction(t))
            try:
                self._inner.update(params, grads)
            finally:
                root.lr = lr


def _accumulating(rule):
    def build(make, lr, wd):
        opt = make(lr, wd)
        opt.accumulate = lambda h, g: rule(opt, h, g)
        return opt
    return build


# ---------------------------------------------------------------------------------------
# Reference functions of the book and their buggy versions.
# ---------------------------------------------------------------------------------------

def naive_softmax(x):
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def softmax_normalised(shift_axis, sum_axis):
    """Softmax shifted by the max over ``shift_axis``, normalised over ``sum_axis``."""
    def softmax(x):
        e = np.exp(x - np.max(x, axis=shift_axis, keepdims=shift_axis is not None))
        return e / np.sum(e, axis=sum_axis, keepdims=sum_axis is not None)
    return softmax


WRONG_AXIS_SOFTMAXES = (
    softmax_normalised(-1, 0),  # row max, column sums
    softmax_normalised(0, 0),  # softmax over the batch axis
    softmax_normalised(None, None),  # ch03's 1-D softmax applied to a batch
    softmax_normalised(None, 0),
)


def book_numerical_gradient(f, x, h=1e-4, central=True, restore=True):
    """common/gradient.py's numerical_gradient; the flags put its two classic bugs back."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        tmp = x[idx]
        x[idx] = tmp + h
        fxh1 = f(x)
        x[idx] = tmp - h if central else tmp
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h) if central else (fxh1 - fxh2) / h
        if restore:
            x[idx] = tmp
    return grad


def _batch_size(y):
    return 1 if np.ndim(y) == 1 else y.shape[0]


def book_cross_entropy_error(y, t, delta=1e-7, batch_size=None, product=False):
    """The book's cross_entropy_error (one-hot or index labels) as written.

    ``product``: one-hot labels as -sum(t * log(y + delta)), the ch04 form, instead of
    the argmax pick (the two differ only where log gives -inf: nan vs inf).
    ``delta``/``batch_size`` put its classic bugs back (batch_size=1: the sum is never
    averaged, and index labels pick from row 0 only, as the learner's code then does).
    """
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    n = y.shape[0] if batch_size is None else batch_size
    if t.size == y.size and product:
        return -np.sum(t * np.log(y + delta)) / n
    if t.size == y.size:
        t = t.argmax(axis=1)
    return -np.sum(np.log(y[np.arange(n), t] + delta)) / n


FUNCTION_REFERENCES = {
    "step_function": F.step_function,
    "sigmoid": F.sigmoid,
    "relu": F.relu,
    "softmax": F.softmax,
    "cross_entropy_error": book_cross_entropy_error,
    "mean_squared_error": F.mean_squared_error,
    "numerical_gradient": book_numerical_gradient,
    "im2col": book_im2col,
    "col2im": book_col2im,
}


# ---------------------------------------------------------------------------------------
# Network hypotheses.
# ---------------------------------------------------------------------------------------

def _close(a, b, tol):
    return _compare_values(a, b, tol).passed


def _fresh(net):
    return copy.deepcopy(net)


def _seeded(call, seed=0):
    """Run ``call`` with np.random seeded, so both nets draw the same dropout masks.

    The legacy global state on purpose: the book's Dropout draws np.random.rand.
    """
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        return call()
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _grads(net, x, t):
    return {k: np.array(v) for k, v in _seeded(lambda: _fresh(net).gradient(x, t)).items()}


def _grads_from_wrong_layer(learner, reference, x, t, tol):
    gl, gr = _grads(learner, x, t), _grads(reference, x, t)
    wrong = [k for k in gr if k not in gl or not _close(gl[k], gr[k], tol)]
    if not wrong:
        return False, np.inf, "every gradient matches"
    sources = {}
    for k in wrong:
        found = [k2 for k2 in gr if k2 != k and k in gl and _close(gl[k], gr[k2], tol)]
        if not found:
            return False, np.inf, f"grads[{k!r}] matches no other parameter's gradient"
        sources[k] = found[0]
    listing = ", ".join(f"grads[{k!r}] = gradient of {v!r}" for k, v in sources.items())
    return True, 0.0, listing


def _weight_decay_on_bias(learner, reference, x, t, tol):
    lam = getattr(learner, "weight_decay_lambda", getattr(reference, "weight_decay_lambda", 0))
    if not lam:
        return False, np.inf, "weight_decay_lambda is 0: the bug cannot show"
    biases = {k: np.array(v) for k, v in reference.params.items() if k.startswith("b")}
    penalty = 0.5 * lam * sum(float(np.sum(b ** 2)) for b in biases.values())
    ll = float(_seeded(lambda: _fresh(learner).loss(x, t)))
    lr = float(_seeded(lambda: _fresh(reference).loss(x, t)))
    gl, gr = _grads(learner, x, t), _grads(reference, x, t)
    loss_plain, loss_bug = _close(ll, lr, tol), _close(ll, lr + penalty, tol)
    grads_plain = all(k in gl and _close(gl[k], gr[k], tol) for k in gr)
    grads_bug = all(k in gl and _close(gl[k], gr[k] + lam * biases[k] if k in biases else gr[k],
                                       tol) for k in gr)
    shown = (loss_bug and not loss_plain) or (grads_bug and not grads_plain)
    if shown and (loss_plain or loss_bug) and (grads_plain or grads_bug):
        where = [w for w, bug, plain in (("loss", loss_bug, loss_plain),
                                         ("gradient", grads_bug, grads_plain)) if bug and not plain]
        return True, 0.0, f"lambda {lam}: the {' and the '.join(where)} include the biases"
    return False, np.inf, "loss/gradients not explained by a penalty on the biases"


def _accepts(method, name):
    try:
        return name in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _predict_in_train_mode(learner, reference, x, t, tol):
    if not _accepts(reference.predict, "train_flg"):
        return False, np.inf, "the network has no training mode"
    shown, evidence = False, []
    for name, run_l, run_r in (
            ("predict(x)", lambda n: n.predict(x), lambda n, m: n.predict(x, train_flg=m)),
            ("loss(x, t)", lambda n: n.loss(x, t), lambda n, m: n.loss(x, t, train_flg=m))):
        if name.startswith("loss") and not _accepts(reference.loss, "train_flg"):
            continue
        got = _seeded(lambda f=run_l: f(_fresh(learner)))
        train = _seeded(lambda f=run_r: f(_fresh(reference), True))
        test = _seeded(lambda f=run_r: f(_fresh(reference), False))
        if _close(got, test, tol):
            continue
        if not _close(got, train, tol) or _close(train, test, tol):
            return False, np.inf, f"{name} matches neither mode"
        shown = True
        evidence.append(f"{name} equals the training-mode output")
    return shown, 0.0, "; ".join(evidence)


WEIGHT_NAMES = ("w", "b", "gamma", "beta", "weight", "weights", "bias")


def _held_arrays(layer):
    """(name, array) of the parameters a layer holds: W/b/gamma/beta attributes under any
    spelling (not dW, running_mean, caches), and a ``params`` dict of its own."""
    held = [(a, v) for a, v in vars(layer).items()
            if a.lower().replace("_", "") in WEIGHT_NAMES and isinstance(v, np.ndarray)]
    own = getattr(layer, "params", None)
    if isinstance(own, dict):
        held += [(f"params[{k!r}]", v) for k, v in own.items() if isinstance(v, np.ndarray)]
    return held


def layers_holding_copies(net):
    """[(key, layer name, attribute)] for each ``net.params[key]`` that no layer shares
    memory with while a layer holds an array of its shape: the optimizer updates
    params[key], the layer computes with its own copy, and a training run parts from the
    book's at its second step (one forward/backward cannot see it)."""
    items, _ = _named_layers(net)
    found = []
    for key, param in net.params.items():
        if not isinstance(param, np.ndarray):
            continue
        held = [(name, attr, v) for name, layer in items for attr, v in _held_arrays(layer)]
        if any(np.shares_memory(v, param) for _, _, v in held):
            continue
        same = [(name, attr) for name, attr, v in held if v.shape == param.shape]
        if same:
            found.append((key, *same[0]))
    return found


def _layer_holds_copy(learner, reference, x, t, tol):
    copies = layers_holding_copies(learner)
    if not copies:
        return False, np.inf, "every params entry is the array its layer holds"
    return True, 0.0, "; ".join(
        f"the update to params[{k!r}] never reaches layer {name}: {name}.{attr} is a copy "
        "(np.shares_memory is False)" for k, name, attr in copies)


# ---------------------------------------------------------------------------------------
# The catalogue.
# ---------------------------------------------------------------------------------------

def _edit_grads(edit):
    return lambda make, params: _GradsEdited(make(params), edit)


def _db_axis(axis):
    return _edit_grads(lambda g, layer: {"b": np.sum(layer._dout, axis=axis)})


# Bugs looked for both in a layer and in the learner's function it calls: one text each.
SOFTMAX_NO_MAX_SHIFT = (
    "softmax: no max subtraction, so exp overflows to inf/nan at large logits -- "
    "subtract np.max(x, axis=-1, keepdims=True) first")
SOFTMAX_WRONG_AXIS = (
    "softmax: normalised over the wrong axis -- take max and sum over axis=-1 with "
    "keepdims=True, one distribution per row")
CROSS_ENTROPY_NOT_AVERAGED = (
    "cross_entropy_error: the loss is summed over the batch, not averaged -- divide by "
    "batch_size = y.shape[0]")
IM2COL_KERNEL_TRANSPOSED = (
    "im2col: the columns read the kernel with filter_h and filter_w swapped -- "
    "col.transpose(0, 4, 5, 1, 2, 3), columns in (C, filter_h, filter_w) order")
COL2IM_OVERWRITES = (
    "col2im: overlapping windows overwrite (=) instead of adding up (+=) -- use "
    "img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]")

H = Hypothesis
HYPOTHESES: tuple[Hypothesis, ...] = (
    # --- activations ---
    H("relu_mask_strict", "layer", ("relu",),
      "Relu.forward: the mask is x < 0, so the gradient passes at x == 0 -- use "
      "self.mask = (x <= 0)", "Relu.forward", (wrapping(_ReluMaskStrict),)),
    H("relu_forward_writes_input", "layer", ("relu",),
      "Relu.forward: out = x zeroes the caller's x in place -- use out = x.copy()",
      "Relu.forward", (wrapping(_ForwardWritesInput),)),
    H("sigmoid_backward_uses_x", "layer", ("sigmoid",),
      "Sigmoid.backward: the derivative uses the input x instead of the output -- keep "
      "self.out = sigmoid(x) in forward and use dout * (1 - self.out) * self.out",
      "Sigmoid.backward", (wrapping(_SigmoidBackwardUsesX),)),
    H("backward_ignores_dout", "layer", ("*",),
      "{component}.backward returns the local derivative without multiplying by dout -- "
      "multiply by the upstream gradient dout", "{component}.backward",
      (wrapping(_IgnoresDout),)),
    # --- Affine ---
    H("affine_dW_transposed", "layer", ("affine",),
      "Affine.backward: dW is the gradient transposed -- use np.dot(self.x.T, dout)",
      "Affine.backward", (_edit_grads(lambda g, layer: {"W": g["W"].T}),)),
    H("affine_db_wrong_axis", "layer", ("affine",),
      "Affine.backward: db is summed over the wrong axis -- use np.sum(dout, axis=0)",
      "Affine.backward", (_db_axis(1),)),
    H("affine_dx_wrong_weight", "layer", ("affine",),
      "Affine.backward: dx does not use the transposed weights -- use np.dot(dout, self.W.T)",
      "Affine.backward",
      (wrapping(_AffineDxWeight, lambda W: W),
       wrapping(_AffineDxWeight, lambda W: W.reshape(W.shape[::-1])))),
    # --- softmax and losses ---
    H("softmax_no_max_shift", "layer", ("softmaxwithloss", "softmax"),
      SOFTMAX_NO_MAX_SHIFT, "softmax",
      (lambda make, p: _shaped_softmax(make(p), naive_softmax),)),
    H("softmax_wrong_axis", "layer", ("softmaxwithloss", "softmax"),
      SOFTMAX_WRONG_AXIS, "softmax",
      tuple((lambda make, p, s=s: _shaped_softmax(make(p), s)) for s in WRONG_AXIS_SOFTMAXES)),
    H("loss_grad_not_divided_by_N", "layer", ("softmaxwithloss",),
      "SoftmaxWithLoss.backward: (y - t) is not divided by the batch size -- return "
      "(self.y - self.t) / batch_size", "SoftmaxWithLoss.backward", (wrapping(_LossTimesN),)),
    H("cross_entropy_no_delta", "layer", ("softmaxwithloss",),
      "cross_entropy_error: log(y) without the small delta is -inf where y == 0 -- use "
      "np.log(y + 1e-7)", "cross_entropy_error",
      (wrapping(_LossCrossEntropy, lambda y, t, ref: -np.sum(t * np.log(y)) / y.shape[0]),)),
    H("cross_entropy_not_averaged", "layer", ("softmaxwithloss",),
      CROSS_ENTROPY_NOT_AVERAGED, "cross_entropy_error",
      (wrapping(_LossCrossEntropy, lambda y, t, ref: ref * y.shape[0]),)),
    # --- BatchNormalization ---
    H("batchnorm_running_var_not_updated", "layer", ("batchnormalization",),
      "BatchNormalization.forward: running_var is never updated in training -- add "
      "self.running_var = self.momentum * self.running_var + (1 - self.momentum) * var",
      "BatchNormalization.forward", (wrapping(_RunningVarFrozen),)),
    H("batchnorm_eval_uses_batch_stats", "layer", ("batchnormalization",),
      "BatchNormalization.forward: test mode (train_flg=False) normalises with the batch's "
      "own mean and variance -- use self.running_mean and self.running_var there",
      "BatchNormalization.forward", (wrapping(_EvalUsesBatchStats),)),
    H("batchnorm_momentum_swapped", "layer", ("batchnormalization",),
      "BatchNormalization.forward: momentum weights the new batch instead of the old "
      "running value -- running = momentum * running + (1 - momentum) * batch",
      "BatchNormalization.forward", (wrapping(_MomentumSwapped),)),
    H("batchnorm_dgamma_missing_xhat", "layer", ("batchnormalization",),
      "BatchNormalization.backward: dgamma is sum(dout) -- use np.sum(self.xn * dout, axis=0)",
      "BatchNormalization.backward", (_edit_grads(lambda g, layer: {"gamma": g["beta"]}),)),
    # --- Dropout ---
    H("dropout_double_scaling", "layer", ("dropout",),
      "Dropout.forward: training output is divided by (1 - dropout_ratio) although test "
      "output is already scaled by (1 - dropout_ratio) -- use one convention: x * mask in "
      "training (the book's)", "Dropout.forward",
      (wrapping(_DropoutScaled, False), wrapping(_DropoutScaled, True))),
    H("dropout_backward_unmasked", "layer", ("dropout",),
      "Dropout.backward: dout is passed through without the mask -- return dout * self.mask",
      "Dropout.backward", (wrapping(_BackwardIdentity),)),
    H("dropout_mask_inverted", "layer", ("dropout",),
      "Dropout.forward: the mask keeps the units it should drop -- use "
      "self.mask = np.random.rand(*x.shape) > self.dropout_ratio", "Dropout.forward",
      (_dropout_mask_inverted,)),
    # --- convolution and pooling ---
    H("im2col_kernel_transposed", "layer", ("convolution",),
      IM2COL_KERNEL_TRANSPOSED,
      "im2col", (_ConvKernelTransposed,)),
    H("col2im_overwrites", "layer", ("convolution",),
      COL2IM_OVERWRITES, "col2im",
      (wrapping(_ConvCol2imOverwrites),)),
    H("im2col_kernel_transposed", "layer", ("pooling",),
      "im2col: the columns read the window with filter_h and filter_w swapped, so Pooling's "
      "gradient lands on the transposed element -- col.transpose(0, 4, 5, 1, 2, 3)",
      "im2col", (wrapping(_PoolBackward, True),)),
    H("col2im_overwrites", "layer", ("pooling",),
      "col2im: overlapping windows overwrite (=) instead of adding up (+=), so Pooling "
      "loses gradients -- use img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x]",
      "col2im", (wrapping(_PoolBackward, False, False),)),
    H("conv_db_wrong_axis", "layer", ("convolution",),
      "Convolution.backward: db is summed over the wrong axes -- use "
      "np.sum(dout, axis=(0, 2, 3)), one value per filter", "Convolution.backward",
      tuple(_db_axis(a) for a in ((0, 1, 2), (0, 1, 3), (1, 2, 3), 0, (0, 2), (0, 3)))),
    H("maxpool_grad_to_all_ties", "layer", ("pooling",),
      "Pooling.backward: the gradient goes to every element equal to the window's maximum -- "
      "send it only to the arg_max element", "Pooling.backward", (wrapping(_MaxPoolAllTies),)),
    # --- optimizers ---
    H("sgd_update_sign_flipped", "optimizer", ("sgd",),
      "SGD.update: params += lr * grad climbs the loss -- use params[key] -= self.lr * "
      "grads[key]", "SGD.update", (_negated,)),
    H("momentum_sign_flipped", "optimizer", ("momentum", "nesterov"),
      "{component}.update: v = momentum * v + lr * grad climbs the loss -- use "
      "self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]", "{component}.update",
      (_negated,)),
    H("adam_bias_correction_late", "optimizer", ("adam",),
      "Adam.update: iter is incremented after lr_t is computed, so the bias correction is "
      "one step late (0/0 at the first step) -- do self.iter += 1 before lr_t",
      "Adam.update", (lambda make, lr, wd: _AdamLate(make(lr, wd)),)),
    H("adagrad_h_not_accumulated", "optimizer", ("adagrad",),
      "AdaGrad.update: h = grad * grad forgets the history -- accumulate with "
      "self.h[key] += grads[key] * grads[key]", "AdaGrad.update",
      (_accumulating(lambda opt, h, g: g * g),)),
    H("rmsprop_decay_swapped", "optimizer", ("rmsprop",),
      "RMSprop.update: decay_rate and 1 - decay_rate are swapped -- h = decay_rate * h + "
      "(1 - decay_rate) * grad**2", "RMSprop.update",
      (_accumulating(lambda opt, h, g: (1 - opt.decay_rate) * h + opt.decay_rate * g * g),)),
    # --- functions ---
    H("softmax_no_max_shift", "function", ("softmax",),
      SOFTMAX_NO_MAX_SHIFT, "softmax",
      (lambda ref: naive_softmax,)),
    H("softmax_wrong_axis", "function", ("softmax",),
      SOFTMAX_WRONG_AXIS, "softmax",
      tuple((lambda ref, s=s: s) for s in WRONG_AXIS_SOFTMAXES)),
    H("cross_entropy_no_delta", "function", ("cross_entropy_error",),
      "cross_entropy_error: log(y) without the small delta is -inf where y == 0 -- use "
      "np.log(y + delta) with delta = 1e-7", "cross_entropy_error",
      tuple((lambda ref, p=p: lambda y, t: ref(y, t, delta=0.0, product=p))
            for p in (False, True))),
    H("cross_entropy_not_averaged", "function", ("cross_entropy_error",),
      CROSS_ENTROPY_NOT_AVERAGED, "cross_entropy_error",
      tuple((lambda ref, p=p: lambda y, t: ref(y, t, batch_size=1, product=p))
            for p in (False, True)) + (lambda ref: lambda y, t: ref(y, t) * _batch_size(y),)),
    H("mse_missing_half", "function", ("mean_squared_error",),
      "mean_squared_error: the 0.5 factor is missing -- return 0.5 * np.sum((y - t)**2)",
      "mean_squared_error", (lambda ref: lambda y, t: 2 * ref(y, t),)),
    H("step_function_at_zero", "function", ("step_function",),
      "step_function: step(0) is 1 -- use x > 0, not x >= 0", "step_function",
      (lambda ref: lambda x: ref(x) + (np.asarray(x) == 0),)),
    H("im2col_kernel_transposed", "function", ("im2col",),
      IM2COL_KERNEL_TRANSPOSED, "im2col",
      (lambda ref: lambda x, fh, fw, stride=1, pad=0: kernel_transposed_columns(
          ref(x, fh, fw, stride, pad), x.shape[1], fh, fw),)),
    H("col2im_overwrites", "function", ("col2im",),
      COL2IM_OVERWRITES, "col2im",
      (lambda ref: lambda *a, **k: ref(*a, **k, accumulate=False),)),
    H("numerical_gradient_forward_difference", "function", ("numerical_gradient",),
      "numerical_gradient: (f(x+h) - f(x)) / h is a forward difference, O(h) wrong -- use "
      "(f(x+h) - f(x-h)) / (2*h)", "numerical_gradient",
      (lambda ref: lambda f, x: ref(f, x, central=False),)),
    H("numerical_gradient_not_restored", "function", ("numerical_gradient",),
      "numerical_gradient: x[idx] is not restored after the perturbation -- add "
      "x[idx] = tmp_val at the end of the loop", "numerical_gradient",
      (lambda ref: lambda f, x: ref(f, x, restore=False),)),
    # --- networks ---
    H("network_layer_holds_copy", "network", ("*",),
      "{component}: a layer holds a copy of a parameter, so the optimizer's update to params "
      "never reaches it -- build the layer on the same array (Affine(self.params['W1'], "
      "self.params['b1'])) and update params in place (params[key] -= lr * grad), never "
      "rebind self.params[key]", "{component}.__init__", (_layer_holds_copy,)),
    H("network_grads_from_wrong_layer", "network", ("*",),
      "{component}.gradient: a gradient is read from the wrong layer -- take grads['Wk'], "
      "grads['bk'] from the layer that holds params['Wk']", "{component}.gradient",
      (_grads_from_wrong_layer,)),
    H("network_weight_decay_on_bias", "network", ("*",),
      "{component}: the weight-decay penalty includes the biases -- decay only the weights "
      "W (0.5 * lambda * sum(W**2) in loss, lambda * W in the gradient)", "{component}.loss",
      (_weight_decay_on_bias,)),
    H("network_predict_in_train_mode", "network", ("*",),
      "{component}: predict/loss at test time runs Dropout/BatchNorm in training mode -- "
      "pass train_flg to every Dropout and BatchNorm layer, default False",
      "{component}.predict", (_predict_in_train_mode,)),
    H("network_layer_misbuilt", "network", ("*",),
      "{component}: one layer is built or computed differently from the reference -- "
      "bisection names it", "{component}.layers", ()),
)


def _shaped_softmax(layer, softmax):
    """The softmax bug in whichever layer carries a softmax (the loss or a Softmax layer)."""
    root = layer._root if isinstance(layer, _Wrap) else layer
    if isinstance(root, S.SoftmaxWithLoss):
        return _LossSoftmax(layer, softmax)
    return _SoftmaxLayer(layer, softmax)


# The book's published defects a learner may have copied: tried as bases under every
# hypothesis (component prefix -> [(what, wrapper)]); the plain reference comes first.
BOOK_QUIRKS = {
    "softmaxwithloss": [("the book's backward that ignores dout", _IgnoresDout)],
    "relu": [("the book's Relu.backward that zeroes dout in place", _BackwardWritesDout)],
    "batchnormalization": [("the book's backward after a test-mode forward",
                            lambda layer: _StaleEvalBackward(layer, BATCHNORM_CACHE))],
    "dropout": [("the book's backward after a test-mode forward (the last training mask)",
                 lambda layer: _StaleEvalBackward(layer, ("factor",)))],
}


def _bases(component):
    name = component.lower()
    quirks = [q for prefix, qs in BOOK_QUIRKS.items() if name.startswith(prefix) for q in qs]
    return [("", None)] + quirks


# ---------------------------------------------------------------------------------------
# Running and comparing.
# ---------------------------------------------------------------------------------------

def _as_values(x):
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind in "fiub" else x


def _compare_values(actual, expected, tol, **labels):
    """``compare`` on values only: learner code often returns float64 or int where the
    reference keeps the dtype (np.zeros in BatchNorm, the book's int step function)."""
    a, b = _as_values(actual), _as_values(expected)
    if a.shape == b.shape and a.dtype.kind == b.dtype.kind == "f":
        # nan where both have nan is a reproduced overflow; compare's allowed error is
        # nan there, so it would fail the pair: zero both first
        both = np.isnan(a) & np.isnan(b)
        a, b = np.where(both, 0.0, a), np.where(both, 0.0, b)
    with np.errstate(all="ignore"):  # inf vs inf (a loss without its delta) is legitimate
        return compare(a, b, tol, **labels)


@dataclass
class _Fit:
    reproduces: bool
    refuted: bool  # some quantity differs from the learner's
    residual: float  # max relative error vs the learner over the compared quantities
    worst: str  # where the fit is worst (near misses)
    samples: list


def _fit(learner, hypothesis, base, names, tol):
    """Does ``hypothesis`` (outcomes per sample: result dicts or exceptions) reproduce the
    ``learner``'s outcomes and explain where they differ from ``base``?"""
    residual, explained, worst, refuted = 0.0, False, "", False
    for name, got, want, plain in zip(names, learner, hypothesis, base, strict=True):
        if isinstance(got, Exception):
            same = isinstance(want, Exception) and type(want) is type(got)
            if same and not (isinstance(plain, Exception) and type(plain) is type(got)):
                explained = True
            continue  # a learner crash the hypothesis does not share: no evidence either way
        if isinstance(want, Exception):
            refuted, residual, worst = True, np.inf, f"{name}: raises {type(want).__name__}"
            continue
        ok, err, where = _match(got, want, tol)
        if not ok:
            refuted = True
            if err >= residual:
                worst = f"{name}: {where}"
        residual = max(residual, err)
        if ok and not isinstance(plain, Exception) and not _match(got, plain, tol)[0]:
            explained = True
    return _Fit(not refuted and explained, refuted, residual, worst, list(names))


def _match(got, want, tol):
    """(all quantities of ``want`` match, max rel err, first failing quantity)."""
    worst, first = 0.0, ""
    for q, expected in want.items():
        if q not in got:
            return False, np.inf, f"{q} missing"
        check = _compare_values(got[q], expected, tol, quantity=q)
        err = check.max_rel_err if np.isfinite(check.max_rel_err) else (
            0.0 if check.passed else np.inf)
        if not check.passed and not first:
            first = f"{q} ({check.detail})"
        worst = max(worst, err)
    return not first, worst, first


def _outcomes(run, items):
    found = []
    for item in items:
        try:
            with np.errstate(all="ignore"):
                found.append(run(item))
        except Exception as err:  # a crash is an outcome a hypothesis may share
            found.append(err)
    return found


def _layer_samples(pair, dtype):
    return [s for s in pair.sample_list() if dtype in s.dtypes]


def _layer_outcomes(pair, factory, samples, dtype):
    variant = dataclasses.replace(pair, scratch=factory)
    return _outcomes(lambda s: variant.scratch_results(s, dtype), samples)


def _quirked(build, quirk):
    """A factory for ``pair``: the hypothesis ``build`` on the plain reference, with the
    copied book defect ``quirk`` outermost (it acts on what the hypothesis computes, e.g.
    the training cache a buggy test-mode forward leaves behind)."""
    if quirk is None:
        return build
    return lambda params: quirk(build(params))


def _diagnosis(hyp, component, fit, dtype, what=""):
    fmt = dict(component=component)
    evidence = (f"reproduces every quantity within the {dtype} tolerance (max rel err "
                f"{fit.residual:.1e}) on {len(fit.samples)} samples: "
                + ", ".join(map(str, fit.samples)) + (f"; on top of {what}" if what else ""))
    return Diagnosis(hyp.id, hyp.text.format(**fmt), float(fit.residual), evidence,
                     hyp.location.format(**fmt))


def _ranked(found):
    """Best first: lowest residual, then catalogue order; one entry per id."""
    order = {h.id: i for i, h in enumerate(HYPOTHESES)}
    best = {}
    for d in sorted(found, key=lambda d: (d.residual, order.get(d.id, len(order)))):
        best.setdefault(d.id, d)
    return list(best.values())


def _layer_fits(pair, learner, dtype):
    """[(hypothesis, base description, fit)] for every applicable hypothesis and base."""
    tol = tolerance_for(dtype)
    samples = _layer_samples(pair, dtype)
    names = [s.name for s in samples]
    got = _layer_outcomes(pair, learner, samples, dtype)
    fits = []
    for what, quirk in _bases(pair.component):
        plain = _layer_outcomes(pair, _quirked(pair.scratch, quirk), samples, dtype)
        for hyp in HYPOTHESES:
            if hyp.kind != "layer" or not hyp.applies(pair.component):
                continue
            if hyp.id == "backward_ignores_dout" and not pair.backward:
                continue
            for build in hyp.variants:
                factory = _quirked(lambda params, b=build: b(pair.scratch, params), quirk)
                outcome = _layer_outcomes(pair, factory, samples, dtype)
                fits.append((hyp, what, _fit(got, outcome, plain, names, tol)))
    return fits


def diagnose_layer(pair: LayerPair, learner: Callable, dtype="float64") -> list[Diagnosis]:
    """Catalogued bugs that reproduce ``learner``'s numbers on ``pair``'s samples, best first.

    A network pair (its scratch side has ``layers`` and ``gradient``) goes to
    ``diagnose_network`` on its first loss sample.
    """
    network = _network_case(pair, learner, dtype)
    if network is not None:
        return diagnose_network(*network, dtype=dtype)
    found = [_diagnosis(h, _book_name(pair.component), fit, dtype, what)
             for h, what, fit in _layer_fits(pair, learner, dtype) if fit.reproduces]
    return _ranked(found)


def _network_case(pair, learner, dtype):
    """(learner net, reference net, x, t) when ``pair`` is a network's, else None.

    Both nets get the params of the pair's first loss sample; an adapter that keeps the
    learner's net as ``.net`` is unwrapped (bisection needs its layers).
    """
    samples = [s for s in _layer_samples(pair, dtype) if len(s.calls[0].inputs) == 2]
    if not samples:
        return None
    sample = samples[0]
    params = pair._params(source(pair.component, pair.variant, sample.name), dtype)
    reference = pair.scratch(params)
    if not (hasattr(reference, "layers") and hasattr(reference, "gradient")):
        return None
    built = learner(params)
    x, t = (cast(v, dtype) for v in sample.calls[0].inputs)
    return getattr(built, "net", built), reference, x, t


def _book_name(component):
    """Registry component -> the book's class name ("relu" -> "Relu")."""
    base = component.split(" (")[0]
    return base[:1].upper() + base[1:]


def _optimizer_fits(pair, learner, dtype):
    tol = tolerance_for("trajectory" if dtype == "float64" else dtype)
    trajectories = list(pair.trajectories)
    names = [t.name for t in trajectories]

    def outcomes(factory):
        variant = dataclasses.replace(pair, scratch=factory)
        return _outcomes(lambda t: variant.scratch_results(t, dtype), trajectories)

    got = outcomes(learner)
    plain = outcomes(pair.scratch)
    fits = []
    for hyp in HYPOTHESES:
        if hyp.kind != "optimizer" or not hyp.applies(pair.component):
            continue
        for build in hyp.variants:
            factory = lambda lr, wd, b=build: b(pair.scratch, lr, wd)  # noqa: E731
            fits.append((hyp, "", _fit(got, outcomes(factory), plain, names, tol)))
    return fits


def diagnose_optimizer(pair: OptimizerPair, learner: Callable, dtype="float64"
                       ) -> list[Diagnosis]:
    """Catalogued optimizer bugs that reproduce ``learner``'s trajectories, best first."""
    return _ranked([_diagnosis(h, pair.component, fit, dtype)
                    for h, _, fit in _optimizer_fits(pair, learner, dtype) if fit.reproduces])


# ---- functions: the check's own samples (the registry pairs hold layers) ----

@dataclass(frozen=True)
class FunctionSample:
    name: str
    args: tuple
    kwargs: dict = dataclasses.field(default_factory=dict)


def _pair_inputs(component, variant, build):
    from parity.engine.registry import find  # the registry content loads on first use
    pair = find(component, variant)
    return [FunctionSample(s.name, build(*s.calls[0].inputs)) for s in pair.sample_list()]


def _curved(x):
    """A non-separable, curved f: every derivative depends on the other elements."""
    return float(np.sum(x ** 3) + 0.5 * np.sum(x) ** 2 + np.sum(np.sin(x[..., :1])))


def _function_samples(name):
    rng = source("check", "functions", name)
    if name in ("step_function", "sigmoid", "relu"):
        component = {"step_function": "step"}.get(name, name)
        return _pair_inputs(component, "default", lambda x: (x,))
    if name == "softmax":
        return _pair_inputs("softmax", "default", lambda x: (x,))
    if name == "cross_entropy_error":
        found = _pair_inputs("SoftmaxWithLoss", "book", lambda x, t: (F.softmax(x), t))
        t = rng.integers(0, 10, 4)
        y = np.full((4, 10), 0.1)
        y[range(4), t] = 0.0  # the true class has probability exactly 0
        y[range(4), (t + 1) % 10] = 0.2
        one = F.softmax(rng.standard_normal(10))
        return found + [FunctionSample("true class y == 0", (y, t)),
                        FunctionSample("one sample, 1-D", (one, np.eye(10)[3]))]
    if name == "mean_squared_error":
        return _pair_inputs("MeanSquaredError", "book", lambda y, t: (y, t))
    if name == "numerical_gradient":
        return [FunctionSample("x(3,4)", (_curved, rng.standard_normal((3, 4)))),
                FunctionSample("x(5,)", (_curved, rng.standard_normal(5)))]
    if name == "im2col":
        return [FunctionSample(f"x{shape} {k} stride {s} pad {p}",
                               (rng.standard_normal(shape), *k, s, p))
                for shape, k, s, p in IMAGE_SETTINGS]
    if name == "col2im":
        found = []
        for shape, (fh, fw), s, p in IMAGE_SETTINGS:
            _, (oh, ow), _ = _windows(shape, (fh, fw), s, p)
            col = rng.standard_normal((shape[0] * oh * ow, shape[1] * fh * fw))
            found.append(FunctionSample(f"col for x{shape} {fh}x{fw} stride {s} pad {p}",
                                        (col, shape, fh, fw, s, p)))
        return found
    raise ValueError(f"no samples for function {name!r}; known: {sorted(FUNCTION_REFERENCES)}")


# (image shape, kernel, stride, pad): overlapping windows, padding, non-square kernels
IMAGE_SETTINGS = (
    ((2, 3, 5, 5), (3, 3), 1, 1),
    ((1, 2, 6, 7), (2, 3), 2, 1),
    ((2, 1, 6, 6), (3, 3), 2, 0),
    ((2, 2, 4, 4), (2, 2), 2, 0),
)


def _function_results(fn, sample, dtype):
    args = [cast(a, dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in sample.args]
    arrays = {i: a for i, a in enumerate(args) if isinstance(a, np.ndarray)}
    res = {"out": np.array(fn(*args, **sample.kwargs))}
    res |= {f"input{i} after": a.copy() for i, a in arrays.items()}
    return res


def _function_fits(name, learner_fn, dtype):
    if name not in FUNCTION_REFERENCES:
        raise ValueError(f"unknown book function {name!r}; known: {sorted(FUNCTION_REFERENCES)}")
    ref = FUNCTION_REFERENCES[name]
    tol = tolerance_for(dtype)
    samples = _function_samples(name)
    names = [s.name for s in samples]

    def outcomes(fn):
        return _outcomes(lambda s: _function_results(fn, s, dtype), samples)

    got, plain = outcomes(learner_fn), outcomes(ref)
    return [(hyp, "", _fit(got, outcomes(build(ref)), plain, names, tol))
            for hyp in HYPOTHESES if hyp.kind == "function" and hyp.applies(name)
            for build in hyp.variants]


# Functions whose samples pass other settings than a check entry binds (kernel, stride,
# the objective): a layer factory cannot stand in for the learner's function there.
SETTINGS_FUNCTIONS = ("numerical_gradient", "im2col", "col2im")


def _as_function(name, fn):
    """The learner's function itself, also when handed a check-entry layer factory
    (params -> layer whose forward calls the function)."""
    if name in SETTINGS_FUNCTIONS:
        return fn
    try:
        with np.errstate(all="ignore"):
            layer = fn({})
    except Exception:  # the learner's function itself rejects a dict: use it as it is
        return fn
    if not callable(getattr(layer, "forward", None)):
        return fn
    return lambda *inputs: fn({}).forward(*inputs)


def diagnose_function(name: str, learner_fn: Callable, dtype="float64") -> list[Diagnosis]:
    """Catalogued bugs of the book function ``name`` that reproduce ``learner_fn``."""
    learner_fn = _as_function(name, learner_fn)
    return _ranked([_diagnosis(h, name, fit, dtype)
                    for h, _, fit in _function_fits(name, learner_fn, dtype) if fit.reproduces])


# ---- no hypothesis fits ----

def first_difference(pair, learner, dtype="float64") -> Diagnosis:
    """The first element where ``learner`` differs from the reference.

    ``pair``: a LayerPair, an OptimizerPair, or a book function's name (then
    ``learner`` is the learner's function; None: the function's own ``__name__``).
    Evidence names the closest hypothesis.
    """
    if pair is None:
        pair = getattr(learner, "__name__", "")
        if pair not in FUNCTION_REFERENCES:
            return Diagnosis("no_catalogued_bug", "no catalogued bug reproduces these numbers "
                             "(no reference known for this function)", np.nan, "", pair)
    if isinstance(pair, str):
        learner = _as_function(pair, learner)
        samples = _function_samples(pair)
        ref = FUNCTION_REFERENCES[pair]
        tol, component = tolerance_for(dtype), pair
        fits = _function_fits(pair, learner, dtype)

        def run(fn):
            return _outcomes(lambda s: _function_results(fn, s, dtype), samples)
        got, want = run(learner), run(ref)
    elif isinstance(pair, OptimizerPair):
        samples = list(pair.trajectories)
        tol = tolerance_for("trajectory" if dtype == "float64" else dtype)
        component = pair.component
        fits = _optimizer_fits(pair, learner, dtype)

        def run(factory):
            variant = dataclasses.replace(pair, scratch=factory)
            return _outcomes(lambda t: variant.scratch_results(t, dtype), samples)
        got, want = run(learner), run(pair.scratch)
    else:
        samples = _layer_samples(pair, dtype)
        tol, component = tolerance_for(dtype), _book_name(pair.component)
        fits = _layer_fits(pair, learner, dtype)
        got = _layer_outcomes(pair, learner, samples, dtype)
        want = _layer_outcomes(pair, pair.scratch, samples, dtype)
    text, location = f"{component}: no catalogued bug reproduces these numbers", component
    differs = False
    for sample, g, w in zip(samples, got, want, strict=True):
        if isinstance(g, Exception) and not isinstance(w, Exception):
            text += (f"; first difference: on sample {sample.name!r} the learner's code raises "
                     f"{type(g).__name__}: {g}")
            differs = True
            break
        if isinstance(w, Exception) or isinstance(g, Exception):
            continue
        bad = _first_bad(g, w, tol)
        if bad is not None:
            text += (f"; first difference: {bad.quantity} on sample {sample.name!r} at index "
                     f"{bad.worst_index or '()'}: "
                     + (bad.detail.replace("got", "learner", 1).replace("expected", "reference")
                        if not np.isnan(bad.max_abs_err) else bad.detail))
            location = f"{component} {bad.quantity}"
            differs = True
            break
    if not differs:
        text += f"; no element differs from the reference on these samples ({dtype})"
    near = sorted(((fit.residual, h.id, fit.worst) for h, _, fit in fits if fit.refuted),
                  key=lambda r: r[0])
    evidence = (f"closest: {near[0][1]} (max rel err {near[0][0]:.1e}; {near[0][2]})" if near
                else "no hypothesis applies to this component")
    return Diagnosis("no_catalogued_bug", text, np.nan, evidence, location)


def _first_bad(got, want, tol):
    """The first failing quantity, at its first failing element (in C order)."""
    for q, expected in want.items():
        if q not in got:
            return dataclasses.replace(compare(np.array(np.nan), expected, tol, quantity=q),
                                       detail=f"the learner reports no {q}")
        check = _compare_values(got[q], expected, tol, quantity=q)
        if check.passed:
            continue
        if np.isnan(check.max_abs_err):
            return check
        a, b = _as_values(got[q]), _as_values(expected)
        bad = ~((a == b) | (np.isnan(a) & np.isnan(b)) |
                (np.abs(a - b) <= tol.atol + tol.rtol * np.abs(b)))
        index = np.unravel_index(int(np.argmax(bad.reshape(-1))), a.shape) if a.ndim else ()
        return dataclasses.replace(
            check, worst_index=str(tuple(int(i) for i in index)),
            detail=f"got {a[index]!r} expected {b[index]!r}")
    return None


# ---------------------------------------------------------------------------------------
# Networks.
# ---------------------------------------------------------------------------------------

def _named_layers(net):
    layers = net.layers
    items = list(layers.items()) if isinstance(layers, dict) else [
        (f"layers[{i}]", layer) for i, layer in enumerate(layers)]
    last = getattr(net, "lastLayer", None) or getattr(net, "last_layer", None)
    return items, last


GRAD_ATTRS = ("dW", "db", "dgamma", "dbeta")


def _layer_grads(layer):
    grads = getattr(layer, "grads", None)
    if isinstance(grads, dict) and grads:
        return {f"d{k}": np.array(v) for k, v in grads.items()}
    return {a: np.array(getattr(layer, a)) for a in GRAD_ATTRS
            if getattr(layer, a, None) is not None}


class _Recorder:
    """Records every forward/backward call of a net's layers, by position ("last": the
    loss layer), so that nets whose layers are named differently still pair up."""

    def __init__(self, net):
        self.calls = {}
        items, last = _named_layers(net)
        for i, (_, layer) in enumerate(items):
            self._instrument(i, layer)
        if last is not None:
            self._instrument("last", last)

    def _instrument(self, key, layer):
        record = self.calls.setdefault(key, {"forward": [], "backward": []})
        forward, backward = layer.forward, layer.backward
        signature = _signature(forward)

        def recorded_forward(*args, **kwargs):
            out = forward(*args, **kwargs)
            mode = _train_flag(signature, args, kwargs)
            record["forward"].append((mode, np.array(out, copy=True)))
            return out

        def recorded_backward(dout=1, *args, **kwargs):
            dout_in = np.array(dout, copy=True)
            dx = backward(dout, *args, **kwargs)
            record["backward"].append((dout_in, np.array(dx, copy=True), _layer_grads(layer)))
            return dx

        layer.forward, layer.backward = recorded_forward, recorded_backward


def _signature(method):
    try:
        return inspect.signature(method)
    except (TypeError, ValueError):
        return None


def _train_flag(signature, args, kwargs):
    """The train_flg a forward call ran with (None: the layer has no mode)."""
    if signature is None or "train_flg" not in signature.parameters:
        return None
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return bool(bound.arguments["train_flg"])


def _differs(a, b, tol):
    return not _compare_values(a, b, tol).passed


def _run_recorded(net, action):
    net = _fresh(net)
    recorder = _Recorder(net)
    error = None
    try:
        _seeded(lambda: action(net))
    except Exception as err:  # the crash point is part of what bisection reports
        error = err
    return net, recorder.calls, error


def _describe_difference(a, b, tol):
    a, b = _as_values(a), _as_values(b)
    if a.shape != b.shape:
        return f"shape {a.shape} vs the reference's {b.shape}"
    bad = _first_bad({"q": a}, {"q": b}, tol)
    return f"at index {bad.worst_index}: learner {bad.detail.split('got ')[-1]}".replace(
        " expected ", ", reference ")


def bisect_network(learner_net, reference_net, x, t, dtype="float64") -> Diagnosis:
    """The first layer whose forward or backward differs from the reference net's.

    Both nets run on fresh copies with np.random seeded alike; every layer call is
    recorded and layers pair up by position (the learner's names are reported).
    Forward (during predict(x), loss(x, t), then gradient(x, t)): the first layer, in
    order, whose output or train_flg differs (not the loss value: a valid loss
    convention may differ there).  Backward, from the loss: the first layer whose dx or
    parameter gradients differ while its dout matched.  Then the gradient dict: the
    first entry that differs while every layer agreed (read from the wrong layer).
    """
    tol = tolerance_for(dtype)
    component = type(learner_net).__name__
    learner_names = [n for n, _ in _named_layers(learner_net)[0]]
    count = len(_named_layers(reference_net)[0])
    keys = list(range(count))
    names = {k: learner_names[k] if k < len(learner_names) else f"layer {k + 1}"
             for k in keys} | {"last": "lastLayer"}

    def forward_phase(action, label):
        _, got, err_l = _run_recorded(learner_net, action)
        _, want, _ = _run_recorded(reference_net, action)
        for key in keys + ["last"]:
            name = names[key]
            calls_l = got.get(key, {}).get("forward", [])
            calls_r = want.get(key, {}).get("forward", [])
            for (mode_l, out_l), (mode_r, out_r) in zip(calls_l, calls_r):
                if mode_l is not None and mode_r is not None and mode_l != mode_r:
                    how = (f"output {_describe_difference(out_l, out_r, tol)}"
                           if _differs(out_l, out_r, tol) else "same output")
                    return Diagnosis(
                        "network_predict_in_train_mode",
                        f"{component}.{label} runs {name} with train_flg={mode_l} (the "
                        f"reference: {mode_r}) -- pass train_flg through to {name}.forward",
                        0.0, f"{label}: {name} {how}", name)
                if key != "last" and _differs(out_l, out_r, tol):
                    how = _describe_difference(out_l, out_r, tol)
                    return Diagnosis(
                        "network_layer_misbuilt",
                        f"{name}.forward: its output differs from the reference's for the "
                        f"same input -- check how {name} is built in __init__ (kernel, stride, "
                        f"pad, sizes) and its forward", 0.0, f"{label}: {name} output {how}",
                        name)
            if len(calls_l) < len(calls_r):
                raised = f" ({type(err_l).__name__}: {err_l})" if err_l else ""
                return Diagnosis(
                    "network_layer_misbuilt",
                    f"{name}: the learner's {label} never gets to run it{raised} -- check "
                    f"the layer before it and the sizes {name} is built with", 0.0,
                    f"{label}: {name} called {len(calls_l)} times, reference "
                    f"{len(calls_r)}", name)
        return None

    for action, label in ((lambda n: n.predict(x), "predict"), (lambda n: n.loss(x, t), "loss"),
                          (lambda n: n.gradient(x, t), "gradient")):
        found = forward_phase(action, label)
        if found:
            return found
    _, got, _ = _run_recorded(learner_net, lambda n: n.gradient(x, t))
    _, want, _ = _run_recorded(reference_net, lambda n: n.gradient(x, t))
    for key in ["last"] + keys[::-1]:
        name = names[key]
        calls_l = got.get(key, {}).get("backward", [])
        calls_r = want.get(key, {}).get("backward", [])
        for (dout_l, dx_l, g_l), (dout_r, dx_r, g_r) in zip(calls_l, calls_r):
            if _differs(dout_l, dout_r, tol):
                continue  # propagated from a later layer: already reported if it was one
            if _differs(dx_l, dx_r, tol):
                return Diagnosis(
                    "network_layer_misbuilt",
                    f"{name}.backward: dx differs from the reference's for the same dout -- "
                    f"check {name}'s backward", 0.0,
                    f"gradient: {name} dx {_describe_difference(dx_l, dx_r, tol)}", name)
            for q in g_r:
                if q not in g_l or _differs(g_l[q], g_r[q], tol):
                    how = (_describe_difference(g_l[q], g_r[q], tol) if q in g_l
                           else "missing")
                    return Diagnosis(
                        "network_layer_misbuilt",
                        f"{name}.backward: {q} differs from the reference's for the same dout "
                        f"-- check {name}'s backward", 0.0, f"gradient: {name} {q} {how}", name)
    grads_l = _grads(learner_net, x, t)
    grads_r = _grads(reference_net, x, t)
    for key, want_g in grads_r.items():
        if key in grads_l and not _differs(grads_l[key], want_g, tol):
            continue
        holder = _holder(learner_net, key)
        return Diagnosis(
            "network_grads_from_wrong_layer",
            f"{component}.gradient: grads[{key!r}] is not the gradient of {holder}'s "
            f"parameter although every layer computes it right -- read it from {holder}",
            0.0, f"grads[{key!r}] " + (_describe_difference(grads_l[key], want_g, tol)
                                       if key in grads_l else "missing"), holder)
    copies = layers_holding_copies(learner_net)
    if copies:  # one step agrees; training would not (parity.check.training)
        key, name, attr = copies[0]
        return Diagnosis(
            "network_layer_holds_copy",
            f"{component}: every layer matches for one step, but the update to params[{key!r}] "
            f"never reaches layer {name}: {name}.{attr} is a copy -- build {name} on "
            f"params[{key!r}] itself", 0.0, f"np.shares_memory(params[{key!r}], {name}.{attr}) "
            "is False", name)
    return Diagnosis("no_catalogued_bug",
                     f"{component}: every layer's forward and backward match the reference",
                     np.nan, f"compared {count} layers on predict, loss and gradient",
                     component)


def _holder(net, key):
    """The name of the layer holding ``net.params[key]`` (the same array object)."""
    param = net.params.get(key)
    for name, layer in _named_layers(net)[0]:
        held = list(getattr(layer, "params", {}).values()) + [
            getattr(layer, a, None) for a in ("W", "b", "gamma", "beta")]
        if any(h is param for h in held if h is not None):
            return name
    return key


def diagnose_network(learner_net, reference_net, x, t, dtype="float64") -> list[Diagnosis]:
    """Network-level hypotheses that reproduce the learner's net; bisection otherwise."""
    tol = tolerance_for(dtype)
    component = type(learner_net).__name__
    found = []
    for hyp in HYPOTHESES:
        if hyp.kind != "network":
            continue
        for check in hyp.variants:
            try:
                with np.errstate(all="ignore"):
                    ok, residual, evidence = check(learner_net, reference_net, x, t, tol)
            except Exception as err:  # a network that crashes here says nothing for it
                ok, residual, evidence = False, np.inf, f"raised {err!r}"
            if ok:
                fmt = dict(component=component)
                found.append(Diagnosis(hyp.id, hyp.text.format(**fmt), residual, evidence,
                                       hyp.location.format(**fmt)))
    found = _ranked(found)
    bisected = bisect_network(learner_net, reference_net, x, t, dtype)
    if not found and bisected.id != "no_catalogued_bug":
        found.append(bisected)
    elif found:  # name the layer bisection points at
        found[0] = dataclasses.replace(found[0], location=bisected.location
                                       if bisected.id == found[0].id else found[0].location)
    return found


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (id, where to look, what the learner reads), for
    the README and the report; one row per id (layer and function forms share it)."""
    rows, seen = ["| id | where | diagnosis |", "|---|---|---|"], set()
    for hyp in HYPOTHESES:
        if hyp.id in seen:
            continue
        seen.add(hyp.id)
        fmt = dict(component="Layer" if hyp.kind == "layer" else "Network")
        if hyp.kind == "optimizer":
            fmt = dict(component="/".join(c.capitalize() for c in hyp.components))
        rows.append(f"| `{hyp.id}` | {hyp.location.format(**fmt)} | "
                    f"{hyp.text.format(**fmt).replace('|', '/')} |")
    return "\n".join(rows)
