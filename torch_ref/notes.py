"""The study notes' PyTorch CNN, kept exactly as written -- and its corrected twin.

``SimpleCNN`` is the notes' code verbatim: ``forward`` calls ``self.fc1`` while
``__init__`` defines ``self.fc``, so the first forward raises AttributeError.
The parity run reports it as failed, with a message that names the fix.
"""

import torch
import torch.nn as nn


class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()  # noqa: UP008 -- verbatim from the notes
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.fc = nn.Linear(32 * 28 * 28, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = x.view(x.size(0), -1)
        x = self.fc1(x)
        return x


class SimpleCNNFixed(nn.Module):
    """The notes' model with the one-word fix (``self.fc``); ``image_size`` lets the
    parity suite run it on small images (the notes' MNIST is 28)."""

    def __init__(self, image_size=28):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.fc = nn.Linear(32 * image_size * image_size, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)
