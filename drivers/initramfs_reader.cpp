#include "drivers/initramfs_reader.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include <archive.h>
#include <archive_entry.h>

namespace rehost::drivers {

namespace {

constexpr size_t k_newc_header = 110;

bool is_newc(const std::string& data, size_t at)
{
  return data.compare(at, 6, "070701") == 0 || data.compare(at, 6, "070702") == 0;
}

uint32_t hex_field(const std::string& data, size_t at)
{
  uint32_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    char c = data[at + i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return UINT32_MAX;
    }
  }
  return v;
}

size_t align4(size_t n)
{
  return (n + 3) & ~size_t(3);
}

// End of the uncompressed newc archive starting at `at`, just after its trailer; 0 if damaged.
size_t newc_end(const std::string& data, size_t at)
{
  size_t pos = at;
  while (pos + k_newc_header <= data.size() && is_newc(data, pos)) {
    uint32_t filesize = hex_field(data, pos + 54);
    uint32_t namesize = hex_field(data, pos + 94);
    if (filesize == UINT32_MAX || namesize == UINT32_MAX || namesize == 0) {
      return 0;
    }
    size_t name_at = pos + k_newc_header;
    if (name_at + namesize > data.size()) {
      return 0;
    }
    bool trailer = data.compare(name_at, namesize - 1, "TRAILER!!!") == 0 && namesize == 11;
    size_t next = align4(name_at + namesize);
    next = align4(next + filesize);
    if (next > data.size()) {
      return 0;
    }
    pos = next;
    if (trailer) {
      return pos;
    }
  }
  return 0;
}

std::string normalise(const char* path)
{
  std::string p = path ? path : "";
  while (p.rfind("./", 0) == 0) {
    p.erase(0, 2);
  }
  while (!p.empty() && p.front() == '/') {
    p.erase(0, 1);
  }
  return p;
}

// Lists one segment (compressed or not) with libarchive; returns the filter name.
Result<std::string> list_segment(const char* data, size_t size, std::vector<std::string>& files)
{
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  if (archive_read_open_memory(a.get(), data, size) != ARCHIVE_OK) {
    return fail("not a cpio archive: {}", archive_error_string(a.get()));
  }
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    std::string name = normalise(archive_entry_pathname(entry));
    if (!name.empty() && name != ".") {
      files.push_back(std::move(name));
    }
  }
  if (r != ARCHIVE_EOF) {
    const char* why = archive_error_string(a.get());
    return fail("damaged archive: {}", why ? why : "read error");
  }
  std::string filter = archive_filter_count(a.get()) > 1 ? archive_filter_name(a.get(), 0) : "";
  return filter.empty() || filter == "none" ? std::string("cpio") : "cpio+" + filter;
}

} // namespace

Result<InitramfsListing> list_initramfs(const std::string& data)
{
  InitramfsListing listing;
  size_t pos = 0;
  while (pos < data.size()) {
    // Zero padding between archives.
    while (pos < data.size() && data[pos] == '\0') {
      ++pos;
    }
    if (pos >= data.size()) {
      break;
    }
    if (is_newc(data, pos)) {
      size_t end = newc_end(data, pos);
      if (end == 0) {
        return fail("damaged uncompressed cpio archive at byte {}", pos);
      }
      auto kind = list_segment(data.data() + pos, end - pos, listing.files);
      if (!kind) {
        return fail("segment at byte {}: {}", pos, kind.error().message);
      }
      listing.segments.push_back(*kind);
      pos = end;
      continue;
    }
    // A compressed archive runs to the end (the kernel allows more after it, but no initramfs
    // tool writes that).
    auto kind = list_segment(data.data() + pos, data.size() - pos, listing.files);
    if (!kind) {
      return fail("segment at byte {}: {}", pos, kind.error().message);
    }
    listing.segments.push_back(*kind);
    break;
  }
  if (listing.segments.empty()) {
    return fail("empty initramfs");
  }
  return listing;
}

Result<InitramfsListing> list_initramfs_file(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("{}: cannot open", path);
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto listing = list_initramfs(data);
  if (!listing) {
    return fail("{}: {}", path, listing.error().message);
  }
  return listing;
}

std::vector<std::string> modules_in(const InitramfsListing& listing, const std::string& version)
{
  std::set<std::string> names;
  const std::string prefix = version.empty() ? "" : "lib/modules/" + version + "/";
  for (const auto& f : listing.files) {
    std::string path = f;
    // usr-merged images keep modules under usr/lib/modules.
    if (path.rfind("usr/lib/modules/", 0) == 0) {
      path.erase(0, 4);
    }
    if (path.rfind("lib/modules/", 0) != 0 || (!prefix.empty() && path.rfind(prefix, 0) != 0)) {
      continue;
    }
    size_t slash = path.rfind('/');
    std::string base = path.substr(slash + 1);
    size_t ko = base.find(".ko");
    if (ko == std::string::npos) {
      continue;
    }
    std::string ext = base.substr(ko);
    if (ext != ".ko" && ext != ".ko.xz" && ext != ".ko.zst" && ext != ".ko.gz") {
      continue;
    }
    std::string name = base.substr(0, ko);
    std::replace(name.begin(), name.end(), '-', '_');
    names.insert(name);
  }
  return {names.begin(), names.end()};
}

} // namespace rehost::drivers
