"""Regenerate opt_consent/locale/main.pot with Frappe's own extractor, for a development install whose
``apps/opt_consent`` is a link to this checkout (``bench generate-pot-file`` refuses the link's target paths).

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/opt_consent/scripts/generate_pot.py [--site SITE]
"""

import argparse
import json
import os

import frappe
import git
from frappe.gettext import translate


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__)
	parser.add_argument("--site", default=None)
	args = parser.parse_args()
	site = args.site or json.load(open("common_site_config.json")).get("default_site")
	frappe.init(site=site, sites_path=".")
	frappe.connect()
	bench = os.path.abspath("..")

	def gitignored(app):
		# compare real paths: the checkout's repository, the link's files
		repo = git.Repo(os.path.realpath(frappe.get_app_source_path(app)), search_parent_directories=True)
		return lambda d: bool(repo.ignored([os.path.realpath(d.rstrip("/"))]))

	original = frappe.get_pymodule_path

	def pymodule_path(app, *joins):
		# walk the bench's link (paths inside the bench), not its target
		if app == "opt_consent" and joins == ("..",):
			return os.path.join(bench, "apps", "opt_consent")
		return original(app, *joins)

	translate.get_is_gitignored_function_for_app = gitignored
	translate.frappe.get_pymodule_path = pymodule_path
	translate.generate_pot("opt_consent")


if __name__ == "__main__":
	main()
