"""Texting reauthorisation: the rules, the stored due / lapse dates, the daily lapse."""
