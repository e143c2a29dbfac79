"""Packaged word lists: bad phrases and repeat-exempt words."""
