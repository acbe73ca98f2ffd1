"""The editorial admin: the post form, history and rollback, the review queue.

Django's admin autodiscovery imports this package; importing the modules
below registers their ModelAdmins.
"""

from posts.admin import posts, review, tags  # noqa: F401
