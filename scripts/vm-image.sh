#!/usr/bin/env bash
# Builds (once) the Debian VM image the twin's `vm` backend boots: debootstrap bookworm minbase
# plus the packages below, Debian's stock kernel, an ext4 disk image, and the kernel + initrd
# pulled out for qemu's direct boot. The image is cached under $FABRIC_VM_CACHE
# (default /var/cache/fabric-twin) in a directory named after a hash of this script, the
# package list and the node binary copied in; a second run with nothing changed does nothing.
#
# Usage: scripts/vm-image.sh [--print-dir]   (prints the image directory on stdout)
# Needs root, debootstrap, mkfs.ext4 (e2fsprogs) and the Debian mirror of /etc/apt/sources.list.
set -euo pipefail

SUITE=bookworm
# The guest runs the project's own netns code, so it needs what the twin runs per device.
PACKAGES=(
  linux-image-amd64 kmod iproute2 iputils-ping procps psmisc
  frr lldpd snmpd snmp isc-dhcp-client openssh-client fping ethtool
  libstdc++6 busybox-static
)

CACHE=${FABRIC_VM_CACHE:-/var/cache/fabric-twin}
NODE_BIN=$(readlink -f "$(command -v node)")
SELF=$(readlink -f "$0")
mirror() {
  # First deb.debian.org-style URI of the host's apt sources (the reachable registry).
  local u
  u=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -oE 'https?://[^ ]+/debian/?$|https?://[^ ]+/debian ' | grep -v security | head -n1 | tr -d ' ')
  echo "${u:-http://deb.debian.org/debian}"
}
MIRROR=${FABRIC_VM_MIRROR:-$(mirror)}

key=$( { cat "$SELF"; printf '%s\n' "$SUITE" "${PACKAGES[@]}"; "$NODE_BIN" --version; stat -c %s "$NODE_BIN"; } | sha256sum | cut -c1-16)
DIR=$CACHE/$key
print=0; [[ ${1:-} == --print-dir ]] && print=1

if [[ -f $DIR/ready ]]; then
  ((print)) && echo "$DIR"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then echo "vm-image: needs root (debootstrap, chroot)" >&2; exit 1; fi
for c in debootstrap mkfs.ext4 chroot; do
  command -v $c >/dev/null || { echo "vm-image: missing $c (apt-get install debootstrap e2fsprogs)" >&2; exit 1; }
done

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9                                   # one build at a time; a waiter finds it ready
if [[ -f $DIR/ready ]]; then ((print)) && echo "$DIR"; exit 0; fi

t0=$(date +%s)
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
ROOT=$WORK/root
cleanup() {
  for m in proc sys dev/pts dev; do mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { echo "vm-image: $*" >&2; }

log "debootstrap $SUITE minbase from $MIRROR into $WORK"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }

# No daemon may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
# Debian's initramfs (udev, module probing) alone costs ~35 s under software emulation: the
# VM boots with the tiny initrd built below instead; keep Debian's small meanwhile.
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
echo 'MODULES=list' >"$ROOT/etc/initramfs-tools/conf.d/twin.conf"
echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"

mount -t proc proc "$ROOT/proc"; mount -t sysfs sys "$ROOT/sys"
mount --bind /dev "$ROOT/dev"; mount --bind /dev/pts "$ROOT/dev/pts"
log "installing ${PACKAGES[*]}"
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$WORK/apt.log" 2>&1 \
  || { tail -n 30 "$WORK/apt.log" >&2; exit 1; }
chroot "$ROOT" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >>"$WORK/apt.log" 2>&1 \
  || { tail -n 30 "$WORK/apt.log" >&2; exit 1; }
