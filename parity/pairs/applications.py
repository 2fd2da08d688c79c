"""The study notes' "applications" chapter: ResNet, Transformer, GAN and policy-gradient
pieces (scratch/resnet.py, transformer.py, gan.py, policy.py) against their twins.

Every layer and block is a ``LayerPair`` (random upstream gradient, both dtypes, every
parameter gradient and running statistic, finite differences in float64).  Variants of
one component that share a convention question draw the SAME weights (``shared``), so
a ``ConventionGap`` between them measures the convention, not two random draws.
The four training runs (parity.experiments.applications) run 3 steps in ``make parity``
and 200 steps with ``--slow``.
"""

from dataclasses import dataclass

import numpy as np

import scratch.gan as SG
import scratch.policy as SP
import scratch.resnet as SR
import scratch.transformer as ST
import torch_ref.gan as TG
import torch_ref.policy as TP
import torch_ref.resnet as TR
import torch_ref.transformer as TT
from parity.engine.compare import compare
from parity.engine.inputs import replayed_masks, source, with_values
from parity.engine.layer_pair import BENCH_BATCH, BenchSize, Call, LayerPair, Sample
from parity.engine.probes import ConventionGap
from parity.engine.registry import register
from parity.engine.tolerances import Tolerance, tolerance_for
from parity.engine.transfer import Link
from parity.experiments.applications import DESCRIPTIONS, MNIST_RUNS, RUNS, mirror_links

CHAPTER = "applications"
NORM_LINKS = (Link("gamma", "weight"), Link("beta", "bias"))


def shared(component, draw):
    """init_params drawing from one source per component, whatever the variant."""
    return lambda rng: draw(source(component, "shared weights"))


# ---- LayerNorm, GELU, global average pooling, token-wise Linear ------------------------
def layer_norm_samples(shape):
    def samples(rng):
        x = rng.standard_normal(shape)
        return [
            Sample.of("randn", 2 * x + 1),
            # variance 1e-6 per token: eps (1e-5) dominates the denominator
            Sample.of("std 1e-3 (eps dominates)", 1e-3 * x, input_scale=1e-3),
            Sample.of("std 1e3", 1e3 * x, input_scale=1e3),
        ]
    return samples


def gamma_beta(n):
    return lambda rng: {"gamma": 1 + 0.5 * rng.standard_normal(n),
                        "beta": 0.5 * rng.standard_normal(n)}


def layer_norm(shape, eps=1e-5):
    n = shape[-1]
    setting = "" if eps == 1e-5 else f", eps {eps:g}"
    return LayerPair("LayerNorm", f"{len(shape)}-D input {shape}{setting}",
                     scratch=lambda p: ST.LayerNorm(p["gamma"], p["beta"], eps=eps),
                     torch=lambda p: TT.LayerNorm(n, eps=eps), samples=layer_norm_samples(shape),
                     init_params=gamma_beta(n), params=NORM_LINKS)


def gelu_samples(rng):
    return [
        Sample.of("randn(5,7)", 2 * rng.standard_normal((5, 7))),
        Sample.of("extremes", with_values(rng.standard_normal((3, 8)),
                                          [30.0, -30.0, 8.0, -8.0, 0.0, 1e-8], rng)),
        Sample.of("randn(2,3,4)", rng.standard_normal((2, 3, 4))),
    ]


GELU_EXACT, GELU_TANH = "exact (erf), nn.GELU()", "tanh approximation"


def gelu(variant, approximate):
    return LayerPair("GELU", variant, scratch=lambda p: ST.GELU(approximate),
                     torch=lambda p: TT.GELU(approximate), samples=gelu_samples)


def pooling_samples(rng):
    return [Sample.of("x(2,3,4,5)", rng.standard_normal((2, 3, 4, 5))),
            Sample.of("x(1,2,1,1)", rng.standard_normal((1, 2, 1, 1))),
            Sample.of("x(3,4,7,7)", rng.standard_normal((3, 4, 7, 7)))]


def linear(bias):
    def init(rng):
        p = {"W": rng.standard_normal((8, 4)) / np.sqrt(8)}
        return p | ({"b": rng.standard_normal(4)} if bias else {})
    links = (Link("W", "weight", "transpose"),) + ((Link("b", "bias"),) if bias else ())
    return LayerPair("Linear (token-wise)", "bias" if bias else "no bias",
                     scratch=lambda p: ST.Linear(p["W"], p.get("b")),
                     torch=lambda p: TT.Linear(8, 4, bias=bias),
                     samples=lambda rng: [Sample.of("x(2,5,8)", rng.standard_normal((2, 5, 8))),
                                          Sample.of("x(3,8)", rng.standard_normal((3, 8)))],
                     init_params=init, params=links)


