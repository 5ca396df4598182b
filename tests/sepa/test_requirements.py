"""The toolkit runs on its own from requirements.txt: every package it imports is listed."""

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ADDON_ROOT = Path(__file__).resolve().parents[2]


def _third_party_modules():
    modules = set()
    for path in (ADDON_ROOT / "sepa").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names}


def _listed_distributions():
    lines = (ADDON_ROOT / "requirements.txt").read_text().splitlines()
    names = (re.split(r"[\s<>=;\[#]", line.strip(), maxsplit=1)[0] for line in lines)
    return {name.lower().replace("_", "-") for name in names if name}


def test_every_imported_package_is_required():
    distributions = packages_distributions()
    listed = _listed_distributions()
    modules = _third_party_modules()
    assert {"lxml", "schwifty", "stdnum"} <= modules
    missing = {module for module in modules
               if not {name.lower() for name in distributions[module]} & listed}
    assert not missing, f"sepa/ imports {sorted(missing)}, not in requirements.txt"
