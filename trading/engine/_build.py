"""Build the compiled engine for the current sources (``bin/build-engine``; see ``_native.py``).

    python -m trading.engine._build [--if-available] [--force]

Does nothing when the build of these sources exists. Otherwise compiles ``_native.COMPILED`` with mypyc into a
temporary directory under ``build/engine/`` and renames it to ``build/engine/<key>/`` once complete (so a process
never sees half a build), then removes the builds of older sources. Two builds at once wait for each other (a lock
file). ``--if-available``: without mypy (a runtime-only install) say so and exit 0, the engine runs interpreted.
"""

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time

from trading.engine import _native

# mypycify runs in a child process: setuptools' setup() and mypy's build both keep global state.
_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

out, work, *paths = sys.argv[1:]
extensions = mypycify(paths + ["--cache-dir", work + "/mypy"], opt_level="3", group_name={group!r},
                      target_dir=work + "/c")
setup(name="trading-engine-compiled", ext_modules=extensions,
      script_args=["-q", "build_ext", "--build-lib", out, "--build-temp", work + "/tmp"])
"""


def build(force: bool = False) -> tuple[str, bool]:
    """(build directory, whether it was built now)."""
    key = _native.build_key()
    final = _native.build_dir(key)
    if final.is_dir() and not force:
        return str(final), False
    _native.BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with open(_native.BUILD_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.is_dir() and not force:  # built by the process we waited for
            return str(final), False
        tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=_native.BUILD_ROOT)
        try:
            out = os.path.join(tmp, "out")
            paths = [f"trading/engine/{name}.py" for name in _native.COMPILED]
            subprocess.run([sys.executable, "-c", _SETUP.format(group=_native.GROUP), out, tmp, *paths],
                           cwd=_native.ROOT, check=True)
            if final.is_dir():
                shutil.rmtree(final)
            os.rename(out, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in _native.BUILD_ROOT.iterdir():  # builds of older sources (a running process keeps its mapping)
            if old.is_dir() and old != final:
                shutil.rmtree(old, ignore_errors=True)
    return str(final), True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--if-available", action="store_true", help="without mypy, skip (exit 0)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the build exists")
    args = parser.parse_args()
    try:
        import mypyc  # noqa: F401
    except ImportError:
        if args.if_available:
            print("engine: mypy is not installed; the engine runs interpreted", file=sys.stderr)
            return 0
        raise
    start = time.monotonic()
    try:
        where, built = build(force=args.force)
    except subprocess.CalledProcessError:
        print("engine: mypyc failed (its messages are above); the engine runs interpreted", file=sys.stderr)
        return 1
    if built:
        print(f"engine: compiled into {os.path.relpath(where, _native.ROOT)} in {time.monotonic() - start:.0f} s",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
