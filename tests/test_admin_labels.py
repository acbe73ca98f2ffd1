"""Editors read one style of label everywhere, and help texts that say what a field means for readers."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from posts.admin.forms import PostForm
from tests.factories import make_post, make_user

pytestmark = pytest.mark.django_db

# Words that keep their capitals inside a sentence-case label.
PROPER_WORDS = {"AI", "AI-generated", "ID", "URL", "HTML", "SHA-256"}


def visible_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def is_sentence_case(label: str) -> bool:
    first, *rest = label.rstrip(":").split()
    return first[0].isupper() and all(word == word.lower() or word in PROPER_WORDS for word in rest)


@pytest.fixture
def admin_pages():
    post = make_post(1)  # the sample record is flagged for review: the queue lists it
    client = Client()
    client.force_login(make_user("sue", is_superuser=True))
    urls = [
        reverse("admin:posts_post_add"),
        reverse("admin:posts_post_change", args=[post.pk]),
        reverse("admin:posts_post_changelist"),
        reverse("admin:posts_reviewqueue_changelist"),
        reverse("admin:posts_post_history", args=[post.pk]),
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()
    return pages


def test_form_labels_and_column_headers_are_sentence_case(admin_pages):
    checked = 0
    for url, page in admin_pages.items():
        labels = [visible_text(label) for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S)]
        headers = [visible_text(header) for header in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', page, re.S)]
        for text in labels + headers:
            if not text or "\n" in text:  # the action picker's label wraps its <select>
                continue
            assert is_sentence_case(text), f"{url}: {text!r} is not sentence case"
            checked += 1
    assert checked > 60


def test_every_label_ends_the_same_way(admin_pages):
    """Django adds the colon; a label that brings its own would show two."""
    for url, page in admin_pages.items():
        for label in re.findall(r"<label[^>]*>(.*?)</label>", page, re.S):
            assert "::" not in visible_text(label), url


def test_every_field_an_editor_fills_in_says_what_it_means_for_readers():
    for name, field in PostForm.base_fields.items():
        if field.widget.is_hidden:
            continue
        assert field.help_text, f"{name} has no help text"
        # The admin shows help texts as HTML; angle brackets would vanish as tags.
        assert "<" not in str(field.help_text), name
    reader_facing = [name for name, field in PostForm.base_fields.items() if "meta box" in str(field.help_text)]
    assert {"topic", "summary", "reference", "difficulty", "reading_time", "score_quality"} <= set(reader_facing)


def test_sentence_case_rule():
    assert is_sentence_case("AI-generated style")
    assert is_sentence_case("Source ID:")
    assert not is_sentence_case("source id")
    assert not is_sentence_case("Code Language")
