"""The compiled engine: an optional mypyc build of this package's modules, used only when it matches the sources.

The ``.py`` files are the source of truth and run as they are without a build (a fresh clone, the production image).
``bin/build-engine`` compiles them with mypyc (mypy's compiler: native classes, C calls between compiled functions)
into ``build/engine/<key>/trading/engine/``, where ``<key>`` is a hash of every ``.py`` file of this package and of
the interpreter's extension suffix (Python version and ABI). On import, ``trading/engine/__init__.py`` puts that
directory first on the package's ``__path__`` when it exists for the sources as they are now, so the submodules
load from the extension modules there; after any edit of a source the key changes, nothing is found and the
package runs interpreted. A stale ``.so`` can never shadow an edited ``.py``: builds never sit next to the sources.
``TRADING_ENGINE_PURE=1`` forces the interpreted engine (the tests run both ways).

Not compiled: ``__init__`` (this choice is made there), ``_native`` (this file) and ``_fast`` (import-time only).
"""

import hashlib
import os
import sysconfig
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent.parent
BUILD_ROOT = ROOT / "build" / "engine"
COMPILED = ("money", "_text", "types", "events", "limits", "fees", "slippage", "positions", "validation",
            "matching", "risk", "lifecycle", "memory")
GROUP = "trading.engine._compiled"  # mypyc's shared library: trading/engine/_compiled__mypyc.<suffix>
PURE_ENV = "TRADING_ENGINE_PURE"


def build_key() -> str:
    """Which build these sources need: every ``.py`` of the package (this file names the modules and options)."""
    digest = hashlib.sha256(str(sysconfig.get_config_var("EXT_SUFFIX")).encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def build_dir(key: str | None = None) -> Path:
    return BUILD_ROOT / (key or build_key())


def activate(package_path: list) -> bool:
    """Put the build of the current sources first on ``package_path`` if there is one; True if so."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return False
    compiled = build_dir() / "trading" / "engine"
    if not compiled.is_dir():  # no build for these sources (a build is renamed into place only when complete)
        return False
    package_path.insert(0, str(compiled))
    return True
