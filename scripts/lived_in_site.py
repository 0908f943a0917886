"""Make a site look lived in, as a newcomer leaves it, to prove the test suites on it. A command, not a test.

What it does, in this order (everything committed, as the desk and the API commit it):

1. texting reauthorisation switched on (30 days, a reminder 5 days before), as an admin saves the settings;
2. phones (Cell and Home) and emails made and opted in and out through the API's functions, events dated
   from 70 days ago to today; some texting reauthorised;
3. a few lapse runs (the daily job's run, its chunks run here), so there are runs and Lapsed rows;
4. more phones whose texting consent is due to lapse (opted in 35 to 60 days ago, after the last run);
5. a few call attempts recorded through Contact Control;
6. the Regulation F rules enabled, then disabled again;
7. the site's time zone changed (System Settings, as the setup wizard does) to ``--time-zone``.

The site's time zone before the change is kept in ``sites/<site>/private/lived_in_site.json``;
``--restore-zone`` puts it back (the data stays: the site stays lived in). ``--remove`` deletes the records
this command made (from the same file) and puts the zone back.

    cd ~/frappe-bench/sites && ../env/bin/python /path/to/opt_consent/scripts/lived_in_site.py \
        --site x.localhost [--phones 60] [--emails 30] [--time-zone America/New_York]
    ../env/bin/python /path/to/opt_consent/scripts/lived_in_site.py --site x.localhost --restore-zone
    ../env/bin/python /path/to/opt_consent/scripts/lived_in_site.py --site x.localhost --remove
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

AREA_CODES = ("212", "305", "415", "503", "617", "702", "808", "907")


def parse_args():
	parser = argparse.ArgumentParser(
		description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
	)
	parser.add_argument("--site", required=True)
	parser.add_argument("--phones", type=int, default=60)
	parser.add_argument("--emails", type=int, default=30)
	parser.add_argument("--time-zone", default="America/New_York")
	parser.add_argument("--seed", type=int, default=1506)
	parser.add_argument("--restore-zone", action="store_true", help="only put the zone before the fill back")
	parser.add_argument("--remove", action="store_true", help="delete what the fill made; put the zone back")
	return parser.parse_args()


def state_path() -> Path:
	import frappe

	return Path(frappe.get_site_path("private", "lived_in_site.json"))


def load_state() -> dict:
	path = state_path()
	return json.loads(path.read_text()) if path.exists() else {"records": [], "zone_before": None}


def save_state(state: dict) -> None:
	path = state_path()
	path.parent.mkdir(parents=True, exist_ok=True)
	path.write_text(json.dumps(state, indent=1))


def site_zone() -> str | None:
	import frappe

	return frappe.db.get_single_value("System Settings", "time_zone")


def set_zone(zone: str | None) -> None:
	"""The site's time zone, as System Settings stores it (and every cache of it dropped)."""
	import frappe

	frappe.db.set_single_value("System Settings", "time_zone", zone)
	frappe.db.commit()
	frappe.clear_cache()


def number(rng: random.Random) -> str:
	import phonenumbers

	while True:
		text = f"+1 {rng.choice(AREA_CODES)} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"
		if phonenumbers.is_valid_number(phonenumbers.parse(text)):
			return text


def when(days_ago: float) -> dict:
	from frappe.utils import now_datetime

	at = now_datetime() - dt.timedelta(days=days_ago)
	return {"date": at.date().isoformat(), "time": at.strftime("%H:%M:%S")}


