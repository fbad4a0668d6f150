#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised: the serving role
# Strongroom connects as (not the owner, not a superuser: row-level security binds
# it). `strongroom migrate --app-role strongroom_app` grants it exactly what it needs.
set -eu
password="$(cat /run/secrets/app_db_password)"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$password" <<'SQL'
CREATE ROLE strongroom_app LOGIN PASSWORD :'app_password';
SQL
