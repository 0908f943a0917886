"""The app's layers point one way, and its import graph has no circle.

- ``opt_consent.core``: the pure rules. Imports only itself (and the standard library, ``phonenumbers``);
  never Frappe.
- ``opt_consent.adapters``: Frappe adapters over the rules. Imports the core and other adapters, never the
  top layer.
- the top (``api``, ``inbound``, ``bulk``, ``tasks``, ``boot``, ``install``, ``patches``, the doctype
  controllers and reports): imports anything below it.

Imports inside function bodies count: a circle hidden in a function is still a circle.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "opt_consent"


def module_name(path: Path) -> str:
	parts = list(path.relative_to(REPO).with_suffix("").parts)
	if parts[-1] == "__init__":
		parts.pop()
	return ".".join(parts)


MODULES = {module_name(p): p for p in APP.rglob("*.py")}


def imports_of(module: str) -> set[str]:
	"""The app modules ``module`` imports, anywhere in its body."""
	found = set()
	for node in ast.walk(ast.parse(MODULES[module].read_text())):
		if isinstance(node, ast.Import):
			names = [alias.name for alias in node.names]
		elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
			names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
		else:
			continue
		found.update(name for name in names if name in MODULES and name != module)
	return found


GRAPH = {module: imports_of(module) for module in MODULES}


def layer(module: str) -> int:
	if module.startswith("opt_consent.core"):
		return 0
	if module.startswith("opt_consent.adapters"):
		return 1
	return 2


def test_the_graph_is_read():
	assert "opt_consent.core.engine" in GRAPH["opt_consent.adapters.consent"]
	assert "opt_consent.adapters.consent" in GRAPH["opt_consent.api"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_across(module):
	upward = [dep for dep in GRAPH[module] if layer(dep) > layer(module)]
	assert not upward, f"{module} (layer {layer(module)}) imports a higher layer: {upward}"


def test_no_import_circle():
	state: dict[str, int] = {}  # 1: on the path, 2: done

	def visit(module, path):
		state[module] = 1
		for dep in sorted(GRAPH[module]):
			if state.get(dep) == 1:
				cycle = [*path[path.index(dep) :], dep]
				pytest.fail("import circle: " + " -> ".join(cycle))
			if state.get(dep) is None:
				visit(dep, [*path, dep])
		state[module] = 2

	for module in sorted(GRAPH):
		if module not in state:
			visit(module, [module])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == 0))
def test_core_module_does_not_import_frappe(module):
	code = f"import sys, {module}; sys.exit(1 if any(m == 'frappe' or m.startswith('frappe.') for m in sys.modules) else 0)"
	result = subprocess.run(
		[sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
	)
	assert result.returncode == 0, result.stderr or f"{module} imports frappe"
