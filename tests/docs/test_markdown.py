"""The block and marker reader the docs tests rely on: a mistyped marker never skips silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.markdown import MarkerError, blocks, shell_blocks


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_shell_blocks_come_in_order_with_their_line_and_indentation_removed(tmp_path) -> None:
    page = _page(
        tmp_path,
        "# T\n\n```sh\necho one\n```\n\n```console\n$ shown\n```\n\n- item:\n\n  ```bash\n"
        "  echo two\n  ```\n",
    )
    found = shell_blocks(page)
    assert [(b.line, b.language, b.text, b.skip_reason) for b in found] == [
        (4, "sh", "echo one\n", None),
        (14, "bash", "echo two\n", None),
    ]
    assert [b.language for b in blocks(page)] == ["sh", "console", "bash"]


def test_a_skip_marker_gives_its_reason_to_the_next_shell_block(tmp_path) -> None:
    marker = "<!-- docs-test: skip (it is the whole CI) -->"
    page = _page(tmp_path, f"{marker}\n\n```sh\nnox\n```\n```sh\nls\n```\n")
    assert [b.skip_reason for b in shell_blocks(page)] == ["it is the whole CI", None]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- docs-test: skipp (typo) -->\n```sh\nls\n```\n", "unknown docs-test marker"),
        ("<!-- docs-test: skip -->\n```sh\nls\n```\n", "unknown docs-test marker"),
        ("<!-- docs-test: skip (why) -->\ntext\n```sh\nls\n```\n", "a skip marker before no block"),
        ("<!-- docs-test: skip (why) -->\n", "a skip marker before no block"),
        ("<!-- docs-test: skip (why) -->\n```console\n$ ls\n```\n", "never run anyway"),
        ("```sh\nls\n", "never closed"),
    ],
)
def test_a_marker_that_is_not_a_skip_right_before_a_shell_block_is_an_error(
    tmp_path, text: str, message: str
) -> None:
    with pytest.raises(MarkerError, match=message):
        blocks(_page(tmp_path, text))
