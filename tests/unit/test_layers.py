"""The app is one package per capability, and its import graph points one way, with no circle.

Capabilities, lowest first (docs/DESIGN.md draws them); each may import only the ones before it:

    model, ledger, reauth, gate, contact_control, contact, outbound, revocation, jobs, history, scrub,
    evidence_document, then the top: ``api`` (every whitelisted method and the hooks' events), the old public
    modules kept as aliases of it, ``tasks``, ``boot``, ``install``, ``commands``, ``patches`` and the
    doctype controllers, reports and number cards.

Inside a capability its pure rules (``model`` as a whole, and every module with ``rules`` in its path) import
only pure rules, and never Frappe; its Frappe side imports its own rules, the rules and Frappe sides of the
capabilities below it, and nothing above.

Imports inside function bodies count: a circle hidden in a function is still a circle.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "opt_consent"

ORDER = [
	"model",
	"ledger",
	"reauth",
	"gate",
	"contact_control",
	"contact",
	"outbound",
	"revocation",
	"jobs",
	"history",
	"scrub",
	"evidence_document",
]
TOP = len(ORDER)


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


def capability(module: str) -> str | None:
	parts = module.split(".")
	return parts[1] if len(parts) > 1 and parts[1] in ORDER else None


def rank(module: str) -> int:
	"""The capability's place in :data:`ORDER`; the top (and the app's root package) ranks above them all."""
	found = capability(module)
	return ORDER.index(found) if found else TOP


def is_pure(module: str) -> bool:
	return capability(module) == "model" or "rules" in module.split(".")


def test_the_graph_is_read():
	assert "opt_consent.ledger.rules.engine" in GRAPH["opt_consent.ledger.consent"]
	assert "opt_consent.ledger.consent" in GRAPH["opt_consent.api.consent"]
	assert "opt_consent.api.control" in GRAPH["opt_consent.control"]
	assert is_pure("opt_consent.revocation.rules.replies") and not is_pure("opt_consent.revocation.settings")


def test_the_layout_is_by_capability():
	"""Nothing is left in the layout by kind, and every capability is a package."""
	assert not (APP / "core").exists() and not (APP / "adapters").exists()
	for name in [*ORDER, "api"]:
		assert (APP / name / "__init__.py").is_file(), name


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_or_across(module):
	upward = [dep for dep in GRAPH[module] if rank(dep) > rank(module)]
	assert not upward, f"{module} ({capability(module) or 'top'}) imports a capability above it: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if is_pure(m)))
def test_pure_rules_import_only_pure_rules(module):
	impure = [dep for dep in GRAPH[module] if not is_pure(dep) and dep.count(".") > 1]
	assert not impure, f"{module} (pure) imports a Frappe side: {impure}"


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


@pytest.mark.parametrize("module", sorted(m for m in MODULES if is_pure(m)))
def test_pure_module_does_not_import_frappe(module):
	code = f"import sys, {module}; sys.exit(1 if any(m == 'frappe' or m.startswith('frappe.') for m in sys.modules) else 0)"
	result = subprocess.run(
		[sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
	)
	assert result.returncode == 0, result.stderr or f"{module} imports frappe"
