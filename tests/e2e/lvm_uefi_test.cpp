// A real Debian 12 UEFI server laid out as the Debian installer does with LVM
// (images/debian-lvm-uefi.sh): an ESP, a separate /boot, the root and swap in volume group vg0,
// grub only at EFI/debian/grubx64.efi (the VMware NVRAM entry that found it stays behind).
// Converted for aws-nitro and kvm, each result boots with OVMF on the target's devices: the
// fallback loader, the initramfs with LVM and the target's drivers, and the /dev/mapper root.
#include <filesystem>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

// The diffs of every change the report records for `path`, joined.
std::string diffs_of(const nlohmann::json& report, const std::string& path)
{
  std::string out;
  for (const auto& action : report["actions"]) {
    for (const auto& change : action["changes"]) {
      if (change["path"] == path && change.contains("diff")) {
        out += change["diff"].get<std::string>();
      }
    }
  }
  return out;
}

bool changed(const nlohmann::json& report, const std::string& path)
{
  for (const auto& action : report["actions"]) {
    for (const auto& change : action["changes"]) {
      if (change["path"] == path) {
        return true;
      }
    }
  }
  return false;
}

void convert_and_boot_uefi(const std::string& target, const std::string& backend)
{
  if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")
      || !have_tool_or_skip("guestfish")) {
    return;
  }
  if (!fs::exists("/usr/share/ovmf/OVMF.fd")) {
    MESSAGE("skipped: no OVMF (/usr/share/ovmf/OVMF.fd; package ovmf)");
    return;
  }
  std::string source = cached_image("debian12-lvm-uefi");
  std::string before = sha256_of(source);
  TempDir dir;
  std::string output = dir.str() + "/" + target + ".qcow2";
  std::string report = dir.str() + "/" + target + ".json";
  auto r = run_rehost({"--backend", backend, "convert", source, "--target", target, "-o", output,
                       "--report", report, "--boot-test"});
  INFO("stderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(output));
  auto j = nlohmann::json::parse(read_file(report));
  CHECK(j["status"] == "ok");
  if (backend != "auto") {
    CHECK(j["backend"] == backend);
  }
  CHECK(j["inspection"]["boot"]["firmware"] == "uefi");
  CHECK(j["inspection"]["disk"]["root"] == "/dev/vg0/root");
  CHECK(j["validation"]["passed"] == true);
  CHECK(j["validation"]["boot_test"]["passed"] == true);
  CHECK(j["validation"]["boot_test"]["reason"].get<std::string>().find("login")
        != std::string::npos);
  // It was OVMF that booted it, from the fallback loader rehost put on the ESP.
  std::string console = read_file(j["validation"]["boot_test"]["log_file"]);
  CHECK(console.find("BdsDxe: starting Boot0") != std::string::npos);
  CHECK(console.find("EFI Internal Shell") == std::string::npos);
  CHECK(changed(j, "/boot/efi/EFI/BOOT/BOOTX64.EFI"));
  // The root keeps its LVM name; /boot and the ESP were already named by UUID.
  std::string fstab = diffs_of(j, "/etc/fstab");
  CHECK(fstab.find("-/dev/mapper/vg0-root") == std::string::npos);
  // The Debian rule rewrites the initramfs on the host, in either backend (docs/initramfs.md):
  // the boot proves the rewritten image, LVM tools and all.
  bool host_rewrite = false;
  for (const auto& action : j["actions"]) {
    for (const auto& note : action["notes"]) {
      host_rewrite =
          host_rewrite
          || (action["type"] == "rebuild_initramfs"
              && note.get<std::string>().find("rewritten on the host") != std::string::npos);
    }
  }
  CHECK(host_rewrite);
  CHECK(sha256_of(source) == before);
}

} // namespace

TEST_SUITE("e2e")
{
  TEST_CASE("a UEFI server with LVM and /boot, converted in the appliance for aws-nitro, boots "
            "with OVMF on NVMe")
  {
    convert_and_boot_uefi("aws-nitro", "guestfs");
  }

  TEST_CASE("a UEFI server with LVM and /boot, converted for kvm, boots with OVMF on virtio")
  {
    convert_and_boot_uefi("kvm", "auto");
  }
}
