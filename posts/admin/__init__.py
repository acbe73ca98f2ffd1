"""The editorial admin: the post form, history and rollback, the review queue.

Django's admin autodiscovery imports this package; importing the modules
below registers their ModelAdmins.
"""

from django.contrib import admin

from posts.admin import posts, review, tags  # noqa: F401

# The editors' pages need the width (the post list at 1280 px, the form with its preview
# panel): the admin's navigation sidebar would take a quarter of it. Home and the
# breadcrumbs still lead everywhere.
admin.site.enable_nav_sidebar = False
