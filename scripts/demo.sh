#!/usr/bin/env bash
# The main job: installs dependencies, builds Runnel, and runs the example pipeline over a year
# of real air-quality sensor data, then shows where the results are and a few of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
NINJA_TARGETS=runnel scripts/build.sh

build/app/runnel check examples/airquality.toml
build/app/runnel run examples/airquality.toml --reset-state
echo
echo "First days of examples/out/air_daily.csv:"
head -n 6 examples/out/air_daily.csv
echo
echo "Query the table while or after it runs:"
echo "  sqlite3 -header -column examples/runnel-state/runnel.db 'SELECT * FROM air_daily LIMIT 5'"
