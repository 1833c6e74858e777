"""Rules for usernames, organization and team names (Docker Hub's)."""

from __future__ import annotations

import re

from dockyard.hub.errors import ValidationFailed

_NAMESPACE_RE = re.compile(r"^[a-z0-9]{4,30}$")
_TEAM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")

#: Names no user or organization may take (routes, roles, the official namespace).
RESERVED_NAMES = frozenset(
    {
        "about", "account", "accounts", "admin", "administrator", "api", "auth", "billing",
        "docker", "dockyard", "explore", "help", "home", "hub", "library", "login", "logout",
        "namespaces", "official", "orgs", "public", "registry", "repositories", "root",
        "search", "settings", "signup", "static", "support", "system", "token", "tokens",
        "user", "users", "www",
    }
)  # fmt: skip

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def check_namespace_name(name: str, what: str = "username") -> str:
    """A valid user or organization name: 4-30 lowercase letters and digits, not reserved."""
    if not _NAMESPACE_RE.fullmatch(name):
        raise ValidationFailed(f"{what} must be 4 to 30 lowercase letters and digits")
    if name in RESERVED_NAMES:
        raise ValidationFailed(f"{what} {name!r} is reserved")
    return name


def check_team_name(name: str) -> str:
    """A valid team name."""
    if not _TEAM_RE.fullmatch(name):
        raise ValidationFailed("team name must be 1 to 50 letters, digits, '.', '_' or '-'")
    return name


def check_email(email: str) -> str:
    """A plausible email address, lower-cased."""
    if not _EMAIL_RE.fullmatch(email):
        raise ValidationFailed("invalid email address")
    return email.lower()


def check_password(password: str) -> str:
    """A password of acceptable length."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return password
