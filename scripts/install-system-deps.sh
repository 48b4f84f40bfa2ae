#!/usr/bin/env bash
# System packages the browser tests and the web pages' screenshots need (Debian 12):
# Chromium, its WebDriver and a Chinese font; and the Java runtime Spark runs on (the
# pipeline's Spark engine and its parity test). Idempotent: installs only what is missing,
# and only as root; otherwise it says what to install and exits 0, so `make test` still
# runs (the browser tests then skip with a reason).
set -euo pipefail

packages=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [ -x /usr/bin/chromedriver ] \
    || packages+=(chromium-driver)
# dpkg knows the font package even where fc-list (fontconfig) is not installed
dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q "install ok installed" \
    || packages+=(fonts-wqy-microhei)
# pyspark 4 needs Java 17 or later
command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)

if [ ${#packages[@]} -eq 0 ]; then
    echo "system dependencies present: chromium, chromium-driver, fonts-wqy-microhei, java"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${packages[*]}"
    echo "install them with: sudo apt-get install -y --no-install-recommends ${packages[*]}"
    echo "(the browser and Spark tests skip until they are installed)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${packages[*]} (no apt-get here: install them by hand)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing: ${packages[*]}"
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"
