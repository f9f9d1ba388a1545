-- 0008_catalog_ucum: the catalog's units become UCUM codes, a metric may
-- name the HL7 FHIR Measure whose MeasureReports carry it, the seed figure
-- is optional, and every change of the catalog is announced on the channel
-- outcomes_catalog, so that running daemons reload it (docs/design.md §2).
-- Safe to run again: each step is a no-op when its change is in place.

-- 1. Units are UCUM codes (https://ucum.org). 0002 allowed five names;
--    now any code of printable ASCII without spaces, at most 64 bytes (the
--    catalog parser also checks that brackets and braces balance). The
--    five names become: days d, ratio 1, count {count}, usd [USD], fte {FTE}.
ALTER TABLE outcomes.metric_catalog DROP CONSTRAINT IF EXISTS metric_catalog_unit_check;

UPDATE outcomes.metric_catalog
   SET unit = CASE unit
                WHEN 'days' THEN 'd'
                WHEN 'ratio' THEN '1'
                WHEN 'count' THEN '{count}'
                WHEN 'usd' THEN '[USD]'
                WHEN 'fte' THEN '{FTE}'
              END,
       updated_at = now()
 WHERE unit IN ('days', 'ratio', 'count', 'usd', 'fte');

ALTER TABLE outcomes.metric_catalog DROP CONSTRAINT IF EXISTS metric_catalog_unit_ucum;
ALTER TABLE outcomes.metric_catalog ADD CONSTRAINT metric_catalog_unit_ucum
  CHECK (unit ~ '^[[:graph:]]+$'
         AND octet_length(unit) BETWEEN 1 AND 64
         AND octet_length(unit) = char_length(unit));

-- 2. The canonical URL of the FHIR Measure whose MeasureReports carry the
--    metric, without a version suffix ("|1.0.0"); NULL when none. One
--    metric per measure, checked at commit, so that one transaction may
--    move a measure from one metric to another.
ALTER TABLE outcomes.metric_catalog ADD COLUMN IF NOT EXISTS measure_url text
  CONSTRAINT metric_catalog_measure_url_key UNIQUE DEFERRABLE INITIALLY DEFERRED
  CONSTRAINT metric_catalog_measure_url_check
  CHECK (measure_url ~ '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[[:graph:]]*)?$'
         AND strpos(measure_url, '|') = 0
         AND octet_length(measure_url) <= 1024
         AND octet_length(measure_url) = char_length(measure_url));

-- 3. The seed figure is optional: NULL when the catalog gives none.
ALTER TABLE outcomes.metric_catalog ALTER COLUMN seed DROP NOT NULL;
ALTER TABLE outcomes.metric_catalog ALTER COLUMN seed DROP DEFAULT;
UPDATE outcomes.metric_catalog SET seed = NULL WHERE seed = '';

-- 4. The analysts' view of the catalog gains the column (CREATE OR REPLACE
--    VIEW may only add columns at the end).
CREATE OR REPLACE VIEW outcomes.metrics AS
SELECT code AS metric, name, unit, kind, direction, min_value, max_value, seed, description,
       measure_url
  FROM outcomes.metric_catalog;

COMMENT ON COLUMN outcomes.metrics.measure_url IS
  'canonical URL of the FHIR Measure whose MeasureReports carry the metric, without a version; NULL when none';
COMMENT ON COLUMN outcomes.metric_catalog.measure_url IS
  'canonical URL of the FHIR Measure whose MeasureReports carry the metric, without a version; NULL when none';

-- 5. Whoever writes the catalog (outcomes-migrate, or an operator with
--    psql), the daemons hear of it: a notification on outcomes_catalog whose
--    payload is the operation (insert, update, delete, truncate), delivered
--    at commit; PostgreSQL folds the equal ones of a transaction into one.
CREATE OR REPLACE FUNCTION outcomes.metric_catalog_notify() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog
AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('outcomes_catalog', lower(TG_OP));
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS metric_catalog_changed ON outcomes.metric_catalog;
CREATE TRIGGER metric_catalog_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON outcomes.metric_catalog
  FOR EACH STATEMENT EXECUTE FUNCTION outcomes.metric_catalog_notify();
