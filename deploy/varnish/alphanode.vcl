vcl 4.1;
# alphanode's edge: Varnish 7.1 (Debian `varnish`) with the xkey vmod (Debian `varnish-modules`).
#
# Readers are served from here; editors (a session cookie) pass to the app. The app
# tags every cached page with Surrogate-Key; this file indexes pages by those tags
# (xkey), and the app purges them by tag after each change (alphanode/pagecache/edges.py).
# See docs/page-cache.md ("The edge") for the rules and README.md ("Production") for
# the topology. Edit the two marked blocks for your site: the app servers and the
# addresses allowed to purge.

import directors;
import std;
import xkey;

probe health {
    .url = "/health";
    .interval = 2s;
    .timeout = 2s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

# BEGIN backends: one per app server
backend app1 {
    .host = "127.0.0.1";
    .port = "8000";
    .probe = health;
    .first_byte_timeout = 30s;
}
# END backends

# BEGIN purgers: addresses allowed to send PURGE (the app servers)
acl purgers {
    "127.0.0.1";
    "::1";
}
# END purgers

# BEGIN director
sub vcl_init {
    new app = directors.round_robin();
    app.add_backend(app1);
}
# END director

sub vcl_recv {
    set req.backend_hint = app.backend();

    if (req.method == "PURGE") {
        # client.ip, never a header: X-Forwarded-For is whatever the sender wrote.
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (req.http.X-Purge-All == "yes") {
            std.ban("obj.status != 0");
            return (synth(200, "Banned"));
        }
        if (req.http.xkey-softpurge) {
            set req.http.n-gone = xkey.softpurge(req.http.xkey-softpurge);
        } else if (req.http.xkey-purge) {
            set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        } else {
            return (synth(400, "xkey-purge or xkey-softpurge header required"));
        }
        return (synth(200, "Purged " + req.http.n-gone));
    }

    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # What the app never caches: the admin, operations, metrics, the health probe.
    if (req.url ~ "^/(admin|ops|metrics|health)(/|\?|$)") {
        return (pass);
    }
    # Editors (Django's session cookie) see live pages; nothing they see is stored.
    if (req.http.Cookie ~ "(^|;\s*)sessionid=") {
        return (pass);
    }
    # Readers' other cookies (analytics, csrftoken) never reach a cached page.
    unset req.http.Cookie;
    unset req.http.Authorization;

    # The app keys pages on page, q and p only: drop every other parameter here too,
    # so cache busters and utm_* neither add entries nor miss.
    if (req.url ~ "\?") {
        set req.url = regsuball(req.url, "([?&])(?!(?:page|q|p)=)[^&#]*", "\1");
        set req.url = regsuball(req.url, "&{2,}", "&");
        set req.url = regsub(req.url, "\?&", "?");
        set req.url = regsub(req.url, "[?&]+$", "");
    }

    # Serve a page up to 10 s past its lifetime while one request refetches it (also
    # what a soft purge gives readers); while the app servers are down, up to a day.
    if (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }
    return (hash);
}

sub vcl_backend_fetch {
    # The app re-reads its purge generation for edge fetches instead of trusting its
    # per-process copy, so a refetch right after a purge never brings back the old page.
    set bereq.http.X-Alphanode-Edge = "1";
}

sub vcl_backend_response {
    # Only what the app says is shared (public or s-maxage) is stored; other
    # responses (search, uncached pages) are never kept, whatever their status.
    if (beresp.http.Cache-Control !~ "(?i)(public|s-maxage)") {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    set beresp.http.xkey = beresp.http.Surrogate-Key;
    set beresp.grace = 24h;
    # One stored copy per page, gzipped; clients without gzip get it unzipped on the way out.
    if (beresp.http.Content-Type ~ "^(text/|application/(xml|rss\+xml|atom\+xml|json|javascript))") {
        set beresp.do_gzip = true;
    }
    if (beresp.http.Vary) {
        set beresp.http.Vary = regsuball(beresp.http.Vary, "(?i)(^|,)\s*Accept-Encoding\s*(,|$)", "\1");
        set beresp.http.Vary = regsub(beresp.http.Vary, "^,|,$", "");
        if (beresp.http.Vary == "") {
            unset beresp.http.Vary;
        }
    }
    # No return: the built-in rules still refuse responses that set cookies or say private.
}

sub vcl_deliver {
    if (obj.uncacheable) {
        set resp.http.X-Edge-Cache = "PASS";
    } else if (obj.hits > 0) {
        set resp.http.X-Edge-Cache = "HIT";
    } else {
        set resp.http.X-Edge-Cache = "MISS";
    }
    unset resp.http.xkey;
}
