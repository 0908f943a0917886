"""Contact Scrub: can_contact for a list of up to 100,000 addresses, on the workers."""