register(
    layer_norm((6, 5)), layer_norm((2, 4, 6)), layer_norm((6, 5), eps=1e-3),
    gelu(GELU_EXACT, "none"), gelu(GELU_TANH, "tanh"),
    ConventionGap("GELU", GELU_TANH, GELU_EXACT, lambda rng: gelu_samples(rng)[0], ("out", "dx"),
                  why="nn.GELU() is the erf form (approximate='none'); the tanh approximation "
                      "(nn.GELU(approximate='tanh'), BERT/GPT-2) differs by up to ~5e-4 in "
                      "the output near |x| ~ 2"),
    LayerPair("GlobalAvgPooling", "nn.AdaptiveAvgPool2d(1) + Flatten",
              scratch=lambda p: SR.GlobalAvgPooling(), torch=lambda p: TR.GlobalAvgPooling(),
              samples=pooling_samples),
    linear(True), linear(False),
)


# ---- ResidualBlock and a small ResNet ----------------------------------------------------
def random_bn(params, rng):
    """BatchNorm gamma/beta away from 1/0, so a swapped or missing one shows."""
    return {k: (1 + 0.3 * rng.standard_normal(v.shape)) if k.endswith("gamma")
            else 0.3 * rng.standard_normal(v.shape) if k.endswith("beta") else v
            for k, v in params.items()}


def block_init(c_in, c_out):
    def init(rng):
        return random_bn(SR.block_params(rng, c_in, c_out), rng)
    return init


def block_samples(shape):
    def samples(rng):
        def x():
            return rng.standard_normal(shape)
        return [
            Sample.of("train", x(), train=True),
            Sample.of("eval (start statistics)", x(), train=False),
            Sample("2 train + eval", (Call((x(),), True), Call((x(),), True),
                                      Call((x(),), False))),
        ]
    return samples


def residual_block(variant, c_in, c_out, stride, shape):
    init = block_init(c_in, c_out)
    params, state = mirror_links(TR.ResidualBlock(c_in, c_out, stride),
                                 init(np.random.default_rng(0)))
    return LayerPair("ResidualBlock", variant,
                     scratch=lambda p: SR.ResidualBlock(p, stride),
                     torch=lambda p: TR.ResidualBlock(c_in, c_out, stride),
                     samples=block_samples(shape), init_params=init, params=params, state=state)


RESNET_WIDTHS = (2, 3, 4)


def resnet_init(rng):
    return random_bn(SR.resnet_params(RESNET_WIDTHS, rng=rng), rng)


def resnet_samples(rng):
    """The loss (finite differences too); logits in train then eval mode (a multi-call
    sample: every running statistic after each call, no finite differences -- they cost
    a whole-network forward per perturbed element)."""
    x, t = rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 10, 3)
    return [Sample.of("loss, train", x, t, train=True),
            Sample("logits: train, eval", (Call((x,), True),
                                           Call((rng.standard_normal((2, 1, 8, 8)),), False)))]


def resnet_pair():
    params, state = mirror_links(TR.ResNet(RESNET_WIDTHS), resnet_init(np.random.default_rng(0)))
    return LayerPair("ResNet", f"3 stages {RESNET_WIDTHS}, 8x8 input",
                     scratch=lambda p: SR.ResNet(p, len(RESNET_WIDTHS)),
                     torch=lambda p: TR.ResNet(RESNET_WIDTHS), samples=resnet_samples,
                     init_params=resnet_init, params=params, state=state)


register(
    residual_block("identity shortcut, stride 1", 3, 3, 1, (4, 3, 5, 5)),
    residual_block("1x1 projection shortcut, stride 2", 2, 4, 2, (4, 2, 6, 5)),
    resnet_pair(),
)


# ---- Embedding, positions, attention ---------------------------------------------------
def embedding_samples(rng):
    return [Sample.of("ids(3,6) with repeats", rng.integers(0, 5, (3, 6))),
            Sample.of("ids(1,1)", np.array([[4]]))]


def positional(E):
    return LayerPair("PositionalEncoding", f"sinusoidal, E={E}",
                     scratch=lambda p: ST.PositionalEncoding(16, E),
                     torch=lambda p: TT.PositionalEncoding(16, E),
                     samples=lambda rng: [Sample.of("x(2,5)", rng.standard_normal((2, 5, E))),
                                          Sample.of("x(1,16)", rng.standard_normal((1, 16, E)))])


N, T, E, H = 2, 5, 8, 2
LENGTHS = (5, 3)  # sequence 2 is padded after 3 tokens


