#include "converter/partition_table.hpp"

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost;

namespace {

// An MBR with two primary partitions (the first bootable) on a disk of `sectors` sectors.
std::string mbr_disk(uint32_t sectors)
{
  std::string disk(static_cast<size_t>(sectors) * 512, '\0');
  auto entry = [&](int i, uint8_t boot, uint8_t type, uint32_t start, uint32_t count) {
    size_t at = 446 + 16 * static_cast<size_t>(i);
    disk[at] = static_cast<char>(boot);
    disk[at + 4] = static_cast<char>(type);
    for (int b = 0; b < 4; ++b) {
      disk[at + 8 + b] = static_cast<char>((start >> (8 * b)) & 0xff);
      disk[at + 12 + b] = static_cast<char>((count >> (8 * b)) & 0xff);
    }
  };
  entry(0, 0x80, 0x83, 2048, 4096);
  entry(1, 0x00, 0x82, 6144, sectors - 6144 - 2048);
  disk[510] = 0x55;
  disk[511] = static_cast<char>(0xaa);
  return disk;
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("libparted reads an MBR from the disk's first and last MiB")
  {
    std::string disk = mbr_disk(16384);
    auto reader = [&](uint64_t offset, size_t size) -> Result<std::string> {
      return disk.substr(static_cast<size_t>(offset), size);
    };
    auto table = read_partition_table("/dev/sda", disk.size(), reader);
    REQUIRE_MESSAGE(table, (table ? "" : table.error().message));
    CHECK(table->type == "msdos");
    REQUIRE(table->partitions.size() == 2);
    CHECK(table->partitions[0].number == 1);
    CHECK(table->partitions[0].start == 2048 * 512);
    CHECK(table->partitions[0].size == 4096 * 512);
    CHECK(table->partitions[0].kind == "primary");
    CHECK(std::find(table->partitions[0].flags.begin(), table->partitions[0].flags.end(), "boot")
          != table->partitions[0].flags.end());
  }

  TEST_CASE("a disk of zeros has no partition table, and a read error is reported")
  {
    std::string zeros(4 << 20, '\0');
    auto reader = [&](uint64_t offset, size_t size) -> Result<std::string> {
      return zeros.substr(static_cast<size_t>(offset), size);
    };
    auto table = read_partition_table("/dev/sda", zeros.size(), reader);
    REQUIRE(table);
    CHECK(table->type == "none");
    auto failing = [](uint64_t, size_t) -> Result<std::string> { return fail("I/O error"); };
    CHECK_FALSE(read_partition_table("/dev/sda", zeros.size(), failing).has_value());
  }
}
