// The spine, end to end: a real Debian 12 disk that ran on VMware (images/debian-vmware.sh)
// does not boot on NVMe or virtio; rehost converts it for aws-nitro and kvm; each result boots
// on its target's devices under qemu; the source is byte-identical afterwards.
#include <filesystem>

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost::test;
namespace fs = std::filesystem;

namespace {

const std::string k_vmware_rules = std::string(REHOST_TEST_DATA_DIR) + "/rules-vmware";

nlohmann::json read_json(const std::string& path)
{
  return nlohmann::json::parse(read_file(path));
}

void convert_and_boot(const std::string& target, const std::string& backend,
                      const std::string& image = "debian12-vmware", bool boot = true)
{
  if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")) {
    return;
  }
  std::string source = cached_image(image);
  std::string before = sha256_of(source);
  TempDir dir;
  std::string output = dir.str() + "/" + target + ".qcow2";
  std::string report = dir.str() + "/" + target + ".json";
  std::vector<std::string> args = {"--backend", backend, "convert", source,     "--target",
                                   target,      "-o",    output,    "--report", report};
  if (boot) {
    args.push_back("--boot-test");
  }
  auto r = run_rehost(args);
  INFO("stderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(output));
  CHECK(r.out.find("Output: " + output) != std::string::npos);
  auto j = read_json(report);
  CHECK(j["status"] == "ok");
  CHECK(j["backend"] == (backend == "auto" ? "native" : backend));
  CHECK(j["appliance_launches"] == (backend == "guestfs" ? 1 : 0));
  CHECK(j["validation"]["passed"] == true);
  if (boot) {
    CHECK(j["validation"]["boot_test"]["passed"] == true);
    CHECK(j["validation"]["boot_test"]["reason"].get<std::string>().find("login")
          != std::string::npos);
  }
  CHECK(j["inspection"]["os"]["id"] == "debian");
  // Every change is recorded with its diff: fstab now names file systems by UUID.
  bool fstab = false;
  for (const auto& action : j["actions"]) {
    for (const auto& change : action["changes"]) {
      if (change["path"] == "/etc/fstab") {
        fstab = change["diff"].get<std::string>().find("+UUID=") != std::string::npos;
      }
    }
  }
  CHECK(fstab);
  // Both Debian rules let the image be rewritten on the host (docs/initramfs.md): the boot
  // proves the repacked image, initramfs-tools' and dracut's.
  bool host_rewrite = false;
  bool guest_tool = false;
  for (const auto& action : j["actions"]) {
    if (action["type"] != "rebuild_initramfs") {
      continue;
    }
    for (const auto& note : action["notes"]) {
      INFO("note: " << note.get<std::string>());
      host_rewrite = host_rewrite
                     || note.get<std::string>().find("rewritten on the host") != std::string::npos;
      CHECK(note.get<std::string>().find("not rewritten") == std::string::npos);
    }
    guest_tool = guest_tool || !action["commands"].empty();
  }
  CHECK(host_rewrite);
  CHECK_FALSE(guest_tool);
  // The guest's own tool still learns the target's disk driver, for the image a later kernel
  // update builds on the target.
  const std::string config = image == "debian12-vmware"
                                 ? "/etc/initramfs-tools/modules"
                                 : "/etc/dracut.conf.d/90-rehost-target.conf";
  const std::string disk_driver = target == "aws-nitro" ? "nvme" : "virtio_blk";
  bool listed = false;
  for (const auto& action : j["actions"]) {
    for (const auto& change : action["changes"]) {
      listed = listed
               || (change["path"] == config
                   && change["diff"].get<std::string>().find(disk_driver) != std::string::npos);
    }
  }
  CHECK_MESSAGE(listed, config);
  CHECK(j["passes"].size() >= 5);
  // The output is an overlay: small, and backed by the untouched source.
  CHECK(j["output_bytes"].get<uint64_t>() < (256u << 20));
  CHECK(sha256_of(source) == before);
}

} // namespace

