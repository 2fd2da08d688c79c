"""The one model table and the one optimizer table.

Every network trained side by side -- the training runs of ``make parity``
(``parity.pairs.training``), the accuracy report, the speed report's model benches --
is a ``Model`` in ``MODELS``; every optimizer compared over whole runs -- those runs,
chapter 6, the hyperparameter search -- is an ``Optimizer`` in ``OPTIMIZERS``.
Code elsewhere refers to an entry (``tables.MLP``, ``tables.SGD``) or iterates a
table, and never spells a name: ``parity_tests/test_tables.py`` scans the tree for
the tables' names as string literals.

(The registry's optimizer pairs, ``parity.pairs.optimizers``, check single steps of
every scratch optimizer class in several settings; they are named by the class.)
"""

from collections.abc import Callable
from dataclasses import dataclass

import scratch.models as SM
import scratch.optimizers as SO
import torch_ref.layers as TL
import torch_ref.models as TM
import torch_ref.optimizers as TO
from parity.experiments.training import mask_factory, masks_as_layers


@dataclass(frozen=True)
class Optimizer:
    name: str
    scratch: Callable  # (lr=..., weight_decay=...) -> a scratch.optimizers optimizer
    twin: Callable  # (params or param groups, lr=...) -> its torch_ref.optimizers twin
    lr: float  # the book's lr (ch06 optimizer_compare_mnist): chapter 6
    run_lr: float | None = None  # training runs, accuracy report, model benches; None: lr

    def for_run(self, params):
        """(scratch, twin over ``params``) at the training runs' lr, no weight decay."""
        lr = self.lr if self.run_lr is None else self.run_lr
        return self.scratch(lr=lr), self.twin(params, lr=lr)

    def with_decay(self, lr, weight_decay, named_params):
        """(scratch, twin) at ``lr``; weight decay on weights only (torch parameter groups
        over the twin's ``(book name, parameter)`` pairs)."""
        return (self.scratch(lr=lr, weight_decay=weight_decay),
                self.twin(TO.param_groups(named_params, weight_decay), lr=lr))


SGD = Optimizer("SGD", SO.SGD, TO.SGD, lr=0.01, run_lr=0.1)
MOMENTUM = Optimizer("Momentum", SO.Momentum, TO.Momentum, lr=0.01)
ADAGRAD = Optimizer("AdaGrad", SO.AdaGrad, TO.AdaGrad, lr=0.01)
ADAM = Optimizer("Adam", SO.Adam, TO.Adam, lr=0.001)
OPTIMIZERS = (SGD, MOMENTUM, ADAGRAD, ADAM)  # the order of the ch06 comparison


@dataclass(frozen=True)
class Model:
    name: str
    scratch: Callable  # (rng=... or params=...) -> scratch Network, the book's initialisation
    twin: Callable  # () -> torch_ref WithLoss module with the book's loss
    input_shape: tuple  # one image as the network takes it: (784,) flattened, or (1, 28, 28)
    optimizer: Optimizer  # the accuracy report trains with it
    runs: tuple = (SGD, ADAM)  # optimizers of the training runs (parity.pairs.training)
    dtypes: tuple = ("float64", "float32")  # of the training runs
    slow: bool = True  # training runs only with --slow / make test-slow
    bench: str = ""  # the speed report's name for it; "": name
    target: float | None = None  # speed report: largest scratch/torch train-step time

    @property
    def flatten(self):
        return len(self.input_shape) == 1

    @property
    def bench_name(self):
        return self.bench or self.name


def deep_convnet_factories():
    """ch08's DeepConvNet (book dropout, ratio 0.5) on both sides, masks replayed."""
    masks = mask_factory(0.5, "training", SM.DeepConvNet.__name__)
    return (lambda **kw: SM.DeepConvNet(dropout_masks=masks(), **kw),
            lambda: TM.with_book_loss(TM.DeepConvNet(
                dropout=masks_as_layers(masks(), "book", 0.5))))


FLAT, IMAGE = (784,), (1, 28, 28)
# Optimizers of the accuracy report: SGD for the MLPs as in ch05/ch06, Adam for the
# convolutional nets as in the book's ch07/ch08 trainers.
MLP = Model(
    "MLP 784-100-100-10",
    lambda **kw: SM.MultiLayerNet(784, (100, 100), 10, **kw),
    lambda: TM.with_book_loss(TM.MultiLayerNet(784, (100, 100), 10)),
    FLAT, SGD, slow=False, bench="MLP", target=0.75)
# the book's MultiLayerNetExtend with its BatchNorm (book convention on both sides).
# No Adam run: the biases before BatchNorm have zero gradient (the normalisation removes
# any shift), so each side's gradient is its own rounding noise (~1e-13 in float64) and
# Adam scales noise up to lr-sized steps: after 200 steps final b2 differs in sign
# (float64) and W1 by 4.9e-2 relative (float32) -- measured.
MLP_BATCHNORM = Model(
    f"{MLP.name} + BatchNorm",
    lambda **kw: SM.MultiLayerNet(784, (100, 100), 10, use_batchnorm=True, **kw),
    lambda: TM.with_book_loss(TM.MultiLayerNet(
        784, (100, 100), 10, batchnorm=lambda n: TL.BatchNormalization(
            n, eps=SM.BATCHNORM_EPS["book"], convention="book"))),
    FLAT, SGD, runs=(SGD,), bench="MLP + BatchNorm")
SIMPLE_CONVNET = Model(
    "SimpleConvNet", SM.SimpleConvNet, lambda: TM.with_book_loss(TM.SimpleConvNet()),
    IMAGE, ADAM, target=1.0)
LENET5 = Model(
    "LeNet-5 (tanh)", lambda **kw: SM.LeNet5("tanh", **kw),
    lambda: TM.with_book_loss(TM.LeNet5("tanh")), IMAGE, ADAM, bench="LeNet-5")
# float64 runs only: in float32 eight layers with ReLU kinks and max-pool ties amplify
# rounding until the runs part (measured after 200 steps: final weights 1e-2 to 1.3
# relative apart, SGD and Adam alike); in float64 the loss gap stays <= 1e-6.
DEEP_CONVNET = Model(
    "DeepConvNet", *deep_convnet_factories(), IMAGE, ADAM, dtypes=("float64",), target=2.0)
MODELS = (MLP, MLP_BATCHNORM, SIMPLE_CONVNET, LENET5, DEEP_CONVNET)
