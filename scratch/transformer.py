"""The Transformer encoder from the book's layers: LayerNorm, GELU, token embedding,
sinusoidal positions, scaled dot-product attention, multi-head attention, and the
encoder block that puts them together (the study notes' "applications" chapter).

Same protocol as ``scratch.layers``: ``forward`` caches, ``backward`` takes the
upstream gradient and fills ``grads`` under the keys of ``params``; no backward
writes into an array it was given.  Sequences are batch-first, (N, T, E): N
sequences of T tokens with E features each; matrices are in the book's layout
(in, out), so a token's projection is ``x @ W + b``.
"""

import math

import numpy as np

from scratch.composite import Composite, sub_params
from scratch.functions import softmax
from scratch.layers import Dropout, Layer, SoftmaxWithLoss


class Linear(Layer):
    """The book's Affine applied to the last axis: every token on its own.

    (The book's Affine flattens (N, T, E) to (N, T*E); a token-wise layer must not.)
    """

    def __init__(self, W, b=None):
        super().__init__()
        self.params = {"W": W} if b is None else {"W": W, "b": b}

    def forward(self, x):
        self.x = x
        out = x @ self.params["W"]
        return out + self.params["b"] if "b" in self.params else out

    def backward(self, dout):
        W = self.params["W"]
        self.grads["W"] = self.x.reshape(-1, W.shape[0]).T @ dout.reshape(-1, W.shape[1])
        if "b" in self.params:
            self.grads["b"] = dout.reshape(-1, W.shape[1]).sum(axis=0)
        return dout @ W.T


class LayerNorm(Layer):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta, statistics over the LAST axis
    of each token (BatchNorm takes them over the batch).  No running statistics: train
    and test are the same computation.  eps 1e-5 as ``nn.LayerNorm``.
    """

    def __init__(self, gamma, beta, eps=1e-5):
        super().__init__()
        self.params = {"gamma": gamma, "beta": beta}
        self.eps = eps

    def forward(self, x):
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        var = np.mean(xc**2, axis=-1, keepdims=True)  # biased, as nn.LayerNorm
        self.std = np.sqrt(var + x.dtype.type(self.eps))
        self.xn = xc / self.std
        return self.params["gamma"] * self.xn + self.params["beta"]

    def backward(self, dout):
        axes = tuple(range(dout.ndim - 1))  # every axis but the features
        self.grads["gamma"] = np.sum(self.xn * dout, axis=axes)
        self.grads["beta"] = dout.sum(axis=axes)
        dxn = dout * self.params["gamma"]
        # BatchNorm's chain rule, per token: remove the mean and the xn-direction of dxn
        return (dxn - dxn.mean(axis=-1, keepdims=True)
                - self.xn * np.mean(dxn * self.xn, axis=-1, keepdims=True)) / self.std


_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is correctly rounded


def erf(x):
    return _erf(x.astype(np.float64)).astype(np.float64).astype(x.dtype)


GELU_APPROXIMATIONS = ("none", "tanh")


class GELU(Layer):
    """x * Phi(x), Phi the standard normal CDF (``approximate="none"``: the erf form,
    as ``nn.GELU()``), or Hendrycks and Gimpel's tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (``nn.GELU(approximate="tanh")``).
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in GELU_APPROXIMATIONS:
            raise ValueError(f"approximate must be one of {GELU_APPROXIMATIONS}")
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate == "none":
            self.cdf = 0.5 * (1 + erf(x / np.sqrt(x.dtype.type(2))))
            return x * self.cdf
        c = np.sqrt(x.dtype.type(2 / np.pi))
        self.inner = c * (x + x.dtype.type(0.044715) * x**3)
        self.t = np.tanh(self.inner)
        return 0.5 * x * (1 + self.t)

    def backward(self, dout):
        x = self.x
        if self.approximate == "none":  # d/dx x Phi(x) = Phi(x) + x phi(x)
            pdf = np.exp(-0.5 * x * x) / np.sqrt(x.dtype.type(2 * np.pi))
            return dout * (self.cdf + x * pdf)
        c = np.sqrt(x.dtype.type(2 / np.pi))
        dinner = c * (1 + x.dtype.type(3 * 0.044715) * x * x)
        return dout * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t**2) * dinner)


