"""Appearance: light, dark, or as the system says (``prefers-color-scheme``), chosen per person on Settings."""