chroot "$ROOT" apt-get clean
for m in dev/pts dev sys proc; do umount -l "$ROOT/$m"; done
rm -f "$ROOT/usr/sbin/policy-rc.d"
rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/usr/share/doc" "$ROOT/usr/share/man" "$ROOT/usr/share/locale"
# Drivers a qemu guest never loads: keeps the disk image small.
for d in drivers/gpu drivers/media drivers/infiniband drivers/net/wireless sound drivers/staging drivers/scsi drivers/usb drivers/bluetooth drivers/iio drivers/input net/wireless net/mac80211 net/bluetooth; do
  rm -rf "$ROOT"/lib/modules/*/kernel/$d
done
chroot "$ROOT" depmod -a "$(ls "$ROOT/lib/modules" | head -n1)"

# The guest runs the host's node (self-contained but for glibc/libstdc++, same Debian release).
install -m 0755 "$NODE_BIN" "$ROOT/usr/local/bin/node"

# Stage-1 init: mounts the kernel file systems and the per-boot share, then hands over to the
# init script the host wrote there (so changing boot behaviour never needs a new image).
cat >"$ROOT/sbin/twin-init" <<'INIT'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp /twin
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
modprobe 9pnet_virtio 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 twinrun /twin || echo "twin-init: no twinrun share" >/dev/console
if [ -x /twin/init.sh ]; then exec /twin/init.sh; fi
echo "twin-init: /twin/init.sh missing; powering off" >/dev/console
echo o >/proc/sysrq-trigger
INIT
chmod 0755 "$ROOT/sbin/twin-init"
echo twin >"$ROOT/etc/hostname"
: >"$ROOT/etc/fstab"

mkdir -p "$WORK/out"
KVER=$(ls "$ROOT/lib/modules" | head -n1)
cp "$ROOT/boot/vmlinuz-$KVER" "$WORK/out/vmlinuz"
# The uncompressed kernel, booted through its PVH entry: unpacking the xz bzImage alone takes
# ~20 s under software emulation. Kept only when it carries the PVH note (else vmlinuz boots).
if command -v python3 >/dev/null; then
  python3 - "$WORK/out/vmlinuz" "$WORK/out/vmlinux" <<'PY' || rm -f "$WORK/out/vmlinux"
import lzma, re, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0: sys.exit(1)
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:])
if not out.startswith(b'\x7fELF') or not re.search(rb'\x04\x00\x00\x00.\x00\x00\x00\x12\x00\x00\x00Xen\x00', out, re.S): sys.exit(1)
open(sys.argv[2], 'wb').write(out)
PY
fi

# Tiny initrd: static busybox, the modules that reach an ext4 root on virtio-blk (in
# dependency order, from modprobe itself), and an init that mounts it and switches root.
IRD=$ROOT/tmp/initrd   # inside the root: the host may lack cpio, the chroot has it
mkdir -p "$IRD/bin" "$IRD/mods" "$IRD/proc" "$IRD/sys" "$IRD/dev" "$IRD/newroot"
cp "$ROOT/bin/busybox" "$IRD/bin/busybox"
for a in sh mount umount insmod mkdir sleep switch_root cat echo; do ln -s busybox "$IRD/bin/$a"; done
for m in virtio_pci virtio_blk crc32c_generic ext4; do
  chroot "$ROOT" modprobe -S "$KVER" --show-depends "$m"
done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' >"$WORK/mods.list"
grep -q '/ext4.ko$' "$WORK/mods.list" || { log "initrd: ext4 module not found"; exit 1; }
: >"$IRD/mods/order"
while read -r ko; do
  cp "$ROOT$ko" "$IRD/mods/"; basename "$ko" >>"$IRD/mods/order"
done <"$WORK/mods.list"
cat >"$IRD/init" <<'RDINIT'
#!/bin/sh
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m || echo "initrd: insmod $m failed" >/dev/console; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then echo "initrd: cannot mount /dev/vda" >/dev/console; sleep 2; echo o >/proc/sysrq-trigger; fi
umount /dev; umount /proc
exec switch_root /newroot /sbin/twin-init
RDINIT
chmod 0755 "$IRD/init"
chroot "$ROOT" sh -c 'cd /tmp/initrd && find . | cpio -o -H newc --quiet' | gzip -1 >"$WORK/out/initrd.img"
rm -rf "$IRD"
size_mb=$(( $(du -sm "$ROOT" | cut -f1) + 512 ))
log "ext4 image of ${size_mb} MiB"
mkfs.ext4 -q -F -L twinroot -d "$ROOT" "$WORK/out/root.ext4" "${size_mb}M"
{ echo "kernel=$KVER"; echo "node=$("$NODE_BIN" --version)"; echo "packages=${PACKAGES[*]}"; echo "built=$(date -u +%FT%TZ)"; echo "seconds=$(( $(date +%s) - t0 ))"; } >"$WORK/out/info"
rm -rf "$DIR"; mv "$WORK/out" "$DIR"
touch "$DIR/ready"
log "ready in $(( $(date +%s) - t0 )) s: $DIR"
((print)) && echo "$DIR"
exit 0
