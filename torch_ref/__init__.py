"""The PyTorch side: idiomatic twins of the book's components.

Stock ``torch.nn`` / ``torch.optim`` wherever PyTorch has a setting for the
book's convention; small custom modules where it has none.  This package never
imports the NumPy side (``scratch``): only ``parity`` knows both.
"""
