#!/usr/bin/env bash
# Installs the Debian packages only `make bench` needs: the peers it compares the
# recipes against (lftp, rclone). The test suite never needs them.
# Does nothing when both are there. Needs root (or sudo).
set -euo pipefail
missing=()
command -v lftp >/dev/null 2>&1 || missing+=(lftp)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages for the bench: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
