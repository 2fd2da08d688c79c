# hostile fixture: writes a file next to itself and one into the current directory at import
import os

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "import_log.txt"), "a") as f:
    f.write("imported\n")
with open("import_log.txt", "a") as f:
    f.write("imported\n")
