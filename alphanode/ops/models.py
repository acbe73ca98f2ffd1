"""The records operations reads: import runs, request timings, deployments."""

from django.db import models


class ImportRun(models.Model):
    """One run of import_posts: what it did and how long it took (shown on the monitoring page)."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        FINISHED = "finished", "finished"
        FAILED = "failed", "failed"

    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    sources = models.TextField(help_text="The paths given to the import, one per line.")
    dry_run = models.BooleanField(default=False)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0, help_text="Imports held for review (editor changed the post).")
    rejected = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    reject_file = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True, help_text="Why the run stopped, when it failed as a whole.")
    # db_default: the previous release, serving during migrate, inserts runs without it.
    host = models.CharField(max_length=255, blank=True, db_default="", help_text="The machine the import ran on.")
    pid = models.PositiveIntegerField(null=True, blank=True, help_text="Its process id there.")

    class Meta:
        # Created by the posts app before the app split; the table keeps its name.
        db_table = "posts_importrun"
        ordering = ["-started_at"]

    def __str__(self):
        return f"import {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class RequestTiming(models.Model):
    """One worker process's requests to one route in one minute, as a duration histogram.

    Workers aggregate in memory and overwrite their own row every few seconds
    (alphanode/ops/timings.py); the monitoring page merges the rows of every worker on
    every app server to get p50/p99 per route.
    """

    minute = models.DateTimeField(help_text="Start of the minute (UTC).")
    route = models.CharField(max_length=300, help_text="The URL pattern, not the path.")
    worker = models.CharField(max_length=200, help_text="host:pid:token of the process that measured.")
    count = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Responses with status 500 or above.")
    total_ms = models.FloatField(default=0)
    max_ms = models.FloatField(default=0)
    buckets = models.JSONField(default=list, help_text="Request counts per duration bucket (timings.BOUNDS_MS).")

    class Meta:
        # Created by the posts app before the app split; the table keeps its name.
        db_table = "posts_requesttiming"
        ordering = ["-minute", "route"]
        constraints = [
            # Also the index for reading a time window and pruning old minutes.
            models.UniqueConstraint(fields=["minute", "route", "worker"], name="requesttiming_minute_route_worker"),
        ]

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M} {self.route} ({self.count} requests)"


class Deployment(models.Model):
    """One run of scripts/deploy or scripts/rollback on one machine: what went live and what changed."""

    class Action(models.TextChoices):
        DEPLOY = "deploy", "deploy"
        ROLLBACK = "rollback", "rollback"

    class Outcome(models.TextChoices):
        LIVE = "live", "live"
        ROLLED_BACK = "rolled-back", "smoke test failed, previous release restored"
        FAILED = "failed", "failed"

    release = models.CharField(max_length=100)
    commit = models.CharField(max_length=64, blank=True)
    previous_release = models.CharField("previous release", max_length=100, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    host = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(db_index=True)
    migrations = models.TextField(blank=True, help_text="The migration plan this deployment applied.")
    changes = models.TextField(blank=True, help_text="Commits since the previous release, one per line.")
    message = models.TextField(blank=True, help_text="What failed, when something did.")

    class Meta:
        # Created by the posts app before the app split; the table keeps its name.
        db_table = "posts_deployment"
        ordering = ["-finished_at", "-id"]

    def __str__(self):
        return f"{self.action} {self.release} ({self.outcome})"
