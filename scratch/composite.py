"""``Composite``: a layer built from named sub-layers (a residual block, an attention block).

Its ``params`` are the sub-layers' arrays under dotted names -- "conv1.W",
"self_attn.W_qkv" -- the very same arrays, so an optimizer updating ``params`` in
place updates the sub-layers (as ``scratch.network.Network`` does with W1, b1, ...).
``collect_grads`` gathers the sub-layers' gradients under the same names after a
backward pass.  Sub-layers are also reachable as ``layers[name]`` (running statistics
are read as "bn1.running_mean").
"""

from scratch.layers import Layer


class Composite(Layer):
    def __init__(self, **layers):
        super().__init__()
        self.layers = dict(layers)
        self.params = {f"{name}.{key}": value for name, layer in self.layers.items()
                       for key, value in layer.params.items()}

    def collect_grads(self):
        self.grads = {f"{name}.{key}": g for name, layer in self.layers.items()
                      for key, g in layer.grads.items()}


def sub_params(params, prefix):
    """The entries of ``params`` under ``prefix.``, with the prefix removed (same arrays)."""
    start = prefix + "."
    return {k[len(start):]: v for k, v in params.items() if k.startswith(start)}
