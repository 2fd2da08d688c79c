"""BatchNormalization, Dropout, Flatten: targeted tests beyond the registry run.

Each new kind of check is shown to bite: a subtly broken scratch layer (the
book's own behaviour, or a learner's slip) must make the engine report a failure.
"""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import scratch.layers as S
import torch_ref.layers as T
from parity.engine.compare import compare
from parity.engine.inputs import replayed_masks
from parity.engine.registry import find
from parity.engine.tolerances import tolerance_for
from parity.pairs.dropout import P
from parity.pairs.normalization import BN2, BN4
from parity_tests.test_engine_bites import MESSAGE, failures

TOL64 = tolerance_for("float64")


def sample_named(pair, name):
    return next(s for s in pair.sample_list() if s.name == name)


# ---- BatchNormalization: the engine catches slips in state, eval and finite differences ----
class BookBatchNormUnbiased(S.BatchNormalization):
    def _update_running(self, mu, var):  # a slip: torch's unbiased variance in the book
        super()._update_running(mu, var * (self.count / (self.count - 1)))


class BatchNormEvalBackwardStale(S.BatchNormalization):
    """The book's backward after an eval forward: the last *training* batch's cache
    (the book would crash without one; here eval before any training stays correct)."""

    cache = None

    def forward(self, x, train_flg=True):
        out = super().forward(x, train_flg)
        if train_flg:
            self.cache = (self.xc, self.std, self.xn)
        elif self.cache is not None:
            (self.xc, self.std, self.xn), self.train_flg = self.cache, True
        return out


def book_bn(cls):
    return lambda p: cls(p["gamma"], p["beta"], eps=1e-6, convention="book")


@pytest.mark.parametrize("component", [BN2, BN4])
def test_unbiased_running_var_in_the_book_is_caught(component):
    bad = failures(find(component, "book"), scratch=book_bn(BookBatchNormUnbiased))
    quantities = {c.quantity for c in bad}
    # the stored variance is wrong after every training call; the eval call inherits it
    assert {"running_var"} | {f"step{k}/running_var" for k in (1, 2, 3)} <= quantities
    assert {q for q in quantities if "running_var" not in q} == {
        "step4/out", "step4/dx", "step4/dgamma"}
    assert MESSAGE.match(bad[0].message()), bad[0].message()


def test_eval_backward_with_training_statistics_is_caught():
    bad = failures(find(BN2, "book"), scratch=book_bn(BatchNormEvalBackwardStale))
    assert {(c.sample, c.quantity) for c in bad} == {
        ("3 train + eval", "step4/dx"), ("3 train + eval", "step4/dgamma")}


def test_the_finite_difference_step_must_follow_the_input_scale():
    """With the default step (1e-5) on std-1e-3 activations truncation error shows."""
    pair = find(BN2, "torch")
    sample = sample_named(pair, "train std 1e-3")
    assert all(c.passed for c in pair.finite_difference_checks(sample))
    unscaled = dataclasses.replace(sample, input_scale=1.0)
    bad = [c for c in pair.finite_difference_checks(unscaled) if not c.passed]
    assert [c.quantity for c in bad] == ["dx"] and bad[0].max_rel_err > 1e-7


def test_float32_leaves_out_only_the_declared_sample():
    pair = find(BN2, "book")
    f32 = {c.sample for c in pair.run("float32")}
    f64 = {c.sample for c in pair.run("float64")}
    assert f64 - f32 == {"train std 1e-3"}


def test_running_statistics_are_recorded_per_call():
    """Torch updates buffers in place: each step's state must be a snapshot, not a view."""
    pair = find(BN2, "torch")
    res = pair.torch_results(sample_named(pair, "3 train + eval"), "float64")
    steps = [res[f"step{k}/running_mean"] for k in (1, 2, 3)]
    assert not np.array_equal(steps[0], steps[1]) and not np.array_equal(steps[1], steps[2])
    assert np.array_equal(res["step3/running_var"], res["step4/running_var"])  # eval: no update


def test_given_running_statistics_are_used_in_eval():
    rng = np.random.default_rng(0)
    x, mean, var = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.random(3) + 0.5
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    layer = S.BatchNormalization(gamma, beta, eps=1e-5, convention="torch",
                                 running_mean=mean, running_var=var)
    twin = nn.BatchNorm1d(3).double().eval()
    with torch.no_grad():
        for name, v in dict(weight=gamma, bias=beta, running_mean=mean, running_var=var).items():
            getattr(twin, name).copy_(torch.from_numpy(v))
    expected = twin(torch.from_numpy(x)).detach().numpy()
    assert compare(layer.forward(x, train_flg=False), expected, TOL64).passed


def test_book_batchnorm_trains_like_batchnorm1d_on_flattened_input():
    """conventions.md: in training the book's 4-D layer is BatchNorm1d(C*H*W, eps=1e-6)
    on (N, C*H*W) -- only the running variance differs (biased vs unbiased)."""
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((5, 2, 3, 3)))
    book, stock = T.BookBatchNorm(18).double(), nn.BatchNorm1d(18, eps=1e-6).double()
    stock.running_var.zero_()
    out = book(x).detach().numpy()
    assert compare(out, stock(x.reshape(5, -1)).detach().reshape(x.shape).numpy(), TOL64).passed
    assert compare(book.running_mean.numpy(), stock.running_mean.numpy(), TOL64).passed
    ratio = (stock.running_var / book.running_var).numpy()
    assert compare(ratio, np.full(18, 5 / 4), TOL64).passed  # N / (N - 1)


# ---- Dropout ----
class DropoutBackwardWithoutMask(S.Dropout):
    def backward(self, dout):
        return dout.copy()  # forgot the mask


