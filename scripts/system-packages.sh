#!/bin/sh
# System packages the app and its tests need: a CJK font and HarfBuzz subsetting for PDFs,
# poppler for checking PDFs, Chromium for the browser tests, redis-server (shared rate limits) and
# nginx (the front proxy), which the tests start on their own sockets and ports, and wrk (the benchmarks'
# HTTP load generator, a C client that leaves the cores to the server it measures). Installs them as root
# on Debian/Ubuntu; elsewhere says what is missing. Idempotent and quiet when all is present.
PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils chromium redis-server nginx wrk"

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "Not a Debian-like system: please install the equivalents of: $PACKAGES" >&2
  exit 0
fi
missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null \
    || { echo "apt-get could not install:$missing" >&2; exit 1; }
else
  echo "Missing system packages (install them as root):$missing" >&2
  echo "Without them PDF exports lack Chinese fonts and the browser, Redis and nginx tests cannot run." >&2
fi
