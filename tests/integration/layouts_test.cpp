// Disks laid out as servers often are (images/phony-layout.sh): LVM with a separate /boot, md
// RAID1, XFS on GPT with an EFI system partition, btrfs subvolumes with a snapper snapshot.
// Inspected, and the LVM one converted natively; the others through whichever backend rehost
// picks on this host. LVM in pieces and striped is converted natively where the host has
// device-mapper.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "converter/dm_device.hpp"
#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;

namespace {

std::string layout_disk(const TempDir& dir, const std::string& layout, const std::string& tree)
{
  std::string out = dir.str() + "/" + layout + ".img";
  must_run({std::string(REHOST_SOURCE_DIR) + "/images/phony-layout.sh", layout, tree, out});
  return out;
}

bool has_filesystem(const nlohmann::json& j, const std::string& device, const std::string& type)
{
  const auto& all = j["disk"]["filesystems"];
  return std::any_of(all.begin(), all.end(), [&](const nlohmann::json& f) {
    return f["device"] == device && f["type"] == type;
  });
}

std::string mounted_at(const nlohmann::json& j, const std::string& mountpoint)
{
  for (const auto& m : j["disk"]["mounts"]) {
    if (m["mountpoint"] == mountpoint) {
      return m["device"];
    }
  }
  return {};
}

// A rule file NAME.yaml in DIR/rules whose one action runs `check` (a shell test) in the
// guest, for family debian.
void write_check_rule(const TempDir& dir, const std::string& name, const std::string& check)
{
  dir.write("rules/" + name + ".yaml", "id: " + name
                                           + "\ndescription: a check in the guest\n"
                                             "match:\n  family: [debian]\nactions:\n  - type: run\n"
                                             "    command: [sh, -c, '"
                                           + check + "']\n");
}

// Whether the report holds the run of rule `name`, with its one command exiting 0.
bool check_rule_passed(const nlohmann::json& report, const std::string& name)
{
  for (const auto& a : report["actions"]) {
    if (a["type"] == "run" && a["rule"] == name) {
      return a["commands"].size() == 1 && a["commands"][0]["exit_status"] == 0;
    }
  }
  return false;
}

// Device-mapper devices left by rehost runs that have ended ("rehost-PID-..." of a PID that is
// gone), as "dm-3 rehost-123-abcdef-0".
std::vector<std::string> leftover_rehost_devices()
{
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    std::ifstream in(e.path() / "dm/name");
    std::string name;
    if (!std::getline(in, name) || name.rfind("rehost-", 0) != 0) {
      continue;
    }
    long pid = std::strtol(name.c_str() + 7, nullptr, 10);
    if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0) {
      out.push_back(e.path().filename().string() + " " + name);
    }
  }
  return out;
}

// `rehost --backend native inspect --json` of `source`, checked to have run natively.
nlohmann::json inspect_natively(const std::string& source)
{
  auto r = run_rehost({"--backend", "native", "inspect", "--json", source});
  INFO("stderr:\n" << r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["backend"] == "native");
  return j;
}

