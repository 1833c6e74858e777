"""Every workload, in the order a full run measures them."""

from __future__ import annotations

from bench.core import Workload
from bench.workloads import blobs, docker, listing, manifests

_BY_NAME = {
    workload.name: workload
    for workload in (*blobs.WORKLOADS, *manifests.WORKLOADS, *listing.WORKLOADS, *docker.WORKLOADS)
}

ORDER = (
    "push-monolithic",
    "push-chunked",
    "blob-get",
    "blob-range",
    "manifest-put",
    "manifest-get",
    "manifest-get-auth",
    "tags-list",
    "ui-tags-page",
    "catalog",
    "concurrent-push",
    "docker",
    "rss-upload",
)

WORKLOADS: dict[str, Workload] = {name: _BY_NAME[name] for name in ORDER}
assert set(WORKLOADS) == set(_BY_NAME), "a workload is missing from ORDER"