class DropoutEvalDrawsMask(S.Dropout):
    def forward(self, x, train_flg=True):
        if not train_flg:
            self.mask_source(x.shape)  # wastes a mask: later training calls shift
        return super().forward(x, train_flg)


@pytest.mark.parametrize("convention", ["book", "inverted"])
def test_dropout_backward_without_mask_is_caught(convention):
    bad = failures(find("Dropout", convention),
                   scratch=lambda p: DropoutBackwardWithoutMask(P, convention,
                                                                mask_source=replayed_masks(P)))
    assert {c.quantity.split("/")[-1] for c in bad} == {"dx"}
    assert {c.oracle for c in bad} == {"torch", "finite-diff"}


def test_a_mask_drawn_in_eval_is_caught():
    bad = failures(find("Dropout", "book"),
                   scratch=lambda p: DropoutEvalDrawsMask(P, "book", mask_source=replayed_masks(P)))
    assert {c.quantity for c in bad} == {"step4/out", "step4/dx"}


def test_finite_differences_need_the_injected_mask():
    """The book's numerical gradient redraws the mask on every forward: meaningless."""
    pair = dataclasses.replace(find("Dropout", "book"), scratch=lambda p: S.Dropout(P, "book"))
    bad = [c for c in pair.finite_difference_checks(pair.sample_list()[0]) if not c.passed]
    assert bad and bad[0].quantity == "dx"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_stock_dropout_is_x_times_its_mask_over_keep(dtype):
    """nn.Dropout in train mode is x * mask / (1 - p) for its OWN mask; identity in eval."""
    torch.manual_seed(3)
    x = torch.randn(200, 50, dtype=dtype)
    stock = nn.Dropout(P)
    out = stock(x)
    mask = out != 0  # x has no zeros, so the dropped units are exactly the zeros
    tol = tolerance_for(str(dtype).removeprefix("torch."))
    assert compare(out.numpy(), (x * mask.to(dtype) / (1 - P)).numpy(), tol).passed
    assert 0.65 < mask.double().mean().item() < 0.75  # keeps ~1 - p = 0.7 (seeded)
    assert torch.equal(stock.eval()(x), x)


@pytest.mark.parametrize("convention,factor", [("inverted", 1.0), ("book", 1 - P)])
def test_twin_without_injection_is_nn_dropout(convention, factor):
    x = torch.randn(30, 20, dtype=torch.float64)
    torch.manual_seed(4)
    ours = T.Dropout(P, convention)(x)
    torch.manual_seed(4)
    stock = nn.Dropout(P)(x)
    assert compare(ours.numpy(), (stock * factor).numpy(), TOL64).passed
    evaluated = T.Dropout(P, convention).eval()(x)
    assert compare(evaluated.numpy(), (x * factor).numpy(), TOL64).passed


def test_scratch_default_masks_follow_the_book_rule():
    x = np.random.default_rng(5).standard_normal((200, 50)).astype(np.float32)
    layer = S.Dropout(P, "book")
    out = layer.forward(x)
    assert out.dtype == np.float32 and np.array_equal(out, x * layer.mask)
    assert 0.65 < layer.mask.mean() < 0.75
    assert np.array_equal(layer.forward(x, train_flg=False), x * np.float32(1 - P))


# ---- Flatten ----
class FlattenBackwardFlat(S.Flatten):
    def backward(self, dout):
        return dout  # forgot to restore the input's shape


def test_flatten_backward_shape_is_checked():
    bad = failures(find("Flatten", "default"), scratch=lambda p: FlattenBackwardFlat())
    assert bad and all(c.quantity == "dx" for c in bad)
    assert any("shape" in c.message() for c in bad)


def test_finite_differences_refuse_a_builder_that_copies_params():
    pair = find(BN2, "book")
    copying = dataclasses.replace(
        pair, scratch=lambda p: S.BatchNormalization(p["gamma"].copy(), p["beta"]))
    with pytest.raises(ValueError, match="uncopied"):
        copying.finite_difference_checks(sample_named(pair, "train"))


def test_batch_norm_default_eps_is_the_books_10e_7():
    """Batch variance 1e-6, as small as eps: the output is 1e-3 / sqrt(1e-6 + 1e-6)."""
    bn = S.BatchNormalization(np.ones(1), np.zeros(1))
    out = bn.forward(np.array([[0.0], [2e-3]]))
    np.testing.assert_allclose(out, [[-1e-3 / np.sqrt(2e-6)], [1e-3 / np.sqrt(2e-6)]],
                               rtol=1e-12)


def test_torch_batch_norm_trains_on_two_values_per_feature():
    """The unbiased variance needs 2 values (1 is refused): 2 samples of (N, D) train."""
    bn = S.BatchNormalization(np.ones(3), np.zeros(3), convention="torch")
    x = np.array([[0.0, 1.0, 2.0], [4.0, 3.0, 2.0]])
    bn.forward(x, train_flg=True)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-15)


def test_dropout_default_ratio_is_one_half():
    x = np.array([[2.0, 4.0]])
    np.testing.assert_array_equal(S.Dropout().forward(x, train_flg=False), [[1.0, 2.0]])


def test_dropout_reads_any_mask_as_keep_or_drop():
    """A non-boolean mask, e.g. torch's F.dropout(ones) (0 or 1 / keep): nonzero keeps the
    unit, unscaled in the book's convention -- the mask's values are not multipliers."""
    mask = np.array([[0.0, 2.0], [2.0, 0.0]])
    dropout = S.Dropout(0.5, mask_source=lambda shape: mask)
    np.testing.assert_array_equal(dropout.forward(np.full((2, 2), 3.0)), [[0, 3], [3, 0]])
    assert dropout.mask.dtype == bool
