"""The public paths ``opt_consent.sms.*``, kept answering exactly as before (other apps call ``opt_consent.sms.send_sms``; the Notification class was named here): a thin
alias of :mod:`opt_consent.api.sms`, where the code lives. New code imports :mod:`opt_consent.api.sms`."""

from opt_consent.api.sms import (  # noqa: F401
	FRAPPE_MAJOR,
	ConsentNotification,
	receiver_numbers,
	send_sms,
)
