"""The study notes' code: its defects are caught, explained, and stay caught."""

import numpy as np
import torch
from torch import nn

import torch_ref.notes as T
from parity.engine.audit import explain_failure
from parity.engine.compare import KNOWN_DEFECT
from parity.pairs.notes import NotesSigmoidSnippet, NotesSimpleCNN


def test_notes_cnn_fails_with_an_explanation_a_learner_can_use():
    (check,) = NotesSimpleCNN().run("float32")
    assert check.verdict == KNOWN_DEFECT and check.passed
    for phrase in ("uses self.fc1", "never defines it", "self.conv1 (Conv2d)",
                   "self.fc (Linear)", "Fix: use self.fc in forward"):
        assert phrase in check.note


def test_the_audit_bites_when_the_notes_code_is_fixed(monkeypatch):
    monkeypatch.setattr(T, "SimpleCNN", T.SimpleCNNFixed)
    (check,) = NotesSimpleCNN().run("float32")
    assert not check.passed and "defect is gone" in check.message()


def test_explanation_for_another_typo():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            return self.conv2(x)

    net = Net()
    try:
        net(torch.zeros(1, 1, 5, 5))
    except AttributeError as err:
        text = explain_failure(net, err)
    assert "uses self.conv2" in text and "use self.conv1 in forward" in text


def test_sigmoid_snippet_defects_are_reported_and_fixes_match():
    checks = {c.quantity: c for c in NotesSigmoidSnippet().run("float64")}
    assert all(c.passed for c in checks.values())
    assert checks["dL_dW as gradient of y"].verdict == "expected gap"
    assert checks["dL_dW as gradient of z = XW"].verdict == "match"
    assert checks["dL_dW for 1-D X"].verdict == KNOWN_DEFECT
    assert "X.T is X" in checks["dL_dW for 1-D X"].note
    assert all(checks[q].verdict == "match" for q in checks if q.startswith("corrected"))


def test_the_1d_audit_bites_when_the_snippet_handles_1d_input(monkeypatch):
    import scratch.notes as S

    def fixed(dL_dy, W, X):  # what a corrected snippet would do for one sample
        return np.outer(X, dL_dy), dL_dy @ W.T

    monkeypatch.setattr(S, "notes_backward", fixed)
    checks = {c.quantity: c for c in NotesSigmoidSnippet().run("float64")}
    assert not checks["dL_dW for 1-D X"].passed
