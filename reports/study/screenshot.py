"""Screenshots of study pages with headless Chromium (``make docs-screenshot``; tests).

``python -m reports.study.screenshot [PAGE] [PNG]`` renders ``reports/out/study/PAGE.html``
(default: the Affine page, written by ``python -m reports --sections study``) into
PNG (default ``docs/study-page.png``, the README's picture).
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from parity.engine.runner import OUT_DIR

ROOT = Path(__file__).resolve().parents[2]
README_PICTURE = ROOT / "docs" / "study-page.png"
WINDOW = (1280, 1100)  # a laptop-sized width; the first screens: formula, code, verdict
NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium():
    """The Chromium executable on PATH, or None."""
    return next((shutil.which(n) for n in NAMES if shutil.which(n)), None)


def render(url, png=None, window=WINDOW, dump_dom=False, timeout=120):
    """Run headless Chromium on ``url``: a screenshot to ``png`` and/or the DOM.

    Returns (dom text or "", console lines): page console messages (errors from
    scripts, which these pages must not have) are read from Chromium's log.
    """
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                f"--window-size={window[0]},{window[1]}"]
        args += [f"--screenshot={png}"] if png else []
        args += ["--dump-dom"] if dump_dom else []
        done = subprocess.run(args + [url], capture_output=True, text=True, timeout=timeout,
                              check=True)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    page = argv[0] if argv else "affine"
    png = Path(argv[1]) if len(argv) > 1 else README_PICTURE
    html = OUT_DIR / "study" / f"{page}.html"
    if not html.exists():
        print(f"{html} is missing: run `python -m reports --sections study` first")
        return 2
    png.parent.mkdir(parents=True, exist_ok=True)
    _, console = render(html.as_uri(), png)
    print(f"-> {png}" + (f" (console: {console})" if console else ""))
    return 1 if console else 0


if __name__ == "__main__":
    sys.exit(main())
