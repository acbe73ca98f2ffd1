"""Tags in the admin: taggit's TagAdmin without its merge page.

taggit's "merge tags" page is open to every staff user whatever their
permissions (its view checks none), and it merges only taggit's own
TaggedItem rows, not this site's StackTag and ToolTag links, so a merge
would silently drop posts from their tags. Tags change through posts (the
record's stack and tools); here they are listed and renamed with the usual
permissions.
"""

from django.contrib import admin
from taggit.admin import TagAdmin
from taggit.models import Tag

admin.site.unregister(Tag)


@admin.register(Tag)
class SiteTagAdmin(TagAdmin):
    inlines = []  # taggit's TaggedItem inline: this site links tags through StackTag and ToolTag
    actions = []  # "Merge selected tags" leads to the merge page

    def get_urls(self):
        return admin.ModelAdmin.get_urls(self)  # the standard pages only, not TagAdmin's merge-tags/
