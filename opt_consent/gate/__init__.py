"""The gate: may this address be contacted now, for this purpose (can_contact), and email's global unsubscribe."""
