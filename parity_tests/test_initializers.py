"""Initializers: fans exactly as torch, the book-Xavier trap, and that the statistics bite."""

import dataclasses

import numpy as np
import pytest
import torch

import scratch.initializers as S
import torch_ref.initializers as T
from parity.engine.registry import find


@pytest.mark.parametrize("book_shape,torch_shape", [
    ((784, 100), (100, 784)),  # Affine W (in, out) <-> nn.Linear.weight (out, in)
    ((50, 10), (10, 50)),
    ((30, 1, 5, 5), (30, 1, 5, 5)),  # Convolution: the same layout
    ((64, 32, 3, 3), (64, 32, 3, 3)),
])
def test_fans_are_torchs(book_shape, torch_shape):
    assert S.fans(book_shape) == T.fans(torch.empty(torch_shape))


def test_book_xavier_is_lecun_not_glorot():
    """The trap: the book's 'Xavier' std is kaiming_normal_(sigmoid)'s, not xavier_normal_'s."""
    match = find("book Xavier", "kaiming_normal_(sigmoid)").run("float64")
    trap = find("book Xavier", "xavier_normal_").run("float64")
    assert all(c.verdict == "match" for c in match)
    gaps = [c for c in trap if c.verdict == "expected gap"]
    assert {c.quantity for c in gaps} == {"std", "torch std"}
    # measured: 784 -> 100, std 0.0357 vs 0.0475, 94-133 standard errors apart;
    # conv 16 -> 32 (5x5, fans 400/800): 0.050 vs 0.041, ~30 standard errors
    assert all(c.max_abs_err > 4 * c.atol for c in gaps)  # atol = 5 standard errors


def fails(component, twin, scratch):
    pair = dataclasses.replace(find(component, twin), scratch=scratch)
    return {c.quantity for c in pair.run("float64") if not c.passed}


def test_he_with_fan_out_is_caught():
    def he_fan_out(shape, rng):
        _, fan_out = S.fans(shape)
        return np.sqrt(2.0 / fan_out) * rng.standard_normal(shape)

    assert "std" in fails("He normal", "kaiming_normal_(relu)", he_fan_out)


def test_normal_with_the_uniforms_std_is_caught_by_kurtosis():
    def normal_not_uniform(shape, rng):
        fan_in, fan_out = S.fans(shape)
        return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)

    assert fails("Glorot uniform", "xavier_uniform_", normal_not_uniform) == {"kurtosis"}


def test_conv_fans_without_receptive_field_are_caught():
    def he_ignoring_kernel(shape, rng):
        fan_in = shape[0] if len(shape) == 2 else shape[1]  # forgot FH * FW
        return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)

    assert "std" in fails("He normal", "kaiming_normal_(relu)", he_ignoring_kernel)


def test_a_biased_initializer_is_caught_by_the_mean():
    def shifted(shape, rng):
        return S.std_init(shape, rng) + 0.001

    assert "mean" in fails("std 0.01", "normal_(std=0.01)", shifted)
