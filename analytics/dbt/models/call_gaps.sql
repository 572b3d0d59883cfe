-- callstream's `call_gaps` view (src/warehouse/views/), which callstream creates and keeps
-- current in the warehouse: its SQL lives there once, for DuckDB and BigQuery alike. Its rows are
-- relative to the time it is read (calls whose report or callbacks are late by now).
select * from {{ source('callstream', 'call_gaps') }}
