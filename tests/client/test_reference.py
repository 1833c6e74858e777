"""Reference parsing against docker's own rules (the cases of distribution/reference's tests)."""

from __future__ import annotations

import pytest

from dockyard.client.errors import InvalidReference
from dockyard.client.reference import is_plain_http_host, parse_reference, split_docker_domain

HEX = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
DIGEST = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("text", "domain", "path", "familiar"),
    [
        ("fooo/bar", "docker.io", "fooo/bar", "fooo/bar"),
        ("library/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("nonlibrary/ubuntu", "docker.io", "nonlibrary/ubuntu", "nonlibrary/ubuntu"),
        ("ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("other/library", "docker.io", "other/library", "other/library"),
        ("127.0.0.1:8000/private/moonbase", "127.0.0.1:8000", "private/moonbase", None),
        ("127.0.0.1:8000/privatebase", "127.0.0.1:8000", "privatebase", None),
        ("example.com/private/moonbase", "example.com", "private/moonbase", None),
        ("example.com/privatebase", "example.com", "privatebase", None),
        ("example.com:8000/private/moonbase", "example.com:8000", "private/moonbase", None),
        ("localhost:8000/privatebase", "localhost:8000", "privatebase", None),
        ("localhost/privatebase", "localhost", "privatebase", None),
        ("index.docker.io/library/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("docker.io/library/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("docker.io/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("index.docker.io/ubuntu", "docker.io", "library/ubuntu", "ubuntu"),
        ("ubuntu-12.04-base", "docker.io", "library/ubuntu-12.04-base", "ubuntu-12.04-base"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar", "library/foo/bar"),
        ("[fc00::1]:5000/docker", "[fc00::1]:5000", "docker", None),
        (
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "[fc00:1:2:3:4:5:6:7]:5000",
            "library/debian",
            None,
        ),
        ("192.168.0.1", "docker.io", "library/192.168.0.1", "192.168.0.1"),
        ("192.168.0.1:8/debian", "192.168.0.1:8", "debian", None),
        # An uppercase first component is a host, as in docker (``Foo/bar``).
        ("Foo/bar", "Foo", "bar", None),
        (f"docker.io/{HEX}", "docker.io", f"library/{HEX}", HEX),
        ("a__b/c---d", "docker.io", "a__b/c---d", "a__b/c---d"),
    ],
)
def test_normalized_names(text: str, domain: str, path: str, familiar: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.domain, ref.path) == (domain, path)
    assert ref.tag is None
    assert ref.digest is None
    assert ref.familiar() == (familiar or f"{domain}/{path}")


@pytest.mark.parametrize(
    ("text", "tag", "digest"),
    [
        ("busybox:latest", "latest", None),
        ("busybox:1.36.1-glibc", "1.36.1-glibc", None),
        (f"busybox@{DIGEST}", None, DIGEST),
        (f"busybox:1.0@{DIGEST}", "1.0", DIGEST),
        ("localhost:5000/foo:tag", "tag", None),
        ("foo:5000", "5000", None),
        ("192.168.0.1:80", "80", None),
        ("host:5000/a/b:_x.Y-z", "_x.Y-z", None),
    ],
)
def test_tags_and_digests(text: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.tag, ref.digest) == (tag, digest)
    assert ref.reference == (digest or tag)


def test_reference_strings_and_defaults() -> None:
    ref = parse_reference("busybox")
    assert str(ref) == "docker.io/library/busybox"
    assert str(ref.tagged_or_latest()) == "docker.io/library/busybox:latest"
    assert ref.reference == "latest"
    assert ref.registry_host == "registry-1.docker.io"
    both = parse_reference(f"alice/app:1.0@{DIGEST}")
    assert str(both) == f"docker.io/alice/app:1.0@{DIGEST}"
    assert both.familiar() == f"alice/app:1.0@{DIGEST}"
    local = parse_reference("127.0.0.1:5000/app:2")
    assert local.familiar() == "127.0.0.1:5000/app:2"
    assert local.registry_host == "127.0.0.1:5000"
    assert str(local.with_digest(DIGEST)) == f"127.0.0.1:5000/app@{DIGEST}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid reference format"),
        ("https://github.com/docker/docker", "invalid reference format"),
        ("docker/Docker", "must be lowercase"),
        ("Uppercase:tag", "repository name (library/Uppercase) must be lowercase"),
        ("docker.io/docker/Docker", "must be lowercase"),
        ("-docker", "invalid reference format"),
        ("-docker/docker", "invalid reference format"),
        ("-docker.io/docker/docker", "invalid reference format"),
        ("docker///docker", "invalid reference format"),
        ("docker.io/docker///docker", "invalid reference format"),
        ("[fc00::1]", "invalid reference format"),
        ("[fc00::1]:5000", "invalid reference format"),
        ("fc00::1:5000/debian", "invalid reference format"),
        ("[fe80::1%eth0]:5000/debian", "invalid reference format"),
        ("[2001:db8:3:4::192.0.2.33]:5000/debian", "invalid reference format"),
        (HEX, "cannot specify 64-byte hexadecimal strings"),
        ("foo:tag:bar", "invalid reference format"),
        ("foo@sha256:abc", "invalid reference format"),
        ("foo@sha256:" + "B" * 64, "invalid checksum digest format"),
        ("foo@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("foo:" + "t" * 129, "invalid reference format"),
        ("a/" + "b" * 260, "must not be more than 255 characters"),
        ("foo bar", "invalid reference format"),
    ],
)
def test_invalid_references(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_reference(text)


def test_split_docker_domain() -> None:
    assert split_docker_domain("foo") == ("docker.io", "library/foo")
    assert split_docker_domain("foo/bar") == ("docker.io", "foo/bar")
    assert split_docker_domain("localhost/foo") == ("localhost", "foo")
    assert split_docker_domain("my.registry/foo") == ("my.registry", "foo")
    assert split_docker_domain("host:5000/foo") == ("host:5000", "foo")
    assert split_docker_domain("index.docker.io/foo") == ("docker.io", "library/foo")


@pytest.mark.parametrize(
    ("domain", "plain"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("[::1]:5000", True),
        ("example.com", False),
        ("10.0.0.1:5000", False),
        ("registry-1.docker.io", False),
        ("localhost.example.com", False),
    ],
)
def test_plain_http_hosts(domain: str, plain: bool) -> None:
    assert is_plain_http_host(domain) is plain
