#include "bootloader/device_names.hpp"

#include <doctest/doctest.h>

using namespace rehost::bootloader;

TEST_SUITE("unit")
{
  TEST_CASE("controller names map to the appliance's /dev/sdX names")
  {
    struct Case {
      const char* spec;
      const char* appliance;
    };
    for (auto c : {Case{"/dev/sda1", "/dev/sda1"}, Case{"/dev/hdb2", "/dev/sdb2"},
                   Case{"/dev/xvda1", "/dev/sda1"}, Case{"/dev/vdc", "/dev/sdc"},
                   Case{"/dev/nvme0n1p3", "/dev/sda3"}, Case{"/dev/nvme1n1", "/dev/sdb"},
                   Case{"/dev/cciss/c0d0p1", "/dev/sda1"}, Case{"/dev/sdaa1", "/dev/sdaa1"}}) {
      CAPTURE(c.spec);
      auto name = classify_device_name(c.spec);
      CHECK(name.kind == DeviceNameKind::controller);
      CHECK(appliance_name(name) == c.appliance);
    }
  }

  TEST_CASE("stable and tagged names are recognised and left alone")
  {
    CHECK(classify_device_name("UUID=1234-abcd").kind == DeviceNameKind::uuid);
    CHECK(classify_device_name("UUID=1234-abcd").value == "1234-abcd");
    CHECK(classify_device_name("LABEL=root").kind == DeviceNameKind::label);
    CHECK(classify_device_name("PARTUUID=0a-01").kind == DeviceNameKind::partuuid);
    CHECK(classify_device_name("/dev/disk/by-uuid/1234").kind == DeviceNameKind::uuid);
    CHECK(classify_device_name("/dev/disk/by-id/scsi-36000c29-part1").kind
          == DeviceNameKind::by_path);
    CHECK(classify_device_name("/dev/mapper/vg-root").kind == DeviceNameKind::stable);
    CHECK(classify_device_name("/dev/vg0/root").kind == DeviceNameKind::stable);
    CHECK(classify_device_name("tmpfs").kind == DeviceNameKind::other);
    CHECK(classify_device_name("nfs:/export").kind == DeviceNameKind::other);
    CHECK_FALSE(appliance_name(classify_device_name("UUID=x")).has_value());
  }

  TEST_CASE("names too long to be real disks are left alone, not overflowed")
  {
    // Found by fuzz_crypttab: "sdccccccaccc..." overflowed the letters' arithmetic; a
    // partition number past int made std::stoi throw.
    CHECK(classify_device_name("/dev/sdzzzz").kind == DeviceNameKind::controller);
    CHECK(appliance_name(classify_device_name("/dev/sdzzzz")) == "/dev/sdzzzz");
    for (const char* spec : {"/dev/sdccccccacccccccccccci0", "/dev/sda99999999999999999999",
                             "/dev/nvme99999999999n1", "/dev/cciss/c0d0p99999999999999"}) {
      CAPTURE(spec);
      CHECK(classify_device_name(spec).kind == DeviceNameKind::stable);
    }
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("disk names follow the target's first disk, disk for disk")
  {
    CHECK(disk_name_like("/dev/nvme0n1", 0) == "/dev/nvme0n1");
    CHECK(disk_name_like("/dev/nvme0n1", 2) == "/dev/nvme2n1");
    CHECK(disk_name_like("/dev/vda", 1) == "/dev/vdb");
    CHECK(disk_name_like("/dev/xvda", 3) == "/dev/xvdd");
    CHECK_FALSE(disk_name_like("/dev/vda", 26));
    CHECK_FALSE(disk_name_like("/dev/mmcblk0", 1));
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("the old hardware's device names are found in kernel arguments and shell tests")
  {
    using names = std::vector<std::string>;
    // dracut's host-only files: etc/cmdline.d/*.conf and initqueue/finished/devexists-*.sh.
    CHECK(hardware_device_names(" root=/dev/sda1 rootfstype=ext4 rootflags=rw,relatime\n")
          == names{"/dev/sda1"});
    CHECK(
        hardware_device_names("[ -e \"/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2\" ]\n")
        == names{"/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part2"});
    CHECK(hardware_device_names(" resume=/dev/disk/by-id/scsi-36000c29a-part2 root=/dev/block/8:1")
          == names{"/dev/disk/by-id/scsi-36000c29a-part2", "/dev/block/8:1"});
    CHECK(hardware_device_names("root=/dev/xvda1 resume=/dev/xvda1;[ -e '/dev/nvme0n1p1' ]")
          == names{"/dev/xvda1", "/dev/nvme0n1p1"});
    // Names that stay on the target, and words that are not devices.
    CHECK(
        hardware_device_names(
            " root=UUID=1d604d06-20c9 resume=UUID=004c12bf rootfstype=ext4\n"
            "[ -e \"/dev/disk/by-uuid/1d604d06-20c9\" ] rd.lvm.lv=vg/root root=/dev/mapper/vg-root"
            " root=LABEL=root root=PARTUUID=0c9a-01 /dev/md0 rd.driver.pre=btrfs\n")
            .empty());
    // by-id links named after content, not hardware, move with the disk (dracut's devexists
    // hooks for LVM and md roots wait for them).
    CHECK(hardware_device_names("[ -e \"/dev/disk/by-id/dm-uuid-LVM-abc\" ] "
                                "[ -e \"/dev/disk/by-id/lvm-pv-uuid-Xyz\" ] "
                                "/dev/disk/by-id/md-uuid-1:2:3:4 /dev/disk/by-id/dm-name-vg-root")
              .empty());
    CHECK(hardware_device_names("").empty());
  }
}
