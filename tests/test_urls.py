"""Which URLs from data may become links: a table of what browsers would run."""

from __future__ import annotations

import pytest

from microsite.markdown.urls import is_dangerous, refused_value


@pytest.mark.parametrize("url, dangerous", [
    ("javascript:alert(1)", True),
    ("JaVaScRiPt:alert(1)", True),
    ("  javascript:alert(1)", True),
    ("\x01javascript:alert(1)", True),
    ("java\tscript:alert(1)", True),
    ("java\nscript:alert(1)", True),
    ("&#106;avascript:alert(1)", True),
    ("javascript&colon;alert(1)", True),
    ("vbscript:msgbox", True),
    ("data:text/html,<script>alert(1)</script>", True),
    ("DATA:image/svg+xml;base64,PHN2Zz4=", True),
    ("https://example.org/", False),
    ("http://example.org/javascript:x", False),
    ("/articles/the-landing/", False),
    ("images/launch.jpg", False),
    ("#landing", False),
    ("mailto:desk@example.org", False),
    ("javascript", False),
    ("", False),
])
def test_dangerous_urls(url, dangerous):
    assert is_dangerous(url) is dangerous


@pytest.mark.parametrize("key, value, refused", [
    ("url", "javascript: alert(1)", True),
    ("image", "data:image/png;base64,AAAA", True),
    ("wikipedia_url", "vbscript:x", True),
    ("note", "javascript:alert(1)", True),
    ("note", "Data: the numbers we trust", False),
    ("summary", "JavaScript: the good parts, a book", False),
    ("url", "https://example.org/", False),
])
def test_refused_data_values(key, value, refused):
    assert refused_value(key, value) is refused
