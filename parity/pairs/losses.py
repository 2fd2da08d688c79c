"""Losses: softmax cross-entropy (two forms, index and one-hot labels) and MSE."""

import scratch.layers as S
import torch_ref.layers as T
from parity.book import Formula
from parity.engine.inputs import labels, one_hot, with_values
from parity.engine.layer_pair import LayerPair, Sample
from parity.engine.probes import ConventionGap
from parity.engine.registry import register

CHAPTER = "losses"
FORMULAS = {
    "SoftmaxWithLoss": Formula(
        r"L = -\frac{1}{N} \sum_n \sum_k t_{nk} \log(y_{nk} + 10^{-7}), \quad y = "
        r"\mathrm{softmax}(x)",
        r"\frac{\partial L}{\partial x} = \frac{y - t}{N}",
        note="book convention; log_softmax: log y computed as x - logsumexp(x), no 1e-7"),
    "MeanSquaredError": Formula(
        r"L = \frac{1}{2} \sum_{n,k} (y_{nk} - t_{nk})^2",
        r"\frac{\partial L}{\partial y} = y - t",
        note="book convention; torch's nn.MSELoss (mean): L = (1/(N D)) sum (y - t)^2"),
}

C = 10


BOOK_CE_GAP = (
    "the book's backward is (softmax - t)/N, the gradient of the exact log-softmax loss; "
    "its own loss has log(y + 1e-7), whose true gradient differs by ~1e-7/y_target relative")


def fd_gap_of(loss_convention):
    """What finite differences of a loss in this convention must show (see BOOK_CE_GAP)."""
    return BOOK_CE_GAP if loss_convention == "book" else ""


def cross_entropy_samples(convention):
    gap = fd_gap_of(convention)

    def samples(rng):
        x, t = rng.standard_normal((8, C)) * 2, labels(rng, 8, C)
        extreme = with_values(rng.standard_normal((4, C)), [1000.0, -1000.0, 500.0], rng)
        t_extreme = labels(rng, 4, C)
        return [
            Sample.of("index-labels", x, t, fd_gap=gap),
            Sample.of("one-hot-labels", x, one_hot(t, C), fd_gap=gap),
            Sample.of("logits+-1000", extreme, t_extreme, fd_gap=gap),
            Sample.of("logits+-1000/one-hot", extreme, one_hot(t_extreme, C), fd_gap=gap),
            Sample.of("batch-of-1", rng.standard_normal((1, C)), labels(rng, 1, C), fd_gap=gap),
            # a diverging net's logits: no cancellation may eat the loss (a step of 1e-5
            # does not change 1e13, so finite differences cannot see anything here)
            Sample.of("logits+-1e13", extreme * 1e10, t_extreme, smooth=False),
        ]

    return samples


def cross_entropy(convention):
    return LayerPair("SoftmaxWithLoss", convention,
                     scratch=lambda p: S.SoftmaxWithLoss(convention),
                     torch=lambda p: T.SoftmaxWithLoss(convention),
                     samples=cross_entropy_samples(convention))


def mse_samples(rng):
    y = rng.standard_normal((6, 4))
    return [
        Sample.of("regression(6,4)", y, y + rng.standard_normal((6, 4)) * 0.3),
        Sample.of("vs-one-hot", rng.random((5, C)), one_hot(labels(rng, 5, C), C)),
        Sample.of("perfect", y, y.copy()),
    ]


def mse(convention):
    return LayerPair("MeanSquaredError", convention,
                     scratch=lambda p: S.MeanSquaredError(convention),
                     torch=lambda p: T.MeanSquaredError(convention), samples=mse_samples)


register(
    cross_entropy("book"),
    cross_entropy("log_softmax"),
    mse("book"),
    mse("mean"),
)


def confident_wrong(rng):
    """Every sample puts ~all its mass on a wrong class: where the 1e-7 shows."""
    t = labels(rng, 4, C)
    x = rng.standard_normal((4, C))
    x[range(4), (t + 1) % C] = 40.0
    return Sample.of("confident-wrong", x, t)


def mse_batch(rng):
    y = rng.standard_normal((8, 3))
    return Sample.of("batch(8,3)", y, y + rng.standard_normal((8, 3)))


register(
    ConventionGap("SoftmaxWithLoss", "book", "log_softmax", confident_wrong, ("out",),
                  why="log(y + 1e-7) caps each sample's loss at -log(1e-7) = 16.12; "
                      "log-softmax keeps growing (gradients are identical)"),
    ConventionGap("MeanSquaredError", "book", "mean", mse_batch, ("out", "dx"),
                  why="book: 0.5*sum((y-t)^2), not divided by N; nn.MSELoss: mean over all "
                      "elements -- ratio 2/(N*D)"),
)