TEST_SUITE("e2e")
{
  TEST_CASE("the demo disk is a Debian 12 VMware server that boots only on VMware devices")
  {
    if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")) {
      return;
    }
    std::string source = cached_image("debian12-vmware");
    std::string before = sha256_of(source);

    auto text = run_rehost({"inspect", source});
    INFO("stderr:\n" << text.err);
    REQUIRE(text.exit_code == 0);
    for (const char* expected : {"debian 12", "msdos partition table", "/dev/sda1", "ext4",
                                 "Kernel (default):", "initramfs-tools (MODULES=dep)", "grub2",
                                 "open-vm-tools", "70-persistent-net.rules"}) {
      CHECK_MESSAGE(text.out.find(expected) != std::string::npos, expected);
    }
    auto json = run_rehost({"inspect", "--json", source});
    REQUIRE(json.exit_code == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j["os"]["id"] == "debian");
    CHECK(j["os"]["major"] == 12);
    CHECK(j["os"]["family"] == "debian");
    CHECK(j["os"]["arch"] == "x86_64");
    CHECK(j["disk"]["partition_tables"][0]["partitions"].size() == 2);
    CHECK(j["boot"]["bootloader"] == "grub2");
    CHECK(j["boot"]["cmdline"].get<std::string>().find("root=/dev/sda1") != std::string::npos);
    CHECK(j["software"]["initramfs_tool"] == "initramfs-tools");
    CHECK(j["software"]["hypervisor_tools"] == nlohmann::json::array({"open-vm-tools"}));
    REQUIRE(j["kernels"].size() == 1);
    CHECK(j["kernels"][0]["default"] == true);

    // Control: it boots on the devices it was made for.
    TempDir dir;
    auto vmware = run_rehost({"--rules-dir", k_vmware_rules, "validate", source, "--target",
                              "vmware", "--boot-test", "--report", dir.str() + "/vmware.json"});
    INFO("vmware stderr:\n" << vmware.err);
    auto vj = read_json(dir.str() + "/vmware.json");
    CHECK(vj["validation"]["boot_test"]["passed"] == true);

    // Before conversion it cannot boot on NVMe (aws-nitro): the initramfs has no driver for
    // the disk and gives up on the root device. Virtio (kvm) fails the same way; one failing
    // boot shows it, the static check shows both.
    for (std::string target : {"aws-nitro", "kvm"}) {
      CAPTURE(target);
      bool boot = target == "aws-nitro";
      std::string report = dir.str() + "/" + target + ".json";
      std::vector<std::string> args = {"validate", source, "--target", target, "--report", report};
      if (boot) {
        args.push_back("--boot-test");
      }
      auto r = run_rehost(args);
      CHECK(r.exit_code == 6);
      auto rj = read_json(report);
      if (boot) {
        CHECK(rj["validation"]["boot_test"]["passed"] == false);
        std::string reason = rj["validation"]["boot_test"]["reason"];
        CHECK_MESSAGE((reason.find("Gave up waiting") != std::string::npos
                       || reason.find("ALERT") != std::string::npos),
                      reason);
      }
      // The static checks see it: the initramfs lacks the target's storage driver.
      CHECK(rj["validation"]["checks"][0]["passed"] == false);
    }
    CHECK(sha256_of(source) == before);
  }

  TEST_CASE("converted for aws-nitro, the disk boots on NVMe")
  {
    convert_and_boot("aws-nitro", "auto");
  }

  TEST_CASE("converted for kvm, the disk boots on virtio-blk with a virtio NIC")
  {
    convert_and_boot("kvm", "auto");
  }

  TEST_CASE("a Debian server with dracut, converted for aws-nitro, boots on NVMe")
  {
    convert_and_boot("aws-nitro", "auto", "debian12-vmware-dracut");
  }

  TEST_CASE("a Debian server with dracut, converted for kvm, boots on virtio")
  {
    convert_and_boot("kvm", "auto", "debian12-vmware-dracut");
  }
}

