// LVM2 physical volume labels, metadata areas and metadata text, as read from a guest's disk.
#include <cstddef>
#include <cstdint>
#include <string>

#include "converter/lvm_metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto reader = [&bytes](uint64_t offset, size_t count) -> rehost::Result<std::string> {
    return offset >= bytes.size() ? std::string() : bytes.substr(offset, count);
  };
  std::map<std::string, rehost::lvm::ByteRange> offsets;
  if (auto label = rehost::lvm::parse_label(bytes.substr(0, 2048))) {
    offsets[label->pv_uuid] = {0, bytes.size()};
    for (size_t i = 0; i < label->metadata_areas.size(); ++i) {
      if (auto text = rehost::lvm::read_metadata_text(reader, label->metadata_areas[i],
                                                      label->metadata_sizes[i])) {
        (void)rehost::lvm::parse_metadata(*text);
      }
    }
  }
  // The input as metadata text too.
  if (auto vg = rehost::lvm::parse_metadata(bytes)) {
    for (const auto& [name, pv] : vg->pvs) {
      std::string id;
      for (char c : pv.id) {
        if (c != '-') {
          id += c;
        }
      }
      offsets[id] = {1 << 20, uint64_t(1) << 40};
    }
    for (const auto& lv : vg->lvs) {
      (void)rehost::lvm::disk_ranges(*vg, lv, offsets);
      if (auto table = rehost::lvm::device_table(*vg, lv, offsets)) {
        (void)rehost::lvm::table_text(*table, std::vector<std::string>(table->areas.size(), "7:0"));
      }
    }
  }
  return 0;
}
