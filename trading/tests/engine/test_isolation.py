"""The engine is pure Python: importing every module of it must not pull in Django (or DRF, or Celery)."""

import ast
import os
import pathlib
import subprocess
import sys

import trading.engine

ENGINE_DIR = pathlib.Path(trading.engine.__file__).parent
REPO_ROOT = ENGINE_DIR.parent.parent
FORBIDDEN = ("django", "rest_framework", "celery")

PROBE = f"""
import importlib, pkgutil, sys
import trading.engine
for info in pkgutil.iter_modules(trading.engine.__path__):
    importlib.import_module("trading.engine." + info.name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
print(len(list(pkgutil.iter_modules(trading.engine.__path__))), loaded)
sys.exit(1 if loaded else 0)
"""


def test_importing_every_engine_module_leaves_django_unloaded():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    module_count, loaded = proc.stdout.split(" ", 1)
    assert int(module_count) >= 8  # types, limits, validation, fees, slippage, matching, risk, positions
    assert loaded.strip() == "[]"


def test_no_engine_source_imports_a_framework():
    offenders = []
    for path in ENGINE_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