class Embedding(Layer):
    """Token ids (N, T) -> rows of W (V, E).  Backward adds each token's gradient into
    its row (a token used twice gets both); ids get no gradient (None)."""

    def __init__(self, W):
        super().__init__()
        self.params = {"W": W}

    def forward(self, ids):
        self.ids = ids
        return self.params["W"][ids]

    def backward(self, dout):
        dW = np.zeros_like(self.params["W"])
        np.add.at(dW, self.ids, dout)  # += on dW[ids] would drop repeated ids
        self.grads["W"] = dW
        return None


def sinusoidal_table(max_len, E):
    """PE[pos, 2i] = sin(pos / 10000^(2i/E)), PE[pos, 2i+1] = cos(...) (Vaswani et al.)."""
    pos = np.arange(max_len)[:, None]
    freq = 10000.0 ** (-np.arange(0, E, 2) / E)
    table = np.zeros((max_len, E))
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq)[:, : E // 2]
    return table


class PositionalEncoding(Layer):
    """Adds the sinusoidal table's first T rows to (N, T, E); nothing to learn."""

    def __init__(self, max_len, E):
        super().__init__()
        self.table = sinusoidal_table(max_len, E)

    def forward(self, x):
        return x + self.table[: x.shape[1]].astype(x.dtype)

    def backward(self, dout):
        return dout.copy()


def causal_mask(T):
    """(T, T) allowed-mask: token i attends to tokens 0..i."""
    return np.tril(np.ones((T, T), dtype=bool))


def padding_mask(lengths, T):
    """(N, 1, 1, T) allowed-mask: sequence n attends to its first lengths[n] tokens."""
    return (np.arange(T)[None, :] < np.asarray(lengths)[:, None])[:, None, None, :]


class ScaledDotProductAttention(Layer):
    """softmax(q k^T / sqrt(d) + mask) v for q, k, v stacked as one input (3, ..., T, d).

    ``mask``: None, or a boolean array broadcastable to (..., T, T), True where a query
    may attend to a key (``F.scaled_dot_product_attention``'s meaning of a bool mask);
    masked scores become -inf, so they get weight 0 and no gradient.  Every query must
    keep at least one key.  Backward returns the three gradients stacked the same way.
    """

    def __init__(self, mask=None):
        super().__init__()
        self.mask = mask

    def forward(self, qkv):
        q, k, v = qkv
        self.qkv = qkv
        self.scale = 1 / np.sqrt(qkv.dtype.type(q.shape[-1]))
        scores = (q @ k.swapaxes(-1, -2)) * self.scale
        if self.mask is not None:
            scores = np.where(self.mask, scores, -np.inf)
        self.weights = softmax(scores)
        return self.weights @ v

    def backward(self, dout):
        q, k, v = self.qkv
        A = self.weights
        dv = A.swapaxes(-1, -2) @ dout
        dA = dout @ v.swapaxes(-1, -2)
        dscores = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))  # softmax's backward
        dq = (dscores @ k) * self.scale
        dk = (dscores.swapaxes(-1, -2) @ q) * self.scale
        return np.stack([dq, dk, dv])


