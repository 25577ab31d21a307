"""The dependency rules (``.importlinter``, docs/decisions.md "Layers") hold, and cover every app of the project."""

import configparser
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CONFIG = ROOT / ".importlinter"


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _lint_imports(*, cwd: Path, config: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` of this venv, analysing the packages under ``cwd`` (nothing imported, nothing cached)."""
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--config", str(config), "--no-cache", "--no-logo"], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})


def _local_apps() -> set[str]:
    """Top-level packages of the INSTALLED_APPS that live in this repository."""
    venv = Path(sys.prefix).resolve()  # bin/test's .venv lives inside the checkout: its packages are not ours
    return {config.name.split(".")[0] for config in apps.get_app_configs()
            if Path(config.path).resolve().is_relative_to(ROOT.resolve())
            and not Path(config.path).resolve().is_relative_to(venv)}


def test_import_contracts_are_kept():
    result = _lint_imports(cwd=ROOT, config=CONFIG)
    assert result.returncode == 0, f"import contracts broken:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout


def test_every_app_is_a_root_package_and_in_a_layer():
    """A new app (analytics, battles, backtests, binance, ...) must be analysed and placed: an app the linter does
    not analyse would satisfy every contract by being invisible (its layer is optional while it does not exist)."""
    parser = _config()
    roots = set(_lines(parser["importlinter"]["root_packages"]))
    layered = {name.strip().strip("()") for layer in _lines(parser["importlinter:contract:layers"]["layers"])
               for name in layer.replace("|", ":").split(":")}
    local = _local_apps()
    assert local, "no local app found: the check would pass vacuously"
    assert local - roots == set(), "add these apps to root_packages in .importlinter"
    assert local - layered == set(), "place these apps in the layers contract of .importlinter"


def test_the_linter_sees_imports_inside_functions(tmp_path):
    """The contracts would be toothless if an import inside a function slipped through: prove it does not, on a
    copy of a lower app given a function-level import of a higher one."""
    pkg = tmp_path / "lowpkg"
    (pkg / "inner").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "inner" / "__init__.py").write_text("def later():\n    from lowpkg.high import thing\n    return thing\n")
    (pkg / "high.py").write_text("thing = 1\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = lowpkg\n\n"
        "[importlinter:contract:one]\nname = inner below high\ntype = layers\n"
        "layers =\n    lowpkg.high\n    lowpkg.inner\n")
    result = _lint_imports(cwd=tmp_path, config=tmp_path / ".importlinter")
    assert result.returncode == 1, result.stdout
    assert "lowpkg.inner -> lowpkg.high" in result.stdout
