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
INSERT INTO posts_post (source_id, reference, slug, title, topic, summary, body, body_html, ai_outline, ai_brief,
  code_language, difficulty, reading_time, view_count, score_quality, score_freshness, score_depth, score_clarity,
  revision_status, version, last_reviewed, content_hash, ai_generated_style, has_images, image_heavy, needs_human_review,
  checklist, payload, notes, extra, state, published_at, created_at, updated_at, record_hash, import_hash, lock_version,
  pending_import, search_terms, topic_slug)
SELECT 'bulk-' || g, 'bulk-ref-' || g, left(t.slug, 150) || '-b' || g, t.title || ' #' || g, t.topic, t.summary,
  t.body, t.body_html, t.ai_outline, t.ai_brief, t.code_language, t.difficulty, t.reading_time, t.view_count,
  t.score_quality, t.score_freshness, t.score_depth, t.score_clarity, t.revision_status, t.version, t.last_reviewed,
  t.content_hash, t.ai_generated_style, t.has_images, t.image_heavy, (g % 3 = 0), t.checklist, t.payload, t.notes,
  t.extra, CASE WHEN g % 50 = 0 THEN 'draft' ELSE 'published' END,
  CASE WHEN g % 50 = 0 THEN NULL ELSE now() - interval '1 second' * (1000000 - g) - interval '1 day' END,
  now() - interval '1 second' * (1000000 - g) - interval '1 day', now() - interval '1 second' * (1000000 - g) - interval '1 day',
  t.record_hash, t.import_hash, 1, false, t.search_terms, t.topic_slug
FROM generate_series(1, 1000000) AS g JOIN tpl AS t ON t.n = g % :templates
ORDER BY g;
CREATE TEMP TABLE bulk_map AS SELECT p.id AS post_id, t.id AS tpl_id FROM posts_post p JOIN tpl t ON t.n = (substring(p.source_id from 6)::int % :templates) WHERE p.source_id LIKE 'bulk-%';
INSERT INTO posts_stacktag (tag_id, content_object_id, position) SELECT s.tag_id, m.post_id, s.position FROM bulk_map m JOIN posts_stacktag s ON s.content_object_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_tooltag (tag_id, content_object_id, position) SELECT s.tag_id, m.post_id, s.position FROM bulk_map m JOIN posts_tooltag s ON s.content_object_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_postentity (entity_id, post_id, position) SELECT s.entity_id, m.post_id, s.position FROM bulk_map m JOIN posts_postentity s ON s.post_id = m.tpl_id ORDER BY m.post_id, s.position;
INSERT INTO posts_imagesource (post_id, position, source, url, caption) SELECT m.post_id, s.position, s.source, s.url, s.caption FROM bulk_map m JOIN posts_imagesource s ON s.post_id = m.tpl_id ORDER BY m.post_id, s.position;
VACUUM ANALYZE;
SELECT count(*) FROM posts_post;
