#include "drivers/initramfs_reader.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include <archive.h>
#include <archive_entry.h>

#include "converter/host_file.hpp"

namespace rehost::drivers {

namespace {

constexpr size_t k_newc_header = 110;
// Longer names are not paths any initramfs tool writes (PATH_MAX is 4096).
constexpr uint32_t k_max_name = 4096;

bool is_newc(const std::string& data, size_t at)
{
  return data.compare(at, 6, "070701") == 0 || data.compare(at, 6, "070702") == 0;
}

uint32_t hex_field(const char* p)
{
  uint32_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    char c = p[i];
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

uint64_t align4(uint64_t n)
{
  return (n + 3) & ~uint64_t(3);
}

// Walks newc cpio archives in a byte stream fed in pieces, as the kernel does: headers, names,
// data skipped unread, zeros between archives. Only a header and a name are ever buffered, and a
// name is at most k_max_name bytes, so a hostile size field costs nothing.
class NewcWalker {
public:
  NewcWalker(std::vector<std::string>& files, bool stop_at_trailer)
      : m_files(files), m_stop_at_trailer(stop_at_trailer)
  {
  }

  // Consumes bytes; returns how many (fewer than n only when it stopped after a trailer).
  Result<size_t> feed(const char* p, size_t n)
  {
    size_t used = 0;
    while (used < n && !m_done) {
      switch (m_state) {
      case State::between:
        if (p[used] == '\0') {
          ++used;
          ++m_offset;
          break;
        }
        m_state = State::header;
        m_pending.clear();
        break;
      case State::header: {
        size_t take = std::min(n - used, k_newc_header - m_pending.size());
        m_pending.append(p + used, take);
        used += take;
        m_offset += take;
        if (m_pending.size() < k_newc_header) {
          break;
        }
        if (!is_newc(m_pending, 0)) {
          return fail("no cpio header at byte {}", m_offset - k_newc_header);
        }
        uint32_t filesize = hex_field(m_pending.data() + 54);
        uint32_t namesize = hex_field(m_pending.data() + 94);
        if (filesize == UINT32_MAX || namesize == UINT32_MAX) {
          return fail("a cpio header with a field that is not hexadecimal at byte {}",
                      m_offset - k_newc_header);
        }
        if (namesize == 0 || namesize > k_max_name + 1) {
          return fail("a cpio header with a name of {} bytes at byte {}", namesize,
                      m_offset - k_newc_header);
        }
        m_namesize = namesize;
        m_skip = align4(filesize);
        m_need = align4(k_newc_header + namesize) - k_newc_header;
        m_pending.clear();
        m_state = State::name;
        break;
      }
      case State::name: {
        size_t take = std::min<uint64_t>(n - used, m_need - m_pending.size());
        m_pending.append(p + used, take);
        used += take;
        m_offset += take;
        if (m_pending.size() < m_need) {
          break;
        }
        std::string name = m_pending.substr(0, m_namesize - 1);
        name = name.substr(0, name.find('\0'));
        if (name == "TRAILER!!!") {
          m_state = State::between;
          m_trailers++;
          m_done = m_stop_at_trailer;
          break;
        }
        name = image_path(std::move(name));
        if (!name.empty() && name != ".") {
          m_files.push_back(std::move(name));
        }
        m_state = m_skip ? State::data : State::header;
        m_pending.clear();
        break;
      }
      case State::data: {
        uint64_t take = std::min<uint64_t>(n - used, m_skip);
        used += take;
        m_offset += take;
        m_skip -= take;
        if (m_skip == 0) {
          m_state = State::header;
        }
        break;
      }
      }
    }
    return used;
  }

  // At the end of the stream: ended between archives, after at least one trailer.
  Result<void> finish() const
  {
    if (m_state != State::between) {
      return fail("truncated cpio archive (it ends at byte {}, inside an entry)", m_offset);
    }
    if (m_trailers == 0) {
      return fail("no cpio archive in it");
    }
    return {};
  }

private:
  enum class State { between, header, name, data };
  std::vector<std::string>& m_files;
  bool m_stop_at_trailer;
  bool m_done = false;
  State m_state = State::between;
  std::string m_pending;
  uint32_t m_namesize = 0;
  uint64_t m_need = 0;
  uint64_t m_skip = 0;
  uint64_t m_offset = 0;
  int m_trailers = 0;
};

// Decompresses one compressed segment with libarchive (every filter it has) and walks the cpio
// archives it holds; returns the filter name.
Result<std::string> list_compressed(const char* data, size_t size, std::vector<std::string>& files)
{
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), data, size) != ARCHIVE_OK
      || archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    return fail("neither a cpio archive nor a compressed one{}{}", why ? ": " : "", why ? why : "");
  }
  std::string filter = archive_filter_count(a.get()) > 1 ? archive_filter_name(a.get(), 0) : "";
  if (filter.empty() || filter == "none") {
    return fail("neither a cpio archive nor a compressed one");
  }
  NewcWalker walker(files, false);
  std::string buffer(64 << 10, '\0');
  for (;;) {
    la_ssize_t got = archive_read_data(a.get(), buffer.data(), buffer.size());
    if (got < 0) {
      const char* why = archive_error_string(a.get());
      return fail("damaged {} data: {}", filter, why ? why : "read error");
    }
    if (got == 0) {
      break;
    }
    if (auto r = walker.feed(buffer.data(), static_cast<size_t>(got)); !r) {
      return fail("{} data: {}", filter, r.error().message);
    }
  }
  if (auto r = walker.finish(); !r) {
    return fail("{} data: {}", filter, r.error().message);
  }
  return "cpio+" + filter;
}

} // namespace

std::string image_path(std::string p)
{
  while (p.rfind("./", 0) == 0) {
    p.erase(0, 2);
  }
  while (!p.empty() && p.front() == '/') {
    p.erase(0, 1);
  }
  return p;
}

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
    listing.first_file.push_back(listing.files.size());
    if (is_newc(data, pos)) {
      NewcWalker walker(listing.files, true);
      auto used = walker.feed(data.data() + pos, data.size() - pos);
      if (!used) {
        return fail("uncompressed cpio archive at byte {}: {}", pos, used.error().message);
      }
      if (auto r = walker.finish(); !r) {
        return fail("uncompressed cpio archive at byte {}: {}", pos, r.error().message);
      }
      listing.segments.push_back("cpio");
      listing.offsets.push_back(pos);
      pos += *used;
      continue;
    }
    // A compressed archive runs to the end (the kernel allows more after it, but no initramfs
    // tool writes that).
    auto kind = list_compressed(data.data() + pos, data.size() - pos, listing.files);
    if (!kind) {
      return fail("segment at byte {}: {}", pos, kind.error().message);
    }
    listing.segments.push_back(*kind);
    listing.offsets.push_back(pos);
    break;
  }
  if (listing.segments.empty()) {
    return fail("empty initramfs");
  }
  return listing;
}

Result<InitramfsListing> list_initramfs_file(const std::string& path)
{
  auto data = read_host_file(path);
  if (!data) {
    return std::unexpected(data.error());
  }
  auto listing = list_initramfs(*data);
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
