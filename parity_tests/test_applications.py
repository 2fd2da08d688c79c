"""The applications chapter (ResNet, Transformer, GAN, policy gradient): a planted bug in
each new scratch component is caught, the convention probes fail when the gap vanishes,
weights travel both ways, and the training runs catch a broken update.

(Every registry entry itself runs in test_registry.py.)
"""

import dataclasses

import numpy as np
import pytest
import torch

import scratch.gan as SG
import scratch.policy as SP
import scratch.resnet as SR
import scratch.transformer as ST
import torch_ref.gan as TG
import torch_ref.policy as TP
import torch_ref.resnet as TR
import torch_ref.transformer as TT
from parity.engine.probes import ConventionGap
from parity.engine.registry import find
from parity.engine.transfer import (
    load_into_scratch,
    load_into_torch,
    read_from_torch,
    scratch_attr,
)
from parity.experiments.applications import RUNS, mirror_links
from parity.pairs import applications as A
from parity.pairs.applications import ApplicationRun, run_checks
from parity_tests.helpers import STAND_IN_DEVICE


def failures(pair, dtype="float64", **changes):
    checks = dataclasses.replace(pair, **changes).run(dtype)
    return [c for c in checks if not c.passed]


def failed_quantities(component, variant, scratch, dtype="float64"):
    bad = failures(find(component, variant), dtype, scratch=scratch)
    assert bad, f"a planted bug in {component} [{variant}] went unnoticed"
    return {c.quantity for c in bad}, {c.oracle for c in bad}


# ---- planted bugs, one per component ------------------------------------------------------
class LayerNormStdConstant(ST.LayerNorm):
    def backward(self, dout):
        super().backward(dout)
        return dout * self.params["gamma"] / self.std  # forgets that mean and std depend on x


class GELUWithoutPdf(ST.GELU):
    def backward(self, dout):
        return dout * self.cdf  # drops the x * phi(x) term


class GELUTanhWrongDerivative(ST.GELU):
    def backward(self, dout):
        c = np.sqrt(2 / np.pi)
        dinner = c * (1 + 0.044715 * self.x**2)  # should be 3 * 0.044715
        return dout * (0.5 * (1 + self.t) + 0.5 * self.x * (1 - self.t**2) * dinner)


class PoolingNotAveraged(SR.GlobalAvgPooling):
    def backward(self, dout):
        return np.broadcast_to(dout[:, :, None, None], self.input_shape).copy()  # no / (H*W)