def fill(args) -> dict:
	import frappe

	from opt_consent.api import consent as api
	from opt_consent.api import control
	from opt_consent.contact_control import rules as cc
	from opt_consent.contact_control.adapter import RULES_FIELD
	from opt_consent.jobs import runs
	from opt_consent.reauth import lapse

	rng = random.Random(args.seed)
	state = load_state()
	if state["zone_before"] is None and not state["records"]:
		state["zone_before"] = site_zone() or ""
	made = state["records"]

	def keep(doctype, name):
		made.append([doctype, name])
		save_state(state)

	def act(kind, doctype, name, channel, days_ago, method="Verbal"):
		target = (
			{"name": name}
			if kind == "text_reauth"
			else {"doctype": doctype, "name": name, "channel": channel}
		)
		try:
			getattr(api, kind)(**target, method=method, **when(days_ago))
		except frappe.ValidationError:
			frappe.db.rollback()
			frappe.local.message_log = []
			return False
		frappe.db.commit()
		return True

	# 1. texting reauthorisation on, as an admin saves it (the recompute the save queues, run here)
	settings = frappe.get_doc("Opt Consent Settings")
	settings.text_reauth_days, settings.reauth_reminder_days = 30, 5
	settings.save()
	lapse.recompute_phones()
	frappe.db.commit()

	# 2. phones and emails through the API
	for i in range(args.phones):
		phone = frappe.get_doc(
			{"doctype": "Phone", "phone": number(rng), "phone_type": "Home" if i % 5 == 0 else "Cell"}
		).insert()
		frappe.db.commit()
		keep("Phone", phone.name)
		start = rng.uniform(5, 70)
		act("opt_in", "Phone", phone.name, "Call", start)
		if phone.phone_type == "Cell" and act("opt_in", "Phone", phone.name, "Text", start - 0.5):
			if i % 4 == 1:
				act("text_reauth", "Phone", phone.name, "Text", start / 3)
		if i % 3 == 2:
			act("opt_out", "Phone", phone.name, rng.choice(["Call", "Text"]), start / 2)
	for i in range(args.emails):
		email = frappe.get_doc(
			{"doctype": "Email", "email_id": f"lived-in-{i}-{rng.randint(0, 10**6)}@example.org"}
		)
		email.insert()
		frappe.db.commit()
		keep("Email", email.name)
		start = rng.uniform(1, 60)
		act("opt_in", "Email", email.name, "Email", start)
		if i % 3 == 0:
			act("opt_out", "Email", email.name, "Email", start / 2)

	# 3. a few lapse runs, as the daily job makes them (its chunks run here)
	for _ in range(3):
		keep("Opt Consent Run", runs.start_lapse(inline=True))
		frappe.db.commit()

	# 4. phones due to lapse after the last run
	for _ in range(max(args.phones // 6, 1)):
		phone = frappe.get_doc({"doctype": "Phone", "phone": number(rng), "phone_type": "Cell"}).insert()
		frappe.db.commit()
		keep("Phone", phone.name)
		act("opt_in", "Phone", phone.name, "Text", rng.uniform(35, 60))

	# 5. calls recorded through Contact Control
	called = [name for doctype, name in made if doctype == "Phone"][:5]
	for name in called:
		key = frappe.db.get_value("Phone", name, "phone_e164")
		try:
			control.record_attempt(channel="Call", address=key, outcome=cc.NO_ANSWER)
			frappe.db.commit()
		except frappe.ValidationError:
			frappe.db.rollback()
			frappe.local.message_log = []

	# 6. the Regulation F rules enabled, then disabled again
	control.enable_regulation_f()
	frappe.db.commit()
	settings = frappe.get_doc("Opt Consent Settings")
	for row in settings.get(RULES_FIELD) or ():
		if row.template == cc.REGULATION_F:
			row.enabled = 0
	settings.save()
	frappe.db.commit()

	# 7. the site's time zone changed
	set_zone(args.time_zone)
	save_state(state)
	return state


def remove(state: dict) -> None:
	import frappe

	for doctype, name in reversed(state["records"]):
		if frappe.db.exists(doctype, name):
			frappe.delete_doc(doctype, name, force=True, ignore_permissions=True, delete_permanently=True)
	frappe.db.commit()


def main() -> None:
	args = parse_args()
	import frappe

	frappe.init(site=args.site, sites_path=os.getcwd())
	frappe.connect()
	frappe.set_user("Administrator")
	try:
		state = load_state()
		if args.restore_zone or args.remove:
			if state["zone_before"] is not None:
				set_zone(state["zone_before"] or None)
			if args.remove:
				remove(state)
				state_path().unlink(missing_ok=True)
			print(f"time zone: {site_zone() or '(default)'}")
			return
		state = fill(args)
		kinds = {}
		for doctype, _name in state["records"]:
			kinds[doctype] = kinds.get(doctype, 0) + 1
		print(f"made {kinds}; time zone {state['zone_before'] or '(default)'} -> {site_zone()}")
	finally:
		frappe.destroy()


if __name__ == "__main__":
	main()
