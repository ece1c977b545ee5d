#!/bin/sh
# Root side of one lab host, run as
#   ip netns exec NS unshare --mount --uts --pid --fork --kill-child --propagation private sh host-init.sh
# (or without the netns, with LAB_MODE=build, to prepare a profile layer from a script on stdin).
# Every mount below lives in this private mount namespace: when PID 1 of the host dies, they go with it.
# Environment: LAB_HOSTNAME LAB_LOWER LAB_UPPER LAB_WORK LAB_ROOT LAB_REPO LAB_REPO_AT [LAB_MODE=build]
#
# A host boots in a PID and mount namespace of its own, nested in this one, so that it can reboot:
# its `reboot` (written below) leaves a request on its disk and ends its PID 1 (sshd); the kernel
# ends every other process of that boot (SSH sessions drop), its mounts go with it, and this loop
# boots it again: empty /run (reboot-required, zypper's reboot-needed), a new /proc/1 (the boot time
# dnf's needs-restarting reads), same disk. A boot that ends without a request ends the host.
set -eu
M="$LAB_ROOT"
REBOOT_REQUEST=/var/lib/patchdeck-lab/reboot-requested
if [ "${LAB_MODE:-host}" = host ]; then
  hostname "$LAB_HOSTNAME"
  while :; do
    rc=0
    LAB_MODE=boot unshare --mount --pid --fork --kill-child --propagation private sh "$0" || rc=$?
    [ -e "$LAB_UPPER$REBOOT_REQUEST" ] || exit "$rc"
    echo "host-init: $LAB_HOSTNAME reboots"
  done
fi
mount -t overlay overlay -o "lowerdir=$LAB_LOWER,upperdir=$LAB_UPPER,workdir=$LAB_WORK" "$M"
mount -t proc -o nosuid,nodev,noexec proc "$M/proc"
mount -t tmpfs -o mode=0755,size=32m,nosuid,nodev tmpfs "$M/run"
mkdir -p "$M/run/sshd" "$M/run/lock"
mount -t tmpfs -o mode=0755,size=1m,nosuid tmpfs "$M/dev"
for spec in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
  # shellcheck disable=SC2086
  set -- $spec
  mknod -m 0666 "$M/dev/$1" c "$2" "$3"
done
mkdir -p "$M/dev/pts" "$M/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$M/dev/pts"
ln -s pts/ptmx "$M/dev/ptmx"
ln -s /proc/self/fd "$M/dev/fd"
ln -s /proc/self/fd/0 "$M/dev/stdin"
ln -s /proc/self/fd/1 "$M/dev/stdout"
ln -s /proc/self/fd/2 "$M/dev/stderr"
mount -t tmpfs -o mode=1777,size=8m,nosuid,nodev tmpfs "$M/dev/shm"
mount --bind "$LAB_REPO" "$M$LAB_REPO_AT"
mount -o remount,bind,ro "$M$LAB_REPO_AT"

if [ "${LAB_MODE:-host}" = build ]; then
  exec chroot "$M" /bin/sh -s
fi

rm -f "$M$REBOOT_REQUEST"
# The host's reboot: there is no init to ask, so it asks the loop above (written once per disk).
[ -x "$M/usr/sbin/reboot" ] || cat > "$M/usr/sbin/reboot" <<'REBOOT'
#!/bin/sh
# Lab host: a simulated restart (see test/lab/host-init.sh). Every process of this host ends.
if [ "$(id -u)" != 0 ]; then echo 'reboot: must be superuser.' >&2; exit 1; fi
: > /var/lib/patchdeck-lab/reboot-requested
exec kill -TERM 1
REBOOT
chmod 0755 "$M/usr/sbin/reboot"
# A host whose profile says "reboot pending" gets the flag on its first boot only: a restart clears it.
SEED="$M/var/lib/patchdeck-lab/reboot-required.pkgs"
if [ -f "$SEED" ]; then
  cp "$SEED" "$M/run/reboot-required.pkgs"
  echo '*** System restart required ***' > "$M/run/reboot-required"
  rm -f "$SEED"
fi
exec chroot "$M" /usr/sbin/sshd -D -e
