// Inspection of a phony Debian disk through libguestfs, and of the same tree as a directory.
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "tests/integration/phony.hpp"
#include "tests/test_util.hpp"

using namespace rehost::test;

TEST_SUITE("integration")
{
  TEST_CASE("inspect reads a phony Debian disk through one appliance launch")
  {
    if (!have_tool_or_skip("qemu-system-x86_64")) {
      return;
    }
    TempDir dir;
    std::string tree = write_phony_debian(dir, "root");
    std::string img = make_ext4_disk(dir, "phony.img", tree);
    std::string before = sha256_of(img);
    auto r = run_rehost({"--backend", "guestfs", "inspect", "--json", img});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["os"]["id"] == "debian");
    CHECK(j["os"]["major"] == 12);
    CHECK(j["os"]["minor"] == 4);
    CHECK(j["os"]["arch"] == "x86_64");
    CHECK(j["disk"]["partition_tables"][0]["type"] == "msdos");
    CHECK(j["disk"]["partition_tables"][0]["partitions"].size() == 1);
    CHECK(j["disk"]["root"] == "/dev/sda1");
    CHECK(j["kernels"][0]["version"] == "6.1.0-13-amd64");
    CHECK(j["kernels"][0]["drivers"]["nvme"] == "module");
    CHECK(j["kernels"][0]["drivers"]["virtio_pci"] == "builtin");
    CHECK(j["kernels"][0]["drivers"]["xen_blkfront"] == "missing");
    CHECK(j["software"]["initramfs_tool"] == "initramfs-tools");
    CHECK(j["software"]["hypervisor_tools"] == nlohmann::json::array({"open-vm-tools"}));
    CHECK(j["boot"]["bootloader"] == "grub2");
    CHECK(j["appliance_launches"] == 1);
    CHECK(sha256_of(img) == before);

    // The native backend sees the same disk the same way, without an appliance.
    auto n = run_rehost({"--backend", "auto", "inspect", "--json", img});
    REQUIRE(n.exit_code == 0);
    auto nj = nlohmann::json::parse(n.out);
    CHECK(nj["os"] == j["os"]);
    CHECK(nj["kernels"] == j["kernels"]);
    CHECK(nj["disk"]["filesystems"] == j["disk"]["filesystems"]);
    CHECK(nj["disk"]["partition_tables"] == j["disk"]["partition_tables"]);
    if (nj["backend"] == "native") {
      CHECK(nj["appliance_launches"] == 0);
    }
    CHECK(sha256_of(img) == before);

    // The same tree as a directory gives the same OS and kernels (no disk information).
    auto d = run_rehost({"inspect", "--json", tree});
    REQUIRE(d.exit_code == 0);
    auto dj = nlohmann::json::parse(d.out);
    CHECK(dj["os"] == j["os"]);
    CHECK(dj["kernels"] == j["kernels"]);
    CHECK(dj["appliance_launches"] == 0);
  }
}
