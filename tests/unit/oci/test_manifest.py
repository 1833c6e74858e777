"""Manifest and index parsing: media type resolution, required fields, descriptor rules."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from dockyard.oci import mediatypes as mt
from dockyard.oci.manifest import Descriptor, InvalidManifest, Manifest, parse_manifest

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
ARTIFACT = "application/vnd.example.signature.v1"


def dgst(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def desc(media_type: str = LAYER, seed: str = "x", size: int = 10, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": dgst(seed), "size": size, **extra}


def image(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG, "config"),
        "layers": [desc(LAYER, "layer")],
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not _DROP}


def index(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [desc(mt.OCI_MANIFEST, "child", platform={"os": "linux"})],
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not _DROP}


_DROP: Any = object()


def parse(doc: Any, content_type: str | None = None) -> Manifest:
    return parse_manifest(json.dumps(doc).encode(), content_type)


def rejects(doc: Any, content_type: str | None = None, match: str | None = None) -> None:
    with pytest.raises(InvalidManifest, match=match):
        parse(doc, content_type)


# --- documents -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [b"", b"{", b"not json", b"\xff\xfe{}", b'{"schemaVersion": 2,}', b"{}garbage"],
)
def test_rejects_what_is_not_json(payload: bytes) -> None:
    with pytest.raises(InvalidManifest):
        parse_manifest(payload, mt.OCI_MANIFEST)


@pytest.mark.parametrize("doc", [[], [image()], "manifest", 2, None, True])
def test_rejects_json_that_is_not_an_object(doc: Any) -> None:
    rejects(doc, mt.OCI_MANIFEST, match="object")


@pytest.mark.parametrize("version", [1, 3, "2", None, _DROP, True])
def test_schema_version_must_be_2(version: Any) -> None:
    rejects(image(schemaVersion=version), mt.OCI_MANIFEST, match="schemaVersion")


# --- media type ------------------------------------------------------------------------------
def test_oci_image_manifest() -> None:
    manifest = parse(image(), mt.OCI_MANIFEST)
    assert manifest.media_type == mt.OCI_MANIFEST
    assert not manifest.is_index
    assert manifest.config == Descriptor(mt.OCI_CONFIG, dgst("config"), 10)
    assert manifest.layers == (Descriptor(LAYER, dgst("layer"), 10),)
    assert manifest.manifests == ()
    assert manifest.subject is None
    assert manifest.artifact_type is None
    assert manifest.annotations == {}


def test_header_type_is_used_when_the_body_has_none() -> None:
    assert parse(image(mediaType=_DROP), mt.OCI_MANIFEST).media_type == mt.OCI_MANIFEST


def test_header_parameters_and_case_are_ignored() -> None:
    header = f"{mt.OCI_MANIFEST.upper()}; charset=utf-8"
    assert parse(image(), header).media_type == mt.OCI_MANIFEST


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (mt.OCI_MANIFEST, mt.DOCKER_MANIFEST),
        (mt.DOCKER_MANIFEST, mt.OCI_MANIFEST),
        (mt.OCI_MANIFEST, mt.OCI_INDEX),
        (mt.OCI_INDEX, mt.OCI_MANIFEST),
        (mt.OCI_MANIFEST, "application/vnd.example+json"),
    ],
)
def test_header_and_body_types_must_agree(header: str, body: str) -> None:
    rejects(image(mediaType=body), header, match="does not match")


@pytest.mark.parametrize("body_type", [2, ["x"], {"a": "b"}, True])
def test_body_media_type_must_be_a_string(body_type: Any) -> None:
    rejects(image(mediaType=body_type), mt.OCI_MANIFEST, match="mediaType")
    rejects(image(mediaType=body_type), None, match="mediaType")


@pytest.mark.parametrize("header", [mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED])
def test_docker_schema1_is_refused(header: str) -> None:
    rejects(image(mediaType=_DROP), header, match="schema 1")


@pytest.mark.parametrize("header", [None, "", "application/json", "application/octet-stream"])
def test_body_type_is_used_without_a_manifest_header(header: str | None) -> None:
    assert parse(image(), header).media_type == mt.OCI_MANIFEST
    docker = image(mediaType=mt.DOCKER_MANIFEST, config=desc(mt.DOCKER_CONFIG, "c"))
    assert parse(docker, header).media_type == mt.DOCKER_MANIFEST
    assert parse(index(), header).media_type == mt.OCI_INDEX


@pytest.mark.parametrize(
    "body_type", [mt.DOCKER_SCHEMA1, mt.OCI_CONFIG, "application/vnd.example+json", "text/plain"]
)
def test_unknown_body_type_without_a_manifest_header_is_refused(body_type: str) -> None:
    rejects(image(mediaType=body_type), "application/json", match="unsupported")


def test_type_is_inferred_from_the_structure() -> None:
    assert parse(image(mediaType=_DROP), None).media_type == mt.OCI_MANIFEST
    assert parse(index(mediaType=_DROP), None).media_type == mt.OCI_INDEX


def test_type_that_cannot_be_told_is_refused() -> None:
    rejects({"schemaVersion": 2, "layers": []}, None, match="cannot tell")


# --- image manifests -------------------------------------------------------------------------
@pytest.mark.parametrize("config", [_DROP, None, "sha256:abc", [], 5])
def test_image_manifest_needs_a_config_descriptor(config: Any) -> None:
    rejects(image(config=config), mt.OCI_MANIFEST, match="config")


def test_oci_manifest_layers_may_be_absent() -> None:
    assert parse(image(layers=_DROP), mt.OCI_MANIFEST).layers == ()
    assert parse(image(layers=[]), mt.OCI_MANIFEST).layers == ()


def test_docker_manifest_needs_layers() -> None:
    doc = image(mediaType=mt.DOCKER_MANIFEST, config=desc(mt.DOCKER_CONFIG), layers=_DROP)
    rejects(doc, mt.DOCKER_MANIFEST, match="layers")


@pytest.mark.parametrize("layers", ["x", {"a": 1}, 3, [None], ["sha256:abc"]])
def test_layers_must_be_a_list_of_descriptors(layers: Any) -> None:
    rejects(image(layers=layers), mt.OCI_MANIFEST, match="layers")


def test_docker_manifest() -> None:
    doc = image(
        mediaType=mt.DOCKER_MANIFEST,
        config=desc(mt.DOCKER_CONFIG, "c"),
        layers=[desc(DOCKER_LAYER, "l1"), desc(DOCKER_LAYER, "l2")],
    )
    manifest = parse(doc, mt.DOCKER_MANIFEST)
    assert manifest.media_type == mt.DOCKER_MANIFEST
    assert [d.digest for d in manifest.layers] == [dgst("l1"), dgst("l2")]


@pytest.mark.parametrize(
    "extra", [{"subject": desc(mt.OCI_MANIFEST, "s")}, {"artifactType": ARTIFACT}]
)
def test_docker_manifest_has_no_subject_or_artifact_type(extra: dict[str, Any]) -> None:
    doc = image(mediaType=mt.DOCKER_MANIFEST, config=desc(mt.DOCKER_CONFIG), **extra)
    rejects(doc, mt.DOCKER_MANIFEST, match="Docker schema 2")


def test_empty_config_needs_an_artifact_type() -> None:
    rejects(image(config=desc(mt.OCI_EMPTY, "{}", 2)), mt.OCI_MANIFEST, match="artifactType")
    manifest = parse(image(config=desc(mt.OCI_EMPTY, "{}", 2), artifactType=ARTIFACT))
    assert manifest.artifact_type == ARTIFACT
    assert manifest.referrer_artifact_type == ARTIFACT


@pytest.mark.parametrize("value", ["", 5, ["x"], {"a": "b"}, True])
def test_artifact_type_must_be_a_non_empty_string(value: Any) -> None:
    rejects(image(artifactType=value), mt.OCI_MANIFEST, match="artifactType")
    rejects(index(artifactType=value), mt.OCI_INDEX, match="artifactType")


def test_artifact_type_null_is_absent() -> None:
    assert parse(image(artifactType=None), mt.OCI_MANIFEST).artifact_type is None


def test_referrer_artifact_type_falls_back_to_the_config_type() -> None:
    assert parse(image(), mt.OCI_MANIFEST).referrer_artifact_type == mt.OCI_CONFIG
    assert parse(image(artifactType=ARTIFACT)).referrer_artifact_type == ARTIFACT
    assert parse(index(), mt.OCI_INDEX).referrer_artifact_type is None
    assert parse(index(artifactType=ARTIFACT)).referrer_artifact_type == ARTIFACT


def test_blob_references_are_config_and_distributable_layers() -> None:
    layers = [
        desc(LAYER, "l1"),
        desc(FOREIGN, "foreign", urls=["https://example.com/layer"]),
        desc(LAYER, "l2"),
    ]
    manifest = parse(image(layers=layers), mt.OCI_MANIFEST)
    assert [d.digest for d in manifest.blob_references] == [
        dgst("config"),
        dgst("l1"),
        dgst("l2"),
    ]
    assert manifest.layers[1].is_foreign
    assert manifest.layers[1].urls == ("https://example.com/layer",)
    assert not manifest.layers[0].is_foreign


@pytest.mark.parametrize("foreign", sorted(mt.FOREIGN_LAYERS))
def test_every_foreign_layer_type_is_skipped(foreign: str) -> None:
    manifest = parse(image(layers=[desc(foreign, "f")]), mt.OCI_MANIFEST)
    assert [d.digest for d in manifest.blob_references] == [dgst("config")]


# --- indexes -------------------------------------------------------------------------------
def test_oci_index() -> None:
    manifest = parse(index(annotations={"k": "v"}), mt.OCI_INDEX)
    assert manifest.is_index
    assert manifest.media_type == mt.OCI_INDEX
    assert manifest.config is None
    assert manifest.layers == ()
    assert manifest.blob_references == ()
    assert manifest.manifests[0].platform == {"os": "linux"}
    assert manifest.annotations == {"k": "v"}


def test_docker_manifest_list() -> None:
    doc = index(mediaType=mt.DOCKER_MANIFEST_LIST, manifests=[desc(mt.DOCKER_MANIFEST, "m")])
    manifest = parse(doc, mt.DOCKER_MANIFEST_LIST)
    assert manifest.is_index
    assert manifest.media_type == mt.DOCKER_MANIFEST_LIST


def test_empty_index_is_valid() -> None:
    assert parse(index(manifests=[]), mt.OCI_INDEX).manifests == ()


@pytest.mark.parametrize("manifests", [_DROP, None, "x", {}, [5]])
def test_index_needs_a_list_of_descriptors(manifests: Any) -> None:
    rejects(index(manifests=manifests), mt.OCI_INDEX, match="manifests")


def test_index_child_errors_name_their_position() -> None:
    children = [desc(mt.OCI_MANIFEST, "a"), desc(mt.OCI_MANIFEST, "b", size=-1)]
    rejects(index(manifests=children), mt.OCI_INDEX, match=r"manifests\[1\]\.size")


# --- subject and annotations ---------------------------------------------------------------
def test_subject_is_parsed() -> None:
    subject = desc(mt.OCI_MANIFEST, "subject", 123)
    manifest = parse(image(subject=subject, artifactType=ARTIFACT), mt.OCI_MANIFEST)
    assert manifest.subject == Descriptor(mt.OCI_MANIFEST, dgst("subject"), 123)
    assert parse(index(subject=subject), mt.OCI_INDEX).subject is not None
    assert parse(image(subject=None), mt.OCI_MANIFEST).subject is None


@pytest.mark.parametrize(
    "subject", ["sha256:abc", 5, [], {"mediaType": mt.OCI_MANIFEST}, desc(digest="sha256:zz")]
)
def test_subject_must_be_a_valid_descriptor(subject: Any) -> None:
    rejects(image(subject=subject), mt.OCI_MANIFEST, match="subject")


@pytest.mark.parametrize("annotations", ["x", ["a"], {"a": 1}, {"a": None}, {"a": ["b"]}])
def test_annotations_map_strings_to_strings(annotations: Any) -> None:
    rejects(image(annotations=annotations), mt.OCI_MANIFEST, match="annotations")
    rejects(index(annotations=annotations), mt.OCI_INDEX, match="annotations")
    bad_layer = desc(LAYER, "l", annotations=annotations)
    rejects(image(layers=[bad_layer]), mt.OCI_MANIFEST, match=r"layers\[0\]\.annotations")


def test_annotations_null_or_empty_are_absent() -> None:
    assert parse(image(annotations=None), mt.OCI_MANIFEST).annotations == {}
    layer = desc(LAYER, "l", annotations={})
    assert parse(image(layers=[layer]), mt.OCI_MANIFEST).layers[0].annotations is None


# --- descriptors ---------------------------------------------------------------------------
def test_descriptor_fields() -> None:
    layer = desc(
        LAYER,
        "l",
        size=0,
        artifactType=ARTIFACT,
        platform={"os": "linux", "architecture": "arm64"},
        annotations={"org.opencontainers.image.title": "x"},
        urls=["https://a", "https://b"],
    )
    parsed = parse(image(layers=[layer]), mt.OCI_MANIFEST).layers[0]
    assert parsed == Descriptor(
        media_type=LAYER,
        digest=dgst("l"),
        size=0,
        artifact_type=ARTIFACT,
        platform={"os": "linux", "architecture": "arm64"},
        annotations={"org.opencontainers.image.title": "x"},
        urls=("https://a", "https://b"),
    )


def test_sha512_descriptor_digests_are_accepted() -> None:
    digest = "sha512:" + hashlib.sha512(b"x").hexdigest()
    layer = {"mediaType": LAYER, "digest": digest, "size": 1}
    assert parse(image(layers=[layer]), mt.OCI_MANIFEST).layers[0].digest == digest


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("mediaType", _DROP, "mediaType"),
        ("mediaType", "", "mediaType"),
        ("mediaType", 5, "mediaType"),
        ("digest", _DROP, "digest"),
        ("digest", 5, "digest"),
        ("digest", "", "digest"),
        ("digest", "sha256:abc", "digest"),
        ("digest", "md5:" + hashlib.md5(b"x").hexdigest(), "digest"),
        ("digest", "sha256:" + "A" * 64, "digest"),
        ("digest", "sha256:" + "a" * 64 + "\n", "digest"),
        ("size", _DROP, "size"),
        ("size", -1, "size"),
        ("size", 1.5, "size"),
        ("size", "10", "size"),
        ("size", True, "size"),
        ("size", None, "size"),
        ("platform", "linux/amd64", "platform"),
        ("platform", ["linux"], "platform"),
        ("urls", "https://a", "urls"),
        ("urls", [1], "urls"),
        ("urls", {"a": "b"}, "urls"),
        ("artifactType", 5, "artifactType"),
        ("annotations", "x", "annotations"),
    ],
)
def test_descriptor_rules(field: str, value: Any, match: str) -> None:
    layer = desc(LAYER, "l")
    if value is _DROP:
        del layer[field]
    else:
        layer[field] = value
    rejects(image(layers=[layer]), mt.OCI_MANIFEST, match=rf"layers\[0\]\.{match}")
    config = desc(mt.OCI_CONFIG, "c")
    if value is _DROP:
        del config[field]
    else:
        config[field] = value
    rejects(image(config=config), mt.OCI_MANIFEST, match=rf"config\.{match}")
