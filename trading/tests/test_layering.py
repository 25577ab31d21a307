"""The trading core imports nothing of the apps above it: streams (and webhooks) subscribe to its domain events
(``common.events``) instead of being called from its transactions. (The project-wide contracts are import-linter's;
this guards the one the event bus exists for.)"""

import ast
import pathlib

import trading

ROOT = pathlib.Path(trading.__file__).parent
ABOVE = ("streams", "analytics", "battles", "backtests")


def test_the_trading_core_imports_nothing_of_the_apps_above_it():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT.parent)}: {n}" for n in names if n.split(".")[0] in ABOVE]
    assert offenders == []
