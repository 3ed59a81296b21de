"""Numbers read from input take ASCII digits only: ``str.isdigit`` is also true for "²"
and other scripts' digits, which ``int`` then refuses (a traceback) or reads."""

import io

import pytest

from paved.cli.output import _columns_of
from paved.errors import InputError
from paved.fleet._model import parse_waves


@pytest.mark.parametrize("wave", ["\u00b2", "\u0661", "1\u00b2%", "\uff15%"])
def test_a_wave_in_other_digits_is_one_usage_line(wave: str) -> None:
    with pytest.raises(InputError, match="is not a number of services or a percentage"):
        parse_waves(f"1,{wave},100%")


def test_waves_in_ascii_digits_are_taken() -> None:
    assert parse_waves("1, 10%,100%") == ("1", "10%", "100%")


@pytest.mark.parametrize("columns", ["\u00b2", "\u0661\u0660\u0660", "-3", "0", "wide"])
def test_a_columns_value_that_is_not_a_width_falls_back(columns: str) -> None:
    assert _columns_of({"COLUMNS": columns}, io.StringIO()) == 80


def test_columns_in_ascii_digits_set_the_width() -> None:
    assert _columns_of({"COLUMNS": "132"}, io.StringIO()) == 132
