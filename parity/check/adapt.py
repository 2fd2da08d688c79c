"""A learner's objects seen through the engine's protocol.

The engine drives a scratch layer as ``forward(*inputs, train_flg=)``, ``backward(dout)``,
``params``/``grads`` dicts under the book's names and state attributes such as
``running_mean``; an optimizer as ``update(params, grads)`` with ``lr`` and its state
(``v``, ``h``, ``m``, ``iter``).  Hand-typed copies of the book spell all of these
differently (``w``/``dw``/``d_W``, ``backword``, ``learning_rate=``, ``padding=``,
``forward(x, W, b)``, a loss returning ``(y, loss)``, ``step()``); the adapters here
resolve the spellings once and record each one as a note for the report.
"""

import difflib
import inspect

import numpy as np

# canonical name -> other spellings learners use (compared after ``norm``)
ALIASES = {
    "W": ("w", "weight", "weights"),
    "b": ("bias", "biases"),
    "dW": ("dw", "gradw", "wgrad", "dweight", "dweights"),
    "db": ("gradb", "bgrad", "dbias"),
    "gamma": ("g", "scale"),
    "beta": ("shift",),
    "dgamma": ("gradgamma", "dg", "dscale"),
    "dbeta": ("gradbeta", "dshift"),
    "running_mean": ("runmean", "movingmean", "mean_running"),
    "running_var": ("runvar", "movingvar", "var_running"),
    "lr": ("learningrate", "eta", "learning_rate", "lrate"),
    "pad": ("padding",),
    "stride": ("strides", "step"),
    "pool_h": ("poolheight", "ph", "height"),
    "pool_w": ("poolwidth", "pw", "width"),
    "dropout_ratio": ("ratio", "p", "rate", "dropoutrate", "dropratio", "dropoutration"),
    "momentum": ("mu", "m"),
    "decay_rate": ("decay", "rho", "alpha"),
    "beta1": ("b1",),
    "beta2": ("b2",),
    "iter": ("t", "step_count", "steps", "n_iter", "iteration", "iterations", "timestep"),
    "v": ("velocity", "vel"),
    "h": ("cache", "hist", "history", "sq", "s"),
    "m": ("moment1", "first_moment"),
    "forward": ("forword", "foward", "fwd", "call"),
    "backward": ("backword", "backwards", "bakward", "backwrad", "bwd"),
    "update": ("step",),
    "hidden_size_list": ("hidden_sizes", "hidden_layers", "hidden_list"),
    "input_size": ("n_input", "input_dim", "in_size"),
    "output_size": ("n_output", "output_dim", "out_size"),
    "hidden_size": ("n_hidden", "hidden_dim", "hidden"),
    "weight_decay_lambda": ("weight_decay", "lambda_", "wd", "l2"),
    "dropout_ration": ("dropout_ratio", "dropout_rate"),
    "use_dropout": ("dropout",),
    "use_batchnorm": ("batchnorm", "use_bn", "bn"),
    "conv_param": ("conv_params",),
}
# spellings that are wrong (not just another style): reported as a bug, still checked
MISSPELLED = {"forword", "foward", "backword", "bakward", "backwrad"}


def norm(name):
    return name.lower().replace("_", "")


def spellings(canonical):
    return {norm(canonical)} | {norm(a) for a in ALIASES.get(canonical, ())}


def resolve(names, canonical):
    """The learner's spelling of ``canonical`` among ``names`` (exact first), or None."""
    names = list(names)
    if canonical in names:
        return canonical
    wanted = spellings(canonical)
    for n in names:
        if norm(n) in wanted:
            return n
    return None


def public_names(obj):
    names = [n for n in dir(obj) if not n.startswith("__")]
    return names


class Notes(list):
    def add(self, text):
        if text not in self:
            self.append(text)


def is_method(obj, name):
    """Without evaluating properties (a learner's property may raise anything)."""
    try:
        return callable(inspect.getattr_static(obj, name))
    except AttributeError:
        return False


def find_method(obj, canonical, notes):
    name = resolve([n for n in public_names(obj) if is_method(obj, n)], canonical)
    if name is None:
        close = difflib.get_close_matches(canonical, public_names(obj), n=1, cutoff=0.6)
        hint = f" (closest: {close[0]})" if close else ""
        raise AttributeError(f"{type(obj).__name__} has no method {canonical}(){hint}")
    if name != canonical:
        wrong = norm(name) in MISSPELLED
        notes.add(f"{type(obj).__name__}.{name}() {'is misspelled; ' if wrong else ''}"
                  f"checked as {canonical}()")
        if wrong:
            notes.misspelled = True
    return getattr(obj, name)


