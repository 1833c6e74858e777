"""The web pages: Jinja2 templates and one hand-written CSS and JS file, served by the app.

See docs/web.md for the pages, sessions and CSRF, and how layer files are listed.
"""
