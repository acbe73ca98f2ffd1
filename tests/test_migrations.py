"""Migrations: the app split keeps every row of a database made before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE_SPLIT = [("posts", "0007_operations"), ("ops", None), ("pagecache", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


@pytest.mark.django_db(transaction=True)
def test_split_into_ops_and_pagecache_keeps_tables_rows_and_content_types():
    old = migrate(BEFORE_SPLIT)
    now = timezone.now()
    user = old.get_model("auth", "User").objects.create(username="editor")
    old.get_model("posts", "PurgeLog").objects.create(reason="before the split", pages=3, user_id=user.pk)
    old.get_model("posts", "ImportRun").objects.create(sources="a.jsonl", created=7)
    old.get_model("posts", "Deployment").objects.create(
        release="A", action="deploy", outcome="live", started_at=now, finished_at=now
    )
    old.get_model("posts", "RequestTiming").objects.create(minute=now, route="/", worker="w", count=5)
    content_type = old.get_model("contenttypes", "ContentType")
    content_type.objects.get_or_create(app_label="posts", model="purgelog")

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(latest)

    from django.contrib.contenttypes.models import ContentType

    from alphanode.ops.models import Deployment, ImportRun, RequestTiming
    from alphanode.pagecache.models import PurgeLog

    log = PurgeLog.objects.get()
    assert (log.reason, log.pages, log.user.username) == ("before the split", 3, "editor")
    assert ImportRun.objects.get().created == 7
    assert Deployment.objects.get().release == "A"
    assert RequestTiming.objects.get().count == 5
    assert PurgeLog._meta.db_table == "posts_purgelog"
    assert ContentType.objects.filter(app_label="pagecache", model="purgelog").exists()
    assert not ContentType.objects.filter(app_label="posts", model="purgelog").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="column compression is PostgreSQL's (CI's second run)")
@pytest.mark.django_db
def test_the_large_text_columns_are_compressed_with_lz4():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attrelid::regclass::text, attname, attcompression FROM pg_attribute "
            "WHERE attrelid IN ('posts_post'::regclass, 'posts_revision'::regclass) AND attcompression <> ''"
        )
        compressed = {(table, column) for table, column, method in cursor.fetchall() if method == "l"}
    expected = {("posts_post", c) for c in ("body", "body_html", "meta_html", "tags_html")}
    assert expected | {("posts_revision", "snapshot")} <= compressed
