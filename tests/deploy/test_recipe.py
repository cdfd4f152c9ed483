"""The README shows the recipe files of deploy/ as they are (less each file's opening comment), and
each file's opening comment explains every placeholder the file has."""

import re

import pytest
from deploy_support import DEPLOY, PLACEHOLDER, ROOT

FILES = ["wsgiref-rs.socket", "wsgiref-rs.service", "nginx.conf", "nginx-hosts.conf"]


def split_header(name):
    """(the opening comment, the rest) of deploy/<name>; a blank line ends the comment."""
    text = (DEPLOY / name).read_text()
    header, sep, body = text.partition("\n\n")
    assert sep and all(line.startswith("#") for line in header.splitlines()), name
    return header, body


@pytest.mark.parametrize("name", FILES)
def test_the_readme_shows_the_file_as_it_is(name):
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(rf"<!-- deploy/{re.escape(name)} -->\n```\w*\n(.*?)```\n", readme, re.S)
    assert len(shown) == 1, f"the README shows deploy/{name} {len(shown)} times"
    assert shown[0] == split_header(name)[1]


@pytest.mark.parametrize("name", FILES)
def test_the_opening_comment_explains_every_placeholder(name):
    header, body = split_header(name)
    used = set(PLACEHOLDER.findall(body))
    assert used, f"deploy/{name} has no placeholder"
    explained = set(re.findall(r"^#\s+(@[A-Z_]+@)\s", header, re.M))
    assert used == explained, (sorted(used), sorted(explained))
