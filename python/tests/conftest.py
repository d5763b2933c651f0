"""Shared fixtures: the bundled model compiled once per session (through
the host API's cache, in a private cache directory)."""
import os

import pytest

import convc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def reverse_digits(cache_dir):
    """The bundled Seq2Seq (digit d is token 4 + d, eos 2) with its derived
    incremental decoder."""
    return convc.compile(os.path.join(ROOT, "examples", "reverse_digits.mlir"),
                         decode_step="decode", cache_dir=cache_dir)


@pytest.fixture(scope="session")
def digits_dictionary(tmp_path_factory):
    """A fairseq dict.txt whose words are the digits: "0" is id 4."""
    path = tmp_path_factory.mktemp("dict") / "dict.txt"
    path.write_text("".join(f"{d} 100\n" for d in range(10)))
    return str(path)
