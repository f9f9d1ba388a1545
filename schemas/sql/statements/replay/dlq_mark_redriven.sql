-- dlq_mark_redriven: mark the dead letters of a batch that Kafka
-- acknowledged as redriven, in the transaction that selected them.
--   $1 bigint[]  their ids
UPDATE outcomes.dead_letters
   SET redriven_at = now()
 WHERE id = ANY ($1::bigint[]) AND redriven_at IS NULL;
