"""Media type helpers and the table of OCI error codes."""

from __future__ import annotations

import pytest

from dockyard.oci import mediatypes as mt
from dockyard.oci.errors import ErrorCode


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, ""),
        ("", ""),
        (mt.OCI_MANIFEST, mt.OCI_MANIFEST),
        (f"{mt.OCI_MANIFEST}; charset=utf-8", mt.OCI_MANIFEST),
        (f"  {mt.DOCKER_MANIFEST}  ;q=1", mt.DOCKER_MANIFEST),
        (mt.OCI_INDEX.upper(), mt.OCI_INDEX),
        ("application/json", "application/json"),
    ],
)
def test_base_media_type(header: str | None, expected: str) -> None:
    assert mt.base_media_type(header) == expected


def test_manifest_type_sets() -> None:
    assert mt.MANIFEST_TYPES == {
        mt.OCI_MANIFEST,
        mt.OCI_INDEX,
        mt.DOCKER_MANIFEST,
        mt.DOCKER_MANIFEST_LIST,
    }
    assert mt.IMAGE_MANIFESTS.isdisjoint(mt.INDEXES)
    assert mt.DOCKER_SCHEMA1 not in mt.MANIFEST_TYPES
    assert mt.DOCKER_SCHEMA1_SIGNED not in mt.MANIFEST_TYPES
    assert mt.FOREIGN_LAYERS.isdisjoint(mt.MANIFEST_TYPES)


#: The distribution spec's error codes (``code-1`` to ``code-14``).
SPEC_CODES = {
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
}


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_goes_on_the_wire_as_a_spec_code(code: ErrorCode) -> None:
    assert code.wire_code in SPEC_CODES | {"UNKNOWN", "PAGINATION_NUMBER_INVALID", "TAG_INVALID"}
    assert 400 <= code.status < 600
    assert code.message


def test_every_spec_code_is_defined() -> None:
    assert {c.wire_code for c in ErrorCode} >= SPEC_CODES


@pytest.mark.parametrize(
    ("code", "status", "wire"),
    [
        (ErrorCode.BLOB_UNKNOWN, 404, "BLOB_UNKNOWN"),
        (ErrorCode.BLOB_UPLOAD_UNKNOWN, 404, "BLOB_UPLOAD_UNKNOWN"),
        (ErrorCode.DIGEST_INVALID, 400, "DIGEST_INVALID"),
        (ErrorCode.MANIFEST_UNKNOWN, 404, "MANIFEST_UNKNOWN"),
        (ErrorCode.NAME_UNKNOWN, 404, "NAME_UNKNOWN"),
        (ErrorCode.UNAUTHORIZED, 401, "UNAUTHORIZED"),
        (ErrorCode.DENIED, 403, "DENIED"),
        (ErrorCode.UNSUPPORTED, 405, "UNSUPPORTED"),
        (ErrorCode.TOOMANYREQUESTS, 429, "TOOMANYREQUESTS"),
        (ErrorCode.RANGE_INVALID, 416, "BLOB_UPLOAD_INVALID"),
        (ErrorCode.MANIFEST_TOO_LARGE, 413, "SIZE_INVALID"),
        (ErrorCode.UNKNOWN, 500, "UNKNOWN"),
    ],
)
def test_status_and_wire_code(code: ErrorCode, status: int, wire: str) -> None:
    assert code.status == status
    assert code.wire_code == wire
