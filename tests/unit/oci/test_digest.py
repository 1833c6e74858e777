"""Digest parsing: the OCI grammar, the supported algorithms and their exact encodings."""

from __future__ import annotations

import hashlib

import pytest

from dockyard.oci.digest import SUPPORTED_ALGORITHMS, Digest, InvalidDigest, is_digest

SHA256_HEX = hashlib.sha256(b"dockyard").hexdigest()
SHA512_HEX = hashlib.sha512(b"dockyard").hexdigest()


def test_parse_sha256() -> None:
    digest = Digest.parse(f"sha256:{SHA256_HEX}")
    assert digest.algorithm == "sha256"
    assert digest.encoded == SHA256_HEX
    assert str(digest) == f"sha256:{SHA256_HEX}"


def test_parse_sha512() -> None:
    digest = Digest.parse(f"sha512:{SHA512_HEX}")
    assert digest.algorithm == "sha512"
    assert digest.encoded == SHA512_HEX
    assert str(digest) == f"sha512:{SHA512_HEX}"


def test_digests_are_values() -> None:
    text = f"sha256:{SHA256_HEX}"
    assert Digest.parse(text) == Digest.parse(text)
    assert hash(Digest.parse(text)) == hash(Digest("sha256", SHA256_HEX))
    assert Digest.parse(text) != Digest.parse(f"sha256:{'0' * 64}")


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_of_and_hasher_agree_with_hashlib(algorithm: str) -> None:
    data = b"some content\x00\xff"
    digest = Digest.of(data, algorithm)
    assert digest.algorithm == algorithm
    assert digest.encoded == hashlib.new(algorithm, data).hexdigest()
    assert Digest.parse(str(digest)) == digest
    hasher = digest.hasher()
    hasher.update(data)
    assert hasher.hexdigest() == digest.encoded


def test_of_defaults_to_sha256() -> None:
    assert Digest.of(b"") == Digest.parse(
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_supported_algorithms() -> None:
    assert set(SUPPORTED_ALGORITHMS) == {"sha256", "sha512"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        ":",
        "sha256",
        "sha256:",
        f":{SHA256_HEX}",
        SHA256_HEX,
        f"sha256:{SHA256_HEX[:-1]}",
        f"sha256:{SHA256_HEX}0",
        f"sha256:{SHA256_HEX.upper()}",
        f"sha256:{SHA256_HEX[:-1]}g",
        f"sha256:{SHA512_HEX}",
        f"sha512:{SHA256_HEX}",
        f"sha512:{SHA512_HEX[:-1]}",
        f"sha512:{SHA512_HEX.upper()}",
        f"SHA256:{SHA256_HEX}",
        f"Sha256:{SHA256_HEX}",
        f"sha256 :{SHA256_HEX}",
        f"sha256: {SHA256_HEX}",
        f" sha256:{SHA256_HEX}",
        f"sha256:{SHA256_HEX} ",
        f"sha256:{SHA256_HEX}\n",
        f"sha256:{SHA256_HEX}\r\n",
        f"sha256:{SHA256_HEX}\t",
        f"sha256:{SHA256_HEX}:",
        f"sha256::{SHA256_HEX}",
        f"sha256:{SHA256_HEX}/..",
        f"sha256:../{SHA256_HEX[3:]}",
        f"md5:{hashlib.md5(b'x').hexdigest()}",
        f"sha1:{hashlib.sha1(b'x').hexdigest()}",
        f"sha384:{hashlib.sha384(b'x').hexdigest()}",
        f"blake3:{SHA256_HEX}",
        f"sha256+b64u:{SHA256_HEX}",
        f"-sha256:{SHA256_HEX}",
        f"sha256-:{SHA256_HEX}",
        f"sha__256:{SHA256_HEX}",
        "sha256:" + "a" * 300,
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(InvalidDigest):
        Digest.parse(text)


def test_invalid_digest_is_a_value_error() -> None:
    assert issubclass(InvalidDigest, ValueError)


def test_rejection_message_is_bounded() -> None:
    with pytest.raises(InvalidDigest) as caught:
        Digest.parse("sha256:" + "z" * 10_000)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "text",
    [
        f"sha256:{SHA256_HEX}",
        f"sha512:{SHA512_HEX}",
        "sha256:short",
        "md5:abc",
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "a.b_c-d+e:X=",
    ],
)
def test_is_digest_accepts_the_grammar(text: str) -> None:
    assert is_digest(text)


@pytest.mark.parametrize(
    "text",
    [
        "latest",
        "v1.0",
        "",
        ":",
        "sha256:",
        ":abc",
        "SHA256:abc",
        "sha256:abc/def",
        "sha256:abc def",
        f"sha256:{SHA256_HEX}\n",
        "sha256:abc:def",
        "-sha:abc",
    ],
)
def test_is_digest_rejects(text: str) -> None:
    assert not is_digest(text)
