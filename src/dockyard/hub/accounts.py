"""Accounts: sign-up, admin-created users, password changes (which end the web sessions)."""

from __future__ import annotations

import anyio.to_thread

from dockyard.auth.passwords import hash_password, verify_password
from dockyard.hub.errors import Conflict, Forbidden, SignupClosed
from dockyard.hub.names import check_email, check_namespace_name, check_password
from dockyard.metadata.hub_store import HubStore, NameTaken, UserRecord
from dockyard.metadata.session_store import WebSessionStore


class AccountService:
    """Creates users and changes their passwords."""

    def __init__(self, store: HubStore, *, open_signup: bool) -> None:
        self.store = store
        self.web_sessions = WebSessionStore(store.db)
        self.open_signup = open_signup

    async def sign_up(
        self, username: str, email: str, password: str, address: str = ""
    ) -> UserRecord:
        """Self-service sign-up (refused when closed by configuration)."""
        if not self.open_signup:
            raise SignupClosed("sign-up is closed on this server; ask an administrator")
        user = await self.create_user(username, email, password)
        await self.store.audit(
            "user.create", actor=user.username, actor_ip=address, namespace=user.username
        )
        return user

    async def create_user(
        self, username: str, email: str, password: str, *, is_admin: bool = False
    ) -> UserRecord:
        """Create a user after checking every rule; raises :class:`Conflict` on a taken name."""
        check_namespace_name(username)
        email = check_email(email)
        check_password(password)
        password_hash = await anyio.to_thread.run_sync(hash_password, password)
        try:
            return await self.store.create_user(username, email, password_hash, is_admin=is_admin)
        except NameTaken as exc:
            raise Conflict(str(exc)) from None

    async def change_password(
        self, user: UserRecord, current: str, new: str, *, keep_session: str | None = None
    ) -> None:
        """Change a password, given the current one; every web session of the user ends in the
        same transaction, except ``keep_session`` (the one the change was made in)."""
        ok = await anyio.to_thread.run_sync(verify_password, user.password_hash, current)
        if not ok:
            raise Forbidden("the current password is wrong")
        check_password(new)
        new_hash = await anyio.to_thread.run_sync(hash_password, new)
        await self.web_sessions.change_password(user.id, new_hash, keep=keep_session)
        await self.store.audit("user.password", actor=user.username, namespace=user.username)