def attention_samples(rng):
    return [Sample.of("qkv(3,2,2,5,4)", rng.standard_normal((3, N, H, T, E // H))),
            Sample.of("qkv(3,1,1,1,3)", rng.standard_normal((3, 1, 1, 1, 3))),
            # nearly one-hot attention.  float64 only: float32 rounding of both sides'
            # O(10) gradients reaches 2.4e-5 here (measured), over assert_close's atol 1e-5
            Sample.of("large scores", 4 * rng.standard_normal((3, N, H, T, E // H)),
                      input_scale=4, dtypes=("float64",)),
            # (3, ..., T, d) with no head axis: q is 3-D, so its key axis is -2 = 1, not 2
            Sample.of("qkv(3,2,5,4) no head axis", rng.standard_normal((3, N, T, E // H)))]


def sdpa(variant, mask=None, is_causal=False):
    def samples(rng):
        return attention_samples(rng)[::2] if mask is not None or is_causal else \
            attention_samples(rng)
    scratch_mask = ST.causal_mask(T) if is_causal else mask
    # q, k, v are stacked on axis 0, so the batch is axis 1; a padding mask is drawn for N
    batch = N if mask is not None else BENCH_BATCH
    return LayerPair("ScaledDotProductAttention", variant,
                     scratch=lambda p: ST.ScaledDotProductAttention(scratch_mask),
                     torch=lambda p: TT.ScaledDotProductAttention(mask, is_causal),
                     samples=samples, bench=BenchSize(inputs=((3, batch, H, T, E // H),)))


def mha_params(packed=True, bias=True):
    def draw(rng):
        W = {k: rng.standard_normal((E, E)) / np.sqrt(E) for k in ("Wq", "Wk", "Wv", "Wo")}
        b = {k: 0.3 * rng.standard_normal(E) for k in ("bq", "bk", "bv", "bo")}
        p = dict(W) | (b if bias else {})
        if packed:
            p["W_qkv"] = np.concatenate([p.pop("Wq"), p.pop("Wk"), p.pop("Wv")], axis=1)
            if bias:
                p["b_qkv"] = np.concatenate([p.pop("bq"), p.pop("bk"), p.pop("bv")])
        return p
    return shared("MultiHeadAttention", draw)


def mha_samples(rng):
    return [Sample.of("x(2,5,8)", rng.standard_normal((N, T, E))),
            Sample.of("x(1,1,8)", rng.standard_normal((1, 1, E)))]


def mha_masked_samples(rng):
    return mha_samples(rng)[:1]


PACKED = "packed QKV, batch_first (nn.MultiheadAttention)"
SEQ_FIRST = "packed QKV, sequence first (nn.MultiheadAttention's default batch_first=False)"
NO_BIAS = "packed QKV, bias=False"


def mha(variant, twin, packed=True, bias=True, mask=None, batch_first=True,
        samples=mha_samples):
    init = mha_params(packed, bias)
    params, _ = mirror_links(twin(), init(None))
    # a padding mask is drawn for N sequences: its benchmark keeps the sample's size
    bench = BenchSize(inputs=((N, T, E),)) if mask is not None and mask.shape[0] == N else None
    return LayerPair("MultiHeadAttention", variant,
                     scratch=lambda p: ST.MultiHeadAttention(p, H, mask, batch_first),
                     torch=lambda p: twin(), samples=samples, init_params=init, params=params,
                     bench=bench)


PADDING = ST.padding_mask(LENGTHS, T)  # (N, 1, 1, T), True = may attend

register(
    LayerPair("Embedding", "nn.Embedding", scratch=lambda p: ST.Embedding(p["W"]),
              torch=lambda p: TT.Embedding(5, 4), samples=embedding_samples,
              init_params=lambda rng: {"W": rng.standard_normal((5, 4))},
              params=(Link("W", "weight"),), grad_inputs=()),
    positional(8), positional(6),
    sdpa("no mask"),
    sdpa("causal (is_causal=True)", is_causal=True),
    sdpa("padding mask (bool, True = attend)", mask=PADDING),
    mha(PACKED, lambda: TT.SelfAttention(E, H)),
    mha("separate q/k/v projections (nn.Linear + F.scaled_dot_product_attention)",
        lambda: TT.SeparateProjections(E, H), packed=False),
    mha(NO_BIAS, lambda: TT.SelfAttention(E, H, bias=False), bias=False),
    mha("separate q/k/v projections, bias=False",
        lambda: TT.SeparateProjections(E, H, bias=False), packed=False, bias=False),
    mha(SEQ_FIRST, lambda: TT.SelfAttention(E, H, batch_first=False), batch_first=False),
    # nn.MultiheadAttention reads a bool mask as True = NOT allowed: the twins get ~mask
    mha("causal mask", lambda: TT.SelfAttention(E, H, attn_mask=~ST.causal_mask(T)),
        mask=ST.causal_mask(T), samples=mha_masked_samples),
    mha("key padding mask", lambda: TT.SelfAttention(E, H, key_padding_mask=~PADDING[:, 0, 0]),
        mask=PADDING, samples=mha_masked_samples),
    ConventionGap("MultiHeadAttention", SEQ_FIRST, PACKED,
                  lambda rng: Sample.of("x(2,5,8)", rng.standard_normal((N, T, E))), ("out",),
                  why="the same (2, 5, 8) array is 5 sequences of 2 tokens to "
                      "nn.MultiheadAttention's default (batch_first=False), 2 of 5 with "
                      "batch_first=True: other tokens attend to each other"),
    ConventionGap("MultiHeadAttention", NO_BIAS, PACKED,
                  lambda rng: Sample.of("x(2,5,8)", rng.standard_normal((N, T, E))), ("out",),
                  why="nn.MultiheadAttention has in_proj and out_proj biases by default "
                      "(bias=True); the same weights without them give other outputs"),
)


# ---- the encoder block -----------------------------------------------------------------
FF, P = 12, 0.2
BLOCK_KEYS = {"self_attn.W_qkv": (E, 3 * E), "self_attn.b_qkv": (3 * E,),
              "self_attn.Wo": (E, E), "self_attn.bo": (E,),
              "norm1.gamma": (E,), "norm1.beta": (E,), "norm2.gamma": (E,), "norm2.beta": (E,),
              "linear1.W": (E, FF), "linear1.b": (FF,), "linear2.W": (FF, E), "linear2.b": (E,)}


def block_params(rng):
    p = {k: rng.standard_normal(s) / np.sqrt(s[0]) if len(s) == 2
         else 0.3 * rng.standard_normal(s) for k, s in BLOCK_KEYS.items()}
    p["norm1.gamma"] += 1
    p["norm2.gamma"] += 1
    return p


def block_masks():
    return {name: replayed_masks(P, "encoder block", name)
            for name in ("dropout", "dropout1", "dropout2")}


def encoder_samples(rng):
    # one sample for finite differences; the multi-call one checks train and eval modes
    return [Sample.of("train x(2,5,8)", rng.standard_normal((N, T, E)), train=True),
            Sample("train, train, eval", tuple(Call((rng.standard_normal((N, T, E)),), t)
                                               for t in (True, True, False)))]


POST, PRE = "post-norm (nn.TransformerEncoderLayer default)", "pre-norm (norm_first=True)"
TANH = "post-norm, tanh GELU"


def encoder(variant, norm_first=False, dropout=0.0, causal=False, approximate="none",
            eps=1e-5):
    def scratch_block(p):  # fresh mask sources per build: every build replays the same masks
        return ST.TransformerEncoderBlock(
            p, H, norm_first, ST.causal_mask(T) if causal else None, dropout,
            block_masks() if dropout else None, approximate, eps)

    def twin(p=None):
        return TT.EncoderBlock(E, H, FF, dropout, norm_first,
                               block_masks() if dropout else None, approximate, causal, eps)

    params, _ = mirror_links(twin(), BLOCK_KEYS)
    return LayerPair("TransformerEncoderBlock", variant, scratch=scratch_block, torch=twin,
                     samples=encoder_samples,
                     init_params=shared("TransformerEncoderBlock", block_params), params=params)


register(
    encoder(POST), encoder(PRE, norm_first=True),
    encoder(f"post-norm, dropout {P} (injected masks)", dropout=P),
    encoder(f"pre-norm, dropout {P}, causal mask", norm_first=True, dropout=P, causal=True),
    encoder(TANH, approximate="tanh"),
    encoder("post-norm, LayerNorm eps 1e-3", eps=1e-3),
    ConventionGap("TransformerEncoderBlock", PRE, POST,
                  lambda rng: Sample.of("x", rng.standard_normal((N, T, E)), train=True),
                  ("out", "dx"),
                  why="nn.TransformerEncoderLayer is post-norm by default (norm_first=False, "
                      "the 2017 paper); GPT-style blocks normalise first: other outputs "
                      "from the same weights"),
    ConventionGap("TransformerEncoderBlock", TANH, POST,
                  lambda rng: Sample.of("x", rng.standard_normal((N, T, E)), train=True),
                  ("out",),
                  why="activation='gelu' in nn.TransformerEncoderLayer is the erf GELU; "
                      "a tanh-GELU block gives other outputs from the same weights"),
)


# ---- GAN loss and the policy-gradient loss ---------------------------------------------
def bce_samples(rng):
    def targets(shape):
        return rng.integers(0, 2, shape).astype(float)
    return [
        Sample.of("logits(6,1)", 2 * rng.standard_normal((6, 1)), targets((6, 1))),
        # a naive log(sigmoid(x)) is -inf at x = -1000; the stable form is exact
        Sample.of("logits +-1000", with_values(rng.standard_normal((4, 3)),
                                               [1000.0, -1000.0, 800.0, -800.0], rng),
                  targets((4, 3))),
        Sample.of("logits(5,3)", 3 * rng.standard_normal((5, 3)), targets((5, 3))),
    ]


def reinforce_samples(rng):
    def sample(name, n, k):
        return Sample.of(name, 2 * rng.standard_normal((n, k)), rng.integers(0, k, n),
                         rng.standard_normal(n))
    return [sample("7 steps, 2 actions", 7, 2), sample("5 steps, 4 actions", 5, 4),
            sample("1 step", 1, 2)]


register(
    LayerPair("BCEWithLogits", "mean, nn.BCEWithLogitsLoss", scratch=lambda p: SG.BCEWithLogits(),
              torch=lambda p: TG.BCEWithLogits(), samples=bce_samples),
    LayerPair("ReinforceLoss", "mean over steps, advantage-weighted",
              scratch=lambda p: SP.ReinforceLoss(), torch=lambda p: TP.ReinforceLoss(),
              samples=reinforce_samples),
)


# ---- the training runs ----------------------------------------------------------------
QUICK_STEPS, STEPS = 3, 200


@dataclass(frozen=True)
class ApplicationRun:
    """One of parity.experiments.applications.RUNS, both sides, every step compared."""

    name: str
    steps: int
    slow: bool
    dtypes: tuple = ("float64", "float32")

    @property
    def component(self):
        return f"training: {self.name}"

    @property
    def variant(self):
        data = ", synthetic images (no MNIST)" if self.quick and self.name in MNIST_RUNS else ""
        return f"{self.steps} steps{data}"

    @property
    def quick(self):
        return not self.slow

    def run(self, dtype):
        outcome = RUNS[self.name](dtype, self.steps, quick=self.quick)
        return run_checks(self, outcome)


def first_drift(rel_gap, steps, threshold=1e-6):
    over = np.flatnonzero(rel_gap > threshold)
    return (f"first step with relative gap > {threshold:g}: {int(steps[over[0]])}" if len(over)
            else f"relative gap <= {threshold:g} at every step")


def run_checks(entry, outcome):
    """Losses at every step within the training tolerance; the parameter gap (relative to
    the largest parameter) within its rtol at every step; run-specific extras."""
    dtype, curve = outcome.dtype, outcome.curve
    tol = tolerance_for(f"training-{dtype}")
    label = dict(component=entry.component, variant=entry.variant, dtype=dtype,
                 sample=DESCRIPTIONS[entry.name], oracle="torch")
    steps = curve.step.to_numpy()
    checks = []
    for loss in outcome.losses:
        ours, theirs = curve[f"{loss}_scratch"].to_numpy(), curve[f"{loss}_torch"].to_numpy()
        check = compare(ours, theirs, tol, quantity=f"{loss} at every step", **label)
        check.note = (f"{loss} {theirs[0]:.3f} -> {theirs[-1]:.3f}; "
                      + first_drift(np.abs(ours - theirs) / np.abs(theirs), steps))
        checks.append(check)
    gap = curve.param_gap.to_numpy()
    check = compare(gap, np.zeros_like(gap), Tolerance(rtol=0.0, atol=tol.rtol),
                    quantity="parameter gap at every step", **label)
    check.note = f"max |scratch - torch| / max|param|: final {gap[-1]:.2e}; " + first_drift(
        gap, steps)
    checks.append(check)
    if "running stats" in outcome.extra:
        ours, theirs = outcome.extra["running stats"]
        scale = max(float(np.abs(v).max()) for v in theirs.values())
        checks += [compare(ours[k], v, Tolerance(rtol=0.0, atol=tol.rtol * scale),
                           quantity=f"final {k}", **label) for k, v in theirs.items()]
    if "batches with different actions" in outcome.extra:
        checks.append(compare(np.float64(outcome.extra["batches with different actions"]),
                              np.float64(0.0), tolerance_for("exact"),
                              quantity="batches where torch's policy chose other actions",
                              **label))
    return checks


register(*(ApplicationRun(name, steps, slow=steps > QUICK_STEPS)
           for steps in (QUICK_STEPS, STEPS) for name in RUNS))
