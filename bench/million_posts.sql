-- A million synthetic posts for bench/reader_plans.py, written in SQL (no rendering, no revisions).
--
-- On PostgreSQL (DATABASE_URL set): migrate, import tests/fixtures/seed-4577.json and a few
-- hundred generated posts (generate_posts --count 300, import_posts), then
--   psql "$DATABASE_URL" -f bench/million_posts.sql
--
-- Every post already in the database is a template: post g copies template g % n
-- (text, tags, entities, images), with its own slug, source_id and reference. One
-- in three is flagged needs_human_review, one in fifty is a draft, and published_at
-- runs one second apart, newest last. Takes ~20 minutes and ~10 GB on PostgreSQL 15.
CREATE TEMP TABLE tpl AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, * FROM posts_post WHERE source_id NOT LIKE 'bulk-%';
SELECT count(*) AS templates FROM tpl \gset
-- Every column is copied from the template but the ones named here, so a column added by a
-- later migration is filled too (generated columns are computed by PostgreSQL).
CREATE TEMP TABLE bulk_value (name text PRIMARY KEY, value text);
INSERT INTO bulk_value VALUES
  ('source_id', $$'bulk-' || g$$), ('reference', $$'bulk-ref-' || g$$),
  ('slug', $$left(t.slug, 150) || '-b' || g$$), ('title', $$t.title || ' #' || g$$),
  ('needs_human_review', 'g % 3 = 0'),
  ('state', $$CASE WHEN g % 50 = 0 THEN 'draft' ELSE 'published' END$$),
  ('published_at', $$CASE WHEN g % 50 = 0 THEN NULL ELSE now() - interval '1 second' * (1000000 - g) - interval '1 day' END$$),
  ('created_at', $$now() - interval '1 second' * (1000000 - g) - interval '1 day'$$),
  ('updated_at', $$now() - interval '1 second' * (1000000 - g) - interval '1 day'$$),
  ('flagged_at', $$CASE WHEN g % 3 = 0 OR t.ai_generated_style THEN now() - interval '1 second' * (1000000 - g) - interval '1 day' END$$),
  ('lock_version', '1'), ('pending_import', 'false'), ('changed_since_approval', 'false'),
  ('reviewed_by_id', 'NULL'), ('claimed_by_id', 'NULL'), ('claimed_at', 'NULL'),
  ('publish_at', 'NULL'), ('unpublish_at', 'NULL');
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS columns,
       string_agg(coalesce(v.value, 't.' || quote_ident(attname)), ', ' ORDER BY attnum) AS selects
FROM pg_attribute LEFT JOIN bulk_value AS v ON v.name = attname::text
WHERE attrelid = 'posts_post'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname <> 'id' \gset
INSERT INTO posts_post (:columns)
SELECT :selects FROM generate_series(1, 1000000) AS g JOIN tpl AS t ON t.n = g % :templates
ORDER BY g;
CREATE TEMP TABLE bulk_map AS SELECT p.id AS post_id, t.id AS tpl_id FROM posts_post p JOIN tpl t ON t.n = (substring(p.source_id from 6)::int % :templates) WHERE p.source_id LIKE 'bulk-%';
INSERT INTO posts_stacktag (tag_id, content_object_id, position) SELECT s.tag_id, m.post_id, s.position FROM bulk_map m JOIN posts_stacktag s ON s.content_object_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_tooltag (tag_id, content_object_id, position) SELECT s.tag_id, m.post_id, s.position FROM bulk_map m JOIN posts_tooltag s ON s.content_object_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_postentity (entity_id, post_id, position) SELECT s.entity_id, m.post_id, s.position FROM bulk_map m JOIN posts_postentity s ON s.post_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_imagesource (post_id, position, source, url, caption) SELECT m.post_id, s.position, s.source, s.url, s.caption FROM bulk_map m JOIN posts_imagesource s ON s.post_id = m.tpl_id ORDER BY m.post_id, s.position;
VACUUM ANALYZE;
SELECT count(*) FROM posts_post;
