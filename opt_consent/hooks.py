app_name = "opt_consent"
app_title = "Opt Consent"
app_publisher = "The opt_consent developers"
app_description = "Consent to call, text and email, recorded as evidence in the Frappe desk"
app_email = "opt-consent@example.com"
app_license = "mit"

# Every whitelisted method states the types of its arguments.
require_type_annotated_api_methods = True

after_install = "opt_consent.install.after_install"
after_migrate = "opt_consent.install.after_migrate"

# The desk reads the one channel description from its boot info.
boot_session = "opt_consent.boot.boot_session"

doc_events = {
	"Email": {
		# Frappe's mailer honours email consent: keep the global Email Unsubscribe in step.
		# A consent action on a Contact's record goes on the Contact's timeline.
		"on_update": [
			"opt_consent.api.events.on_email_update",
			"opt_consent.api.events.on_record_update",
		],
	},
	"Phone": {
		# Texting reauthorisation: after a consent action, store the due and lapse dates.
		"validate": "opt_consent.api.events.on_phone_validate",
		"on_update": "opt_consent.api.events.on_record_update",
	},
	# Every number and address on a Contact gets its consent record (found or created on every save).
	"Contact": {"on_update": "opt_consent.api.events.on_contact_update"},
	# Contact Control: mail Frappe queues to a person with a consent record counts as an attempt.
	"Email Queue": {"after_insert": "opt_consent.api.events.on_email_queued"},
	# A received email that says "unsubscribe" / "stop emailing me" withdraws email consent (any reasonable
	# means, 47 CFR 64.1200(a)(10)).
	"Communication": {"after_insert": "opt_consent.api.events.on_communication_insert"},
}

# Texting reauthorisation: lapse texting consent whose period has run out.
# The one confirmation text after a revocation by text: a gateway that failed is tried again every minute.
scheduler_events = {
	"daily": ["opt_consent.tasks.lapse_texting_consent"],
	"cron": {"* * * * *": ["opt_consent.tasks.retry_revocation_confirmations"]},
}

# The desk's JS loads only where it serves (no app_include_js). Each form and list gets the channel description
# read from the boot info (consent_channels.js) first; the dialog, Contact Control and Evidence are bundles the
# forms load with frappe.require when they first show them.
doctype_js = {
	# Contact Control, consent buttons, log and Evidence; Record Call, the due / lapsed texting note, and Send
	# Text (through the SMS door).
	"Phone": [
		"public/js/consent_channels.js",
		"public/js/consent_form.js",
		"public/js/phone_record_call.js",
		"public/js/phone_reauth.js",
		"public/js/phone_send_text.js",
	],
	"Email": ["public/js/consent_channels.js", "public/js/consent_form.js"],
	# The Consent section of the Contact form.
	"Contact": ["public/js/consent_channels.js", "public/js/contact_consent.js"],
}
# Indicators and the bulk "Opt Out..." action of the Phone and Email lists.
doctype_list_js = {
	"Phone": ["public/js/consent_channels.js", "public/js/consent_list.js", "public/js/phone_list.js"],
	"Email": ["public/js/consent_channels.js", "public/js/consent_list.js", "public/js/email_list.js"],
}

before_uninstall = "opt_consent.install.before_uninstall"

# The door texts leave by: the desk's Send SMS and SMS Notifications text only numbers whose texting consent
# is in force; the rest are withheld and kept as Withheld Messages (two-factor codes never pass this door).
override_whitelisted_methods = {
	"frappe.core.doctype.sms_settings.sms_settings.send_sms": "opt_consent.api.sms.send_sms",
}
override_doctype_class = {"Notification": "opt_consent.api.sms.ConsentNotification"}

# The evidence print formats (Phone Evidence, Email Evidence) read the record's whole evidence through this.
jinja = {"methods": ["opt_consent.api.evidence.opt_consent_evidence"]}
