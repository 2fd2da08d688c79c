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
}


@dataclass(frozen=True)
class Link:
    scratch: str
    torch: str
    layout: str = "same"

    def to_torch(self, array):
        return np.ascontiguousarray(LAYOUTS[self.layout][0](array))

    def from_torch(self, tensor):
        return np.ascontiguousarray(LAYOUTS[self.layout][1](to_numpy(tensor)))


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
