#!/bin/bash
# Builds a real Debian 12 disk laid out as the Debian installer lays out a UEFI server with
# "guided, use entire disk and set up LVM", on a server that ran on VMware:
#   - GPT; /dev/sda1 the EFI system partition (vfat, /boot/efi), /dev/sda2 ext4 /boot,
#     /dev/sda3 an LVM physical volume of volume group vg0 with the logical volumes root (ext4)
#     and swap;
#   - fstab as the installer writes it: /dev/mapper names for the logical volumes, UUID= for
#     /boot and /boot/efi; root=/dev/mapper/vg0-root on the kernel command line;
#   - grub-efi-amd64 installed as EFI/debian/grubx64.efi only: the firmware found it through a
#     boot entry in the VMware VM's NVRAM, which does not move with the disk, and there is no
#     fallback loader EFI/BOOT/BOOTX64.EFI;
#   - open-vm-tools, eth0 pinned to a VMware MAC, and an initramfs with the VMware drivers
#     (vmw_pvscsi, sd_mod, ext4, vmxnet3) and LVM, without NVMe or virtio drivers.
# Everything comes from Debian packages (mmdebstrap). The file systems, the volume group and
# grub-install are made in one libguestfs appliance, so this works on hosts without
# device-mapper or vfat.
#
# usage: images/debian-lvm-uefi.sh OUTPUT.img
# The image is written to OUTPUT.img.partial and renamed when complete.
set -euo pipefail

out=${1:?usage: debian-lvm-uefi.sh OUTPUT.img}
mirror=${REHOST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/rehost-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "images: bootstrapping Debian 12 (LVM, UEFI) into $work/root (2-3 minutes)" >&2
mmdebstrap --quiet --mode=root --variant=minbase \
    --include=systemd-sysv,udev,kmod,linux-image-amd64,grub-efi-amd64,lvm2,initramfs-tools,open-vm-tools,ifupdown,isc-dhcp-client,e2fsprogs,dosfstools,procps,zstd \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; echo MODULES=list > "$1/etc/initramfs-tools/conf.d/zz-image-build"; echo RESUME=/dev/mapper/vg0-swap > "$1/etc/initramfs-tools/conf.d/resume"' \
    --essential-hook='mkdir -p "$1/usr/share/initramfs-tools/modules.d"; printf "vmw_pvscsi\nsd_mod\next4\nvmxnet3\n" > "$1/usr/share/initramfs-tools/modules.d/zz-image-build"' \
    --customize-hook='rm -f "$1/etc/initramfs-tools/conf.d/zz-image-build" "$1/usr/share/initramfs-tools/modules.d/zz-image-build"' \
    --customize-hook='sed -i "s/^MODULES=.*/MODULES=dep/" "$1/etc/initramfs-tools/initramfs.conf"' \
    --customize-hook='echo vmware-db01 > "$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 vmware-db01\n" > "$1/etc/hosts"' \
    --customize-hook='printf "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n" > "$1/etc/network/interfaces"' \
    --customize-hook='mkdir -p "$1/etc/udev/rules.d"; printf "# PCI device 0x15ad:0x07b0 (vmxnet3)\nSUBSYSTEM==\"net\", ACTION==\"add\", DRIVERS==\"?*\", ATTR{address}==\"00:50:56:a1:b2:d4\", ATTR{dev_id}==\"0x0\", ATTR{type}==\"1\", KERNEL==\"eth*\", NAME=\"eth0\"\n" > "$1/etc/udev/rules.d/70-persistent-net.rules"' \
    --customize-hook='sed -i -e "s/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=1/" -e "s/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"/" -e "s/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,9600n8\"/" "$1/etc/default/grub"; printf "GRUB_TERMINAL=console\n" >> "$1/etc/default/grub"' \
    --customize-hook='echo "root:vmware" | chroot "$1" chpasswd' \
    --customize-hook='chroot "$1" apt-get clean; rm -rf "$1"/var/lib/apt/lists/*' \
    bookworm "$work/root" "$mirror"

kver=$(ls "$work/root/lib/modules" | sort -V | tail -1)
listing=$(zstd -dcq "$work/root/boot/initrd.img-$kver" 2>/dev/null | cpio -t 2>/dev/null || true)
for m in vmw_pvscsi dm-mod; do
    grep -q "/$m.ko" <<<"$listing" || { echo "images: the initramfs lacks $m" >&2; exit 1; }
done
grep -q "sbin/lvm" <<<"$listing" || { echo "images: the initramfs lacks lvm" >&2; exit 1; }
for m in nvme virtio_blk virtio_scsi; do
    if grep -q "/$m.ko" <<<"$listing"; then
        echo "images: the initramfs unexpectedly holds $m" >&2
        exit 1
    fi
done

# /boot and the rest go in separately, each onto its own file system.
tar -C "$work/root/boot" -cf "$work/boot.tar" .
tar -C "$work/root" --exclude=./boot/* -cf "$work/root.tar" .
rm -rf "$work/root"

echo "images: partitions, LVM, file systems and grub-install (one appliance launch)" >&2
truncate -s 3072M "$work/disk.img"
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
# Sectors: ESP 1-65 MiB, /boot 65-321 MiB, the physical volume from 321 MiB to the end.
# Inside the appliance the disk's kernel name is not always /dev/sda (libguestfs translates the
# names it is given, not those in a guest command): the fstab takes the UUIDs of what is
# mounted.
guestfish --rw --format=raw -a "$work/disk.img" <<EOF
run
part-init /dev/sda gpt
part-add /dev/sda p 2048 133119
part-set-gpt-type /dev/sda 1 C12A7328-F81F-11D2-BA4B-00A0C93EC93B
part-set-name /dev/sda 1 EFI
part-add /dev/sda p 133120 657407
part-add /dev/sda p 657408 -34
part-set-gpt-type /dev/sda 3 E6D6D379-F507-44C2-A23C-238F2A3DF928
pvcreate /dev/sda3
vgcreate vg0 /dev/sda3
lvcreate root vg0 2560
lvcreate-free swap vg0 100
mkfs vfat /dev/sda1
mkfs ext4 /dev/sda2
mkfs ext4 /dev/vg0/root
mkswap /dev/vg0/swap
mount /dev/vg0/root /
tar-in $work/root.tar /
mkdir-p /boot
mount /dev/sda2 /boot
tar-in $work/boot.tar /boot
mkdir-p /boot/efi
mount /dev/sda1 /boot/efi
sh "printf '# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\nUUID=%s /boot ext4 defaults 0 2\nUUID=%s /boot/efi vfat umask=0077 0 1\n/dev/mapper/vg0-swap none swap sw 0 0\n' \$(blkid -s UUID -o value \$(findmnt -no SOURCE /boot)) \$(blkid -s UUID -o value \$(findmnt -no SOURCE /boot/efi)) > /etc/fstab"
sh "grub-install --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=debian --no-nvram"
command "update-grub"
EOF

mv "$work/disk.img" "$out.partial"
mv "$out.partial" "$out"
echo "images: wrote $out" >&2