TEST_SUITE("e2e")
{
  TEST_CASE("plan on the real Debian disk shows the edits as diffs and writes nothing")
  {
    if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")) {
      return;
    }
    std::string source = cached_image("debian12-vmware");
    std::string before = sha256_of(source);
    auto r = run_rehost({"plan", source, "--target", "aws-nitro"});
    INFO("stderr:\n" << r.err);
    CHECK(r.exit_code == 0);
    for (const char* file : {"/etc/fstab", "/etc/default/grub", "/etc/initramfs-tools/modules"}) {
      CHECK_MESSAGE(r.out.find(std::string("+++ b") + file + "\n") != std::string::npos, file);
    }
    // fstab's root moves from the VMware disk name to its UUID; NVMe goes into the initramfs.
    CHECK(r.out.find("-/dev/sda1 / ext4") != std::string::npos);
    CHECK(r.out.find("+UUID=") != std::string::npos);
    CHECK(r.out.find("+nvme") != std::string::npos);
    CHECK(sha256_of(source) == before);
  }
}

TEST_SUITE("e2e")
{
  TEST_CASE("of two kernels, the newer one without NVMe, the one with NVMe boots on aws-nitro")
  {
    if (!have_tool_or_skip("qemu-system-x86_64") || !have_tool_or_skip("mmdebstrap")) {
      return;
    }
    // images/debian-two-kernels.sh: 6.1.0-99-amd64 is the default and has no nvme module.
    const std::string without = "6.1.0-99-amd64";
    std::string source = cached_image("debian12-two-kernels");
    TempDir dir;
    std::string output = dir.str() + "/nitro.qcow2";
    std::string report = dir.str() + "/nitro.json";
    auto r = run_rehost({"convert", source, "--target", "aws-nitro", "-o", output, "--report",
                         report, "--boot-test"});
    INFO("stderr:\n" << r.err);
    CHECK(r.exit_code == 0);
    auto j = read_json(report);
    REQUIRE(j["inspection"]["kernels"].size() == 2);
    CHECK(j["inspection"]["kernels"][0]["version"] == without);
    CHECK(j["inspection"]["boot"]["default_kernel"] == without);
    std::string with = j["inspection"]["kernels"][1]["version"];
    CHECK(j["validation"]["boot_test"]["passed"] == true);

    // The kernel that booted was loaded from the file of the kernel with NVMe (the copy reports
    // the same version in uname; its file name tells them apart).
    std::string console = read_file(j["validation"]["boot_test"]["log_file"]);
    CHECK(console.find("Command line: BOOT_IMAGE=/boot/vmlinuz-" + with + " ")
          != std::string::npos);
    CHECK(console.find("BOOT_IMAGE=/boot/vmlinuz-" + without) == std::string::npos);

    // The report names the kernel that cannot reach the target, and why.
    std::string notes;
    std::string chosen;
    nlohmann::json images;
    for (const auto& a : j["actions"]) {
      for (const auto& n : a["notes"]) {
        notes += n.get<std::string>() + "\n";
      }
      if (a["type"] == "default_kernel") {
        chosen = a["summary"];
      }
      if (a["type"] == "rebuild_initramfs") {
        images = a["details"]["initramfs"];
      }
    }
    INFO("notes:\n" << notes);
    CHECK(notes.find(without + " passed over: it lacks nvme, nvme_core") != std::string::npos);
    CHECK(notes.find(without
                     + " cannot boot on the aws-nitro target: the kernel has no nvme "
                       "driver")
          != std::string::npos);
    CHECK(chosen.find(with + " boots by default") != std::string::npos);
    REQUIRE(images.size() == 2);
    CHECK(images[1]["kernel"] == with);
    CHECK(images[1]["missing"] == nlohmann::json::array());
  }
}
