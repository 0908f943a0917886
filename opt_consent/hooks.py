app_name = "opt_consent"
app_title = "Opt Consent"
app_publisher = "The opt_consent developers"
app_description = "Consent to call, text and email, recorded as evidence in the Frappe desk"
app_email = "opt-consent@example.com"
app_license = "mit"

# Every whitelisted method states the types of its arguments.
require_type_annotated_api_methods = True

# The desk: channel description, consent buttons, dialog, log and list views of Phone and Email.
app_include_js = "opt_consent.bundle.js"

after_install = "opt_consent.install.after_install"
after_migrate = "opt_consent.install.after_migrate"

# The desk reads the one channel description from its boot info.
boot_session = "opt_consent.boot.boot_session"

doc_events = {
	# Frappe's mailer honours email consent: keep the global Email Unsubscribe in step.
	"Email": {"on_update": "opt_consent.adapters.mail_sync.on_email_update"},
	# Texting reauthorisation: after a consent action, store the due and lapse dates.
	"Phone": {"validate": "opt_consent.adapters.lapse.on_phone_validate"},
}

# Texting reauthorisation: lapse texting consent whose period has run out.
scheduler_events = {"daily": ["opt_consent.tasks.lapse_texting_consent"]}

# Texting reauthorisation: the due / lapsed note on the Phone form.
doctype_js = {"Phone": "public/js/phone_reauth.js"}

before_uninstall = "opt_consent.install.before_uninstall"

# The door texts leave by: the desk's Send SMS and SMS Notifications text only numbers whose texting consent
# is in force; the rest are withheld and kept as Withheld Messages (two-factor codes never pass this door).
override_whitelisted_methods = {
	"frappe.core.doctype.sms_settings.sms_settings.send_sms": "opt_consent.sms.send_sms",
}
override_doctype_class = {"Notification": "opt_consent.sms.ConsentNotification"}

# --- Consent on Contact ---------------------------------------------------------------------------------
# Every number and address on a Contact gets its consent record (found or created on insert and save,
# whatever the door); a consent action on a Contact's record goes on the Contact's timeline; the Contact
# form shows a Consent section. Added to the dicts above, nothing there changed.
doc_events["Contact"] = {"on_update": "opt_consent.adapters.contact.on_contact_update"}
for _record in ("Phone", "Email"):
	_on_update = doc_events[_record].get("on_update") or []
	doc_events[_record]["on_update"] = [
		*([_on_update] if isinstance(_on_update, str) else _on_update),
		"opt_consent.adapters.contact.on_record_update",
	]
doctype_js["Contact"] = "public/js/contact_consent.js"
