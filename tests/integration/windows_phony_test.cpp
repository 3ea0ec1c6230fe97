// A phony Windows disk (NTFS, MBR or GPT) inspected and converted through libguestfs.
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "tests/converter/windows_fixture.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;

namespace {

// images/windows-phony.sh on a Windows tree, changed first by `edit` if given; "" (and a
// skip) when its tools are missing.
std::string phony_windows_disk(const TempDir& dir, const std::string& release,
                               const std::string& layout,
                               const std::function<void(const std::string&)>& edit = {})
{
  for (const char* tool : {"mkntfs", "ntfs-3g", "sfdisk", "mkfs.vfat", "mcopy"}) {
    if (!have_tool_or_skip(tool)) {
      return "";
    }
  }
  std::string tree = make_windows_tree(dir, windows_release(release));
  if (edit) {
    edit(tree);
  }
  std::string img = dir.str() + "/windows-" + layout + ".img";
  must_run({std::string(REHOST_SOURCE_DIR) + "/images/windows-phony.sh", tree, img, layout});
  return img;
}

} // namespace

TEST_SUITE("integration")
{
  TEST_CASE("a phony Windows Server 2019 disk (GPT, UEFI) is inspected and converted for Nitro")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    std::string img = phony_windows_disk(dir, "2019", "gpt");
    if (img.empty()) {
      return;
    }
    std::string before = sha256_of(img);
    // A rule of the user's sets and deletes registry keys through the same hives.
    dir.write("rules/registry.yaml", R"(id: registry-extras
description: registry edits on top of the Windows conversion
match:
  family: [windows]
actions:
  - type: registry
    hive: SYSTEM
    key: CurrentControlSet\Services\xenbus
    values: [{name: Start, type: dword, data: "4"}]
  - type: registry
    hive: SYSTEM
    key: CurrentControlSet\Services\vmci
    delete_key: "true"
)");
    std::string out = dir.str() + "/out.qcow2";
    std::string report = dir.str() + "/report.json";
    auto c = run_rehost({"--backend", "guestfs", "--rules-dir", dir.str() + "/rules", "convert",
                         img, "--target", "aws-nitro", "--drivers",
                         std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/aws-nitro", "-o",
                         out, "--report", report});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(sha256_of(img) == before);
    // The inspection before the changes, as `inspect --json` prints it.
    auto j = nlohmann::json::parse(read_file(report))["inspection"];
    CHECK(j["os"]["family"] == "windows");
    CHECK(j["windows"]["build"] == 17763);
    CHECK(j["windows"]["edition"] == "server");
    CHECK(j["windows"]["control_set"] == "ControlSet002");
    CHECK(j["boot"]["firmware"] == "uefi");

    auto after = run_rehost({"--backend", "guestfs", "inspect", "--json", out});
    REQUIRE(after.exit_code == 0);
    auto a = nlohmann::json::parse(after.out);
    CHECK(a["windows"]["services"]["AWSNVMe"]["start"] == 0);
    CHECK(a["windows"]["services"]["VMTools"]["start"] == 4);
    CHECK(a["windows"]["services"]["xenbus"]["start"] == 4);
    CHECK_FALSE(a["windows"]["services"].contains("vmci"));
  }

  TEST_CASE("a phony Windows 7 disk (MBR, BIOS) without a driver for KVM is refused")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    std::string img = phony_windows_disk(dir, "7", "mbr");
    if (img.empty()) {
      return;
    }
    std::string before = sha256_of(img);
    auto c = run_rehost({"--backend", "guestfs", "convert", img, "--target", "kvm", "--drivers",
                         std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/kvm", "-o",
                         dir.str() + "/out.qcow2"});
    CHECK(c.exit_code == 5);
    CHECK(single_error_line(c.err).find("has no driver for the kvm boot disk controller")
          != std::string::npos);
    CHECK(!std::filesystem::exists(dir.str() + "/out.qcow2"));
    CHECK(sha256_of(img) == before);
  }

  TEST_CASE("a phony Windows disk whose SYSTEM hive has changes only in its log is refused, "
            "exit 4, and converted with --discard-hive-logs")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    std::string img = phony_windows_disk(dir, "2019", "mbr", [](const std::string& tree) {
      make_hive_unclean(tree + "/WINDOWS/system32/CONFIG/SYSTEM");
      std::ofstream(tree + "/WINDOWS/system32/CONFIG/SYSTEM.LOG1") << std::string(4096, 'L');
    });
    if (img.empty()) {
      return;
    }
    std::string before = sha256_of(img);
    const std::string drivers = std::string(REHOST_TEST_DATA_DIR) + "/windows-drivers/aws-nitro";
    std::string out = dir.str() + "/out.qcow2";
    auto c = run_rehost({"--backend", "guestfs", "convert", img, "--target", "aws-nitro",
                         "--drivers", drivers, "-o", out});
    CHECK(c.exit_code == 4);
    std::string line = single_error_line(c.err);
    INFO(c.err);
    CHECK(line.find("/WINDOWS/system32/CONFIG/SYSTEM: the hive was not cleanly written "
                    "(sequence numbers 3 and 2) and SYSTEM.LOG1 holds changes it lacks; start "
                    "the source machine and shut it down cleanly")
          != std::string::npos);
    CHECK(line.find("--discard-hive-logs") != std::string::npos);
    CHECK(!std::filesystem::exists(out));
    CHECK(sha256_of(img) == before);

    auto d = run_rehost({"--backend", "guestfs", "convert", img, "--target", "aws-nitro",
                         "--drivers", drivers, "--discard-hive-logs", "-o", out});
    INFO(d.err);
    REQUIRE(d.exit_code == 0);
    CHECK(sha256_of(img) == before);
    auto after = run_rehost({"--backend", "guestfs", "inspect", "--json", out});
    REQUIRE(after.exit_code == 0);
    auto a = nlohmann::json::parse(after.out);
    CHECK(a["windows"]["unclean_hives"].empty());
    CHECK(a["windows"]["services"]["AWSNVMe"]["start"] == 0);
  }
}
