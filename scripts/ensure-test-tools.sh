#!/usr/bin/env bash
# Installs the Debian packages the tests use when they are missing:
# chromium for the browser tests, poppler-utils (pdftoppm, pdftotext) to
# render and read the PDF posters, and poppler-data for the Chinese
# encodings those posters use.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -d /usr/share/poppler/cMap ] || missing+=(poppler-data)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "== installing Debian's ${missing[*]} for the tests"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
command -v chromium >/dev/null && command -v pdftoppm >/dev/null
