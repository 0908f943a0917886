#!/usr/bin/env bash
# Install this checkout into an existing bench (as a link, so edits are live), then migrate and build.
# Usage: scripts/install-into-bench.sh [BENCH_DIR] [SITE]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=${1:-${OPT_CONSENT_BENCH:-$HOME/frappe-bench}}
bench_dir=$(cd "$bench_dir" && pwd)
site=${2:-${OPT_CONSENT_SITE:-}}
if [ -z "$site" ]; then
	site=$(cat "$bench_dir/sites/currentsite.txt" 2>/dev/null ||
		python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("default_site", ""))' \
			"$bench_dir/sites/common_site_config.json")
fi
[ -n "$site" ] || { echo "install-into-bench: no site given and no default site in $bench_dir" >&2; exit 2; }
command -v bench >/dev/null || python3 -m pip install --quiet frappe-bench

cd "$bench_dir"
if [ "$(readlink -f apps/opt_consent 2>/dev/null)" != "$repo" ]; then
	rm -rf apps/opt_consent
	ln -s "$repo" apps/opt_consent
fi
grep -qx opt_consent sites/apps.txt || printf '\nopt_consent\n' >> sites/apps.txt
sed -i '/^$/d' sites/apps.txt
if command -v uv >/dev/null 2>&1; then
	uv pip install --quiet --python env/bin/python -e apps/opt_consent
else
	env/bin/python -m pip install --quiet -e apps/opt_consent
fi
# Frappe caches the list of app modules in Redis: after apps.txt changes, drop the site's cache, or
# install-app resolves this app's doctypes against the stale list and creates none of them.
bench --site "$site" clear-cache
if ! bench --site "$site" list-apps 2>/dev/null | grep -q '^opt_consent'; then
	# --force: an earlier failed install may have left part of the app behind (its Module Def)
	bench --site "$site" install-app opt_consent --force
fi
# migrate syncs every doctype and re-runs the idempotent seeding (roles, methods, settings, indexes), so a
# re-run repairs a site an earlier failed install left half-installed.
bench --site "$site" migrate
bench build --app opt_consent
