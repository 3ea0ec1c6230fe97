// LVM2 metadata read from the bytes of a physical volume. tests/data/lvm/pv-two-segments.bin is
// the first 10 KiB of a real PV made by LVM 2.03.16 (in a libguestfs appliance): volume group
// vg-data with 4 MiB extents, root made of 2 extents then resized to 3 (so its third extent lies
// after swap's), and swap of 1 extent.
//
// tests/data/lvm/vg0-split-striped.txt is the metadata of the disk images/phony-layout.sh makes
// for "lvm-split" (LVM 2.03.16, vgcfgbackup in the appliance): PVs on its second and third
// partitions (sectors 67584 and 444416), root in two pieces, srv striped over both PVs; and
// vg0-split-striped.table is the device-mapper table LVM itself made of them there
// (`dmsetup table`, the disk being sdb: 8:18 and 8:19 its partitions).
#include <cstring>
#include <sstream>

#include <doctest/doctest.h>

#include "converter/lvm_metadata.hpp"
#include "tests/test_util.hpp"

using namespace rehost;
using namespace rehost::test;

namespace {

const uint64_t MiB = 1 << 20;

std::string real_pv()
{
  return read_file(std::string(REHOST_SOURCE_DIR) + "/tests/data/lvm/pv-two-segments.bin");
}

lvm::Reader reader_of(const std::string& bytes)
{
  return [&bytes](uint64_t offset, size_t count) -> Result<std::string> {
    if (offset >= bytes.size()) {
      return std::string();
    }
    return bytes.substr(offset, count);
  };
}

void put32(std::string& s, size_t at, uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    s[at + i] = static_cast<char>(v >> (8 * i));
  }
}

void put64(std::string& s, size_t at, uint64_t v)
{
  for (int i = 0; i < 8; ++i) {
    s[at + i] = static_cast<char>(v >> (8 * i));
  }
}

const lvm::LogicalVolume& lv_named(const lvm::VolumeGroup& vg, const std::string& name)
{
  for (const auto& lv : vg.lvs) {
    if (lv.name == name) {
      return lv;
    }
  }
  FAIL("no LV " << name);
  throw 0;
}

// A VG text with one PV (1 MiB pe_start, 100 extents of 4 MiB) and the given LV sections.
std::string vg_text(const std::string& lvs)
{
  return "vg0 {\nid = \"vgid\"\nseqno = 7\nextent_size = 8192\n"
         "physical_volumes {\npv0 {\nid = \"AAAAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGGGG\"\n"
         "pe_start = 2048\npe_count = 100\n}\n}\nlogical_volumes {\n"
         + lvs + "}\n}\n";
}

// A metadata area of `size` bytes for the PV byte `offset`: its header, then `text` (and the
// zero byte LVM ends it with) just after it.
std::string metadata_area(std::string text, uint64_t offset, uint64_t size)
{
  text += '\0';
  std::string area(size, '\0');
  std::memcpy(area.data() + 4, " LVM2 x[5A%r0N*>", 16);
  put32(area, 20, 1);
  put64(area, 24, offset);
  put64(area, 32, size);
  put64(area, 40, 512);
  put64(area, 48, text.size());
  put32(area, 56, lvm::checksum(text));
  std::memcpy(area.data() + 512, text.data(), text.size());
  put32(area, 0, lvm::checksum(std::string_view(area).substr(4, 508)));
  return area;
}

// The PV as a partition at 1 GiB, 401 MiB long (pe_start and 100 extents).
const std::map<std::string, lvm::ByteRange> k_pv_at_1g = {
    {"AAAAAABBBBCCCCDDDDEEEEFFFFGGGGGG", {1024 * MiB, 401 * MiB}}};

} // namespace

