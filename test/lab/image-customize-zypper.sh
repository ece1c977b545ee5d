#!/bin/sh
# mmdebstrap customize hook for the zypper image, run after image-customize.sh (users, sshd).
# $1 = the new root. An openSUSE Leap 15.5 identity over a Debian 12 userland with Debian's
# zypper and rpm: the inventory marks these hosts emulated.
set -eu
R="$1"

rm -f "$R/etc/os-release" "$R/usr/lib/os-release" "$R/etc/debian_version"
cat > "$R/usr/lib/os-release" <<'OS'
NAME="openSUSE Leap"
VERSION="15.5"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.5"
PRETTY_NAME="openSUSE Leap 15.5"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:opensuse:leap:15.5"
HOME_URL="https://www.opensuse.org/"
OS
ln -s ../usr/lib/os-release "$R/etc/os-release"
mkdir -p "$R/etc/rpm" "$R/var/lib/rpm" "$R/etc/zypp/repos.d" "$R/etc/zypp/needreboot.d" "$R/var/log" "$R/srv/lab-zypp-repo"
# libzypp writes /run/reboot-needed (zypper needs-rebooting: 102) once a package named here is
# installed, as a Leap host's /etc/zypp/needreboot does for its kernel: the lab's firmware.
echo acme-firmware > "$R/etc/zypp/needreboot.d/acme"
# Debian's rpm keeps its database in ~/.rpmdb; a SUSE host keeps it in /var/lib/rpm.
echo '%_dbpath /var/lib/rpm' > "$R/etc/rpm/macros"
# Two repositories like a Leap host's: the release (oss) and its updates, which carry the patches.
cat > "$R/etc/zypp/repos.d/repo-oss.repo" <<'REPO'
[repo-oss]
name=openSUSE Leap 15.5 - Oss (lab)
enabled=1
autorefresh=0
baseurl=dir:/srv/lab-zypp-repo/oss
type=rpm-md
gpgcheck=0
keeppackages=0
REPO
cat > "$R/etc/zypp/repos.d/repo-update.repo" <<'REPO'
[repo-update]
name=openSUSE Leap 15.5 - Update (lab)
enabled=1
autorefresh=0
baseurl=dir:/srv/lab-zypp-repo/update
type=rpm-md
gpgcheck=0
keeppackages=0
REPO
chroot "$R" rpm --initdb
# Hide the Debian package tools so nothing on this host looks like apt/dpkg. Debian's rpm refuses
# to install while a dpkg database exists (rpm --force-debian), and libzypp runs that rpm.
mkdir -p "$R/usr/lib/patchdeck-lab-hidden"
for b in apt apt-get apt-cache apt-mark apt-config dpkg dpkg-query; do
  if [ -e "$R/usr/bin/$b" ]; then mv "$R/usr/bin/$b" "$R/usr/lib/patchdeck-lab-hidden/$b"; fi
done
mv "$R/var/lib/dpkg" "$R/usr/lib/patchdeck-lab-hidden/dpkg-db"
