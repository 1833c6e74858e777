"""Authentication and authorization: passwords, scopes, signed tokens, the permission policy."""
