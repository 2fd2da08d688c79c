"""PyTorch twins of ``scratch.transformer``: stock modules configured to the same math.

Where the stock defaults differ from the scratch layers (the parity suite measures
each difference with a convention probe):
- ``nn.MultiheadAttention`` is sequence-first unless ``batch_first=True``, has biases
  unless ``bias=False``, and reads a bool ``attn_mask`` as True = NOT allowed;
  ``F.scaled_dot_product_attention`` reads it as True = allowed (as the scratch layer);
- ``nn.TransformerEncoderLayer`` is post-norm unless ``norm_first=True``, uses ReLU
  unless told ``activation="gelu"``, and its GELU is the erf form unless
  ``approximate="tanh"``; it also drops attention weights inside ``self_attn`` (set to
  0 here: that dropout runs inside ``F.multi_head_attention_forward`` and cannot take
  an injected mask).
"""

import torch
import torch.nn.functional as F
from torch import nn

import torch_ref.layers as L

Linear = nn.Linear
LayerNorm = nn.LayerNorm
Embedding = nn.Embedding


def GELU(approximate="none"):
    return nn.GELU(approximate=approximate)


class PositionalEncoding(nn.Module):
    """Adds sin/cos positions (Vaswani et al.); torch has no stock module for it."""

    def __init__(self, max_len, E):
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        freq = torch.pow(torch.tensor(10000.0, dtype=torch.float64),
                         -torch.arange(0, E, 2, dtype=torch.float64) / E)
        table = torch.zeros(max_len, E, dtype=torch.float64)
        table[:, 0::2] = torch.sin(pos * freq)
        table[:, 1::2] = torch.cos(pos * freq)[:, : E // 2]
        self.register_buffer("table", table)

    def forward(self, x):
        return x + self.table[: x.shape[1]].to(x.dtype)


class ScaledDotProductAttention(nn.Module):
    """``F.scaled_dot_product_attention`` on q, k, v stacked as (3, ..., T, d).

    ``mask``: bool, True = may attend (F.scaled_dot_product_attention's meaning);
    ``is_causal``: torch's own causal mask instead.
    """

    def __init__(self, mask=None, is_causal=False):
        super().__init__()
        # a buffer, so that .to(device) takes it along (not saved: not a weight)
        self.register_buffer("mask", None if mask is None else torch.as_tensor(mask),
                             persistent=False)
        self.is_causal = is_causal

    def forward(self, qkv):
        q, k, v = qkv
        return F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask,
                                              is_causal=self.is_causal)


class SelfAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` as self-attention on one input (its own parameter names:
    ``in_proj_weight`` packs q, k, v).  ``attn_mask``/``key_padding_mask`` in torch's
    meaning: True = NOT allowed."""

    def __init__(self, E, num_heads, bias=True, batch_first=True, attn_mask=None,
                 key_padding_mask=None):
        super().__init__(E, num_heads, bias=bias, batch_first=batch_first)
        for name, mask in (("attn_mask", attn_mask), ("key_padding_mask", key_padding_mask)):
            self.register_buffer(name, None if mask is None else torch.as_tensor(mask),
                                 persistent=False)  # moves with .to(device)

    def forward(self, x):
        return super().forward(x, x, x, attn_mask=self.attn_mask,
                               key_padding_mask=self.key_padding_mask, need_weights=False)[0]


class SeparateProjections(nn.Module):
    """Multi-head self-attention written out: q, k, v and output ``nn.Linear`` layers,
    heads split as nn.MultiheadAttention splits them, ``F.scaled_dot_product_attention``
    in between.  ``mask``: bool, True = may attend."""

    def __init__(self, E, num_heads, bias=True, mask=None):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (
            nn.Linear(E, E, bias=bias) for _ in range(4))
        self.register_buffer("mask", None if mask is None else torch.as_tensor(mask),
                             persistent=False)  # moves with .to(device)

    def forward(self, x):
        N, T, E = x.shape
        H = self.num_heads

        def heads(t):
            return t.reshape(N, T, H, E // H).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.q_proj(x)), heads(self.k_proj(x)),
                                             heads(self.v_proj(x)), attn_mask=self.mask)
        return self.out_proj(out.transpose(1, 2).reshape(N, T, E))


class EncoderBlock(nn.TransformerEncoderLayer):
    """``nn.TransformerEncoderLayer`` (batch-first, GELU) with the scratch block's dropout:
    ``mask_sources`` ({"dropout", "dropout1", "dropout2"} -> keep-mask source) swaps the
    three nn.Dropout modules for mask-injected ones with nn.Dropout's arithmetic.
    ``causal``: the causal mask, passed as ``src_mask`` (True = NOT allowed) with
    ``is_causal=True``."""

    def __init__(self, E, num_heads, dim_feedforward, dropout=0.1, norm_first=False,
                 mask_sources=None, approximate="none", causal=False, eps=1e-5):
        activation = "gelu" if approximate == "none" else nn.GELU(approximate=approximate)
        super().__init__(E, num_heads, dim_feedforward, dropout, activation=activation,
                         layer_norm_eps=eps, batch_first=True, norm_first=norm_first)
        self.self_attn.dropout = 0.0  # attention-weight dropout: not in the scratch block
        for name, source in (mask_sources or {}).items():
            setattr(self, name, L.Dropout(dropout, "inverted", mask_source=source))
        self.causal = causal

    def forward(self, x):
        if not self.causal:
            return super().forward(x)
        T = x.shape[1]
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        return super().forward(x, src_mask=mask, is_causal=True)


class SequenceTransformer(nn.Module):
    """Twin of ``scratch.transformer.SequenceTransformer``: forward(ids) -> logits,
    forward(ids, targets) -> mean cross-entropy over every token."""

    def __init__(self, vocab, E, num_heads, dim_feedforward, max_len, dropout=0.1,
                 mask_sources=None, norm_first=False):
        super().__init__()
        self.embed = nn.Embedding(vocab, E)
        self.pos = PositionalEncoding(max_len, E)
        self.block = EncoderBlock(E, num_heads, dim_feedforward, dropout,
                                  norm_first=norm_first, mask_sources=mask_sources)
        self.head = nn.Linear(E, vocab)

    def forward(self, ids, targets=None):
        logits = self.head(self.block(self.pos(self.embed(ids))))
        if targets is None:
            return logits
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

