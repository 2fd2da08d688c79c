"""Weight transfer between the book's layouts and torch's.

A ``Link`` ties one array of a scratch layer (``params``/``grads`` key, or a
``state`` entry such as a running mean) to one tensor of the torch twin
(``named_parameters``/``named_buffers`` name) with a layout between them.
"""

from dataclasses import dataclass

import numpy as np
import torch

# layout name -> (book array -> torch array, torch array -> book array)
LAYOUTS = {
    "same": (lambda a: a, lambda a: a),
    # Affine W is (in, out); nn.Linear.weight is (out, in).
    "transpose": (lambda a: a.T, lambda a: a.T),
    # A single unit's weight vector (n,) is nn.Linear(n, 1).weight (1, n) ...
    "row": (lambda a: a.reshape(1, -1), lambda a: a.reshape(-1)),
    # ... and its scalar bias () is nn.Linear(n, 1).bias (1,).
    "scalar": (lambda a: a.reshape(1), lambda a: a.reshape(())),
}


@dataclass(frozen=True)
class Link:
    scratch: str
    torch: str
    layout: str = "same"

    def to_torch(self, array):
        return np.array(LAYOUTS[self.layout][0](array), order="C")  # keeps 0-d arrays 0-d

    def from_torch(self, tensor):
        # a copy: torch updates buffers in place, a view would change after later calls
        return np.array(LAYOUTS[self.layout][1](to_numpy(tensor)), order="C", copy=True)


def to_numpy(tensor):
    return tensor.detach().cpu().numpy()


def torch_tensor(module, name):
    """A parameter or buffer of ``module`` by its dotted name."""
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    if name not in tensors:
        raise KeyError(f"{type(module).__name__} has no parameter or buffer {name!r}; "
                       f"it has {sorted(tensors)}")
    return tensors[name]


@torch.no_grad()
def load_into_torch(module, arrays, links):
    """Copy book-layout ``arrays`` into the twin's tensors; shapes must agree exactly."""
    for link in links:
        target = torch_tensor(module, link.torch)
        source = torch.from_numpy(link.to_torch(arrays[link.scratch]))
        if tuple(source.shape) != tuple(target.shape):
            raise ValueError(f"{link.scratch} -> {link.torch}: shape {tuple(source.shape)} "
                             f"does not fit {tuple(target.shape)} (layout {link.layout!r})")
        target.copy_(source)


def read_from_torch(module, links, grad=False):
    """The twin's tensors (or their ``.grad``) in book layout, keyed by scratch name.

    A parameter the output does not depend on has ``.grad`` None: read as zeros.
    """
    out = {}
    for link in links:
        t = torch_tensor(module, link.torch)
        if grad and t.grad is None:  # the output does not depend on t: gradient zero
            t = torch.zeros_like(t)
        elif grad:
            t = t.grad
        out[link.scratch] = link.from_torch(t)
    return out


def book_links(module):
    """Links from the book's parameter names to a twin's tensors, by registration order.

    The book numbers weight layers (Conv and Affine together) W1, b1, W2, ...,
    BatchNorm layers gamma1, beta1, ..., and calls the BatchNorm layers
    "BatchNorm1", ... -- so the twin's modules, taken in the order they were
    registered (= the order they run), map onto those names.
    Returns (param_links, state_links).
    """
    params, state = [], []
    n_weight = n_norm = 0
    for name, m in module.named_modules():
        prefix = f"{name}." if name else ""
        if isinstance(m, torch.nn.Linear | torch.nn.Conv2d):
            n_weight += 1
            layout = "transpose" if isinstance(m, torch.nn.Linear) else "same"
            params.append(Link(f"W{n_weight}", prefix + "weight", layout))
            if m.bias is not None:
                params.append(Link(f"b{n_weight}", prefix + "bias"))
        elif hasattr(m, "running_var"):  # nn.BatchNorm1d/2d and the book's BookBatchNorm
            n_norm += 1
            params += [Link(f"gamma{n_norm}", prefix + "weight"),
                       Link(f"beta{n_norm}", prefix + "bias")]
            state += [Link(f"BatchNorm{n_norm}.{s}", prefix + s)
                      for s in ("running_mean", "running_var")]
    return tuple(params), tuple(state)


def scratch_attr(obj, path):
    """``obj.a.b`` for path "a.b", looking names up in a network's ``layers`` first."""
    for part in path.split("."):
        layers = getattr(obj, "layers", None)
        obj = layers[part] if isinstance(layers, dict) and part in layers else getattr(obj, part)
    return obj


def load_into_scratch(net, arrays, params=(), state=()):
    """Copy book-layout ``arrays`` into a scratch network: parameters in place (its layers
    hold the same arrays), state (e.g. "BatchNorm1.running_mean") onto the owning layer."""
    for link in params:
        net.params[link.scratch][...] = arrays[link.scratch]
    for link in state:
        *path, attr = link.scratch.split(".")
        setattr(scratch_attr(net, ".".join(path)) if path else net, attr,
                np.array(arrays[link.scratch]))
