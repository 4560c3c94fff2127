#!/usr/bin/env bash
# Installs what the service, the twin and the tests need, only when missing:
# Debian packages (as root) and npm packages, then builds the TypeScript.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# command-or-file -> Debian package
need=(
  "redis-server:redis-server"
  "/usr/lib/frr/zebra:frr"
  "lldpd:lldpd"
  "snmpd:snmpd"
  "snmpwalk:snmp"
  "/usr/sbin/netconfd:netconfd"
  "/usr/lib/python3/dist-packages/ncclient:python3-ncclient"
  "/sbin/dhclient:isc-dhcp-client"
  "/usr/sbin/dhcrelay:isc-dhcp-relay"
  "fping:fping"
  "yanglint:libyang2-tools"
  "/usr/sbin/sshd:openssh-server"
  "ssh-keygen:openssh-client"
  "ip:iproute2"
  "ping:iputils-ping"
  "pgrep:procps"
  "qemu-system-x86_64:qemu-system-x86"
  "qemu-img:qemu-utils"
  "debootstrap:debootstrap"
  "mkfs.ext4:e2fsprogs"
  # the web UI's browser tests and benchmark (driven by playwright-core, never a browser download)
  "/usr/bin/chromium:chromium"
  "/usr/share/fonts/opentype/inter:fonts-inter"
  "/usr/share/fonts/truetype/jetbrains-mono:fonts-jetbrains-mono"
)
missing=()
for pair in "${need[@]}"; do
  probe=${pair%%:*}; pkg=${pair##*:}
  if [[ $probe == /* ]]; then [[ -e $probe ]] && continue
  else command -v "$probe" >/dev/null 2>&1 && continue; fi
  missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: install when node_modules is missing or older than the lock file.
# `npm install` from the lock file, not `npm ci`: this npm writes lock files without the
# other platforms' optional packages (msgpackr-extract) and then refuses them in `npm ci`.
# --ignore-scripts: no package here needs an install script (ssh2's native binding is optional).
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm install"
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# Build: the CLI, the service, the workers and the twin run from dist/; the web UI is bundled
# into dist/webui (esbuild, offline), which the service serves at /ui/.
echo "setup: tsc"
npx tsc -p tsconfig.json
node ui/build.mjs
