"""The states of an Inbound Text: one description, read by the inbound door, its review, the Revocations
report and the workspace. Pure Python: no ``import frappe``."""

APPLIED = "Applied"
NO_CHANGE = "No Change"
UNRECOGNISED = "Unrecognised"
UNKNOWN_NUMBER = "Unknown Number"
HELP = "Help"
REVIEWED = "Reviewed"
NOT_APPLIED = "Not Applied"  # a revocation that could not be recorded: kept, shown first, the gateway retries
FLAGGED = "Flagged"  # read as a revocation and applied, but worded so that a person should look at it
DUPLICATE = "Duplicate"  # answered, never stored: the first message with the id is the record

# what waits for a person: its honour-by date runs (the workspace card and the Revocations report count it)
AWAITING_REVIEW = (UNRECOGNISED, NOT_APPLIED)
# what a person may mark reviewed
REVIEWABLE = (UNRECOGNISED, UNKNOWN_NUMBER, FLAGGED)