// `rehost --backend native convert` of `source` for kvm into DIR/out.qcow2, with the rules of
// DIR/rules; its report, once checked that the conversion ran natively, passed validation and
// that the check of rule `rule` (write_check_rule) passed in the guest.
nlohmann::json convert_natively(const TempDir& dir, const std::string& source,
                                const std::string& rule)
{
  std::string report = dir.str() + "/report.json";
  auto c =
      run_rehost({"--backend", "native", "--rules-dir", dir.str() + "/rules", "convert", source,
                  "--target", "kvm", "-o", dir.str() + "/out.qcow2", "--report", report});
  INFO("convert stderr:\n" << c.err);
  REQUIRE(c.exit_code == 0);
  auto rep = nlohmann::json::parse(read_file(report));
  CHECK(rep["backend"] == "native");
  CHECK(rep["validation"]["passed"] == true);
  CHECK(check_rule_passed(rep, rule));
  return rep;
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("an LVM root with a separate /boot is found, inspected and converted natively")
  {
    if (!have_tool_or_skip("guestfish") || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string source = layout_disk(dir, "lvm", write_runnable_debian(dir, "root"));
    std::string before = sha256_of(source);
    // Linear volumes in one piece are read without device-mapper, which this host may lack.
    auto j = inspect_natively(source);
    CHECK(j["os"]["id"] == "debian");
    CHECK(j["disk"]["root"] == "/dev/vg0/root");
    CHECK(mounted_at(j, "/boot") == "/dev/sda1");
    CHECK(has_filesystem(j, "/dev/vg0/root", "ext4"));
    CHECK(has_filesystem(j, "/dev/vg0/swap", "swap"));
    CHECK(j["kernels"][0]["version"] == "6.1.0-13-amd64");

    // The guest's programs find the volumes under the names it uses for them, and see the root
    // mounted from /dev/mapper/vg0-root, as on the server (grub-mkconfig writes root= from it).
    write_check_rule(
        dir, "lvm-names",
        "test -b /dev/mapper/vg0-root && test -b /dev/vg0/swap && test \"$(readlink "
        "/dev/vg0/root)\" = ../mapper/vg0-root && grep -q \"^/dev/mapper/vg0-root / \" "
        "/proc/mounts");
    auto rep = convert_natively(dir, source, "lvm-names");
    // /boot is named by UUID now; the root's LVM name is stable and stays.
    bool boot_by_uuid = false;
    bool root_kept = true;
    for (const auto& a : rep["actions"]) {
      for (const auto& ch : a["changes"]) {
        if (ch["path"] == "/etc/fstab") {
          std::string diff = ch["diff"];
          boot_by_uuid = diff.find("+UUID=") != std::string::npos
                         && diff.find("-/dev/sda1 /boot") != std::string::npos;
          root_kept = diff.find("-/dev/mapper/vg0-root") == std::string::npos;
        }
      }
    }
    CHECK(boot_by_uuid);
    CHECK(root_kept);
    CHECK(sha256_of(source) == before);
  }

  TEST_CASE("an LVM volume in two pieces is left to the appliance, named in a notice")
  {
    // Where device-mapper works, such a volume is joined natively (the next test case).
    if (rehost::device_mapper_available()) {
      MESSAGE("skipped: device-mapper works on this host, which joins the pieces natively");
      return;
    }
    // A real physical volume (tests/data/lvm) as a whole disk: root was extended after swap
    // was made, so it lies in two runs of the disk, which a loop device cannot join.
    TempDir dir;
    std::string pv =
        read_file(std::string(REHOST_SOURCE_DIR) + "/tests/data/lvm/pv-two-segments.bin");
    pv.resize(64 << 20, '\0');
    dir.write("pv.img", pv);
    auto r = run_rehost({"--backend", "native", "inspect", dir.str() + "/pv.img"});
    INFO("stderr:\n" << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("needs device-mapper or md (vg-data/root is in 2 separate parts of the disk)")
          != std::string::npos);
  }
  TEST_CASE("an LVM root in two pieces and a striped volume are mounted natively through "
            "device-mapper, which leaves no device behind")
  {
    if (!have_tool_or_skip("guestfish") || !have_tool_or_skip("busybox")
        || !device_mapper_or_skip()) {
      return;
    }
    TempDir dir;
    std::string source = layout_disk(dir, "lvm-split", write_runnable_debian(dir, "root"));
    std::string before = sha256_of(source);
    auto j = inspect_natively(source);
    CHECK(j["disk"]["root"] == "/dev/vg0/root");
    CHECK(has_filesystem(j, "/dev/vg0/root", "ext4"));
    CHECK(has_filesystem(j, "/dev/vg0/srv", "ext4"));
    CHECK(has_filesystem(j, "/dev/vg0/swap", "swap"));
    CHECK(mounted_at(j, "/srv") == "/dev/vg0/srv");
    CHECK(mounted_at(j, "/boot") == "/dev/sda1");
    CHECK(j["kernels"][0]["version"] == "6.1.0-13-amd64");
    CHECK(leftover_rehost_devices() == std::vector<std::string>{});

    // Written through device-mapper: the guest sees both volumes mounted under its own names,
    // and the converted root (on both of its pieces) passes validation.
    write_check_rule(dir, "dm-names",
                     "test -b /dev/mapper/vg0-root && test -b /dev/vg0/srv && grep -q "
                     "\"^/dev/mapper/vg0-root / \" /proc/mounts && grep -q "
                     "\"^/dev/mapper/vg0-srv /srv \" /proc/mounts && echo written >/srv/mark");
    auto rep = convert_natively(dir, source, "dm-names");
    std::string output = dir.str() + "/out.qcow2";
    CHECK(leftover_rehost_devices() == std::vector<std::string>{});
    CHECK(sha256_of(source) == before);

    // The output, read by the appliance's own LVM: the file written on the striped volume is
    // there.
    std::string mark =
        must_run({"env", "LIBGUESTFS_BACKEND=direct", "LIBGUESTFS_BACKEND_SETTINGS=force_tcg",
                  "guestfish", "--ro", "--format=qcow2", "-a", output, "run", ":", "mount-ro",
                  "/dev/vg0/srv", "/", ":", "cat", "/mark"});
    CHECK(mark == "written\n");
  }

  TEST_CASE("an md RAID1 root is found and inspected")
  {
    if (!have_tool_or_skip("guestfish")) {
      return;
    }
    TempDir dir;
    std::string source = layout_disk(dir, "md", write_phony_debian(dir, "root"));
    auto r = run_rehost({"inspect", "--json", source});
    INFO("stderr:\n" << r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["os"]["id"] == "debian");
    std::string root = j["disk"]["root"];
    CHECK(root.rfind("/dev/md", 0) == 0);
    CHECK(has_filesystem(j, root, "ext4"));
    CHECK(j["disk"]["partition_tables"][0]["partitions"].size() == 2);
    // Never natively, even on a host with md: writing one member of the mirror would leave the
    // other stale.
    auto n = run_rehost({"--backend", "native", "inspect", source});
    INFO("native stderr:\n" << n.err);
    CHECK(n.exit_code == 4);
    CHECK(n.err.find("needs device-mapper or md (linux_raid_member on /dev/sda1)")
          != std::string::npos);
  }

  TEST_CASE("an XFS root on GPT with an EFI system partition is a UEFI guest, converted with "
            "its firmware")
  {
    if (!have_tool_or_skip("guestfish") || !have_tool_or_skip("busybox")) {
      return;
    }
    TempDir dir;
    std::string tree = write_runnable_debian(dir, "root");
    dir.write("root/boot/efi/EFI/debian/grubx64.efi", "phony grub\n");
    std::string source = layout_disk(dir, "xfs", tree);
    // Guest programs see the guest's firmware in either backend (the appliance itself boots by
    // BIOS): grub2-mkconfig of RHEL 7 and 8 picks linuxefi or linux16 by it.
    write_check_rule(dir, "firmware", "test -d /sys/firmware/efi");
    std::string report = dir.str() + "/report.json";
    auto c = run_rehost({"--rules-dir", dir.str() + "/rules", "convert", source, "--target", "kvm",
                         "-o", dir.str() + "/out.qcow2", "--report", report});
    INFO("convert stderr:\n" << c.err);
    REQUIRE(c.exit_code == 0);
    auto rep = nlohmann::json::parse(read_file(report));
    // The inspection before the changes, as `inspect --json` prints it.
    const auto& j = rep["inspection"];
    CHECK(j["disk"]["partition_tables"][0]["type"] == "gpt");
    CHECK(j["disk"]["root"] == "/dev/sda2");
    CHECK(has_filesystem(j, "/dev/sda2", "xfs"));
    CHECK(has_filesystem(j, "/dev/sda1", "vfat"));
    CHECK(mounted_at(j, "/boot/efi") == "/dev/sda1");
    CHECK(j["boot"]["firmware"] == "uefi");
    // A host kernel without vfat (or XFS) cannot mount the ESP; the appliance then does.
    if (rep["backend"] == "guestfs") {
      CHECK(c.err.find("this host's kernel cannot mount") != std::string::npos);
    }
    CHECK(check_rule_passed(rep, "firmware"));
    bool fallback = false;
    for (const auto& a : rep["actions"]) {
      for (const auto& ch : a["changes"]) {
        fallback = fallback || ch["path"] == "/boot/efi/EFI/BOOT/BOOTX64.EFI";
      }
    }
    CHECK(fallback);
  }

  TEST_CASE("a btrfs root in a subvolume, with a snapper snapshot, is one OS")
  {
    if (!have_tool_or_skip("guestfish")) {
      return;
    }
    TempDir dir;
    std::string source = layout_disk(dir, "btrfs", write_phony_debian(dir, "root"));
    for (std::string backend : {"guestfs", "auto"}) {
      INFO("backend " << backend);
      auto r = run_rehost({"--backend", backend, "inspect", "--json", source});
      INFO("stderr:\n" << r.err);
      REQUIRE(r.exit_code == 0);
      auto j = nlohmann::json::parse(r.out);
      CHECK(j["os"]["id"] == "debian");
      CHECK(j["kernels"][0]["version"] == "6.1.0-13-amd64");
      std::string root = j["disk"]["root"];
      CHECK(root.find("/dev/sda1") != std::string::npos);
      CHECK(root.find("snapshot") == std::string::npos);
    }
  }
}
