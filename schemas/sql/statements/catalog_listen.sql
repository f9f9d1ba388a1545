-- catalog_listen: the daemon hears of every change of outcomes.metric_catalog
-- (the trigger of migration 0008 notifies this channel) and reloads it.
LISTEN outcomes_catalog;
