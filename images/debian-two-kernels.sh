#!/bin/bash
# Builds the Debian 12 VMware server of images/debian-vmware.sh with a second kernel that is
# newer, boots by default and lacks the disk drivers of the cloud targets:
#   - the real kernel, its config, System.map and initramfs copied under the version
#     6.1.0-99-amd64 (its ABI number above the real one's), with its module tree copied too
#     but without nvme, nvme-core, virtio_blk and virtio_scsi, and modules.dep remade by depmod;
#   - grub.cfg remade by the guest's update-grub, so the newer kernel is the first entry and
#     the default, the real one under "Advanced options";
#   - "quiet" gone from GRUB_CMDLINE_LINUX_DEFAULT, so the console shows the command line of
#     the kernel that booted (BOOT_IMAGE=/boot/vmlinuz-VERSION).
# The copied kernel reports the real version in uname; only its file names differ.
#
# usage: images/debian-two-kernels.sh OUTPUT.img BASE.img   (BASE: images/build debian12-vmware)
# The image is written to OUTPUT.img.partial and renamed when complete.
set -euo pipefail

out=${1:?usage: debian-two-kernels.sh OUTPUT.img BASE.img}
base=${2:?usage: debian-two-kernels.sh OUTPUT.img BASE.img}
script=$(mktemp "${TMPDIR:-/var/tmp}/rehost-image.XXXXXX.sh")
trap 'rm -f "$script"' EXIT
# Run inside the guest by the appliance.
cat >"$script" <<'EOF'
set -e
old=$(ls /lib/modules | sort -V | tail -1)
new=6.1.0-99-amd64
for f in vmlinuz config System.map initrd.img; do
  cp -p "/boot/$f-$old" "/boot/$f-$new"
done
cp -a "/lib/modules/$old" "/lib/modules/$new"
find "/lib/modules/$new/kernel" \( -name 'nvme*.ko*' -o -name 'virtio_blk.ko*' \
    -o -name 'virtio_scsi.ko*' \) -delete
depmod "$new"
sed -i 's|^GRUB_CMDLINE_LINUX_DEFAULT=.*|GRUB_CMDLINE_LINUX_DEFAULT="resume=/dev/sda2"|' \
    /etc/default/grub
update-grub
sed -i 's|root=/dev/sd[a-z]1 |root=/dev/sda1 |' /boot/grub/grub.cfg
EOF

cp --sparse=always "$base" "$out.partial"
echo "images: adding a second kernel without NVMe and virtio (one appliance launch)" >&2
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}
guestfish --rw --format=raw -a "$out.partial" <<EOF
run
mount /dev/sda1 /
upload $script /tmp/add-kernel.sh
sh "sh /tmp/add-kernel.sh"
EOF
# What the server itself would have generated: its root is /dev/sda1 (GRUB_DISABLE_LINUX_UUID).

mv "$out.partial" "$out"
echo "images: wrote $out" >&2
