"""The book's published weights: accuracies and predictions on both sides (needs
$DLFS_WEIGHTS and $MNIST_ROOT; skipped, with that reason, otherwise)."""

from parity.engine.registry import register
from parity.experiments.book_weights import PUBLISHED, SLOW, BookWeights

CHAPTER = "networks"

register(*(BookWeights(spec) for spec in PUBLISHED),
         *(BookWeights(spec, slow=True) for spec in SLOW))
