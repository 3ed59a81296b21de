import pytest

from paved.errors import ExitCode, InputError
from paved.names import check_name, name_problem

BAD = {
    "": "is empty",
    "Payments": "has upper-case letters",
    "pay ments": "has characters outside",
    "1payments": "must start with a letter",
    "-payments": "must start with a letter",
    "payments-": "must not end with '-'",
    "pay--ments": "must not contain '--'",
    "p": "is shorter than 2",
    "a" * 41: "is longer than 40 characters (41)",
    "pay/ments": "has characters outside",
    "../etc": "must start with a letter",
    "..": "must start with a letter",
    "pay;rm -rf": "has characters outside",
    "pay$(id)": "has characters outside",
    "pay`id`": "has characters outside",
    "p\u0430yments": "has characters outside",  # a Cyrillic look-alike of "a"
    "payments\n": "has characters outside",
    "pay_ments": "has characters outside",
    "pay.ments": "has characters outside",
}


@pytest.mark.parametrize(("name", "problem"), BAD.items(), ids=[repr(k) for k in BAD])
def test_bad_names_are_refused_with_the_reason(name: str, problem: str) -> None:
    assert problem in (name_problem(name) or "")
    with pytest.raises(InputError) as caught:
        check_name(name)
    assert caught.value.exit_code is ExitCode.USAGE
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "name", ["ab", "payments", "payments-api", "a1-b2-c3", "x" * 40, "team-checkout"]
)
def test_good_names_pass(name: str) -> None:
    assert name_problem(name) is None
    assert check_name(name) == name


def test_the_message_names_the_kind_of_name() -> None:
    with pytest.raises(InputError, match="owner team name 'Team'"):
        check_name("Team", what="owner team")
