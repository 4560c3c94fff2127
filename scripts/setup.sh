#!/usr/bin/env bash
# Installs what the service, the twin and the tests need, only when missing:
# Debian packages (as root) and npm packages, then builds the TypeScript.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# command-or-file -> Debian package
need=(
  "redis-server:redis-server"
  "/usr/lib/frr/zebra:frr"
  # bgpd's BGP4-MIB (AgentX subagent of the twin devices' snmpd): brownfield discovery reads it
  "/usr/lib/$(uname -m)-linux-gnu/frr/modules/bgpd_snmp.so:frr-snmp"
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
  "/usr/sbin/nft:nftables"
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
  "/usr/sbin/kea-dhcp4:kea-dhcp4-server"
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
  # The service runs kea-dhcp4 itself (DHCP_BACKEND=kea), only on the interface it is given:
  # the Debian unit (default config, no interfaces) is not wanted running.
  if [[ " ${missing[*]} " == *" kea-dhcp4-server "* && -d /run/systemd/system ]]; then
    systemctl disable --now kea-dhcp4-server >/dev/null 2>&1 || true
  fi
fi

# npm packages: `npm ci` from the lock file, when node_modules is missing or was installed from
# another lock (its hash is kept in node_modules/.fabric-lock-sha256; mtimes lie after a checkout).
# --ignore-scripts: no package here needs an install script (ssh2's and msgpackr's native parts
# are optional) and `prepare` would build twice; the build is below.
# scripts/lock.js check first: an incomplete lock fails here with the fix, not deep in npm.
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || "$(cat node_modules/.fabric-lock-sha256 2>/dev/null)" != "$lock_sha" ]]; then
  node scripts/lock.js check
  echo "setup: npm ci"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_sha" > node_modules/.fabric-lock-sha256
fi

# Build: the CLI, the service, the workers and the twin run from dist/; the web UI is bundled
# into dist/webui (esbuild, offline), which the service serves at /ui/.
echo "setup: tsc"
npx tsc -p tsconfig.json
# The UI bundle (esbuild) does not type-check: this does, so a type error in ui/ fails the tests.
npx tsc -p ui/tsconfig.json
node ui/build.mjs
