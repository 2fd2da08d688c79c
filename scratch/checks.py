"""The argument checks the layers share: one readable line in a layer, a clear message here.

Every message names the component and method (``where``), the argument, what was
given and what is expected, e.g.
``Affine.forward: x has 7 features per sample, W expects 8 (W is (8, 3))``.
They look at shapes, dtypes and a few numbers only -- nothing here copies an array,
so the checks cost nothing measurable next to the arithmetic they guard.
"""

import numpy as np


class InputError(ValueError):
    """A bad argument to a scratch component (a ValueError, as NumPy's own shape errors)."""


class CallOrderError(RuntimeError):
    """A method called out of order, e.g. ``backward`` before any ``forward``."""


def fail(where, message):
    raise InputError(f"{where}: {message}")


def _count(n, unit):
    return f"{n} {unit}" + ("" if n == 1 else "s")


def check_dout(where, dout, expected, unit="sample"):
    """``backward``'s upstream gradient must have exactly the forward output's shape.

    ``expected``: that shape, or an array the forward kept with it; None when no
    forward ran yet.  Exactly, not "broadcasts to": a (1,) or (1, D) dout would be
    stretched over the batch and give a gradient for the wrong loss.
    """
    if expected is None:
        raise CallOrderError(f"{where}: called before forward (backward needs what the "
                             "forward keeps)")
    shape = expected if type(expected) is tuple else expected.shape
    if getattr(dout, "shape", None) == shape:  # the usual case: two attribute reads
        return
    got = np.shape(dout)
    if got == shape:
        return
    if len(got) == len(shape) > 0 and got[1:] == shape[1:]:
        fail(where, f"dout has {_count(got[0], unit)}, the forward had {shape[0]}")
    fail(where, f"dout has shape {got}, expected {shape} (the forward output's shape)")


def check_ndim(where, name, x, ndim, form):
    """``x`` must have ``ndim`` axes; ``form`` spells them out, e.g. "(N, C, H, W)"."""
    if np.ndim(x) != ndim:
        fail(where, f"{name} must be {ndim}-D {form}, got shape {np.shape(x)}")


def check_features(where, x, W):
    """A batch (N, features...) whose features per sample are W's rows (W is (in, out))."""
    if np.ndim(x) < 2:
        fail(where, f"x must be a batch (N, features...), got shape {np.shape(x)} "
             "(one sample: x.reshape(1, -1))")
    features = int(np.prod(x.shape[1:]))
    if features != W.shape[0]:
        fail(where, f"x has {features} features per sample, W expects {W.shape[0]} "
             f"(W is {W.shape})")


def check_floating(where, name, x):
    dtype = x.dtype if isinstance(x, np.ndarray) else np.asarray(x).dtype
    if dtype.kind != "f":
        fail(where, f"{name} must be a floating-point array, got dtype {dtype}")


def check_positive_int(where, name, value):
    """Sizes and strides: integers (or (h, w) pairs of them) of at least 1."""
    for v in np.ravel(value):
        if not float(v).is_integer() or v < 1:
            fail(where, f"{name} must be an integer >= 1 (or an (h, w) pair of them), "
                        f"got {value!r}")


def check_range(where, name, value, low, high, high_open=True):
    """``low <= value < high`` (``<= high`` with ``high_open=False``)."""
    if not (low <= value and (value < high if high_open else value <= high)):
        bracket = ")" if high_open else "]"
        fail(where, f"{name} must be in [{low}, {high}{bracket}, got {value!r}")


def check_labels(where, t, n, num_classes):
    """Class-index labels: an integer array (n,) with every value in [0, num_classes)."""
    t = np.asarray(t)
    if t.ndim != 1 or len(t) != n:
        fail(where, f"t has shape {t.shape}: expected class indices ({n},) or one-hot "
                    f"rows ({n}, {num_classes}) for x of shape ({n}, {num_classes})")
    if t.dtype.kind not in "iu":
        fail(where, f"class-index labels t must be integers, got dtype {t.dtype}")
    # One pass for both bounds: read as unsigned, a negative label is a huge one.
    if n and t.view(t.dtype.str.replace("i", "u")).max() >= num_classes:
        bad = t.min() if t.min() < 0 else t.max()
        fail(where, f"label {bad} out of range [0, {num_classes})")


def check_keys(where, name, given, needed):
    """A dict (params, grads) must hold every key in ``needed``."""
    missing = [k for k in needed if k not in given]
    if missing:
        fail(where, f"{name} has no {', '.join(map(repr, missing))} "
                    f"(needs {', '.join(needed)}; has {', '.join(given) or 'nothing'})")


def check_same_shapes(where, name, given, reference, reference_name):
    """Every ``given[k]`` has the shape of ``reference[k]`` (grads against params)."""
    check_keys(where, name, given, list(reference))
    for k, ref in reference.items():
        if np.shape(given[k]) != np.shape(ref):
            fail(where, f"{name}[{k!r}] has shape {np.shape(given[k])}, "
                        f"{reference_name}[{k!r}] is {np.shape(ref)}")


def check_window_fits(where, image, window, pad, name="kernel"):
    """A kernel or pooling window no larger than the padded image (else no output at all)."""
    padded = tuple(n + 2 * p for n, p in zip(image, pad, strict=True))
    if any(k > n for k, n in zip(window, padded, strict=True)):
        fail(where, f"{name} {tuple(window)} is larger than the padded image {padded} "
                    f"(image {tuple(image)}, pad {tuple(pad)})")


def check_nonnegative_int(where, name, value):
    """Padding: integers (or (h, w) pairs of them) of at least 0."""
    for v in np.ravel(value):
        if not float(v).is_integer() or v < 0:
            fail(where, f"{name} must be an integer >= 0 (or an (h, w) pair of them), "
                        f"got {value!r}")
