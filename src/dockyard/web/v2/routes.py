"""Every ``/v2/`` route, in matching order (more specific suffixes first)."""

from __future__ import annotations

from starlette.routing import Route

from dockyard.web.v2 import handlers

ROUTES = [
    Route("/v2/", handlers.base, methods=["GET"], name="v2_base"),
    Route("/v2/_catalog", handlers.catalog, methods=["GET"], name="v2_catalog"),
    Route("/v2/{name:path}/tags/list", handlers.tags_list, methods=["GET"], name="v2_tags"),
    Route(
        "/v2/{name:path}/manifests/{reference}",
        handlers.manifest,
        methods=["GET", "PUT", "DELETE"],
        name="v2_manifest",
    ),
    Route(
        "/v2/{name:path}/blobs/uploads/",
        handlers.upload_start,
        methods=["POST"],
        name="v2_upload_start",
    ),
    Route(
        "/v2/{name:path}/blobs/uploads/{upload_id}",
        handlers.upload,
        methods=["GET", "PATCH", "PUT", "DELETE"],
        name="v2_upload",
    ),
    Route(
        "/v2/{name:path}/blobs/{digest}",
        handlers.blob,
        methods=["GET", "DELETE"],
        name="v2_blob",
    ),
    Route(
        "/v2/{name:path}/referrers/{digest}",
        handlers.referrers,
        methods=["GET"],
        name="v2_referrers",
    ),
]
