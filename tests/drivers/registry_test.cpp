#include "drivers/registry.hpp"

#include <fstream>

#include <doctest/doctest.h>

#include "tests/test_util.hpp"

using namespace rehost::drivers;
using rehost::test::TempDir;

namespace {

std::string read_bytes(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& data)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

void put_le32(std::string& bytes, size_t at, uint32_t value)
{
  for (int i = 0; i < 4; ++i) {
    bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }
}

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("an empty hive is valid: hivex opens it, adds keys and commits")
  {
    TempDir dir;
    std::string path = dir.str() + "/empty";
    REQUIRE(write_empty_hive(path));
    {
      auto hive = Hive::open(path, HiveMode::write);
      REQUIRE(hive);
      CHECK(hive->subkeys("")->empty());
      REQUIRE(hive->set("A\\B", "Name", RegValue::sz("value")));
      REQUIRE(hive->commit());
    }
    auto again = Hive::open(path, HiveMode::read_only);
    REQUIRE(again);
    CHECK(again->subkeys("")->at(0) == "A");
    CHECK((*again->get("a\\b", "name"))->as_string() == "value");
  }

  TEST_CASE("values of every type round-trip through a hive file")
  {
    TempDir dir;
    std::string path = dir.str() + "/SYSTEM";
    REQUIRE(build_hive(path, R"(Windows Registry Editor Version 5.00

; a comment
[Select]
"Current"=dword:00000002
[ControlSet002\Services\stornvme]
"Start"=dword:3
"Group"="SCSI miniport"
"ImagePath"=expand:"System32\\drivers\\stornvme.sys"
"DependOnService"=multi:"a","b c"
"Blob"=hex:01,02,\
  ff
@="default"
)"));
    auto hive = Hive::open(path, HiveMode::read_only);
    REQUIRE(hive);
    CHECK((*hive->get("Select", "Current"))->as_dword() == 2u);
    const std::string key = "ControlSet002\\Services\\stornvme";
    CHECK((*hive->get(key, "Start"))->as_dword() == 3u);
    CHECK((*hive->get(key, "Group"))->as_string() == "SCSI miniport");
    auto image = *hive->get(key, "ImagePath");
    CHECK(image->type == RegType::expand_sz);
    CHECK(image->as_string() == "System32\\drivers\\stornvme.sys");
    CHECK((*hive->get(key, "DependOnService"))->as_multi() == std::vector<std::string>{"a", "b c"});
    CHECK((*hive->get(key, "Blob"))->data == std::string("\x01\x02\xff", 3));
    CHECK((*hive->get(key, ""))->as_string() == "default");
    CHECK(!*hive->get(key, "Missing"));
    CHECK(!*hive->get("No\\Such\\Key", "Start"));
    CHECK(!hive->subkeys("No\\Such"));
  }

  TEST_CASE("set records old and new values; an unchanged value is not a change")
  {
    TempDir dir;
    std::string path = dir.str() + "/h";
    REQUIRE(build_hive(path, "[S\\vmtools]\n\"Start\"=dword:2\n"));
    auto hive = Hive::open(path, HiveMode::write);
    REQUIRE(hive);
    REQUIRE(hive->set("S\\vmtools", "Start", RegValue::dword(4)));
    REQUIRE(hive->set("S\\vmtools", "Start", RegValue::dword(4)));
    REQUIRE(hive->set("S\\nvme", "Start", RegValue::dword(0)));
    REQUIRE(hive->changes().size() == 3); // Start changed, key S\nvme created, Start set
    std::string text = format_changes("HKLM\\SYSTEM", hive->changes());
    CHECK(text.find("HKLM\\SYSTEM\\S\\vmtools\n~ Start: REG_DWORD 0x00000002 (2) -> "
                    "REG_DWORD 0x00000004 (4)")
          != std::string::npos);
    CHECK(text.find("HKLM\\SYSTEM\\S\\nvme (new key)\n+ Start = REG_DWORD 0x00000000 (0)")
          != std::string::npos);
  }

  TEST_CASE("a read-only hive refuses changes")
  {
    TempDir dir;
    std::string path = dir.str() + "/h";
    REQUIRE(write_empty_hive(path));
    auto hive = Hive::open(path, HiveMode::read_only);
    REQUIRE(hive);
    CHECK(!hive->set("A", "x", RegValue::dword(1)));
    CHECK(!hive->commit());
  }

  TEST_CASE("strings keep characters beyond Latin-1")
  {
    RegValue v = RegValue::sz("Größe \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(v.as_string() == "Größe \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(RegValue::dword(7).to_text() == "REG_DWORD 0x00000007 (7)");
    CHECK(RegValue::multi_sz({"a", "b"}).to_text() == "REG_MULTI_SZ [\"a\", \"b\"]");
  }

  TEST_CASE("bad .reg text names the line")
  {
    TempDir dir;
    auto r = build_hive(dir.str() + "/h", "[A]\n\"x\"=dword:zz\n");
    REQUIRE(!r);
    CHECK(r.error().message.find("line 2") != std::string::npos);
    CHECK(!build_hive(dir.str() + "/h", "\"x\"=dword:1\n"));
    CHECK(!build_hive(dir.str() + "/h", "[A\n"));
  }

  TEST_CASE("a corrupt hive is an error, never a crash")
  {
    TempDir dir;
    std::string path = dir.str() + "/h";
    CHECK(!Hive::open(dir.str() + "/missing", HiveMode::read_only));
    write_bytes(path, "not a hive at all");
    auto garbage = Hive::open(path, HiveMode::read_only);
    REQUIRE(!garbage);
    CHECK(garbage.error().message.find("not a valid registry hive") != std::string::npos);

    REQUIRE(build_hive(path, "[A\\B]\n\"v\"=\"x\"\n[A\\C]\n\"w\"=dword:1\n"));
    std::string good = read_bytes(path);
    // Truncated, and bytes overwritten all over the hive bins: every outcome is a Result.
    write_bytes(path, good.substr(0, 0x1800));
    (void)Hive::open(path, HiveMode::read_only);
    for (size_t step = 0; step < 64; ++step) {
      std::string bad = good;
      for (size_t i = 0x1000 + step * 7; i < bad.size(); i += 61 + step) {
        bad[i] = static_cast<char>(bad[i] ^ (0x5a + step));
      }
      write_bytes(path, bad);
      auto hive = Hive::open(path, HiveMode::read_only);
      if (hive) {
        (void)hive->subkeys("A");
        (void)hive->get("A\\B", "v");
        (void)hive->get("A\\C", "w");
        (void)hive->value_names("A\\C");
      }
    }
  }

  TEST_CASE("the base block tells a clean hive from one caught mid-write or damaged")
  {
    TempDir dir;
    std::string path = dir.str() + "/h";
    REQUIRE(write_empty_hive(path));
    std::string bytes = read_bytes(path);
    auto clean = read_hive_header(bytes);
    CHECK(clean.state == HiveHeaderState::clean);
    CHECK(clean.primary_sequence == 1);
    CHECK(clean.secondary_sequence == 1);

    // Windows increments the primary sequence number before writing and the secondary after.
    std::string unclean = bytes;
    put_le32(unclean, 4, 7);
    put_le32(unclean, 8, 6);
    put_le32(unclean, 508, hive_header_checksum(unclean));
    auto h = read_hive_header(unclean);
    CHECK(h.state == HiveHeaderState::unclean);
    CHECK(h.primary_sequence == 7);
    CHECK(h.secondary_sequence == 6);

    // The same change without a new checksum: the base block itself is damaged.
    std::string damaged = bytes;
    put_le32(damaged, 4, 7);
    CHECK(read_hive_header(damaged).state == HiveHeaderState::bad_checksum);

    CHECK(read_hive_header("").state == HiveHeaderState::not_a_hive);
    CHECK(read_hive_header(bytes.substr(0, 100)).state == HiveHeaderState::not_a_hive);
    CHECK(read_hive_header(std::string(4096, 'x')).state == HiveHeaderState::not_a_hive);
  }

  TEST_CASE("the base block checksum is the XOR of its first 127 words, never 0 or all ones")
  {
    std::string block(4096, '\0');
    CHECK(hive_header_checksum(block) == 1);
    put_le32(block, 0, 0xffffffff);
    CHECK(hive_header_checksum(block) == 0xfffffffe);
    put_le32(block, 0, 0x12345678);
    put_le32(block, 504, 0x0000ffff);
    put_le32(block, 508, 0xabcdef01); // the checksum's own word is not part of it
    CHECK(hive_header_checksum(block) == (0x12345678u ^ 0x0000ffffu));
    // The writer stores it: hivex, which checks it, opens what write_empty_hive makes.
    TempDir dir;
    REQUIRE(write_empty_hive(dir.str() + "/h"));
    std::string bytes = read_bytes(dir.str() + "/h");
    uint32_t stored = 0;
    for (int i = 3; i >= 0; --i) {
      stored = (stored << 8) | static_cast<unsigned char>(bytes[508 + i]);
    }
    CHECK(stored == hive_header_checksum(bytes));
  }
}

TEST_SUITE("unit")
{
  TEST_CASE("delete_value keeps the key's other values; delete_key takes the subkeys too")
  {
    TempDir dir;
    std::string path = dir.str() + "/hive";
    REQUIRE(build_hive(path, "[S\\vmci]\n\"Start\"=dword:00000000\n\"Type\"=dword:00000001\n"
                             "\"Group\"=\"x\"\n[S\\vmci\\Parameters]\n\"A\"=\"b\"\n[S\\keep]\n"));
    {
      auto hive = Hive::open(path, HiveMode::write);
      REQUIRE(hive);
      REQUIRE(hive->delete_value("S\\vmci", "type"));
      REQUIRE(hive->delete_value("S\\vmci", "Missing"));
      REQUIRE(hive->delete_value("S\\Missing", "Start"));
      REQUIRE(hive->set("S\\big", "Q", RegValue::qword(0x100000002ULL)));
      REQUIRE(hive->delete_key("S\\keep"));
      REQUIRE(hive->delete_key("S\\none"));
      CHECK_FALSE(hive->delete_key(""));
      CHECK(format_changes("HKLM\\SYSTEM", hive->changes())
            == "HKLM\\SYSTEM\\S\\vmci\n"
               "- type = REG_DWORD 0x00000001 (1)\n"
               "HKLM\\SYSTEM\\S\\big (new key)\n"
               "+ Q = REG_QWORD 0x0000000100000002 (4294967298)\n"
               "HKLM\\SYSTEM\\S\\keep (deleted key)\n");
      REQUIRE(hive->commit());
    }
    auto hive = Hive::open(path, HiveMode::read_only);
    REQUIRE(hive);
    CHECK(hive->value_names("S\\vmci").value() == std::vector<std::string>{"Start", "Group"});
    CHECK(hive->get("S\\vmci", "Group").value()->as_string() == "x");
    CHECK(hive->get("S\\vmci", "Start").value()->as_dword() == 0u);
    CHECK(hive->has_key("S\\vmci\\Parameters"));
    CHECK_FALSE(hive->has_key("S\\keep"));

    auto writable = Hive::open(path, HiveMode::write);
    REQUIRE(writable);
    REQUIRE(writable->delete_key("S\\vmci"));
    CHECK_FALSE(writable->has_key("S\\vmci\\Parameters"));
  }
}