TEST_SUITE("unit")
{
  TEST_CASE("lvm: the label of a real physical volume names its UUID and metadata area")
  {
    auto label = lvm::parse_label(real_pv().substr(0, 2048));
    REQUIRE_MESSAGE(label, label.error().message);
    CHECK(label->pv_uuid == "BmcYyqFyF3QgJDhykZitifDP1m4nudOX");
    CHECK(label->device_size == 64 * MiB);
    REQUIRE(label->metadata_areas.size() == 1);
    CHECK(label->metadata_areas[0] == 4096);
    CHECK(label->metadata_sizes[0] == 1044480);
  }

  TEST_CASE("lvm: a damaged label or none at all is an error")
  {
    std::string pv = real_pv().substr(0, 2048);
    std::string damaged = pv;
    damaged[512 + 100] ^= 1; // inside the checksummed part of the label in sector 1
    auto bad = lvm::parse_label(damaged);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("bad checksum") != std::string::npos);
    CHECK_FALSE(lvm::parse_label(std::string(2048, '\0')));
    CHECK_FALSE(lvm::parse_label("LABELONE"));
  }

  TEST_CASE("lvm: the newest metadata of a real PV is read and parsed")
  {
    std::string pv = real_pv();
    auto text = lvm::read_metadata_text(reader_of(pv), 4096, 1044480);
    REQUIRE_MESSAGE(text, text.error().message);
    CHECK(text->rfind("vg-data {", 0) == 0);
    auto vg = lvm::parse_metadata(*text);
    REQUIRE_MESSAGE(vg, vg.error().message);
    CHECK(vg->name == "vg-data");
    CHECK(vg->id == "Ao5uuX-3R5O-duLI-VeZG-veU9-DNhg-sLGeWs");
    CHECK(vg->seqno == 4);
    CHECK(vg->extent_size == 4 * MiB);
    REQUIRE(vg->pvs.count("pv0") == 1);
    CHECK(vg->pvs["pv0"].pe_start == 1 * MiB);
    CHECK(vg->pvs["pv0"].pe_count == 15);
    REQUIRE(vg->lvs.size() == 2);
    const auto& root = lv_named(*vg, "root");
    CHECK(root.visible());
    REQUIRE(root.segments.size() == 2);
    CHECK(root.segments[1].start_extent == 2);
    CHECK(root.segments[1].stripes == std::vector<std::pair<std::string, uint64_t>>{{"pv0", 3}});
    CHECK(lvm::device_name(*vg, root) == "/dev/vg-data/root");
  }

  TEST_CASE("lvm: an LV in one run is one byte range; a resized one is two")
  {
    std::string pv = real_pv();
    auto vg = lvm::parse_metadata(*lvm::read_metadata_text(reader_of(pv), 4096, 0));
    REQUIRE(vg);
    // The PV is the disk's second partition, at 1 GiB.
    std::map<std::string, lvm::ByteRange> at = {
        {"BmcYyqFyF3QgJDhykZitifDP1m4nudOX", {1024 * MiB, 64 * MiB}}};
    auto swap = lvm::disk_ranges(*vg, lv_named(*vg, "swap"), at);
    REQUIRE_MESSAGE(swap, swap.error().message);
    REQUIRE(swap->size() == 1);
    CHECK(swap->front().offset == 1024 * MiB + 1 * MiB + 2 * 4 * MiB);
    CHECK(swap->front().size == 4 * MiB);
    auto root = lvm::disk_ranges(*vg, lv_named(*vg, "root"), at);
    REQUIRE(root);
    REQUIRE(root->size() == 2);
    CHECK(root->at(0).offset == 1025 * MiB);
    CHECK(root->at(0).size == 8 * MiB);
    CHECK(root->at(1).offset == 1025 * MiB + 3 * 4 * MiB);
    CHECK(root->at(1).size == 4 * MiB);
    // A partition cut shorter than the PV says it is: root would reach into what follows.
    std::map<std::string, lvm::ByteRange> short_part = {
        {"BmcYyqFyF3QgJDhykZitifDP1m4nudOX", {1024 * MiB, 10 * MiB}}};
    auto cut = lvm::disk_ranges(*vg, lv_named(*vg, "root"), short_part);
    REQUIRE_FALSE(cut);
    CHECK(cut.error().message
          == "vg-data/root: its extents run past the end of its physical volume's partition");
    // Not on this disk.
    auto elsewhere = lvm::disk_ranges(*vg, lv_named(*vg, "swap"), {});
    REQUIRE_FALSE(elsewhere);
    CHECK(elsewhere.error().message.find("not on this disk") != std::string::npos);
  }

  TEST_CASE("lvm: damaged metadata text or area header is an error, not a guess")
  {
    std::string pv = real_pv();
    std::string text_damaged = pv;
    text_damaged[8704 + 20] ^= 1; // the text starts at 4096 + 4608
    auto t = lvm::read_metadata_text(reader_of(text_damaged), 4096, 0);
    REQUIRE_FALSE(t);
    CHECK(t.error().message.find("bad checksum") != std::string::npos);
    std::string header_damaged = pv;
    header_damaged[4096 + 41] ^= 1;
    CHECK_FALSE(lvm::read_metadata_text(reader_of(header_damaged), 4096, 0));
    CHECK_FALSE(lvm::read_metadata_text(reader_of(pv), 0, 0)); // no area there
    // A text said to run past the end of what can be read.
    std::string truncated = pv.substr(0, 9000);
    CHECK_FALSE(lvm::read_metadata_text(reader_of(truncated), 4096, 0));
  }

  TEST_CASE("lvm: an area header of another version, or naming another place, is refused")
  {
    std::string pv = real_pv();
    REQUIRE(lvm::read_metadata_text(reader_of(pv), 4096, 0));
    // Each change keeps the header's checksum right: only the field itself can refuse it.
    auto with = [&](size_t at, uint64_t value, int width) {
      std::string copy = pv;
      width == 4 ? put32(copy, 4096 + at, static_cast<uint32_t>(value))
                 : put64(copy, 4096 + at, value);
      put32(copy, 4096, lvm::checksum(std::string_view(copy).substr(4096 + 4, 508)));
      return lvm::read_metadata_text(reader_of(copy), 4096, 0);
    };
    auto version = with(20, 2, 4);
    REQUIRE_FALSE(version);
    CHECK(version.error().message.find("version 2, not 1") != std::string::npos);
    auto moved = with(24, 8192, 8);
    REQUIRE_FALSE(moved);
    CHECK(moved.error().message.find("says it is at byte 8192") != std::string::npos);
    CHECK(with(24, 4096, 8)); // the value it had
  }

  TEST_CASE("lvm: of two metadata areas, the one with the higher seqno describes the VG")
  {
    auto lv = [](int first_extent) {
      return "root {\nstatus = [\"READ\", \"VISIBLE\"]\nsegment1 {\nstart_extent = 0\n"
             "extent_count = 10\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", "
             + std::to_string(first_extent) + "]\n}\n}\n";
    };
    std::string older = vg_text(lv(5));
    std::string newer = vg_text(lv(20));
    newer.replace(newer.find("seqno = 7"), 9, "seqno = 8");
    lvm::Label label;
    label.metadata_areas = {4096, 8192};
    label.metadata_sizes = {4096, 4096};
    auto first_extent = [&](const std::string& pv) {
      auto vg = lvm::read_newest_metadata(reader_of(pv), label);
      REQUIRE_MESSAGE(vg, vg.error().message);
      return vg->lvs.at(0).segments.at(0).stripes.at(0).second;
    };
    // The newer text in the second area, then in the first: the order does not decide.
    std::string pv = std::string(4096, '\0') + metadata_area(older, 4096, 4096)
                     + metadata_area(newer, 8192, 4096);
    CHECK(first_extent(pv) == 20);
    pv = std::string(4096, '\0') + metadata_area(newer, 4096, 4096)
         + metadata_area(older, 8192, 4096);
    CHECK(first_extent(pv) == 20);
    // A damaged newer area leaves the older one; with both damaged, an error names the problem.
    pv[4096 + 512 + 30] ^= 1;
    CHECK(first_extent(pv) == 5);
    pv[8192 + 512 + 30] ^= 1;
    auto missing = lvm::read_newest_metadata(reader_of(pv), label);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("bad checksum") != std::string::npos);
  }

  TEST_CASE("lvm: a metadata text that wraps around the end of its area is joined")
  {
    // An area of 4096 bytes at offset 0: the header, then a ring. The text starts 100 bytes
    // before the end and goes on after the header.
    std::string text = vg_text("root {\nstatus = [\"READ\", \"VISIBLE\"]\nsegment1 {\n"
                               "start_extent = 0\nextent_count = 10\ntype = \"striped\"\n"
                               "stripe_count = 1\nstripes = [\"pv0\", 5]\n}\n}\n");
    text += '\0';
    std::string area(4096, '\0');
    std::memcpy(area.data() + 4, " LVM2 x[5A%r0N*>", 16);
    put32(area, 20, 1);
    put64(area, 24, 0);
    put64(area, 32, 4096);
    put64(area, 40, 4096 - 100);
    put64(area, 48, text.size());
    put32(area, 56, lvm::checksum(text));
    std::memcpy(area.data() + 4096 - 100, text.data(), 100);
    std::memcpy(area.data() + 512, text.data() + 100, text.size() - 100);
    put32(area, 0, lvm::checksum(std::string_view(area).substr(4, 508)));
    auto read = lvm::read_metadata_text(reader_of(area), 0, 4096);
    REQUIRE_MESSAGE(read, read.error().message);
    CHECK(*read == text.substr(0, text.size() - 1));
    auto vg = lvm::parse_metadata(*read);
    REQUIRE(vg);
    auto r = lvm::disk_ranges(*vg, vg->lvs.at(0), k_pv_at_1g);
    REQUIRE(r);
    CHECK(r->front().offset == 1024 * MiB + 1 * MiB + 5 * 4 * MiB);
    CHECK(r->front().size == 40 * MiB);
  }

  TEST_CASE("lvm: thin, RAID, striped and snapshot volumes have no plain byte range")
  {
    auto lv = [](const std::string& type, int stripes) {
      std::string list = "\"pv0\", 0";
      for (int i = 1; i < stripes; ++i) {
        list += ", \"pv0\", " + std::to_string(10 * i);
      }
      return "lv {\nstatus = [\"READ\", \"VISIBLE\"]\nsegment1 {\nstart_extent = 0\n"
             "extent_count = 4\ntype = \""
             + type + "\"\nstripe_count = " + std::to_string(stripes) + "\nstripes = [" + list
             + "]\n}\n}\n";
    };
    for (auto [type, stripes] : std::vector<std::pair<std::string, int>>{
             {"thin", 1}, {"raid1", 1}, {"snapshot", 1}, {"striped", 2}}) {
      CAPTURE(type);
      auto vg = lvm::parse_metadata(vg_text(lv(type, stripes)));
      REQUIRE_MESSAGE(vg, vg.error().message);
      auto r = lvm::disk_ranges(*vg, vg->lvs.at(0), k_pv_at_1g);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find("vg0/lv is not linear") != std::string::npos);
    }
  }

  TEST_CASE("lvm: extents beyond the PV, gaps and unknown PVs are errors")
  {
    auto one = [](const std::string& start, const std::string& count, const std::string& pv,
                  const std::string& first) {
      return "lv {\nsegment1 {\nstart_extent = " + start + "\nextent_count = " + count
             + "\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"" + pv + "\", " + first
             + "]\n}\n}\n";
    };
    auto check = [](const std::string& lvs, const std::string& message) {
      CAPTURE(lvs);
      auto vg = lvm::parse_metadata(vg_text(lvs));
      REQUIRE_MESSAGE(vg, vg.error().message);
      auto r = lvm::disk_ranges(*vg, vg->lvs.at(0), k_pv_at_1g);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find(message) != std::string::npos);
    };
    check(one("0", "10", "pv0", "95"), "past the end of its physical volume");
    check(one("0", "10", "pv0", "9999999999999999999"), "past the end");
    // Numbers too large for 64 bits are not read at all.
    CHECK_FALSE(lvm::parse_metadata(vg_text(one("0", "10", "pv0", "18446744073709551616"))));
    check(one("3", "10", "pv0", "0"), "gaps");
    check(one("0", "10", "pv9", "0"), "unknown physical volume pv9");
    check("lv {\n}\n", "no extents");
  }

  TEST_CASE("lvm: malformed text is an error naming its line")
  {
    auto error_of = [](const std::string& text) {
      auto vg = lvm::parse_metadata(text);
      return vg ? std::string("parsed") : vg.error().message;
    };
    CHECK(error_of("vg0 {\nseqno = 1\nextent_size = 8192\n")
          == "LVM metadata, line 4: a section is not closed");
    CHECK(error_of("vg0 {\nseqno = \"1\n}") == "LVM metadata, line 3: a string is not closed");
    CHECK(error_of("}") == "LVM metadata, line 1: a '}' closes no section");
    CHECK(error_of("vg0 {\nx = [1, 2\n}")
          == "LVM metadata, line 3: ',' or ']' was expected in a list");
    CHECK(error_of("vg0 { x y }").find("'=' or '{' was expected after x") != std::string::npos);
    CHECK(error_of(std::string(20, '{')).find("a name was expected") != std::string::npos);
    std::string deep;
    for (int i = 0; i < 20; ++i) {
      deep += "a {\n";
    }
    CHECK(error_of(deep).find("nested too deep") != std::string::npos);
    CHECK(error_of("vg0 {\nextent_size = 8192\n}")
          == "LVM metadata of vg0: no valid seqno or extent_size");
    CHECK(error_of("vg0 {\nseqno = 1\nextent_size = 0\n}").find("no valid") != std::string::npos);
    CHECK(error_of("a {\n}\nb {\n}") == "LVM metadata: 2 volume groups in one text");
    CHECK(error_of(vg_text("lv {\n}\nlv {\n}\n"))
          == "LVM metadata of vg0: logical volume lv is described twice");
    CHECK(error_of("vg0 {\nseqno = 1\nextent_size = 8\nphysical_volumes {\n"
                   "pv0 {\nid = \"a\"\npe_start = 1\npe_count = 1\n}\n"
                   "pv0 {\nid = \"b\"\npe_start = 1\npe_count = 1\n}\n}\n}")
          == "LVM metadata of vg0: physical volume pv0 is described twice");
    // Names become device paths: only what LVM itself allows.
    CHECK(error_of(".. {\nseqno = 1\nextent_size = 8\n}").find("not a valid volume group name")
          != std::string::npos);
    CHECK(error_of(vg_text("-x {\n}\n")).find("not a valid logical volume name")
          != std::string::npos);
    CHECK(error_of(vg_text(".. {\n}\n")).find("not a valid logical volume name")
          != std::string::npos);
  }

  TEST_CASE("lvm: device-mapper tables of a real volume group map what LVM's own map")
  {
    auto vg = lvm::parse_metadata(
        read_file(std::string(REHOST_SOURCE_DIR) + "/tests/data/lvm/vg0-split-striped.txt"));
    REQUIRE_MESSAGE(vg, vg.error().message);
    const uint64_t sda2 = 67584;
    const uint64_t sda3 = 444416;
    std::map<std::string, lvm::ByteRange> pvs = {
        {"wbNgjfZXKxLQj84c3y9eDUodhVnIWnC1", {sda2 * 512, 376832 * 512}},
        {"2laztCl4xIjVLdKuhT01QFpm2YXq9HKu", {sda3 * 512, 208897 * 512}}};
    // Each line as "START LENGTH TARGET [STRIPES CHUNK] DISK-SECTOR...", areas by where they start
    // on the disk: LVM's lines name the partitions and an offset in them, ours a loop device per
    // area (from its start).
    std::map<std::string, std::string> lvm_lines;
    std::istringstream table(
        read_file(std::string(REHOST_SOURCE_DIR) + "/tests/data/lvm/vg0-split-striped.table"));
    std::string line;
    while (std::getline(table, line)) {
      std::istringstream words(line);
      std::string name, start, length, target, word;
      words >> name >> start >> length >> target;
      std::string out = start + " " + length + " " + target;
      int stripes = 1;
      if (target == "striped") {
        std::string chunk;
        words >> stripes >> chunk;
        out += " " + std::to_string(stripes) + " " + chunk;
      }
      for (int i = 0; i < stripes; ++i) {
        std::string dev;
        uint64_t offset = 0;
        words >> dev >> offset;
        REQUIRE((dev == "8:18" || dev == "8:19"));
        out += " " + std::to_string((dev == "8:18" ? sda2 : sda3) + offset);
      }
      lvm_lines[name.substr(0, name.size() - 1)] += out + "\n";
    }
    REQUIRE(lvm_lines.size() == 3);
    for (const char* name : {"root", "srv", "swap"}) {
      CAPTURE(name);
      auto t = lvm::device_table(*vg, lv_named(*vg, name), pvs);
      REQUIRE_MESSAGE(t, t.error().message);
      std::string ours;
      for (const auto& l : t->lines) {
        ours += std::to_string(l.start) + " " + std::to_string(l.length)
                + (l.chunk ? " striped " + std::to_string(l.areas.size()) + " "
                                 + std::to_string(l.chunk)
                           : std::string(" linear"));
        for (size_t a : l.areas) {
          ours += " " + std::to_string(t->areas[a].offset / 512);
        }
        ours += "\n";
      }
      CHECK(ours == lvm_lines[std::string("vg0-") + name]);
    }
    // Each area is as long as its part of the table: root's 80 and 40 MiB, srv's two stripes of
    // 24 MiB, on the second partition and the third.
    auto root = lvm::device_table(*vg, lv_named(*vg, "root"), pvs);
    REQUIRE(root);
    REQUIRE(root->areas.size() == 2);
    CHECK(root->areas[0].size == 80 * MiB);
    CHECK(root->areas[1].size == 40 * MiB);
    CHECK(root->sectors() == 245760);
    auto srv = lvm::device_table(*vg, lv_named(*vg, "srv"), pvs);
    REQUIRE(srv);
    REQUIRE(srv->areas.size() == 2);
    CHECK(srv->areas[0].size == 24 * MiB);
    CHECK(srv->areas[1].offset == (sda3 + 2048) * 512);
    CHECK(srv->areas[1].size == 24 * MiB);
    CHECK(lvm::table_text(*srv, {"7:1", "7:2"}) == "0 98304 striped 2 128 7:1 0 7:2 0\n");
    CHECK(lvm::table_text(*root, {"7:3", "7:4"})
          == "0 163840 linear 7:3 0\n163840 81920 linear 7:4 0\n");
  }

  TEST_CASE("lvm: linear pieces that follow each other on the disk are one line of the table")
  {
    // Written out of order, as nothing in LVM forbids.
    auto vg = lvm::parse_metadata(vg_text(
        "lv {\nsegment2 {\nstart_extent = 10\nextent_count = 5\ntype = \"striped\"\n"
        "stripe_count = 1\nstripes = [\"pv0\", 30]\n}\nsegment1 {\nstart_extent = 0\n"
        "extent_count = 10\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", 20]\n}\n"
        "segment3 {\nstart_extent = 15\nextent_count = 1\ntype = \"striped\"\n"
        "stripe_count = 1\nstripes = [\"pv0\", 0]\n}\n}\n"));
    REQUIRE_MESSAGE(vg, vg.error().message);
    auto t = lvm::device_table(*vg, vg->lvs.at(0), k_pv_at_1g);
    REQUIRE_MESSAGE(t, t.error().message);
    REQUIRE(t->areas.size() == 2);
    CHECK(t->areas[0].offset == 1025 * MiB + 20 * 4 * MiB);
    CHECK(t->areas[0].size == 15 * 4 * MiB);
    CHECK(t->areas[1].offset == 1025 * MiB);
    CHECK(t->areas[1].size == 4 * MiB);
    CHECK(lvm::table_text(*t, {"7:0", "7:1"})
          == "0 122880 linear 7:0 0\n122880 8192 linear 7:1 0\n");
  }

  TEST_CASE("lvm: a striped volume over physical volumes on different partitions")
  {
    // pv0 at 1 GiB, pv1 at 2 GiB (both with 1 MiB before their extents); three stripes of
    // 64 KiB, two of them on pv0, after a linear first piece.
    std::string text =
        "vg0 {\nid = \"vgid\"\nseqno = 7\nextent_size = 8192\nphysical_volumes {\n"
        "pv0 {\nid = \"AAAAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGGGG\"\npe_start = 2048\n"
        "pe_count = 100\n}\npv1 {\nid = \"HHHHHH-IIII-JJJJ-KKKK-LLLL-MMMM-NNNNNN\"\n"
        "pe_start = 2048\npe_count = 50\n}\n}\nlogical_volumes {\nlv {\n"
        "status = [\"READ\", \"WRITE\", \"VISIBLE\"]\nsegment1 {\nstart_extent = 0\n"
        "extent_count = 2\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv1\", 40]\n}\n"
        "segment2 {\nstart_extent = 2\nextent_count = 12\ntype = \"striped\"\n"
        "stripe_count = 3\nstripe_size = 128\n"
        "stripes = [\"pv0\", 0, \"pv1\", 5, \"pv0\", 50]\n}\n}\n}\n}\n";
    auto vg = lvm::parse_metadata(text);
    REQUIRE_MESSAGE(vg, vg.error().message);
    CHECK(vg->lvs.at(0).segments.at(1).stripe_size == 128);
    std::map<std::string, lvm::ByteRange> pvs = {
        {"AAAAAABBBBCCCCDDDDEEEEFFFFGGGGGG", {1024 * MiB, 401 * MiB}},
        {"HHHHHHIIIIJJJJKKKKLLLLMMMMNNNNNN", {2048 * MiB, 201 * MiB}}};
    auto t = lvm::device_table(*vg, vg->lvs.at(0), pvs);
    REQUIRE_MESSAGE(t, t.error().message);
    REQUIRE(t->lines.size() == 2);
    CHECK(t->lines[0].chunk == 0);
    CHECK(t->lines[1].start == 2 * 8192);
    CHECK(t->lines[1].length == 12 * 8192);
    CHECK(t->lines[1].chunk == 128);
    REQUIRE(t->areas.size() == 4);
    CHECK(t->areas[0].offset == 2049 * MiB + 40 * 4 * MiB);
    // Each stripe is 12 / 3 = 4 extents, from its own first extent on its own PV.
    CHECK(t->areas[1].offset == 1025 * MiB);
    CHECK(t->areas[2].offset == 2049 * MiB + 5 * 4 * MiB);
    CHECK(t->areas[3].offset == 1025 * MiB + 50 * 4 * MiB);
    for (size_t i = 1; i < 4; ++i) {
      CHECK(t->areas[i].size == 4 * 4 * MiB);
    }
    CHECK(t->sectors() == 14 * 8192);
    CHECK(lvm::table_text(*t, {"7:0", "7:1", "7:2", "7:3"})
          == "0 16384 linear 7:0 0\n16384 98304 striped 3 128 7:1 0 7:2 0 7:3 0\n");
  }

  TEST_CASE("lvm: no device-mapper table for thin, RAID, mirror, snapshot, cache, unknown types "
            "or pieces that do not fit")
  {
    auto seg = [](const std::string& type, const std::string& count, const std::string& stripes,
                  const std::string& size, const std::string& list) {
      return "lv {\nstatus = [\"READ\", \"VISIBLE\"]\nsegment1 {\nstart_extent = 0\n"
             "extent_count = "
             + count + "\ntype = \"" + type + "\"\nstripe_count = " + stripes
             + (size.empty() ? "" : "\nstripe_size = " + size) + "\nstripes = [" + list
             + "]\n}\n}\n";
    };
    auto refused = [](const std::string& lvs, const std::string& message) {
      CAPTURE(lvs);
      auto vg = lvm::parse_metadata(vg_text(lvs));
      REQUIRE_MESSAGE(vg, vg.error().message);
      auto t = lvm::device_table(*vg, vg->lvs.at(0), k_pv_at_1g);
      REQUIRE_FALSE(t);
      CHECK(t.error().message.find(message) != std::string::npos);
    };
    for (const char* type : {"thin", "thin-pool", "raid1", "raid5", "mirror", "snapshot", "cache",
                             "vdo", "zero", "frobnicate"}) {
      refused(seg(type, "4", "1", "", "\"pv0\", 0"),
              std::string("vg0/lv is neither linear nor striped (segment type ") + type + ")");
    }
    // A stripe, or a linear piece, past the end of its PV (100 extents).
    refused(seg("striped", "8", "2", "128", "\"pv0\", 0, \"pv0\", 97"),
            "past the end of its physical volume");
    refused(seg("striped", "8", "1", "", "\"pv0\", 93"), "past the end of its physical volume");
    // A stripe on a PV of another disk.
    refused("lv {\nsegment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\n"
            "stripe_count = 2\nstripe_size = 128\nstripes = [\"pv0\", 0, \"pv9\", 0]\n}\n}\n",
            "unknown physical volume pv9");
    // Stripes that device-mapper's striped target would refuse, or that LVM never writes.
    refused(seg("striped", "8", "2", "96", "\"pv0\", 0, \"pv0\", 10"),
            "a stripe size of 96 sectors does not fit its stripes");
    refused(seg("striped", "8", "2", "", "\"pv0\", 0, \"pv0\", 10"), "a stripe size of 0 sectors");
    refused(seg("striped", "8", "2", "128", "\"pv0\", 0"), "a segment of 2 stripes lists 1");
    refused(seg("striped", "5", "2", "128", "\"pv0\", 0, \"pv0\", 10"),
            "5 extents do not divide into 2 stripes");
    // Two pieces on the same extents.
    refused(seg("striped", "8", "2", "128", "\"pv0\", 0, \"pv0\", 2"), "overlap");
    refused("lv {\nsegment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\n"
            "stripe_count = 1\nstripes = [\"pv0\", 0]\n}\nsegment2 {\nstart_extent = 4\n"
            "extent_count = 4\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", 2]\n"
            "}\n}\n",
            "overlap");
    refused("lv {\nsegment1 {\nstart_extent = 2\nextent_count = 4\ntype = \"striped\"\n"
            "stripe_count = 1\nstripes = [\"pv0\", 0]\n}\n}\n",
            "gaps");
    refused("lv {\n}\n", "no extents");
    // A partition cut shorter than its PV says.
    auto vg =
        lvm::parse_metadata(vg_text(seg("striped", "8", "2", "128", "\"pv0\", 0, \"pv0\", 50")));
    REQUIRE(vg);
    std::map<std::string, lvm::ByteRange> short_part = {
        {"AAAAAABBBBCCCCDDDDEEEEFFFFGGGGGG", {1024 * MiB, 100 * MiB}}};
    auto cut = lvm::device_table(*vg, vg->lvs.at(0), short_part);
    REQUIRE_FALSE(cut);
    CHECK(cut.error().message.find("past the end of its physical volume's partition")
          != std::string::npos);
    REQUIRE(lvm::device_table(*vg, vg->lvs.at(0), k_pv_at_1g));
  }
}
