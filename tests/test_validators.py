import pytest

from carethread.core import validators


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", "1003000126"])
def test_valid_npis(npi):
    assert validators.npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "12345678a3", ""])
def test_invalid_npis(npi):
    assert not validators.npi_is_valid(npi)


def test_check_digit_makes_a_valid_npi():
    for first_nine in ("123456789", "999999999", "100000000"):
        assert validators.npi_is_valid(first_nine + validators.npi_check_digit(first_nine))


@pytest.mark.parametrize(
    ("tin", "ok"),
    [
        ("123456789", True),
        ("000456789", True),
        ("000000000", False),
        ("12345678", False),
        ("12-3456789", False),
    ],
)
def test_tin(tin, ok):
    assert validators.tin_is_valid(tin) is ok
