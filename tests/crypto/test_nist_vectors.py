"""The AES-256-GCM primitives against the NIST CAVS vectors (96-bit IVs, 128-bit tags)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import cryptography_vectors
import pytest

from carethread.crypto.aead import IntegrityFailure, seal, unseal


def vectors(name: str) -> Iterator[dict[str, str]]:
    """Test cases of one .rsp file with a 256-bit key, a 96-bit IV and a 128-bit tag."""
    path = os.path.join("ciphers", "AES", "GCM", name)
    with cryptography_vectors.open_vector_file(path, "r") as handle:
        params: dict[str, str] = {}
        case: dict[str, str] = {}
        for raw in handle:
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                key, _, value = line[1:-1].partition(" = ")
                params[key] = value
            elif line.startswith("Count = "):
                case = {"Count": line[8:]}
            elif " = " in line or line.endswith(" ="):
                key, _, value = line.partition(" =")
                case[key] = value.strip()
            elif line == "FAIL":
                case["FAIL"] = "1"
            elif not line and "Tag" in case:
                if (params["Keylen"], params["IVlen"], params["Taglen"]) == ("256", "96", "128"):
                    yield case
                case = {}
        if "Tag" in case and params.get("Taglen") == "128":
            yield case


ENCRYPT = list(vectors("gcmEncryptExtIV256.rsp"))
DECRYPT = list(vectors("gcmDecrypt256.rsp"))


def test_vector_files_were_read():
    # 15 PT x AAD combinations x 15 cases each (128-bit tags only), in both files.
    assert len(ENCRYPT) == 375
    assert len(DECRYPT) == 375
    assert sum("FAIL" in case for case in DECRYPT) > 100


@pytest.mark.parametrize("case", ENCRYPT, ids=lambda c: c["Count"])
def test_encrypt_vectors(case):
    key, iv = bytes.fromhex(case["Key"]), bytes.fromhex(case["IV"])
    pt, aad = bytes.fromhex(case["PT"]), bytes.fromhex(case["AAD"])
    out = seal(key, iv, pt, aad)
    assert out == bytes.fromhex(case["CT"] + case["Tag"])
    assert unseal(key, iv, out, aad) == pt


@pytest.mark.parametrize("case", DECRYPT, ids=lambda c: c["Count"])
def test_decrypt_vectors(case):
    key, iv = bytes.fromhex(case["Key"]), bytes.fromhex(case["IV"])
    ct_tag, aad = bytes.fromhex(case["CT"] + case["Tag"]), bytes.fromhex(case["AAD"])
    if "FAIL" in case:
        with pytest.raises(IntegrityFailure):
            unseal(key, iv, ct_tag, aad)
    else:
        assert unseal(key, iv, ct_tag, aad) == bytes.fromhex(case["PT"])
