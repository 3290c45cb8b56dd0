#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo start for real:
# OpenSSH sshd, ProFTPD with mod_sftp, Dante (SOCKS5), tinyproxy (HTTP CONNECT),
# and python3-venv. With --bench, also the peers only `make bench` runs (lftp,
# rclone); the test suite never needs them.
# Does nothing when everything is already there. Needs root (or sudo).
set -euo pipefail
missing=()
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v danted >/dev/null 2>&1 || [ -x /usr/sbin/danted ] || missing+=(dante-server)
command -v tinyproxy >/dev/null 2>&1 || [ -x /usr/bin/tinyproxy ] || missing+=(tinyproxy)
[ -x /usr/sbin/proftpd ] || missing+=(proftpd-core)
[ -e /usr/lib/proftpd/mod_sftp.so ] || missing+=(proftpd-mod-crypto)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${1:-}" = "--bench" ]; then
  command -v lftp >/dev/null 2>&1 || missing+=(lftp)
  command -v rclone >/dev/null 2>&1 || missing+=(rclone)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
