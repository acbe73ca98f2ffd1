"""forms: the record's fields as form fields, and the post form validating with the record schema."""

import pytest
from django import forms as django_forms

from posts import records
from posts.admin import forms
from posts.exporting import record_of
from posts.models import Post
from tests.factories import form_data, make_post

ROUND_TRIPS = [
    (forms.NamesField(), ["python services", "backend", 'a "quoted", name', "c++"]),
    (forms.LinesField(), ["inspect cache headers", "  indented item", "test logged-in traffic"]),
    (forms.LinesField(), ["a note\nover two lines", "another"]),
    (forms.PairsField(), {"context": "for a site: with a colon", "problem": "caching"}),
    (forms.PairsField(), {"multi": "line\nvalue"}),
    (forms.JSONObjectField(), {"generator": "anp", "paragraphs": 7, "nested": {"a": [1, 2]}}),
]


@pytest.mark.parametrize(("field", "value"), ROUND_TRIPS)
def test_what_a_field_shows_it_reads_back_unchanged(field, value):
    shown = field.prepare_value(value)
    assert isinstance(shown, str)
    browser_sent = shown.replace("\n", "\r\n")  # browsers send textareas with CRLF
    assert field.clean(browser_sent) == value


def test_empty_values():
    assert forms.NamesField().clean("  ") == []
    assert forms.LinesField().clean("\r\n\r\n") == []
    assert forms.PairsField().clean("") is None
    assert forms.JSONObjectField().clean("") == {}
    assert forms.TextField(blank_is_none=True).clean("") is None
    assert forms.TextField().clean("  kept as typed \r\n") == "  kept as typed \n"


def test_malformed_pairs_and_json_say_what_was_expected():
    with pytest.raises(django_forms.ValidationError, match="line 2: expected `key: value`"):
        forms.PairsField().clean("context: x\nno colon here")
    with pytest.raises(django_forms.ValidationError, match="expected a JSON object, found invalid JSON"):
        forms.JSONObjectField().clean("{not json")
    with pytest.raises(django_forms.ValidationError, match=r"expected a JSON object, found \[1\]"):
        forms.JSONObjectField().clean("[1]")


@pytest.mark.django_db
def test_an_untouched_form_gives_back_the_stored_record():
    post = make_post(1)
    form = forms.PostForm(instance=post)
    data = form_data(form)
    bound = forms.PostForm(data, instance=Post.objects.get(pk=post.pk))
    assert bound.is_valid(), bound.errors
    stored = record_of(Post.objects.with_record_parts().get(pk=post.pk))
    assert bound.record == stored
    assert records.record_hash(bound.record) == post.record_hash
