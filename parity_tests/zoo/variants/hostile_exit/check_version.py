# hostile fixture: exits the interpreter at import
import sys

if sys.version_info >= (3, 0):
    print("this script was written for Python 2; bye")
    exit()
