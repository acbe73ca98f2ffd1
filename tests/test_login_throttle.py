"""The admin login throttle (django-axes): wrong passwords lock a username at an address for a while."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def try_login(client: Client, password: str):
    return client.post(LOGIN, {"username": "ed", "password": password, "next": "/admin/"})


def test_thirty_wrong_passwords_lock_the_username_at_that_address_until_the_cool_off():
    make_user("ed", "Editors")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [try_login(attacker, f"guess-{number}").status_code for number in range(30)]
    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(statuses[settings.AXES_FAILURE_LIMIT :]) == {429}
    right = try_login(attacker, PASSWORD)
    assert right.status_code == 429
    assert not logged_in(attacker)

    # The editor at their own address is not locked out by someone else's guesses.
    editor = Client(REMOTE_ADDR="198.51.100.7")
    assert try_login(editor, PASSWORD).status_code == 302
    assert logged_in(editor)

    # Staff see the lockout in the admin.
    admin = Client()
    admin.force_login(make_user("ada", is_superuser=True))
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert "203.0.113.9" in listing.content.decode()

    # After the cool-off (the attempts aged past it), the right password works again.
    attempt = AccessAttempt.objects.get(ip_address="203.0.113.9")
    aged = attempt.attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=aged)
    assert try_login(attacker, PASSWORD).status_code == 302
    assert logged_in(attacker)


def test_attempts_during_a_lockout_do_not_extend_it():
    make_user("ed", "Editors")
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(settings.AXES_FAILURE_LIMIT):
        try_login(attacker, f"guess-{number}")
    locked_at = AccessAttempt.objects.get().attempt_time
    for number in range(10):
        assert try_login(attacker, f"more-{number}").status_code == 429
    assert AccessAttempt.objects.get().attempt_time == locked_at
