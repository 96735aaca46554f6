#!/usr/bin/env bash
# Installs what the tests and the demo need from Debian's archive: Prometheus and
# VictoriaMetrics (kubectl is expected on the machine). Safe to run repeatedly.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v prometheus >/dev/null 2>&1 && [ ! -x /usr/bin/prometheus ]; then
  echo "==> installing Debian's prometheus package"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
if [ ! -x /usr/bin/victoria-metrics ]; then
  echo "==> installing Debian's victoria-metrics package (the engine tests run against it too)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends victoria-metrics >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || { echo "kubectl is required (it is the client in the API tests)" >&2; exit 1; }
