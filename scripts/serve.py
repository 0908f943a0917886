"""Serve a bench site on the loopback address only (``bench serve`` binds every interface).

Run with the bench's Python from its ``sites`` folder:
    ../env/bin/python /path/to/opt_consent/scripts/serve.py --site opt.localhost --port 8765
"""

import argparse
import logging
import os

from werkzeug.serving import run_simple


def main() -> None:
	parser = argparse.ArgumentParser(description=__doc__)
	parser.add_argument("--site", required=True)
	parser.add_argument("--port", type=int, default=8765)
	parser.add_argument("--sites-path", default=os.getcwd())
	args = parser.parse_args()

	import frappe.app

	frappe.app._site = args.site
	frappe.app._sites_path = args.sites_path
	application = frappe.app.application_with_statics()
	logging.getLogger("werkzeug").setLevel(logging.ERROR)
	run_simple(
		"127.0.0.1",
		args.port,
		application,
		use_reloader=False,
		use_debugger=False,
		threaded=True,
	)


if __name__ == "__main__":
	main()