class MultiHeadAttention(Layer):
    """Self-attention with ``num_heads`` heads of E / num_heads features each.

    Projections, in the book's layout: either packed, ``W_qkv`` (E, 3E) and ``b_qkv``
    (3E,) -- nn.MultiheadAttention's ``in_proj_weight`` transposed -- or separate
    ``Wq, Wk, Wv`` (E, E) with ``bq, bk, bv``; then the output projection ``Wo``, ``bo``.
    Without the b's: no biases (``bias=False``).  Head h of q is columns
    h*E/H .. (h+1)*E/H of x @ Wq, in both libraries.

    ``batch_first=False`` takes and returns (T, N, E), nn.MultiheadAttention's default.
    """

    def __init__(self, params, num_heads, mask=None, batch_first=True):
        super().__init__()
        self.params = params
        self.packed = "W_qkv" in params
        self.bias = "bo" in params
        self.num_heads, self.batch_first = num_heads, batch_first
        self.attention = ScaledDotProductAttention(mask)

    def in_projection(self):
        """(E, 3E) weights and (3E,) bias (or None) of q, k, v side by side."""
        p = self.params
        if self.packed:
            return p["W_qkv"], p.get("b_qkv")
        W = np.concatenate([p["Wq"], p["Wk"], p["Wv"]], axis=1)
        return W, np.concatenate([p["bq"], p["bk"], p["bv"]]) if self.bias else None

    def forward(self, x):
        if not self.batch_first:
            x = x.swapaxes(0, 1)
        self.x = x
        N, T, E = x.shape
        H = self.num_heads
        W, b = self.in_projection()
        qkv = x @ W if b is None else x @ W + b  # (N, T, 3E)
        heads = qkv.reshape(N, T, 3, H, E // H).transpose(2, 0, 3, 1, 4)  # (3, N, H, T, d)
        out = self.attention.forward(heads)  # (N, H, T, d)
        self.merged = out.transpose(0, 2, 1, 3).reshape(N, T, E)
        out = self.merged @ self.params["Wo"]
        if self.bias:
            out = out + self.params["bo"]
        return out if self.batch_first else out.swapaxes(0, 1)

    def backward(self, dout):
        if not self.batch_first:
            dout = dout.swapaxes(0, 1)
        N, T, E = dout.shape
        H = self.num_heads
        flat = dout.reshape(-1, E)
        self.grads["Wo"] = self.merged.reshape(-1, E).T @ flat
        if self.bias:
            self.grads["bo"] = flat.sum(axis=0)
        dmerged = dout @ self.params["Wo"].T
        dheads = self.attention.backward(
            dmerged.reshape(N, T, H, E // H).transpose(0, 2, 1, 3))  # (3, N, H, T, d)
        dqkv = dheads.transpose(1, 3, 0, 2, 4).reshape(N, T, 3 * E)
        W, _ = self.in_projection()
        dW = self.x.reshape(-1, E).T @ dqkv.reshape(-1, 3 * E)
        db = dqkv.reshape(-1, 3 * E).sum(axis=0)
        if self.packed:
            self.grads["W_qkv"] = dW
            if self.bias:
                self.grads["b_qkv"] = db
        else:
            for i, name in enumerate("qkv"):
                self.grads[f"W{name}"] = dW[:, i * E:(i + 1) * E]
                if self.bias:
                    self.grads[f"b{name}"] = db[i * E:(i + 1) * E]
        dx = dqkv @ W.T
        return dx if self.batch_first else dx.swapaxes(0, 1)


class TransformerEncoderBlock(Composite):
    """One encoder layer, ``nn.TransformerEncoderLayer``'s arithmetic and names:

      post-norm (norm_first=False, torch's default):
          x = norm1(x + dropout1(self_attn(x)));  x = norm2(x + dropout2(ff(x)))
      pre-norm (norm_first=True):
          x = x + dropout1(self_attn(norm1(x)));  x = x + dropout2(ff(norm2(x)))
      ff(x) = linear2(dropout(gelu(linear1(x))))

    ``params`` under dotted names ("self_attn.W_qkv", "linear1.W", "norm1.gamma", ...).
    Dropout is inverted (nn.Dropout's); ``mask_sources`` maps "dropout", "dropout1",
    "dropout2" to keep-mask sources (scratch.layers.Dropout's ``mask_source``).  The
    residual additions send the upstream gradient down both paths and add them back.
    """

    def __init__(self, params, num_heads, norm_first=False, mask=None, dropout=0.1,
                 mask_sources=None, approximate="none", eps=1e-5):
        sources = mask_sources or {}
        drop = {name: Dropout(dropout, "inverted", mask_source=sources.get(name))
                for name in ("dropout", "dropout1", "dropout2")}
        super().__init__(
            self_attn=MultiHeadAttention(sub_params(params, "self_attn"), num_heads, mask),
            norm1=LayerNorm(params["norm1.gamma"], params["norm1.beta"], eps),
            norm2=LayerNorm(params["norm2.gamma"], params["norm2.beta"], eps),
            linear1=Linear(params["linear1.W"], params["linear1.b"]),
            activation=GELU(approximate),
            linear2=Linear(params["linear2.W"], params["linear2.b"]),
            **drop)
        self.norm_first = norm_first

    def sublayers(self, names, x, train_flg):
        for name in names:
            layer = self.layers[name]
            x = layer.forward(x, train_flg) if isinstance(layer, Dropout) else layer.forward(x)
        return x

    def back_through(self, names, dout):
        for name in reversed(names):
            dout = self.layers[name].backward(dout)
        return dout

    ATTENTION = ("self_attn", "dropout1")
    FEED_FORWARD = ("linear1", "activation", "dropout", "linear2", "dropout2")

    def forward(self, x, train_flg=True):
        if self.norm_first:
            x = x + self.sublayers(("norm1",) + self.ATTENTION, x, train_flg)
            return x + self.sublayers(("norm2",) + self.FEED_FORWARD, x, train_flg)
        x = self.layers["norm1"].forward(x + self.sublayers(self.ATTENTION, x, train_flg))
        return self.layers["norm2"].forward(x + self.sublayers(self.FEED_FORWARD, x, train_flg))

    def backward(self, dout):
        if self.norm_first:  # x + f(norm(x)): the identity path plus the branch
            dout = dout + self.back_through(("norm2",) + self.FEED_FORWARD, dout)
            dx = dout + self.back_through(("norm1",) + self.ATTENTION, dout)
        else:  # norm(x + f(x)): through the norm, then both paths
            d = self.layers["norm2"].backward(dout)
            d = d + self.back_through(self.FEED_FORWARD, d)
            d = self.layers["norm1"].backward(d)
            dx = d + self.back_through(self.ATTENTION, d)
        self.collect_grads()
        return dx


class SequenceTransformer(Composite):
    """A token classifier per position: embed -> positions -> encoder block -> linear.

    ``loss(ids, targets)`` is the mean cross-entropy over every token (log-softmax form);
    ``backward()`` then fills ``grads`` under the names of ``params``.
    """

    def __init__(self, params, num_heads, max_len, dropout, mask_sources=None, *,
                 norm_first):
        E = params["embed.W"].shape[1]
        super().__init__(
            embed=Embedding(params["embed.W"]),
            pos=PositionalEncoding(max_len, E),
            block=TransformerEncoderBlock(sub_params(params, "block"), num_heads,
                                          norm_first=norm_first, dropout=dropout,
                                          mask_sources=mask_sources),
            head=Linear(params["head.W"], params["head.b"]))
        self.loss_layer = SoftmaxWithLoss("log_softmax")

    def predict(self, ids, train_flg=False):
        x = self.layers["pos"].forward(self.layers["embed"].forward(ids))
        x = self.layers["block"].forward(x, train_flg)
        return self.layers["head"].forward(x)

    def loss(self, ids, targets, train_flg=False):
        logits = self.predict(ids, train_flg)
        self.logits_shape = logits.shape
        return self.loss_layer.forward(logits.reshape(-1, logits.shape[-1]),
                                       targets.reshape(-1))

    def backward(self, dout=1):
        d = self.loss_layer.backward(dout).reshape(self.logits_shape)
        for name in ("head", "block", "pos", "embed"):
            d = self.layers[name].backward(d)
        self.collect_grads()

    def accuracy(self, ids, targets):
        return float(np.mean(self.predict(ids).argmax(axis=-1) == targets))
