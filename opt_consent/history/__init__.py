"""The consent history import: read, check and replay a CSV of past consent events."""
