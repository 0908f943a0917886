"""Bench commands of the app (Frappe reads ``commands`` from ``<app>.commands``).

    bench --site S opt-consent-import FILE [--dry-run] [--map "Phone Call=Verbal"] [--date-format MM/DD/YYYY]
        [--time-zone America/New_York] [--user someone@example.com]

Kept light: bench imports this module for every command, so Frappe and the app load inside the command.
"""

import click
from frappe.commands import get_site, pass_context


@click.command("opt-consent-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
	"--dry-run", is_flag=True, help="Replay without writing: say what would be recorded and refused."
)
@click.option("--map", "mapping", multiple=True, help='A method of the file as an Opt Method: "From=To".')
@click.option(
	"--date-format", default="YYYY-MM-DD", type=click.Choice(["YYYY-MM-DD", "MM/DD/YYYY", "DD/MM/YYYY"])
)
@click.option("--time-zone", default=None, help="The zone the file's times are in (default: the site's).")
@click.option(
	"--user", default="Administrator", help="Who the rows are recorded by (an Opt Consent Manager)."
)
@click.option("--report", default=None, help="Write every refused row, with its reason, to this CSV file.")
@pass_context
def import_history(context, file, dry_run, mapping, date_format, time_zone, user, report):
	"""Import consent history (phones, emails and their opt events) from a CSV export."""
	import shutil

	import frappe

	from opt_consent.history.job import run_file

	site = get_site(context)
	frappe.init(site=site)
	frappe.connect()
	try:
		frappe.set_user(user)
		pairs = {}
		for item in mapping:
			source, sep, target = item.partition("=")
			if not sep or not source.strip() or not target.strip():
				raise click.BadParameter(f"{item!r}: use From=To", param_hint="--map")
			pairs[source.strip()] = target.strip()
		try:
			result = run_file(file, dry_run, mapping=pairs, date_format=date_format, time_zone=time_zone)
		except frappe.ValidationError as error:
			frappe.db.rollback()
			click.secho(frappe.utils.strip_html(str(error)), fg="red", err=True)
			raise SystemExit(1) from None
		label = "would be recorded" if dry_run else "recorded"
		click.echo(
			f"rows: {result.rows}; {label}: {result.recorded}; refused: {result.refused}; "
			f"already imported: {result.duplicates}; new records: {result.new_records}"
		)
		for refused in result.kept[:20]:
			click.echo(
				f"  line {refused['line']}: {refused['address']}: {frappe.utils.strip_html(refused['reason'])}"
			)
		if result.refused > 20:
			click.echo(f"  ... and {result.refused - 20} more")
		for method, count in sorted(result.unknown_methods.items()):
			click.echo(
				f'  unknown method "{method}" ({count} rows): map it with --map "{method}=<Opt Method>"'
			)
		if result.report_path:
			if report:
				shutil.move(result.report_path, report)
				click.echo(f"refused rows written to {report}")
			else:
				click.echo(f"refused rows written to {result.report_path}")
		if dry_run:
			frappe.db.rollback()
	finally:
		frappe.destroy()


commands = [import_history]
