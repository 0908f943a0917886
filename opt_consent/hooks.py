app_name = "opt_consent"
app_title = "Opt Consent"
app_publisher = "opt_consent developers"
app_description = "Consent to call, text and email, recorded as evidence in the Frappe desk"
app_email = "opt-consent@example.com"
app_license = "mit"

# Every whitelisted method states the types of its arguments.
require_type_annotated_api_methods = True

# The desk: channel description, consent buttons, dialog, log and list views of Phone and Email.
app_include_js = "opt_consent.bundle.js"

after_install = "opt_consent.install.after_install"
after_migrate = "opt_consent.install.after_migrate"

# Frappe's mailer honours email consent: keep the global Email Unsubscribe in step (issue 5).
doc_events = {
	"Email": {"on_update": "opt_consent.mail_sync.on_email_update"},
	# Texting reauthorisation (issue 4): after a consent action, store the due and lapse dates.
	"Phone": {"validate": "opt_consent.lapse.on_phone_validate"},
}

# Texting reauthorisation (issue 4): lapse texting consent whose period has run out.
scheduler_events = {"daily": ["opt_consent.tasks.lapse_texting_consent"]}

# Texting reauthorisation (issue 4): the due / lapsed note on the Phone form.
doctype_js = {"Phone": "public/js/phone_reauth.js"}
