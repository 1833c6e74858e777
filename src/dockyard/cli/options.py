"""Options shared by the server and admin commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from dockyard.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def config_options(func: F) -> F:
    """``--config`` and ``--data-dir``, settable in the environment too."""
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (database, storage, keys). [env DOCKYARD_DATA_DIR; default ./data]",
    )(func)
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="DOCKYARD_CONFIG",
        default=None,
        help="TOML configuration file. [env DOCKYARD_CONFIG]",
    )(func)
    return func


def settings_from(config_file: Path | None, **overrides: Any) -> Settings:
    """Load settings, turning configuration mistakes into a clean CLI error."""
    try:
        return load_settings(config_file, **overrides)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    except ValidationError as exc:
        raise click.UsageError(f"invalid configuration:\n{exc}") from None
