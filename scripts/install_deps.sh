#!/usr/bin/env bash
# Installs Runnel's build and test dependencies from Debian 12 packages (run as root).
# Skips apt-get entirely when everything is already installed.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libpaho-mqttpp-dev libpaho-mqtt-dev libasio-dev libsqlite3-dev sqlite3 libmimalloc-dev
  libcivetweb-dev civetweb doctest-dev libtomlplusplus-dev libsimdjson-dev libcli11-dev
  python3 python3-pandas python3-paho-mqtt
  mosquitto mosquitto-clients openssl libssl-dev
  clang libclang-rt-14-dev
  chromium wrk
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm (the dashboard's build fetches uPlot, the browser test playwright-core): Debian's
# unless some other node is installed already (its own npm would conflict with Debian's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (or install these packages yourself): ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
