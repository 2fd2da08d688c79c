"""The bug zoo: planted bugs in a correct book-style implementation, as one table.

Each PlantedBug is a small textual edit of one file of ``clean/`` (a complete, correct
implementation laid out like the book's repository). ``materialize`` copies clean/ and applies
one edit, so ``python -m parity_tests.zoo write DIR`` gives one learner-style folder per bug for
``make check IMPL=DIR/<name>``. ``diagnosis`` is an id of the catalogue in CATALOGUE_IDS;
``component`` the book name the checker must flag; ``layer`` (network bugs only) the name in the
network's ``layers`` that bisection must name (``"layers[i]"`` for DeepConvNet's plain list);
``doc`` says on which inputs the bug shows.

NumPy-free and torch-free: the checker and the zoo's own tests both import this.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

CLEAN = Path(__file__).with_name("clean")

# The diagnosis catalogue of `make check` (issue 10). Until parity/check/diagnosis.py exists this
# is its one copy; the checker's tests should then assert that both sets are equal.
CATALOGUE_IDS = frozenset({
    "relu_mask_strict", "relu_forward_writes_input", "sigmoid_backward_uses_x",
    "backward_ignores_dout", "affine_dW_transposed", "affine_db_wrong_axis",
    "affine_dx_wrong_weight", "softmax_no_max_shift", "softmax_wrong_axis",
    "loss_grad_not_divided_by_N", "cross_entropy_no_delta", "cross_entropy_not_averaged",
    "mse_missing_half", "step_function_at_zero", "batchnorm_running_var_not_updated",
    "batchnorm_eval_uses_batch_stats", "batchnorm_momentum_swapped",
    "batchnorm_dgamma_missing_xhat", "dropout_double_scaling", "dropout_backward_unmasked",
    "dropout_mask_inverted", "im2col_kernel_transposed", "col2im_overwrites",
    "conv_db_wrong_axis", "maxpool_grad_to_all_ties", "sgd_update_sign_flipped",
    "momentum_sign_flipped", "adam_bias_correction_late", "adagrad_h_not_accumulated",
    "rmsprop_decay_swapped", "numerical_gradient_forward_difference",
    "numerical_gradient_not_restored", "network_grads_from_wrong_layer",
    "network_layer_misbuilt", "network_weight_decay_on_bias", "network_predict_in_train_mode",
    "network_layer_holds_copy",
})


@dataclass(frozen=True)
class PlantedBug:
    name: str
    file: str  # relative to clean/
    old: str  # occurs exactly once in clean/<file>
    new: str
    component: str
    diagnosis: str
    layer: str | None = None
    doc: str = ""


LAYERS = "common/layers.py"
FUNCTIONS = "common/functions.py"
UTIL = "common/util.py"
OPTIMIZER = "common/optimizer.py"

BUGS: tuple[PlantedBug, ...] = (
    # --- activation layers -------------------------------------------------------------------
    PlantedBug(
        "relu-mask-strict", LAYERS,
        "self.mask = (x <= 0)", "self.mask = (x < 0)",
        "Relu", "relu_mask_strict",
        doc="forward unchanged; backward passes dout where x == 0 exactly (kink inputs only)"),
    PlantedBug(
        "relu-forward-writes-input", LAYERS,
        "        out = x.copy()\n        out[self.mask] = 0",
        "        out = x\n        out[self.mask] = 0",
        "Relu", "relu_forward_writes_input",
        doc="outputs right, but the caller's x has its negatives zeroed after forward (any randn)"),
    PlantedBug(
        "sigmoid-backward-uses-x", LAYERS,
        "        self.out = out\n", "        self.out = x\n",
        "Sigmoid", "sigmoid_backward_uses_x",
        doc="forward right; backward computes dout * (1 - x) * x (any randn input)"),
    PlantedBug(
        "sigmoid-backward-ignores-dout", LAYERS,
        "dx = dout * (1.0 - self.out) * self.out", "dx = (1.0 - self.out) * self.out",
        "Sigmoid", "backward_ignores_dout",
        doc="backward returns y(1-y): wrong for any upstream gradient but ones"),
    # --- Affine ------------------------------------------------------------------------------
    PlantedBug(
        "affine-dW-transposed", LAYERS,
        "self.dW = np.dot(self.x.T, dout)", "self.dW = np.dot(dout.T, self.x)",
        "Affine", "affine_dW_transposed",
        doc="dW has shape (out, in): a shape mismatch when in != out, transposed values else"),
    PlantedBug(
        "affine-db-wrong-axis", LAYERS,
        "        self.dW = np.dot(self.x.T, dout)\n        self.db = np.sum(dout, axis=0)",
        "        self.dW = np.dot(self.x.T, dout)\n        self.db = np.sum(dout, axis=1)",
        "Affine", "affine_db_wrong_axis",
        doc="db has shape (N,) (one value per sample): shape mismatch unless N == out"),
    PlantedBug(
        "affine-dx-uses-W", LAYERS,
        "dx = np.dot(dout, self.W.T)", "dx = np.dot(dout, self.W)",
        "Affine", "affine_dx_wrong_weight",
        doc="backward raises a shape error unless W is square; with in == out dx is wrong"),
    PlantedBug(
        "affine-dx-reshaped-W", LAYERS,
        "dx = np.dot(dout, self.W.T)", "dx = np.dot(dout, self.W.reshape(self.W.shape[::-1]))",
        "Affine", "affine_dx_wrong_weight",
        doc="the learner's 'fix' of the shape error: silent, dx wrong for any W with in, out > 1"),
    # --- softmax and losses --------------------------------------------------------------------
    PlantedBug(
        "softmax-no-max-shift", FUNCTIONS,
        "    x = x - np.max(x, axis=-1, keepdims=True)  # exp(1000) would be inf\n", "",
        "softmax", "softmax_no_max_shift",
        doc="same values for randn logits; nan at logits of +1000 (SoftmaxWithLoss too)"),
    PlantedBug(
        "softmax-wrong-axis", FUNCTIONS,
        "np.sum(e, axis=-1, keepdims=True)", "np.sum(e, axis=0, keepdims=True)",
        "softmax", "softmax_wrong_axis",
        doc="columns sum to 1 instead of rows: 2-D input with N >= 2 (1-D input is unaffected)"),
    PlantedBug(
        "loss-grad-not-divided-by-N", LAYERS,
        "return dx * dout / batch_size", "return dx * dout",
        "SoftmaxWithLoss", "loss_grad_not_divided_by_N",
        doc="dx is N times too large: any batch with N >= 2"),
    PlantedBug(
        "cross-entropy-no-delta", FUNCTIONS,
        "    delta = 1e-7  # keeps log away from log(0) = -inf\n", "    delta = 0\n",
        "cross_entropy_error", "cross_entropy_no_delta",
        doc="loss inf when the true class has y == 0 exactly (e.g. softmax of -1000 logits); "
            "~1e-7 relative change otherwise"),
    PlantedBug(
        "cross-entropy-not-averaged", FUNCTIONS,
        "    batch_size = y.shape[0]\n", "    batch_size = 1\n",
        "cross_entropy_error", "cross_entropy_not_averaged",
        doc="loss N times too large: any batch with N >= 2 (a single 1-D sample is unaffected)"),
    PlantedBug(
        "mse-missing-half", FUNCTIONS,
        "return 0.5 * np.sum((y - t) ** 2)", "return np.sum((y - t) ** 2)",
        "mean_squared_error", "mse_missing_half",
        doc="loss twice the book's: any input with y != t"),
    PlantedBug(
        "step-function-at-zero", FUNCTIONS,
        "np.array(x > 0, dtype=int)", "np.array(x >= 0, dtype=int)",
        "step_function", "step_function_at_zero",
        doc="step(0) == 1: only at exact zeros"),
    # --- BatchNormalization --------------------------------------------------------------------
    PlantedBug(
        "batchnorm-running-var-not-updated", LAYERS,
        "            self.running_var = self.momentum * self.running_var"
        " + (1 - self.momentum) * var\n", "",
        "BatchNormalization", "batchnorm_running_var_not_updated",
        doc="running_var stays at zeros after training steps; eval output differs then"),
    PlantedBug(
        "batchnorm-eval-uses-batch-stats", LAYERS,
        "            xc = x - self.running_mean\n"
        "            xn = xc / np.sqrt(self.running_var + 1e-6)",
        "            xc = x - x.mean(axis=0)\n"
        "            xn = xc / np.sqrt(x.var(axis=0) + 1e-6)",
        "BatchNormalization", "batchnorm_eval_uses_batch_stats",
        doc="train mode right; train_flg=False output normalised with the batch's own statistics"),
    PlantedBug(
        "batchnorm-momentum-swapped", LAYERS,
        "            self.running_mean = self.momentum * self.running_mean"
        " + (1 - self.momentum) * mu\n"
        "            self.running_var = self.momentum * self.running_var"
        " + (1 - self.momentum) * var\n",
        "            self.running_mean = (1 - self.momentum) * self.running_mean"
        " + self.momentum * mu\n"
        "            self.running_var = (1 - self.momentum) * self.running_var"
        " + self.momentum * var\n",
        "BatchNormalization", "batchnorm_momentum_swapped",
        doc="running statistics 0.9 * batch after the first step instead of 0.1 * batch"),
    PlantedBug(
        "batchnorm-dgamma-missing-xhat", LAYERS,
        "dgamma = np.sum(self.xn * dout, axis=0)", "dgamma = np.sum(dout, axis=0)",
        "BatchNormalization", "batchnorm_dgamma_missing_xhat",
        doc="dgamma == dbeta: any random dout (dx and dbeta right)"),
    # --- Dropout -------------------------------------------------------------------------------
    PlantedBug(
        "dropout-double-scaling", LAYERS,
        "            return x * self.mask\n",
        "            return x * self.mask / (1.0 - self.dropout_ratio)\n",
        "Dropout", "dropout_double_scaling",
        doc="train output divided by (1-ratio) while test output is still x*(1-ratio); "
            "backward unscaled"),
    PlantedBug(
        "dropout-backward-unmasked", LAYERS,
        "        return dout * self.mask", "        return dout",
        "Dropout", "dropout_backward_unmasked",
        doc="backward passes dout through at the dropped units (any ratio > 0)"),
    PlantedBug(
        "dropout-mask-inverted", LAYERS,
        "np.random.rand(*x.shape) > self.dropout_ratio",
        "np.random.rand(*x.shape) < self.dropout_ratio",
        "Dropout", "dropout_mask_inverted",
        doc="consistent with its own mask; shows as the kept fraction (~ratio instead of "
            "~1-ratio: use a ratio far from 0.5, e.g. 0.2 on 1000+ units) or with a seeded "
            "np.random compared with rand(...) > ratio"),
    # --- convolution ---------------------------------------------------------------------------
    PlantedBug(
        "im2col-kernel-transposed", UTIL,
        "col = col.transpose(0, 4, 5, 1, 2, 3)", "col = col.transpose(0, 4, 5, 1, 3, 2)",
        "im2col", "im2col_kernel_transposed",
        doc="columns in (C, FW, FH) order: Convolution output wrong for any kernel that is not "
            "symmetric (silent for non-square kernels too); Pooling's backward routes to the "
            "wrong element"),
    PlantedBug(
        "col2im-overwrites", UTIL,
        "img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]",
        "img[:, :, y:y_max:stride, x:x_max:stride] = col[:, :, y, x, :, :]",
        "col2im", "col2im_overwrites",
        doc="Convolution dx wrong where windows overlap (stride < kernel, e.g. 3x3 stride 2); "
            "right for non-overlapping 2x2 stride-2 pooling"),
    PlantedBug(
        "conv-db-wrong-axis", LAYERS,
        "self.db = np.sum(dout, axis=(0, 2, 3))", "self.db = np.sum(dout, axis=(0, 1, 2))",
        "Convolution", "conv_db_wrong_axis",
        doc="db has out_w entries instead of FN: shape mismatch unless out_w == FN"),
    PlantedBug(
        "maxpool-grad-to-all-ties", LAYERS,
        "        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()\n",
        "        dmax = (self.col == self.col.max(axis=1, keepdims=True)) * dout.reshape(-1, 1)\n",
        "Pooling", "maxpool_grad_to_all_ties",
        doc="only at ties: a window holding its maximum twice (integer-valued or ReLU'd input)"),
    # --- optimizers ----------------------------------------------------------------------------
    PlantedBug(
        "sgd-sign-flipped", OPTIMIZER,
        "            params[key] -= self.lr * grads[key]\n",
        "            params[key] += self.lr * grads[key]\n",
        "SGD", "sgd_update_sign_flipped",
        doc="first step goes uphill"),
    PlantedBug(
        "momentum-sign-flipped", OPTIMIZER,
        "self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]",
        "self.v[key] = self.momentum * self.v[key] + self.lr * grads[key]",
        "Momentum", "momentum_sign_flipped",
        doc="first step goes uphill; v has the wrong sign"),
    PlantedBug(
        "adam-bias-correction-late", OPTIMIZER,
        "        self.iter += 1\n"
        "        # bias correction folded into the step size (eps then sits on the uncorrected"
        " sqrt(v))\n"
        "        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter)"
        " / (1.0 - self.beta1 ** self.iter)\n",
        "        # bias correction folded into the step size (eps then sits on the uncorrected"
        " sqrt(v))\n"
        "        lr_t = self.lr * np.sqrt(1.0 - self.beta2 ** self.iter)"
        " / (1.0 - self.beta1 ** self.iter)\n"
        "        self.iter += 1\n",
        "Adam", "adam_bias_correction_late",
        doc="step 1 computes lr_t = 0/0: parameters turn nan (with a RuntimeWarning); "
            "iter ends one ahead"),
    PlantedBug(
        "adagrad-h-not-accumulated", OPTIMIZER,
        "self.h[key] += grads[key] * grads[key]", "self.h[key] = grads[key] * grads[key]",
        "AdaGrad", "adagrad_h_not_accumulated",
        doc="step 1 is right; from step 2 h forgets the earlier gradients"),
    PlantedBug(
        "rmsprop-decay-swapped", OPTIMIZER,
        "            self.h[key] *= self.decay_rate\n"
        "            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]\n",
        "            self.h[key] *= (1 - self.decay_rate)\n"
        "            self.h[key] += self.decay_rate * grads[key] * grads[key]\n",
        "RMSprop", "rmsprop_decay_swapped",
        doc="step 1 already ~10x smaller (h = 0.99 g^2 instead of 0.01 g^2)"),
    # --- numerical gradient --------------------------------------------------------------------
    PlantedBug(
        "numgrad-forward-difference", "common/gradient.py",
        "        x[idx] = tmp_val - h\n"
        "        fxh2 = f(x)\n"
        "        grad[idx] = (fxh1 - fxh2) / (2 * h)\n",
        "        x[idx] = tmp_val\n"
        "        fxh2 = f(x)\n"
        "        grad[idx] = (fxh1 - fxh2) / h\n",
        "numerical_gradient", "numerical_gradient_forward_difference",
        doc="error O(h) = ~1e-4 relative on a curved f (e.g. sum(x**3)); exact for linear f"),
    PlantedBug(
        "numgrad-not-restored", "common/gradient.py",
        "        x[idx] = tmp_val  # put the value back\n", "",
        "numerical_gradient", "numerical_gradient_not_restored",
        doc="the caller's x is left shifted by -h in every element; later elements see "
            "the shifted earlier ones (curved f)"),
    # --- networks: bugs in the network code, every layer class stays correct ---------------------
    PlantedBug(
        "twolayernet-grads-from-affine1", "ch05/two_layer_net.py",
        "grads['W2'], grads['b2'] = self.layers['Affine2'].dW, self.layers['Affine2'].db",
        "grads['W2'], grads['b2'] = self.layers['Affine1'].dW, self.layers['Affine2'].db",
        "TwoLayerNet", "network_grads_from_wrong_layer", layer="Affine2",
        doc="grads['W2'] is Affine1's dW: shape mismatch unless input == hidden == output size; "
            "loss and layers right"),
    PlantedBug(
        "twolayernet-affine1-holds-copy", "ch05/two_layer_net.py",
        "self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])",
        "self.layers['Affine1'] = Affine(self.params['W1'].copy(), self.params['b1'])",
        "TwoLayerNet", "network_layer_holds_copy", layer="Affine1",
        doc="one forward/backward is right on the constructor's weights; SGD on params['W1'] "
            "never reaches Affine1, so a training run parts at step 1"),
    PlantedBug(
        "deepconvnet-grads-index-swapped", "ch08/deep_convnet.py",
        "        for i, layer_idx in enumerate(self.param_layer_idx):\n"
        "            grads['W' + str(i + 1)] = self.layers[layer_idx].dW\n",
        "        for i, layer_idx in enumerate((2, 0, 5, 7, 10, 12, 15, 18)):\n"
        "            grads['W' + str(i + 1)] = self.layers[layer_idx].dW\n",
        "DeepConvNet", "network_grads_from_wrong_layer", layer="layers[0]",
        doc="grads W1/b1 read from the second convolution (W1 shape mismatch, b1 same shape, "
            "wrong values) and W2/b2 from the first; predict, loss and load_params right"),
    PlantedBug(
        "simpleconvnet-pool1-stride1", "ch07/simple_convnet.py",
        "self.layers['Pool1'] = Pooling(pool_h=2, pool_w=2, stride=2)",
        "self.layers['Pool1'] = Pooling(pool_h=2, pool_w=2, stride=1)",
        "SimpleConvNet", "network_layer_misbuilt", layer="Pool1",
        doc="Pool1's output is (conv-1) x (conv-1) instead of conv/2: predict then fails in "
            "Affine1 with a shape error; bisection must name Pool1, the first layer whose "
            "output differs"),
    PlantedBug(
        "simpleconvnet-pool1-3x3", "ch07/simple_convnet.py",
        "self.layers['Pool1'] = Pooling(pool_h=2, pool_w=2, stride=2)",
        "self.layers['Pool1'] = Pooling(pool_h=3, pool_w=3, stride=2, pad=1)",
        "SimpleConvNet", "network_layer_misbuilt", layer="Pool1",
        doc="same output shape as 2x2/2 for even conv outputs, other values: silent until "
            "compared; bisection must name Pool1"),
    PlantedBug(
        "multilayernet-decay-loss-on-bias", "common/multi_layer_net.py",
        "            weight_decay += 0.5 * self.weight_decay_lambda * np.sum(W ** 2)\n",
        "            b = self.params['b' + str(idx)]\n"
        "            weight_decay += 0.5 * self.weight_decay_lambda * (np.sum(W ** 2)"
        " + np.sum(b ** 2))\n",
        "MultiLayerNet", "network_weight_decay_on_bias",
        doc="loss too large only when weight_decay_lambda > 0 and the biases are nonzero "
            "(they start at zero: load nonzero ones); gradients unchanged, so they no longer "
            "match the loss's numerical gradient"),
    PlantedBug(
        "multilayernet-decay-grad-on-bias", "common/multi_layer_net.py",
        "            grads['b' + str(idx)] = affine.db\n",
        "            grads['b' + str(idx)] = affine.db + self.weight_decay_lambda * affine.b\n",
        "MultiLayerNet", "network_weight_decay_on_bias",
        doc="grads['b*'] carry lambda * b: weight_decay_lambda > 0 and nonzero biases; "
            "loss unchanged"),
    PlantedBug(
        "multilayernetextend-predict-ignores-train-flg", "common/multi_layer_net_extend.py",
        "                x = layer.forward(x, train_flg)\n",
        "                x = layer.forward(x)\n",
        "MultiLayerNetExtend", "network_predict_in_train_mode", layer="BatchNorm1",
        doc="with use_batchnorm=True (or use_dropout=True) predict/accuracy at test time run "
            "batch statistics (random masks); bisection names BatchNorm1 (Dropout1 without BN)"),
    PlantedBug(
        "multilayernetextend-loss-defaults-to-train", "common/multi_layer_net_extend.py",
        "def loss(self, x, t, train_flg=False):", "def loss(self, x, t, train_flg=True):",
        "MultiLayerNetExtend", "network_predict_in_train_mode", layer="BatchNorm1",
        doc="loss(x, t) without train_flg runs BatchNorm/Dropout in training mode (and updates "
            "the running statistics); predict and gradient right"),
)

BY_NAME = {bug.name: bug for bug in BUGS}


def materialize(bug: PlantedBug, dest) -> Path:
    """Copy clean/ to dest (which must not exist) and apply bug's one edit; return dest."""
    source = (CLEAN / bug.file).read_text(encoding="utf-8")
    count = source.count(bug.old)
    if count != 1:
        raise ValueError(f"{bug.name}: 'old' occurs {count} times in {bug.file}, not once")
    dest = Path(dest)
    shutil.copytree(CLEAN, dest, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / bug.file).write_text(source.replace(bug.old, bug.new), encoding="utf-8")
    return dest


def materialize_all(dest_root) -> list[Path]:
    """Write every bug as dest_root/<name>/ (dest_root is created if needed)."""
    root = Path(dest_root)
    root.mkdir(parents=True, exist_ok=True)
    return [materialize(bug, root / bug.name) for bug in BUGS]
