#!/bin/sh
# mmdebstrap customize hook for the lab's base images. $1 = the new root, $2 = apt|dnf.
# Everything a host needs that does not depend on the host itself is baked here; per-host
# files (hostname, host keys, machine-id, authorized keys) are written into each host's overlay.
set -eu
R="$1"
KIND="$2"
OPERATOR_PASSWORD="$3"

# Hosts have no route to any mirror: the only package source is the lab's own archive.
rm -f "$R"/etc/apt/sources.list "$R"/etc/apt/sources.list.d/*
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb
mkdir -p "$R/srv/lab-repo" "$R/srv/lab-rpm-repo" "$R/var/lib/patchdeck-lab"

chroot "$R" useradd --create-home --uid 1000 --shell /bin/bash admin
chroot "$R" useradd --create-home --uid 1001 --no-user-group --gid users --groups sudo --shell /bin/bash operator
echo "operator:$OPERATOR_PASSWORD" | chroot "$R" chpasswd
echo 'admin ALL=(ALL:ALL) NOPASSWD: ALL' > "$R/etc/sudoers.d/lab-admin"
chmod 0440 "$R/etc/sudoers.d/lab-admin"

rm -f "$R"/etc/ssh/ssh_host_*
cat > "$R/etc/ssh/sshd_config.d/lab.conf" <<'CONF'
PasswordAuthentication yes
UseDNS no
MaxStartups 100:30:200
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u
CONF
mkdir -p "$R/etc/ssh/authorized_keys"
: > "$R/etc/machine-id"

if [ "$KIND" = apt ]; then
  cat > "$R/etc/apt/sources.list.d/lab.list" <<'LIST'
deb [trusted=yes] file:/srv/lab-repo bookworm main
deb [trusted=yes] file:/srv/lab-repo bookworm-updates main
deb [trusted=yes] file:/srv/lab-repo bookworm-security main
LIST
  # apt reads file: sources as root when _apt cannot; say so once instead of warning on every run.
  echo 'APT::Sandbox::User "root";' > "$R/etc/apt/apt.conf.d/99lab-sandbox"
fi

if [ "$KIND" = dnf ]; then
  # An EL-like identity over a Debian userland: the inventory marks these hosts emulated.
  rm -f "$R/etc/os-release" "$R/usr/lib/os-release" "$R/etc/debian_version"
  cat > "$R/usr/lib/os-release" <<'OS'
NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
HOME_URL="https://rockylinux.org/"
OS
  ln -s ../usr/lib/os-release "$R/etc/os-release"
  echo 'Rocky Linux release 9.3 (Blue Onyx)' > "$R/etc/redhat-release"
  ln -sf redhat-release "$R/etc/rocky-release"
  ln -sf redhat-release "$R/etc/system-release"
  mkdir -p "$R/etc/rpm" "$R/var/lib/rpm" "$R/etc/dnf/vars" "$R/etc/yum.repos.d" "$R/etc/dnf/plugins/needs-restarting.d"
  # Debian's rpm keeps its database in ~/.rpmdb; an EL host keeps it in /var/lib/rpm.
  echo '%_dbpath /var/lib/rpm' > "$R/etc/rpm/macros"
  echo 9 > "$R/etc/dnf/vars/releasever"
  echo x86_64 > "$R/etc/dnf/vars/basearch"
  cat > "$R/etc/yum.repos.d/lab.repo" <<'REPO'
[baseos]
name=Rocky Linux 9 - BaseOS (lab)
baseurl=file:///srv/lab-rpm-repo/baseos
gpgcheck=0
enabled=1
metadata_expire=0

[appstream]
name=Rocky Linux 9 - AppStream (lab)
baseurl=file:///srv/lab-rpm-repo/appstream
gpgcheck=0
enabled=1
metadata_expire=0
REPO
  # needs-restarting -r treats these like a kernel: installed after boot => reboot required.
  echo acme-firmware > "$R/etc/dnf/plugins/needs-restarting.d/acme.conf"
  # The "local" plugin wants a repo under /var/lib/dnf/plugins/local that no EL host has.
  sed -i '0,/^enabled/s/^enabled.*/enabled = false/' "$R/etc/dnf/plugins/local.conf"
  chroot "$R" rpm --initdb
  # Hide the Debian package tools so nothing on this host looks like apt/dpkg.
  mkdir -p "$R/usr/lib/patchdeck-lab-hidden"
  for b in apt apt-get apt-cache apt-mark apt-config dpkg dpkg-query; do
    if [ -e "$R/usr/bin/$b" ]; then mv "$R/usr/bin/$b" "$R/usr/lib/patchdeck-lab-hidden/$b"; fi
  done
fi
