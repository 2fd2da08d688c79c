"""python -m parity_tests.zoo write DIR: one folder per planted bug (make check IMPL=DIR/<name>)."""

import argparse
import sys

from parity_tests.zoo.bugs import BUGS, materialize_all


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parity_tests.zoo")
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write", help="write every planted bug as DIR/<name>/")
    write.add_argument("dir")
    sub.add_parser("list", help="list the planted bugs")
    args = parser.parse_args(argv)
    if args.command == "list":
        for bug in BUGS:
            where = f" [{bug.layer}]" if bug.layer else ""
            print(f"{bug.name:48s} {bug.diagnosis:40s} {bug.component}{where}")
        return 0
    for path in materialize_all(args.dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
