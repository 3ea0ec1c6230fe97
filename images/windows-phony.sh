#!/bin/bash
# Makes a phony Windows disk from a directory tree (a Windows root with its registry hives, as
# the tests write it): no Windows inside, but what rehost reads and writes.
#
# usage: images/windows-phony.sh TREE OUTPUT mbr|gpt
#   mbr  MBR, one active NTFS partition (BIOS firmware)
#   gpt  GPT, an EFI system partition (FAT, with \EFI\Boot\bootx64.efi and
#        \EFI\Microsoft\Boot\bootmgfw.efi placeholders) and an NTFS partition (UEFI firmware)
# The NTFS file system is made with mkntfs and filled through an ntfs-3g mount: needs root and
# /dev/fuse. No appliance is started.
set -euo pipefail
tree=${1:?usage: windows-phony.sh TREE OUTPUT mbr|gpt}
out=${2:?usage: windows-phony.sh TREE OUTPUT mbr|gpt}
layout=${3:?usage: windows-phony.sh TREE OUTPUT mbr|gpt}
work=$(mktemp -d "${TMPDIR:-/tmp}/rehost-windows-phony.XXXXXX")
cleanup() {
  mountpoint -q "$work/mnt" 2>/dev/null && umount "$work/mnt"
  rm -rf "$work"
}
trap cleanup EXIT

ntfs_mib=96
esp_mib=34
case $layout in
  mbr)
    truncate -s $((ntfs_mib + 2))M "$out"
    printf 'label: dos\nstart=2048, size=%dMiB, type=7, bootable\n' $ntfs_mib | sfdisk -q "$out"
    ntfs_offset_mib=1
    ;;
  gpt)
    truncate -s $((ntfs_mib + esp_mib + 2))M "$out"
    printf 'label: gpt\nstart=2048, size=%dMiB, type=U, name="EFI system partition"\nsize=%dMiB, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"\n' \
      $esp_mib $ntfs_mib | sfdisk -q "$out"
    truncate -s ${esp_mib}M "$work/esp.img"
    mkfs.vfat -F 32 -n SYSTEM "$work/esp.img" >/dev/null
    for d in ::/EFI ::/EFI/Boot ::/EFI/Microsoft ::/EFI/Microsoft/Boot; do
      mmd -i "$work/esp.img" "$d"
    done
    echo "placeholder boot manager" >"$work/bootmgfw.efi"
    mcopy -i "$work/esp.img" "$work/bootmgfw.efi" ::/EFI/Boot/bootx64.efi
    mcopy -i "$work/esp.img" "$work/bootmgfw.efi" ::/EFI/Microsoft/Boot/bootmgfw.efi
    dd if="$work/esp.img" of="$out" bs=1M seek=1 conv=notrunc status=none
    ntfs_offset_mib=$((esp_mib + 1))
    ;;
  *) echo "windows-phony.sh: layout must be mbr or gpt" >&2; exit 2 ;;
esac

truncate -s ${ntfs_mib}M "$work/ntfs.img"
mkntfs -F -Q -q -s 512 -p $((ntfs_offset_mib * 2048)) -H 255 -S 63 -L Windows "$work/ntfs.img" 2>/dev/null
mkdir "$work/mnt"
ntfs-3g "$work/ntfs.img" "$work/mnt"
cp -a "$tree/." "$work/mnt/"
umount "$work/mnt"
dd if="$work/ntfs.img" of="$out" bs=1M seek=$ntfs_offset_mib conv=notrunc status=none
