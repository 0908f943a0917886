#!/usr/bin/env bash
# Create a development bench with a site and this app installed.
#
#   scripts/setup-bench.sh [--frappe-path SRC] [--frappe-branch BRANCH] [--bench DIR] [--site NAME]
#
# SRC is anything `bench init --frappe-path` takes: a git URL (default: the official Frappe repository)
# or a local clone. BRANCH defaults to version-15, the stable line the app is tested on; develop (Frappe
# 16) is tested too and is a choice. MariaDB and Redis are expected on their usual local ports (3306, 6379); the script
# creates a privileged MariaDB user for `bench new-site` through root's socket login when none is given.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
frappe_path=https://github.com/frappe/frappe
frappe_branch=version-15
bench_dir=${OPT_CONSENT_BENCH:-$HOME/frappe-bench}
site=${OPT_CONSENT_SITE:-opt.localhost}
db_user=${DB_ROOT_USER:-opt_bench_root}
db_password=${DB_ROOT_PASSWORD:-opt_bench_root}
admin_password=${ADMIN_PASSWORD:-admin}

while [ $# -gt 0 ]; do
	case "$1" in
		--frappe-path) frappe_path=$2; shift 2 ;;
		--frappe-branch) frappe_branch=$2; shift 2 ;;
		--bench) bench_dir=$2; shift 2 ;;
		--site) site=$2; shift 2 ;;
		-h|--help) sed -n 2,9p "$0"; exit 0 ;;
		*) echo "setup-bench: unknown argument $1" >&2; exit 2 ;;
	esac
done

say() { printf '\n== %s\n' "$*"; }

say "tools: bench, yarn, the MariaDB client headers"
command -v bench >/dev/null || python3 -m pip install --quiet frappe-bench
command -v yarn >/dev/null || npm install --global --silent yarn
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! dpkg -s libmariadb-dev >/dev/null 2>&1; then
	# wait for another apt (a parallel setup) rather than fail on its lock
	apt-get -o DPkg::Lock::Timeout=600 update -qq &&
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq libmariadb-dev pkg-config
fi

say "MariaDB: utf8mb4 collation and a privileged user for bench new-site"
if [ -z "${DB_ROOT_PASSWORD:-}" ]; then
	mariadb -uroot <<SQL
SET GLOBAL character_set_server = 'utf8mb4';
SET GLOBAL collation_server = 'utf8mb4_unicode_ci';
CREATE USER IF NOT EXISTS '$db_user'@'localhost' IDENTIFIED BY '$db_password';
CREATE USER IF NOT EXISTS '$db_user'@'127.0.0.1' IDENTIFIED BY '$db_password';
GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
fi

if [ ! -d "$bench_dir/apps/frappe" ]; then
	say "bench init $bench_dir from $frappe_path ($frappe_branch)"
	# bench refuses root unless frappe_user is set in ./sites/common_site_config.json
	mkdir -p "$bench_dir/sites"
	[ -f "$bench_dir/sites/common_site_config.json" ] ||
		printf '{"frappe_user": "%s"}\n' "$(id -un)" > "$bench_dir/sites/common_site_config.json"
	(cd "$bench_dir" && bench init --ignore-exist --frappe-path "$frappe_path" --frappe-branch "$frappe_branch" \
		--skip-redis-config-generation --no-backups --dev "$bench_dir")
fi

cd "$bench_dir"
say "bench environment: setuptools with pkg_resources, test tools, Redis on 127.0.0.1:6379"
if command -v uv >/dev/null; then
	uv pip install --quiet --python env/bin/python 'setuptools<81' pytest hypothesis requests playwright
else
	env/bin/python -m pip install --quiet 'setuptools<81' pytest hypothesis requests playwright
fi
env/bin/python - <<'PY'
import json
path = "sites/common_site_config.json"
config = json.load(open(path))
for key in ("redis_cache", "redis_queue", "redis_socketio"):
	config[key] = "redis://127.0.0.1:6379"
# the queue the worker tests' own `bench worker` processes consume (so they never take another site's jobs)
config.setdefault("workers", {}).setdefault("opt_consent_test", {"timeout": 1500})
json.dump(config, open(path, "w"), indent=1, sort_keys=True)
PY

if [ ! -d "sites/$site" ]; then
	say "site $site"
	bench new-site "$site" --db-type mariadb --db-host 127.0.0.1 --db-port 3306 \
		--db-root-username "$db_user" --db-root-password "$db_password" --admin-password "$admin_password"
fi
bench use "$site"
bench --site "$site" set-config allow_tests true
if [ -w /etc/hosts ] && ! grep -q "[[:space:]]$site\$" /etc/hosts; then
	echo "127.0.0.1 $site" >> /etc/hosts
fi

say "this app"
bash "$repo/scripts/install-into-bench.sh" "$bench_dir" "$site"

# bench init carries on when Frappe's own asset build fails (a corrupt package in yarn's cache, seen after
# two installs shared it at once): the desk would then load without its scripts. Say so, with the fix.
if ! env/bin/python -c 'import json, sys; sys.exit("desk.bundle.js" not in json.load(open("sites/assets/assets.json")))'; then
	echo "setup-bench: Frappe's desk assets were not built (no desk.bundle.js in sites/assets/assets.json);" >&2
	echo "  the build output above says why. A corrupt yarn cache is the usual cause: run 'yarn cache clean'," >&2
	echo "  then 'cd $bench_dir/apps/frappe && yarn install --force && cd ../.. && bench build', then this script." >&2
	exit 1
fi

say "done. Serve it on the loopback address only:"
echo "  cd $bench_dir/sites && ../env/bin/python $repo/scripts/serve.py --site $site --port 8000"
echo "  then open http://$site:8000/app/phone (Administrator / $admin_password; finish the setup wizard once)"
