"""Settings split by environment: base, local, production and test.

Production-only settings (security headers, JSON logs, hashed static files,
the origin check on WebSockets) live in ``production.py`` and nowhere else.
"""
