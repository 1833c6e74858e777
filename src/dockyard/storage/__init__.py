"""Blob storage: one driver interface (shaped for object stores) and its drivers."""

from dockyard.storage.interface import (
    ObjectInfo,
    StorageDriver,
    StorageError,
    StorageNotFound,
    UploadInfo,
    UploadOffsetMismatch,
)

__all__ = [
    "ObjectInfo",
    "StorageDriver",
    "StorageError",
    "StorageNotFound",
    "UploadInfo",
    "UploadOffsetMismatch",
]