def get_attr(obj, canonical, notes=None):
    """``obj.<canonical>`` under any of its spellings (AttributeError naming the closest)."""
    if canonical in getattr(obj, "__dict__", {}) or hasattr(type(obj), canonical):
        return getattr(obj, canonical)
    name = resolve(list(getattr(obj, "__dict__", {})) + public_names(obj), canonical)
    if name is None:
        have = sorted(getattr(obj, "__dict__", {}))
        close = difflib.get_close_matches(canonical, have, n=1, cutoff=0.5)
        raise AttributeError(
            f"{type(obj).__name__} has no attribute {canonical!r}"
            + (f" (closest: {close[0]!r})" if close else "")
            + f"; it has {', '.join(have) or 'none'}")
    if notes is not None and name != canonical:
        notes.add(f"{type(obj).__name__}.{name} read as {canonical}")
    return getattr(obj, name)


def set_attr(obj, canonical, value):
    name = resolve(getattr(obj, "__dict__", {}), canonical) or canonical
    setattr(obj, name, value)


def accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def call_with(fn, args, notes, label):
    """Call ``fn`` with ``args`` (ordered {canonical name: value}) mapped onto its own
    parameter names: a renamed keyword (``learning_rate=`` for ``lr=``) is matched by
    spelling and noted; what matches nothing goes positionally, in order."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return fn(*args.values())
    params = [p for p in sig.parameters.values() if p.name != "self"]
    names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    kwargs, rest = {}, []
    for canonical, value in args.items():
        name = resolve(names, canonical)
        if name is not None and name not in kwargs:
            if name != canonical:
                notes.add(f"{label}({name}=...) read as {canonical}=")
            kwargs[name] = value
        else:
            rest.append((canonical, value))
    free = [p for p in params if p.name not in kwargs and p.kind in (
        p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind is p.VAR_POSITIONAL for p in params)
    positional = []
    for canonical, value in rest:
        if free:
            p = free.pop(0)
            if p.kind is p.POSITIONAL_OR_KEYWORD:
                kwargs[p.name] = value
            else:
                positional.append(value)
        elif var_pos:
            positional.append(value)
        else:
            raise TypeError(f"{label}() takes no argument for {canonical!r} "
                            f"(its parameters: {', '.join(names) or 'none'})")
    return fn(*positional, **kwargs)


def scalar_of(value):
    """A loss forward may return (y, loss) or (loss, y): the scalar element."""
    if isinstance(value, tuple | list):
        scalars = [v for v in value if np.ndim(v) == 0]
        if len(scalars) == 1:
            return scalars[0]
    return value


def keep_dtype(value, dtype, notes, what):
    """float64 results for float32 input (the book's np.zeros buffers in im2col, col2im and
    Pooling upcast) are compared in float32, with a note: the values are what matters."""
    if dtype == np.float32 and isinstance(value, np.ndarray) and value.dtype == np.float64:
        notes.add(f"{what} returns float64 for float32 input (np.zeros without dtype, as the "
                  "book's); compared after rounding to float32")
        return value.astype(np.float32)
    return value


class LayerAdapter:
    """A learner's layer under the engine's layer protocol.

    ``param_names``: the book names of the layer's arrays (W, b / gamma, beta).
    ``weights``: for layers that take their weights in ``forward(x, W, b)``.
    """

    def __init__(self, obj, param_names=(), weights=None, loss=False, notes=None):
        self.__dict__.update(obj=obj, param_names=tuple(param_names), weights=weights,
                             loss=loss, notes=notes if notes is not None else Notes(),
                             extra_grads={}, dtype=None)
        self._fwd = find_method(obj, "forward", self.notes)
        self._bwd = find_method(obj, "backward", self.notes)
        if weights is not None:
            self.notes.add(f"{type(obj).__name__}.forward(x, W, b): weights handed in forward")

    def forward(self, *inputs, train_flg=None):
        args = list(inputs)
        self.__dict__["dtype"] = getattr(inputs[0], "dtype", None) if inputs else None
        if self.weights is not None:
            args += [self.weights[k] for k in self.param_names]
        if train_flg is None:
            out = self._fwd(*args)
        elif accepts(self._fwd, "train_flg"):
            out = self._fwd(*args, train_flg=train_flg)
        else:
            out = self._fwd(*args, train_flg)
        if self.loss and isinstance(out, tuple | list):
            self.notes.add(f"{type(self.obj).__name__}.forward returns a tuple: its scalar "
                           "element is the loss")
            out = scalar_of(out)
        if self.loss:  # a Python float or np.float64 scalar for float32 input
            out = np.asarray(out)
        return keep_dtype(out, self.dtype, self.notes, f"{type(self.obj).__name__}.forward")

    def backward(self, dout):
        out = keep_dtype(self._bwd(dout), self.dtype, self.notes,
                         f"{type(self.obj).__name__}.backward")
        if isinstance(out, tuple | list) and self.param_names:
            # (dx, dW, db): gradients returned instead of stored
            self.notes.add(f"{type(self.obj).__name__}.backward returns a tuple (dx, "
                           + ", ".join("d" + k for k in self.param_names) + ")")
            dx, *grads = out
            self.extra_grads.update(zip(self.param_names, grads))
            return dx
        return out

    @property
    def params(self):
        if self.weights is not None:
            return dict(self.weights)
        return {k: get_attr(self.obj, k, self.notes) for k in self.param_names}

    @property
    def grads(self):
        return {k: keep_dtype(self.extra_grads[k] if k in self.extra_grads
                              else get_attr(self.obj, "d" + k, self.notes), self.dtype,
                              self.notes, f"{type(self.obj).__name__}.d{k}")
                for k in self.param_names}

    def __getattr__(self, name):  # state: running_mean, running_var, mask, ...
        value = get_attr(self.__dict__["obj"], name, self.__dict__["notes"])
        return keep_dtype(value, self.__dict__["dtype"], self.__dict__["notes"],
                          f"{type(self.__dict__['obj']).__name__}.{name}")


class FunctionLayer:
    """A book function as a forward-only layer: ``forward(*inputs) = fn(*inputs)``."""

    def __init__(self, fn, notes):
        self.fn, self.notes, self.params, self.grads = fn, notes, {}, {}

    def forward(self, *inputs, train_flg=None):
        x = np.asarray(inputs[0])
        out = keep_dtype(np.asarray(self.fn(*inputs)), x.dtype, self.notes,
                         getattr(self.fn, "__name__", "function"))
        if out.dtype.kind in "biu" and x.dtype.kind == "f":
            self.notes.add(f"{getattr(self.fn, '__name__', 'function')} returns {out.dtype} "
                           "(as the book's); compared as values")
            out = out.astype(x.dtype)
        return out


class OptimizerAdapter:
    """A learner's optimizer as ``update(params, grads)`` with ``lr`` and book state names.

    Optimizers written PyTorch-style (``SGD(params, lr)``, ``step(grads)``) hold the
    parameters themselves: they are built on the first ``update`` with the very dict
    the engine steps.
    """

    def __init__(self, build, notes):
        self.__dict__.update(build=build, notes=notes, obj=None, pending_lr=None)

    def _ensure(self, params):
        if self.obj is None:
            self.__dict__["obj"] = self.build(params)
        return self.obj

    def update(self, params, grads):
        obj = self._ensure(params)
        if self.pending_lr is not None:
            set_attr(obj, "lr", self.pending_lr)
            self.__dict__["pending_lr"] = None
        if hasattr(obj, "update") and callable(obj.update):
            return obj.update(params, grads)
        step = find_method(obj, "update", self.notes)
        if accepts(step, "params") or _arity(step) >= 2:
            return step(params, grads)
        return step(grads)

    @property
    def lr(self):
        if self.obj is None:
            return self.pending_lr if self.pending_lr is not None else self.build.lr
        return get_attr(self.obj, "lr")

    @lr.setter
    def lr(self, value):
        if self.obj is None:
            self.__dict__["pending_lr"] = value
        else:
            set_attr(self.obj, "lr", value)

    def __setattr__(self, name, value):
        if name == "lr":
            type(self).lr.fset(self, value)
        else:
            self.__dict__[name] = value

    def __getattr__(self, name):
        obj = self.__dict__.get("obj")
        if obj is None:
            raise AttributeError(name)
        return get_attr(obj, name, self.__dict__["notes"])


def _arity(fn):
    try:
        return len([p for p in inspect.signature(fn).parameters.values()
                    if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
    except (TypeError, ValueError):
        return 1


BOOK_LOSS_DOUT = 1  # what a book network's gradient() hands its loss layer's backward


def layer_items(net):
    """(name, layer) of a book network's ``layers`` (OrderedDict, or DeepConvNet's list)."""
    layers = get_attr(net, "layers")
    if isinstance(layers, dict):
        return list(layers.items())
    return [(f"layers[{i}]", layer) for i, layer in enumerate(layers)]


def last_layer(net):
    return get_attr(net, "last_layer")  # lastLayer, last_layer, lastlayer


class NetworkAdapter:
    """A learner's network (book API: params, layers, lastLayer, predict, loss, gradient).

    The engine's params (book names, the arrays the finite differences perturb) become
    the network's own: every reference to an old array in ``params`` and in the layers
    is swapped for the engine's (dtype included).  ``forward(x)`` is ``predict``,
    ``forward(x, t)`` is ``loss``.  Backward of a training loss uses the learner's own
    ``gradient(x, t)`` (scaled by the scalar upstream gradient) after restoring the
    random state and running statistics its second forward pass would otherwise
    change; logits and evaluation calls walk the layers backwards.
    """

    def __init__(self, net, params, notes):
        self.net, self.notes = net, notes
        own = get_attr(net, "params")
        for key, new in params.items():
            if key not in own:
                raise KeyError(f"{type(net).__name__}.params has no {key!r} "
                               f"(it has {', '.join(own)})")
            old = own[key]
            if np.shape(old) != np.shape(new):
                raise ValueError(f"{type(net).__name__}.params[{key!r}] has shape "
                                 f"{np.shape(old)}, expected {np.shape(new)}")
            own[key] = new
            for _, layer in layer_items(net):
                for attr, value in list(vars(layer).items()):
                    if value is old:
                        setattr(layer, attr, new)
                    elif isinstance(value, dict):  # a layer keeping {"W": ...} itself
                        for k, v in list(value.items()):
                            if v is old:
                                value[k] = new
        self.params = params
        self.grads = {}
        self._call = None
        self.dtype = None

    def _running_state(self):
        return [(layer, attr, value) for _, layer in layer_items(self.net)
                for attr, value in vars(layer).items() if attr.startswith("running")]

    def forward(self, x, t=None, train_flg=None):
        self.dtype = x.dtype
        self._call = (x, t, train_flg, np.random.get_state(),  # noqa: NPY002
                      self._running_state())
        return keep_dtype(np.asarray(self._forward(x, t, train_flg)), x.dtype, self.notes,
                          f"{type(self.net).__name__}.{'predict' if t is None else 'loss'}")

    def _forward(self, x, t, train_flg):
        if t is None:
            predict = find_method(self.net, "predict", self.notes)
            if train_flg is not None and accepts(predict, "train_flg"):
                return predict(x, train_flg=train_flg)
            return predict(x)
        loss = get_attr(self.net, "loss")
        if train_flg is not None and accepts(loss, "train_flg"):
            return loss(x, t, train_flg=train_flg)
        return loss(x, t)

    def backward(self, dout):
        x, t, train_flg, random_state, running = self._call
        if t is not None and train_flg is not False:
            # the learner's own gradient(): forward again in training mode, backward from 1
            after = self._running_state()
            for layer, attr, value in running:
                setattr(layer, attr, value)
            np.random.set_state(random_state)  # noqa: NPY002 (the learner draws from it)
            grads = get_attr(self.net, "gradient")(x, t)
            self.grads = {k: keep_dtype(np.asarray(g) * dout, self.dtype, self.notes,
                                        f"{type(self.net).__name__}.gradient()")
                          for k, g in grads.items()}
            check_same_state(after, self._running_state(), self.notes)
            return None
        if t is not None:
            # the book's networks start backward at the loss with dout = 1 (BOOK_LOSS_DOUT); the
            # engine's random upstream scalar then scales the result, as for gradient()
            dout = np.asarray(last_layer(self.net).backward(BOOK_LOSS_DOUT)) * dout
        for _, layer in reversed(layer_items(self.net)):
            dout = find_method(layer, "backward", self.notes)(dout)
        self.grads = {k: keep_dtype(g, self.dtype, self.notes,
                                         f"{type(self.net).__name__}'s layers")
                      for k, g in self.layer_grads().items()}
        return dout

    def layer_grads(self):
        """Each parameter's gradient from the layer holding it (d + attribute name)."""
        grads = {}
        for key, array in self.params.items():
            for _, layer in layer_items(self.net):
                for attr, value in vars(layer).items():
                    if value is array:
                        grads[key] = get_attr(layer, "d" + attr)
                    elif isinstance(value, dict) and attr == "params":
                        own = [k for k, v in value.items() if v is array]
                        if own:
                            grads[key] = get_attr(layer, "grads")[own[0]]
        return grads

    @property
    def layers(self):
        """The learner's layers by name, reading state in the input's dtype (state links
        such as "BatchNorm1.running_mean" go through here)."""
        found = {}
        for name, layer in layer_items(self.net):
            found[name] = LayerAdapter.__new__(LayerAdapter)
            found[name].__dict__.update(obj=layer, notes=self.notes, dtype=self.dtype)
        return found

    def __getattr__(self, name):
        return get_attr(self.__dict__["net"], name)


def check_same_state(before, after, notes):
    """gradient() repeats the forward; its running statistics must end where loss() left them."""
    for (_, attr, a), (_, _, b) in zip(before, after):
        if a is not None and b is not None and np.shape(a) == np.shape(b) and not np.allclose(
                a, b):
            notes.add(f"gradient() left {attr} different from loss(): it runs its own forward")
