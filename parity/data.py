"""``python -m parity.data [--download] [--mnist-root DIR]``: check (or fetch) MNIST.

Reports where the data root points and whether both loaders find the files;
``--download`` lets torchvision fetch missing files (needs network access).
"""

import argparse
import sys

import scratch.mnist as S
import torch_ref.mnist as T


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m parity.data", description=__doc__.splitlines()[0])
    p.add_argument("--mnist-root", help=f"folder containing MNIST/raw/ (default ${S.ENV_VAR})")
    p.add_argument("--download", action="store_true", help="let torchvision fetch missing files")
    args = p.parse_args(argv)
    root = S.resolve_root(args.mnist_root)
    try:
        for train in (True, False):
            T.mnist_dataset(root, train, download=args.download)
            images, labels = S.load_raw(root, train)
            print(f"{'train' if train else 'test '}: {images.shape} images, {labels.shape} labels "
                  f"under {root / 'MNIST' / 'raw'}")
    except (FileNotFoundError, ValueError) as err:  # missing, or damaged (names the file)
        print(err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
