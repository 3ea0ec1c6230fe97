// LVM2 on-disk metadata, read without the host's LVM tools or device-mapper.
//
// A physical volume (PV) starts with a label ("LABELONE" in one of its first four sectors)
// naming its UUID and its metadata areas; a metadata area holds the volume group's (VG)
// description as text, in LVM's configuration syntax: the VG's extent size, its PVs with the
// sector where their extents start (pe_start), and each logical volume (LV) as segments of
// extents on PVs. A linear LV whose extents lie in one contiguous run on one PV is a plain
// byte range of that PV, which a loop device can show as a block device with no device-mapper
// at all: that is how the native backend reads LVM guests (native_disk.cpp). Where the host has
// device-mapper, an LV in several pieces or striped is joined by a table of "linear" and
// "striped" targets over loop devices that each show one of its pieces (device_table).
//
// Everything here reads untrusted bytes: sizes are bounded, and anything unexpected is an
// error, never a guess.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "converter/error.hpp"

namespace rehost::lvm {

// Reads `count` bytes at `offset` of the PV (fewer at its end).
using Reader = std::function<Result<std::string>(uint64_t offset, size_t count)>;

// LVM's checksum of `bytes` (a CRC-32 with LVM's own initial value), continuing from `crc`.
constexpr uint32_t k_initial_checksum = 0xf597a6cf;
uint32_t checksum(std::string_view bytes, uint32_t crc = k_initial_checksum);

struct Label {
  std::string pv_uuid;                  // 32 characters, without dashes
  uint64_t device_size = 0;             // bytes, as the PV recorded it
  std::vector<uint64_t> metadata_areas; // byte offsets of the metadata area headers
  std::vector<uint64_t> metadata_sizes; // and their sizes
};

// The PV label in the first 2048 bytes of a PV (its four label sectors), checksums verified.
Result<Label> parse_label(std::string_view first_sectors);

// The newest metadata text of the metadata area at `offset` (of `size` bytes), checksums
// verified.
Result<std::string> read_metadata_text(const Reader& read, uint64_t offset, uint64_t size);

struct PhysicalVolume {
  std::string id;        // "xxxxxx-xxxx-..." as in the text
  uint64_t pe_start = 0; // bytes from the PV's start to its first extent
  uint64_t pe_count = 0;
};

struct Segment {
  uint64_t start_extent = 0; // in the LV
  uint64_t extent_count = 0;
  std::string type; // "striped" (linear when one stripe), "thin", "raid1", "snapshot", ...
  uint64_t stripe_count = 0;
  uint64_t stripe_size = 0;                              // sectors, for several stripes
  std::vector<std::pair<std::string, uint64_t>> stripes; // (PV name in the VG, first extent)
};

struct LogicalVolume {
  std::string name;
  std::vector<std::string> status; // "READ", "WRITE", "VISIBLE"
  std::vector<Segment> segments;

  bool visible() const;
};

struct VolumeGroup {
  std::string name;
  std::string id;
  uint64_t seqno = 0;
  uint64_t extent_size = 0;                  // bytes
  std::map<std::string, PhysicalVolume> pvs; // by their name in the text ("pv0")
  std::vector<LogicalVolume> lvs;            // in the order of the text
};

// Parses a VG's metadata text. VG and LV names are checked as LVM checks them (letters,
// digits and "+_.-", not starting with '-', not "." or ".."), so they are safe path components;
// a PV or LV name given twice is an error.
Result<VolumeGroup> parse_metadata(std::string_view text);

// The volume group as the PV's metadata areas describe it: of the areas that read and parse,
// the one with the highest seqno (LVM writes the areas one after the other, so an interrupted
// change leaves one newer than another). An error, naming the last problem, when none does.
Result<VolumeGroup> read_newest_metadata(const Reader& read, const Label& label);

struct ByteRange {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// Where `lv` lies on the disk: byte ranges of the disk, in the LV's order, adjacent ones
// merged, given where each PV of this disk lies (by UUID, without dashes). One range when the
// LV is a plain run of the disk; an error saying why when it is not linear (thin, RAID,
// snapshot, several stripes, ...), lies on a PV not on this disk, or runs past its PV.
Result<std::vector<ByteRange>> disk_ranges(const VolumeGroup& vg, const LogicalVolume& lv,
                                           const std::map<std::string, ByteRange>& pvs);

// How device-mapper joins an LV's pieces: runs of the disk ("areas", one loop device each,
// none of them holding a PV's label) and the table lines that map the LV onto them. Sizes in
// sectors of 512 bytes, as device-mapper counts.
struct TableLine {
  uint64_t start = 0;        // in the LV
  uint64_t length = 0;       //
  uint64_t chunk = 0;        // the stripe size of a "striped" line; 0 for "linear"
  std::vector<size_t> areas; // indices into DeviceTable::areas, one per stripe, each from its start
};

struct DeviceTable {
  std::vector<ByteRange> areas; // of the disk
  std::vector<TableLine> lines; // in the LV's order, without gaps
  uint64_t sectors() const;     // the LV's size
};

// The table of `lv` when it is linear (adjacent pieces joined) or striped, and every piece lies
// inside its PV's partition; an error saying why otherwise (thin, RAID, mirror, snapshot, cache,
// an unknown segment type, gaps, a PV not on this disk, pieces that overlap).
Result<DeviceTable> device_table(const VolumeGroup& vg, const LogicalVolume& lv,
                                 const std::map<std::string, ByteRange>& pvs);

// The table as dmsetup reads it, one line per TableLine: "0 163840 linear 7:3 0", "0 98304
// striped 2 128 7:4 0 7:5 0". `devices` names each area's block device ("major:minor").
std::string table_text(const DeviceTable& table, const std::vector<std::string>& devices);

// "/dev/VG/LV", the name libguestfs gives an LV.
std::string device_name(const VolumeGroup& vg, const LogicalVolume& lv);

} // namespace rehost::lvm
