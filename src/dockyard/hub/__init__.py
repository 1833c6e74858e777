"""The Hub around the registry: accounts, organizations, teams, tokens, repositories."""
