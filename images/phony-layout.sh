#!/bin/bash
# Puts a guest tree (a phony root from the tests) on a disk laid out as servers often are:
#   lvm   MBR; /dev/sda1 ext4 /boot; /dev/sda2 an LVM physical volume of volume group vg0 with
#         the logical volumes root (ext4) and swap
#   lvm-split  as lvm, and /dev/sda3 a second physical volume of vg0; root was extended after
#         swap was made, so it lies in two pieces of /dev/sda2, and /srv (ext4) is striped
#         over both physical volumes (two stripes of 64 KiB)
#   md    MBR; /dev/sda1 and /dev/sda2 a RAID1 array (md0) holding an ext4 root
#   xfs   GPT; /dev/sda1 an EFI system partition (vfat) at /boot/efi; /dev/sda2 an XFS root
#   btrfs MBR; /dev/sda1 btrfs with the subvolumes root (the default), home, and a snapper
#         snapshot of the root at root/.snapshots/1/snapshot
# The tree's /etc/fstab is replaced by one naming these devices as the installer would have
# (/dev/sdX for partitions, /dev/mapper names for LVM, /dev/md0). One libguestfs appliance
# launch, so this works on hosts without device-mapper or md.
#
# usage: images/phony-layout.sh lvm|lvm-split|md|xfs|btrfs TREE OUTPUT.img
set -euo pipefail
layout=${1:?usage: phony-layout.sh lvm|lvm-split|md|xfs|btrfs TREE OUTPUT.img}
tree=${2:?usage: phony-layout.sh lvm|lvm-split|md|xfs|btrfs TREE OUTPUT.img}
out=${3:?usage: phony-layout.sh lvm|lvm-split|md|xfs|btrfs TREE OUTPUT.img}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/rehost-layout.XXXXXX")
trap 'rm -rf "$work"' EXIT

case $layout in
  lvm)
    fstab='/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1
/dev/sda1 /boot ext4 defaults 0 2
/dev/mapper/vg0-swap none swap sw 0 0'
    size=256M
    script='part-init /dev/sda mbr
part-add /dev/sda p 2048 67583
part-add /dev/sda p 67584 -2048
pvcreate /dev/sda2
vgcreate vg0 /dev/sda2
lvcreate root vg0 160
lvcreate swap vg0 32
mkfs ext4 /dev/sda1
mkfs ext4 /dev/vg0/root
mkswap /dev/vg0/swap
mount /dev/vg0/root /
mkdir-p /boot
mount /dev/sda1 /boot' ;;
  lvm-split)
    fstab='/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1
/dev/sda1 /boot ext4 defaults 0 2
/dev/mapper/vg0-srv /srv ext4 defaults 0 2
/dev/mapper/vg0-swap none swap sw 0 0'
    size=320M
    # guestfish makes no striped volume; the appliance's own lvm does (debug sh).
    script='part-init /dev/sda mbr
part-add /dev/sda p 2048 67583
part-add /dev/sda p 67584 444415
part-add /dev/sda p 444416 -2048
pvcreate /dev/sda2
pvcreate /dev/sda3
vgcreate vg0 "/dev/sda2 /dev/sda3"
lvcreate root vg0 80
lvcreate swap vg0 32
lvresize /dev/vg0/root 120
debug sh "lvm lvcreate --yes --stripes 2 --stripesize 64k --size 48m --name srv vg0"
mkfs ext4 /dev/sda1
mkfs ext4 /dev/vg0/root
mkfs ext4 /dev/vg0/srv
mkswap /dev/vg0/swap
mount /dev/vg0/root /
mkdir-p /boot
mount /dev/sda1 /boot
mkdir-p /srv
mount /dev/vg0/srv /srv' ;;
  md)
    fstab='/dev/md0 / ext4 errors=remount-ro 0 1'
    size=192M
    script='part-init /dev/sda mbr
part-add /dev/sda p 2048 194559
part-add /dev/sda p 194560 -2048
md-create md0 "/dev/sda1 /dev/sda2" level:raid1
mkfs ext4 /dev/md/md0
mount /dev/md/md0 /' ;;
  xfs)
    fstab='/dev/sda2 / xfs defaults 0 0
/dev/sda1 /boot/efi vfat umask=0077 0 1'
    # mkfs.xfs wants at least 300 MiB.
    size=400M
    script='part-init /dev/sda gpt
part-add /dev/sda p 2048 67583
part-set-gpt-type /dev/sda 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B
part-add /dev/sda p 67584 -34
mkfs vfat /dev/sda1
mkfs xfs /dev/sda2
mount /dev/sda2 /
mkdir-p /boot/efi
mount /dev/sda1 /boot/efi' ;;
  btrfs)
    # As Fedora and openSUSE do: the root in a subvolume that is the default, /home in another,
    # and a snapper snapshot of the root (a full copy of the OS, not a second one).
    fstab='/dev/sda1 / btrfs subvol=root 0 0
/dev/sda1 /home btrfs subvol=home 0 0'
    size=256M
    script='part-init /dev/sda mbr
part-add /dev/sda p 2048 -2048
mkfs btrfs /dev/sda1
mount /dev/sda1 /
btrfs-subvolume-create /root
btrfs-subvolume-create /home
btrfs-subvolume-create /root/.snapshots
umount /
mount-options subvol=root /dev/sda1 /'
    after='mkdir-p /.snapshots/1
btrfs-subvolume-snapshot / /.snapshots/1/snapshot
btrfs-subvolume-set-default 256 /' ;;  # root, the first subvolume made
  *) echo "phony-layout.sh: unknown layout '$layout' (lvm, lvm-split, md, xfs, btrfs)" >&2; exit 2 ;;
esac

cp -a "$tree" "$work/tree"
printf '%s\n' "$fstab" >"$work/tree/etc/fstab"
tar -C "$work/tree" -cf "$work/tree.tar" .
truncate -s "$size" "$work/disk.img"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
guestfish --rw --format=raw -a "$work/disk.img" <<EOF
run
$script
tar-in $work/tree.tar /
${after:-}
EOF
mv "$work/disk.img" "$out"
