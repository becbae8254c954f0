"""The generated files are committed as the sources make them: regenerating changes nothing."""

import pytest

from monitoring import generate

FILES = generate.render()


@pytest.mark.parametrize("path", sorted(FILES))
def test_committed_file_is_what_its_source_generates(path):
    committed = generate.ROOT / path
    assert committed.is_file() and committed.read_text() == FILES[path], \
        f"monitoring/{path} differs from what its source generates: run `make monitoring`"


def test_no_generated_folder_holds_a_file_no_source_makes():
    assert generate.stale(FILES) == [], "stale generated files: run `make monitoring`"