class LinearBiasPerToken(ST.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.sum(axis=0)  # summed over the batch only: (T, out) for 3-D input
        return dx


class BlockWithoutSkipGradient(SR.ResidualBlock):
    def backward(self, dout):
        dsum = self.layers["relu_out"].backward(dout)
        d = dsum
        for name in reversed(self.MAIN):
            d = self.layers[name].backward(d)
        if self.projection:  # its parameters still get gradients ...
            for name in reversed(self.SHORTCUT):
                self.layers[name].backward(dsum)
        self.collect_grads()
        return d  # ... but the skip path's share of dx is lost


class EmbeddingDropsRepeats(ST.Embedding):
    def backward(self, dout):
        dW = np.zeros_like(self.params["W"])
        dW[self.ids] += dout  # fancy-index += keeps one of the repeated rows only
        self.grads["W"] = dW


class PositionsSwapped(ST.PositionalEncoding):
    def __init__(self, max_len, E):
        super().__init__(max_len, E)
        self.table = self.table[:, ::-1].copy()  # cos where sin belongs


class AttentionUnscaled(ST.ScaledDotProductAttention):
    def forward(self, qkv):
        return super().forward(qkv * np.sqrt(np.sqrt(qkv.shape[-1])))  # q k^T not / sqrt(d)


class HeadsInterleaved(ST.MultiHeadAttention):
    """Splits q, k, v per head first ((T, H, 3, d) instead of (T, 3, H, d))."""

    def forward(self, x):
        N, T, E = x.shape
        W, b = self.in_projection()
        self.x = x
        qkv = x @ W + b
        heads = qkv.reshape(N, T, self.num_heads, 3, E // self.num_heads).transpose(3, 0, 2, 1, 4)
        out = self.attention.forward(heads)
        self.merged = out.transpose(0, 2, 1, 3).reshape(N, T, E)
        return self.merged @ self.params["Wo"] + self.params["bo"]


class PostNormWithoutResidualGradient(ST.TransformerEncoderBlock):
    def backward(self, dout):
        d = self.layers["norm2"].backward(dout)
        d = self.back_through(self.FEED_FORWARD, d)  # the residual path's d is dropped
        d = self.layers["norm1"].backward(d)
        dx = d + self.back_through(self.ATTENTION, d)
        self.collect_grads()
        return dx


class NaiveBCE(SG.BCEWithLogits):
    def forward(self, x, t):
        self.x, self.t = x, t.astype(x.dtype)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            y = 1 / (1 + np.exp(-x))  # 0 or 1 exactly at |x| ~ 40: log(0) = -inf
            loss = -(self.t * np.log(y) + (1 - self.t) * np.log(1 - y))
        return loss.sum() / x.size


class ReinforceIgnoresAdvantage(SP.ReinforceLoss):
    def backward(self, dout=1):
        d = self.y.copy()
        d[np.arange(len(self.actions)), self.actions] -= 1
        return d * (dout / len(self.actions))


BITES = [
    ("LayerNorm", "2-D input (6, 5)", lambda p: LayerNormStdConstant(p["gamma"], p["beta"]),
     {"dx"}),
    ("GELU", A.GELU_EXACT, lambda p: GELUWithoutPdf("none"), {"dx"}),
    ("GELU", A.GELU_TANH, lambda p: GELUTanhWrongDerivative("tanh"), {"dx"}),
    ("GlobalAvgPooling", "nn.AdaptiveAvgPool2d(1) + Flatten", lambda p: PoolingNotAveraged(),
     {"dx"}),
    ("Linear (token-wise)", "bias", lambda p: LinearBiasPerToken(p["W"], p["b"]), {"db"}),
    ("ResidualBlock", "identity shortcut, stride 1", lambda p: BlockWithoutSkipGradient(p),
     {"dx"}),
    ("ResidualBlock", "1x1 projection shortcut, stride 2",
     lambda p: BlockWithoutSkipGradient(p, 2), {"dx"}),
    ("Embedding", "nn.Embedding", lambda p: EmbeddingDropsRepeats(p["W"]), {"dW"}),
    ("PositionalEncoding", "sinusoidal, E=8", lambda p: PositionsSwapped(16, 8), {"out"}),
    ("ScaledDotProductAttention", "no mask", lambda p: AttentionUnscaled(), {"out"}),
    ("MultiHeadAttention", A.PACKED, lambda p: HeadsInterleaved(p, A.H), {"out"}),
    ("TransformerEncoderBlock", A.POST, lambda p: PostNormWithoutResidualGradient(p, A.H),
     {"dx"}),
    ("BCEWithLogits", "mean, nn.BCEWithLogitsLoss", lambda p: NaiveBCE(), {"out"}),
    ("ReinforceLoss", "mean over steps, advantage-weighted",
     lambda p: ReinforceIgnoresAdvantage(), {"dx"}),
]


@pytest.mark.parametrize("component,variant,scratch,expected", BITES,
                         ids=[f"{b[0]}-{b[1]}" for b in BITES])
def test_planted_bug_is_caught(component, variant, scratch, expected):
    quantities, oracles = failed_quantities(component, variant, scratch)
    assert expected <= quantities, quantities
    assert "torch" in oracles


def test_resnet_with_a_broken_block_is_caught(monkeypatch):
    monkeypatch.setattr(SR, "ResidualBlock", BlockWithoutSkipGradient)
    pair = find("ResNet", f"3 stages {A.RESNET_WIDTHS}, 8x8 input")
    bad = failures(pair)
    assert {"dx", "dstem.W"} <= {c.quantity for c in bad}
    assert {"torch", "finite-diff"} <= {c.oracle for c in bad}


def test_finite_differences_alone_catch_a_wrong_backward():
    """The second oracle: the LayerNorm slip fails against finite differences too."""
    bad = failures(find("LayerNorm", "2-D input (6, 5)"),
                   scratch=lambda p: LayerNormStdConstant(p["gamma"], p["beta"]))
    assert any(c.oracle == "finite-diff" and c.quantity == "dx" for c in bad)


def test_masked_attention_in_torchs_meaning_is_caught():
    """nn.MultiheadAttention reads True as NOT allowed: handing it the scratch layer's
    allowed-mask (the classic slip) makes the causal entry fail."""
    pair = find("MultiHeadAttention", "causal mask")
    bad = failures(pair, torch=lambda p: TT.SelfAttention(A.E, A.H,
                                                          attn_mask=ST.causal_mask(A.T)))
    assert "out" in {c.quantity for c in bad}


@pytest.mark.parametrize("component,variant", [
    ("GELU", A.GELU_EXACT), ("TransformerEncoderBlock", A.POST),
    ("MultiHeadAttention", A.PACKED)])
def test_convention_probe_fails_when_the_gap_vanishes(component, variant):
    probe = ConventionGap(component, variant, variant, lambda rng: find(
        component, variant).sample_list()[0], ("out",), why="x")
    checks = probe.run("float64")
    assert [c.verdict for c in checks] == ["GAP VANISHED"] and not checks[0].passed


# ---- weights both ways ----------------------------------------------------------------------
def test_packed_and_separate_projections_are_one_attention():
    rng = np.random.default_rng(0)
    sep = {k: rng.standard_normal((8, 8)) for k in ("Wq", "Wk", "Wv", "Wo")}
    sep |= {k: rng.standard_normal(8) for k in ("bq", "bk", "bv", "bo")}
    packed = {"W_qkv": np.concatenate([sep["Wq"], sep["Wk"], sep["Wv"]], axis=1),
              "b_qkv": np.concatenate([sep["bq"], sep["bk"], sep["bv"]]),
              "Wo": sep["Wo"], "bo": sep["bo"]}
    x = rng.standard_normal((2, 5, 8))
    a, b = ST.MultiHeadAttention(sep, 2), ST.MultiHeadAttention(packed, 2)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    dout = rng.standard_normal((2, 5, 8))
    np.testing.assert_array_equal(a.backward(dout), b.backward(dout))
    np.testing.assert_array_equal(np.concatenate([a.grads["Wq"], a.grads["Wk"], a.grads["Wv"]],
                                                 axis=1), b.grads["W_qkv"])


def test_resnet_weights_and_running_stats_travel_both_ways():
    torch.manual_seed(0)
    twin = TR.ResNet((2, 3, 4)).double()
    with torch.no_grad():  # move every running statistic and parameter off its start value
        for p in twin.parameters():
            p.add_(0.1 * torch.randn_like(p))
        twin.train()
        for _ in range(3):
            twin(torch.randn(4, 1, 8, 8, dtype=torch.float64))
    params = SR.resnet_params((2, 3, 4), rng=np.random.default_rng(1))
    links, state = mirror_links(twin, params)
    net = SR.ResNet(params, 3)
    net.predict(np.zeros((2, 1, 8, 8)), train_flg=True)  # creates the running statistics
    load_into_scratch(net, read_from_torch(twin, links) | read_from_torch(twin, state),
                      links, state)
    x = np.random.default_rng(2).standard_normal((3, 1, 8, 8))
    twin.eval()
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.predict(x, train_flg=False), expected, rtol=1e-12, atol=1e-12)
    # and back: the scratch weights into a fresh twin give the same logits again
    fresh = TR.ResNet((2, 3, 4)).double()
    load_into_torch(fresh, net.params, links)
    load_into_torch(fresh, {l.scratch: np.asarray(scratch_attr(net, l.scratch)) for l in state},
                    state)
    fresh.eval()
    with torch.no_grad():
        np.testing.assert_allclose(fresh(torch.from_numpy(x)).numpy(), expected, rtol=1e-12,
                                   atol=1e-12)


# ---- the training runs catch a broken update ------------------------------------------------
def run_quick(name, dtype="float64"):
    entry = ApplicationRun(name, 3, slow=False)
    return run_checks(entry, RUNS[name](dtype, 3, quick=True))


class SaturatingGAN(SG.GAN):
    def g_step(self, z):
        """min log(1 - D(G(z))) (the saturating loss) instead of max log D(G(z))."""
        logits = self.D.forward(self.G.forward(z))
        loss = -self.bce.forward(logits, np.zeros((len(z), 1)))
        dfake = self.D.backward(-self.bce.backward())
        self.G.backward(dfake)
        self.g_optimizer.update(self.G.params, self.G.grads)
        return loss


def test_discounted_returns_stay_on_the_rewards_device():
    rewards = torch.arange(6.0, device=STAND_IN_DEVICE)
    returns = TP.discounted_returns(rewards, np.array([0, 0, 1, 0, 0, 1]), 0.9)
    assert returns.device == rewards.device and returns.shape == rewards.shape


def test_gan_steps_stay_on_the_models_device():
    """Labels, losses, backward and the optimizer steps all run on the stand-in device:
    each step gets as far as ``loss.item()``, which meta tensors cannot do (a label made
    on the CPU stops the discriminator's step earlier, at its loss)."""
    gan = TG.GAN((2, 4, 3), (3, 4, 1)).to(STAND_IN_DEVICE)
    gan.attach(torch.optim.SGD(gan.G.parameters(), 0.1), torch.optim.SGD(gan.D.parameters(), 0.1))
    real, z = torch.zeros(5, 3, device=STAND_IN_DEVICE), torch.zeros(5, 2, device=STAND_IN_DEVICE)
    for step in (lambda: gan.d_step(real, z), lambda: gan.g_step(z)):
        with pytest.raises(RuntimeError, match=r"item\(\) cannot be called on meta"):
            step()


def returns_across_episodes(rewards, ends, gamma, returns=SP.discounted_returns):
    """G_t that runs on past its episode's end into the next episode's rewards."""
    return returns(rewards, np.zeros_like(ends), gamma)


@pytest.mark.parametrize("name,module,attr,replacement", [
    ("GAN", SG, "GAN", SaturatingGAN),
    ("Policy gradient", SP, "advantages", lambda returns: returns),  # no baseline
    ("Policy gradient", SP, "discounted_returns", returns_across_episodes),
    ("ResNet", SR, "ResidualBlock", BlockWithoutSkipGradient),
    ("Transformer", ST, "LayerNorm", lambda g, b, eps=1e-5: LayerNormStdConstant(g, b, eps)),
])
def test_training_run_catches_a_broken_update(monkeypatch, name, module, attr, replacement):
    assert all(c.passed for c in run_quick(name)), f"{name}: the clean run must pass first"
    monkeypatch.setattr(module, attr, replacement)
    bad = [c for c in run_quick(name) if not c.passed]
    assert bad and any("every step" in c.quantity for c in bad)


# ---- the report section -----------------------------------------------------------------
def test_report_section_tables_and_figures(monkeypatch, tmp_path):
    import functools

    from reports.section import Context
    from reports.sections import applications as section

    monkeypatch.setattr(section, "STEPS", 4)
    monkeypatch.setattr(section, "RUNS", {k: functools.partial(f, quick=True)
                                          for k, f in RUNS.items()})
    result = section.applications(Context(out=tmp_path, progress=False))
    table = result.tables[0].view
    assert set(table.run) == set(RUNS) and set(table.dtype) == {"float64", "float32"}
    assert table.within.all() and not result.problems
    assert set(table[table.run == "GAN"].loss) == {"D loss", "G loss"}
    names = {f.name for f in result.figures}
    assert {"applications_losses", "applications_gan_float64",
            "applications_policy_return"} <= names
    # a run outside the tolerance is red and listed as a problem
    row = table.iloc[0].copy()
    row["within"] = False
    assert section.row_colour(row) == section.RED


# ---- the policy-gradient game: both sides play it from scratch.policy, so parity cannot see it
def test_corridor_moves_pays_and_ends_as_documented():
    game = SP.Corridor(length=5, max_steps=3, step_cost=0.1)
    assert game.start == 2
    assert game.step(2, 1) == (3, -0.1, False) and game.step(2, 0) == (1, -0.1, False)
    assert game.step(3, 1) == (4, 1.0, True)  # the right end pays +1 and ends
    assert game.step(1, 0) == (0, -1.0, True)  # the left end costs 1 and ends


def test_play_records_the_documented_episodes():
    """pi = (0.3 left, 0.7 right); action 1 when u > pi(left): u = 0.3 exactly goes left."""
    game = SP.Corridor(length=5, max_steps=3, step_cost=0.1)
    uniforms = np.array([[0.3, 0.5, 0.5],   # left, right, right: stopped by max_steps
                         [0.5, 0.5, 0.5],   # right, right: the right end
                         [0.1, 0.1, 0.5]])  # left, left: the left end
    e = SP.play(game, lambda states: np.array([[0.3, 0.7]] * len(states)), uniforms)
    np.testing.assert_array_equal(e.states, [2, 1, 2, 2, 3, 2, 1])
    np.testing.assert_array_equal(e.actions, [0, 1, 1, 1, 1, 0, 0])
    np.testing.assert_allclose(e.rewards, [-0.1, -0.1, -0.1, -0.1, 1.0, -0.1, -1.0])
    np.testing.assert_array_equal(e.ends, [False, False, True, False, True, False, True])
    np.testing.assert_allclose(e.episode_returns, [-0.3, 0.9, -1.1])


def test_gan_weights_are_he_scaled_and_biases_zero():
    """mlp_params: W_i ~ N(0, 2 / fan_in) drawn in order from rng, b_i = 0."""
    params = SG.mlp_params((6, 4, 1), np.random.default_rng(3))
    draw = np.random.default_rng(3)
    np.testing.assert_array_equal(params["W1"], draw.standard_normal((6, 4)) * np.sqrt(2 / 6))
    np.testing.assert_array_equal(params["W2"], draw.standard_normal((4, 1)) * np.sqrt(2 / 4))
    assert not params["b1"].any() and params["b2"].shape == (1,) and not params["b2"].any()


# ---- the transformer's defaults and its bookkeeping (the registry runs them only in long runs)
def sequence_transformer(norm_first=False, dropout=0.5):
    from parity.experiments.applications import HEADS, SEQ_LEN, transformer_params

    params = transformer_params(np.random.default_rng(5))
    return ST.SequenceTransformer(params, HEADS, SEQ_LEN, dropout, norm_first=norm_first)


def test_sequence_transformer_predicts_in_eval_mode_and_passes_its_settings_on():
    from parity.experiments.applications import SEQ_LEN, VOCAB

    rng = np.random.default_rng(6)
    ids, targets = rng.integers(0, VOCAB, (3, SEQ_LEN)), rng.integers(0, VOCAB, (3, SEQ_LEN))
    net = sequence_transformer()
    # eval mode unless told: dropout 0.5 would make two calls differ
    np.testing.assert_array_equal(net.predict(ids), net.predict(ids))
    assert net.loss(ids, targets) == net.loss(ids, targets)
    assert not np.array_equal(net.predict(ids, True), net.predict(ids, True))
    hits = net.predict(ids).argmax(axis=-1) == targets
    assert net.accuracy(ids, targets) == hits.mean()
    block = sequence_transformer(norm_first=True).layers["block"]
    assert block.norm_first is True and block.layers["dropout1"].dropout_ratio == 0.5


def test_encoder_block_defaults_are_torchs():
    """norm_first False, training mode on forward, GELU's erf form, LayerNorm eps 1e-5."""
    from parity.experiments.applications import HEADS

    block = sequence_transformer().layers["block"]
    default = ST.TransformerEncoderBlock(dict(block.params), HEADS, dropout=0.5)
    assert default.norm_first is False
    x = np.random.default_rng(7).standard_normal((2, 4, 16))
    assert not np.array_equal(default.forward(x), default.forward(x))  # dropout is on
    np.testing.assert_array_equal(ST.GELU().forward(x), ST.GELU("none").forward(x))
    g, b = np.ones(16), np.zeros(16)
    np.testing.assert_array_equal(ST.LayerNorm(g, b).forward(x),
                                  ST.LayerNorm(g, b, eps=1e-5).forward(x))


def test_padding_mask_lets_each_sequence_see_its_first_tokens():
    mask = ST.padding_mask([1, 3], 4)
    assert mask.shape == (2, 1, 1, 4)
    np.testing.assert_array_equal(mask[:, 0, 0], [[True, False, False, False],
                                                  [True, True, True, False]])
