-- callstream's `calls` view (src/warehouse/views/), which callstream creates and keeps
-- current in the warehouse: its SQL lives there once, for DuckDB and BigQuery alike.
select * from {{ source('callstream', 'calls') }}
