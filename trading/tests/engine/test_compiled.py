"""The compiled engine (``trading/engine/_native.py``): used only when it was built from the sources as they are,
never required, and indistinguishable from the interpreted one."""

import os
import shutil
import subprocess
import sys

import pytest

import trading.engine
from trading.engine import _native, lifecycle

ROOT = str(_native.ROOT)
FORCED_PURE = os.environ.get(_native.PURE_ENV, "") not in ("", "0")
BUILT = _native.build_dir().is_dir()


def _run(code: str, *, pure: bool) -> str:
    env = {**os.environ, _native.PURE_ENV: "1" if pure else ""}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return done.stdout.strip()


def test_the_build_of_these_sources_is_used_when_there_is_one():
    compiled = BUILT and not FORCED_PURE
    assert trading.engine.COMPILED is compiled
    assert lifecycle.__file__.endswith(".py") is not compiled
    if compiled:
        assert lifecycle.__file__.startswith(str(_native.build_dir()))


def test_interpreted_engine_imports_and_checks_its_written_out_inits():
    # fast_init checks each written-out __init__ against its dataclass fields (interpreted only)
    assert _run("import trading.engine as e, trading.engine.memory; print(e.COMPILED)", pure=True) == "False"


def test_an_edited_source_does_not_match_the_build(tmp_path, monkeypatch):
    package = tmp_path / "engine"
    shutil.copytree(_native.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(_native, "PACKAGE_DIR", package)
    before = _native.build_key()
    (package / "fees.py").write_text((package / "fees.py").read_text() + "\n# an edit\n")
    assert _native.build_key() != before
    assert not _native.activate([])  # no build under the new key: the package stays on its .py files


@pytest.mark.skipif(not BUILT, reason="no compiled build of these sources (bin/build-engine)")
def test_compiled_and_interpreted_sessions_give_the_same_digest():
    code = ("import trading.engine as e; from trading.tests.engine.random_sessions import digest; "
            "print(e.COMPILED, *digest(40))")
    compiled, interpreted = _run(code, pure=False), _run(code, pure=True)
    assert compiled.startswith("True ") and interpreted.startswith("False ")
    assert compiled.split()[1:] == interpreted.split()[1:]
