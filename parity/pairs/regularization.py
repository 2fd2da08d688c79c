"""L1/L2 weight-decay penalties, the book's way: on weights only, added to the loss."""

import numpy as np

import scratch.regularization as S
import torch_ref.regularization as T
from parity.book import Formula
from parity.engine.layer_pair import LayerPair, Sample
from parity.engine.registry import register
from parity.engine.transfer import Link

CHAPTER = "regularization"
FORMULAS = {
    "L2 weight decay": Formula(r"L' = L + \frac{\lambda}{2} \sum_{W} \lVert W \rVert^2",
                               r"\frac{\partial L'}{\partial W} = \frac{\partial L}{\partial W}"
                               r" + \lambda W, \quad \frac{\partial L'}{\partial b} = "
                               r"\frac{\partial L}{\partial b}"),
    "L1 weight decay": Formula(r"L' = L + \lambda \sum_{W} \sum_i |W_i|",
                               r"\frac{\partial L'}{\partial W} = \frac{\partial L}{\partial W}"
                               r" + \lambda\, \mathrm{sign}(W)"),
}

LAM = 0.1
SHAPES = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}


def net_params(rng):
    """A two-layer net's params; W1 holds an exact 0 (L1's kink: sign 0, and the central
    difference of |w| at 0 is exactly 0 too, so finite differences still apply)."""
    params = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    params["W1"][0, 0] = 0.0
    return params


def data_loss(rng):
    return [Sample.of("loss 2.3", np.array(2.3)), Sample.of("loss randn", rng.standard_normal(()))]


def penalty(component, scratch_cls, twin, convention):
    return LayerPair(component, convention, scratch=lambda p: scratch_cls(p, LAM),
                     torch=lambda p: twin({k: v.shape for k, v in p.items()}, LAM),
                     samples=data_loss, init_params=net_params,
                     params=tuple(Link(k, f"params.{k}") for k in SHAPES),
                     doc="biases get gradient 0: the torch twin leaves them out of the graph")


register(
    penalty("L2 weight decay", S.L2WeightDecay, T.L2WeightDecay, "book 0.5*lam*sum(W^2), W only"),
    penalty("L1 weight decay", S.L1WeightDecay, T.L1WeightDecay, "book lam*sum(|W|), W only"),
)
