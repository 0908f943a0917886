"""The desk's JS loads only where it serves: no script on every page, every script a hook names exists, the
channel description comes before the scripts that read it, and every bundle a script loads with
frappe.require is one the app builds (and every bundle is loaded by some script)."""

import re
from pathlib import Path

from opt_consent import hooks

APP = Path(hooks.__file__).resolve().parent
PUBLIC_JS = APP / "public" / "js"
CHANNELS = "public/js/consent_channels.js"


def hooked_scripts() -> dict[tuple[str, str], list[str]]:
	out = {}
	for hook in ("doctype_js", "doctype_list_js"):
		for doctype, files in getattr(hooks, hook, {}).items():
			out[(hook, doctype)] = files if isinstance(files, list) else [files]
	return out


def test_nothing_loads_on_every_desk_page():
	assert not getattr(hooks, "app_include_js", None)


def test_every_hooked_script_exists_and_reads_the_channels_after_they_load():
	for (hook, doctype), files in hooked_scripts().items():
		for name in files:
			assert (APP / name).is_file(), (hook, doctype, name)
		readers = [name for name in files if "opt_consent.desk." in (APP / name).read_text()]
		if readers:
			assert files[0] == CHANNELS, (hook, doctype, files)


def test_every_required_bundle_is_built_and_every_bundle_is_required():
	scripts = [*PUBLIC_JS.glob("*.js"), *(APP / "opt_consent" / "doctype").rglob("*.js")]
	required = {
		name for path in scripts for name in re.findall(r"[\"']([a-z_]+\.bundle\.js)[\"']", path.read_text())
	}
	built = {path.name for path in PUBLIC_JS.glob("*.bundle.js")}
	assert required == built


def test_every_include_in_a_report_script_names_a_file_of_the_app():
	"""Frappe expands ``{% include "app/path" %}`` when it serves a report's script; the path must exist."""
	included = {}
	for path in (APP / "opt_consent" / "report").glob("*/*.js"):
		for name in re.findall(r"""{%\s*include\s+["']([^"']+)["']\s*%}""", path.read_text()):
			included.setdefault(name, []).append(path.parent.name)
			app, rest = name.split("/", 1)
			assert app == "opt_consent" and (APP / rest).is_file(), (path, name)
	assert sorted(included["opt_consent/public/js/report_filters.js"]) == ["consent_activity", "revocations"]
