"""Storage: the interface (base), the SQL shared by both back ends, SQLite and PostGIS."""
