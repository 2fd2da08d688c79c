"""python -m parity_tests.zoo write DIR: one folder per planted bug (make check IMPL=DIR/<name>);
python -m parity_tests.zoo variants DIR: one folder per variant, hand-written and derived."""

import argparse
import sys

from parity_tests.zoo import variants
from parity_tests.zoo.bugs import BUGS, materialize_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parity_tests.zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="write every planted bug as DIR/<name>/")
    write.add_argument("dir")
    sub.add_parser("list", help="list the planted bugs")
    write_variants = sub.add_parser("variants", help="write every variant as DIR/<name>/")
    write_variants.add_argument("dir")
    args = parser.parse_args(argv)
    if args.command == "list":
        for bug in BUGS:
            where = f" [{bug.layer}]" if bug.layer else ""
            print(f"{bug.name:48s} {bug.diagnosis:40s} {bug.component}{where}")
        return 0
    write_all = variants.materialize_all if args.command == "variants" else materialize_all
    for path in write_all(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
