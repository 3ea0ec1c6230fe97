#include "converter/lvm_metadata.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>

namespace rehost::lvm {

namespace {

constexpr size_t k_sector = 512;
constexpr char k_mda_magic[] = " LVM2 x[5A%r0N*>";
// A VG's text is a few KiB per LV; LVM's own default metadata area is 1 MiB.
constexpr uint64_t k_max_text = 16 << 20;

} // namespace

// CRC-32 (reflected, polynomial 0xEDB88320), with no final inversion.
uint32_t checksum(std::string_view bytes, uint32_t crc)
{
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      }
      t[i] = c;
    }
    return t;
  }();
  for (unsigned char b : bytes) {
    crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

namespace {

template <typename T>
T le(std::string_view bytes, size_t at)
{
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= static_cast<T>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  return v;
}

std::string without_dashes(std::string_view id)
{
  std::string out;
  for (char c : id) {
    if (c != '-') {
      out += c;
    }
  }
  return out;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out)
{
  return !__builtin_mul_overflow(a, b, &out);
}

bool checked_add(uint64_t a, uint64_t b, uint64_t& out)
{
  return !__builtin_add_overflow(a, b, &out);
}

// LVM's configuration syntax: `key = value`, `name { ... }`, values being "strings", numbers
// and [lists], `#` comments.
struct Value {
  bool is_string = false;
  bool is_list = false;
  std::string text; // a string's contents or a number's digits
  std::vector<Value> items;
};

struct Section {
  std::vector<std::pair<std::string, Value>> values;
  // Names and bodies apart: a pair cannot hold the incomplete Section.
  std::vector<std::string> section_names;
  std::vector<Section> sections;

  const Value* value(std::string_view key) const
  {
    for (const auto& [k, v] : values) {
      if (k == key) {
        return &v;
      }
    }
    return nullptr;
  }
  const Section* section(std::string_view key) const
  {
    for (size_t i = 0; i < sections.size(); ++i) {
      if (section_names[i] == key) {
        return &sections[i];
      }
    }
    return nullptr;
  }
};

class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) {}

  Result<Section> document()
  {
    Section top;
    if (auto r = items(top, 0, false); !r) {
      return std::unexpected(r.error());
    }
    return top;
  }

private:
  static bool name_char(char c)
  {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
           || c == '.' || c == '+' || c == '-';
  }

  void skip_space()
  {
    while (m_pos < m_text.size()) {
      char c = m_text[m_pos];
      if (c == '#') {
        while (m_pos < m_text.size() && m_text[m_pos] != '\n') {
          ++m_pos;
        }
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++m_pos;
      } else {
        return;
      }
    }
  }

  std::unexpected<Error> error(std::string_view what) const
  {
    size_t line = 1 + static_cast<size_t>(std::count(m_text.begin(), m_text.begin() + m_pos, '\n'));
    return fail("LVM metadata, line {}: {}", line, what);
  }

  Result<void> items(Section& into, int depth, bool braced)
  {
    if (depth > 8) {
      return error("sections nested too deep");
    }
    for (;;) {
      skip_space();
      if (m_pos == m_text.size()) {
        if (braced) {
          return error("a section is not closed");
        }
        return {};
      }
      if (m_text[m_pos] == '}') {
        if (!braced) {
          return error("a '}' closes no section");
        }
        ++m_pos;
        return {};
      }
      size_t start = m_pos;
      while (m_pos < m_text.size() && name_char(m_text[m_pos])) {
        ++m_pos;
      }
      if (m_pos == start) {
        return error("a name was expected");
      }
      std::string key(m_text.substr(start, m_pos - start));
      skip_space();
      if (m_pos < m_text.size() && m_text[m_pos] == '{') {
        ++m_pos;
        Section child;
        if (auto r = items(child, depth + 1, true); !r) {
          return r;
        }
        into.section_names.push_back(std::move(key));
        into.sections.push_back(std::move(child));
      } else if (m_pos < m_text.size() && m_text[m_pos] == '=') {
        ++m_pos;
        auto v = value(true);
        if (!v) {
          return std::unexpected(v.error());
        }
        into.values.emplace_back(std::move(key), std::move(*v));
      } else {
        return error("'=' or '{' was expected after " + key);
      }
    }
  }

  Result<Value> value(bool list_allowed)
  {
    skip_space();
    if (m_pos == m_text.size()) {
      return error("a value was expected");
    }
    Value v;
    char c = m_text[m_pos];
    if (c == '"') {
      v.is_string = true;
      ++m_pos;
      for (;;) {
        if (m_pos == m_text.size()) {
          return error("a string is not closed");
        }
        char d = m_text[m_pos++];
        if (d == '"') {
          break;
        }
        if (d == '\\') {
          if (m_pos == m_text.size()) {
            return error("a string is not closed");
          }
          d = m_text[m_pos++];
        }
        v.text += d;
      }
    } else if (c == '[' && list_allowed) {
      v.is_list = true;
      ++m_pos;
      skip_space();
      if (m_pos < m_text.size() && m_text[m_pos] == ']') {
        ++m_pos;
        return v;
      }
      for (;;) {
        auto item = value(false);
        if (!item) {
          return item;
        }
        v.items.push_back(std::move(*item));
        skip_space();
        if (m_pos < m_text.size() && m_text[m_pos] == ',') {
          ++m_pos;
        } else if (m_pos < m_text.size() && m_text[m_pos] == ']') {
          ++m_pos;
          return v;
        } else {
          return error("',' or ']' was expected in a list");
        }
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = m_pos++;
      while (m_pos < m_text.size()
             && ((m_text[m_pos] >= '0' && m_text[m_pos] <= '9') || m_text[m_pos] == '.')) {
        ++m_pos;
      }
      v.text = std::string(m_text.substr(start, m_pos - start));
    } else {
      return error("a value was expected");
    }
    return v;
  }

  std::string_view m_text;
  size_t m_pos = 0;
};

// A non-negative whole number, or nothing.
std::optional<uint64_t> number(const Value* v)
{
  if (!v || v->is_string || v->is_list || v->text.empty() || v->text.size() > 19
      || v->text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(v->text);
}

std::optional<std::string> string(const Value* v)
{
  if (!v || !v->is_string) {
    return std::nullopt;
  }
  return v->text;
}

std::vector<std::string> strings(const Value* v)
{
  std::vector<std::string> out;
  if (v && v->is_list) {
    for (const auto& item : v->items) {
      if (item.is_string) {
        out.push_back(item.text);
      }
    }
  }
  return out;
}

// A VG or LV name as LVM allows it (the parser already limits the characters).
bool valid_name(const std::string& name)
{
  return !name.empty() && name.size() <= 127 && name != "." && name != ".." && name[0] != '-'
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '_' || c == '.' || c == '+' || c == '-';
            });
}

} // namespace

Result<Label> parse_label(std::string_view first_sectors)
{
  for (size_t n = 0; n < 4 && (n + 1) * k_sector <= first_sectors.size(); ++n) {
    std::string_view sector = first_sectors.substr(n * k_sector, k_sector);
    if (sector.substr(0, 8) != "LABELONE") {
      continue;
    }
    if (le<uint64_t>(sector, 8) != n) {
      return fail("LVM label in sector {} says it is in sector {}", n, le<uint64_t>(sector, 8));
    }
    if (checksum(sector.substr(20)) != le<uint32_t>(sector, 16)) {
      return fail("LVM label in sector {}: bad checksum", n);
    }
    if (sector.substr(24, 8) != "LVM2 001") {
      return fail("LVM label in sector {}: unknown type", n);
    }
    uint32_t at = le<uint32_t>(sector, 20);
    // The header: a 32-byte UUID, the size, then two lists of (offset, size), each ending with
    // a zero pair: the data areas and the metadata areas.
    if (at < 32 || at > k_sector - 40) {
      return fail("LVM label in sector {}: its header is outside the sector", n);
    }
    Label label;
    label.pv_uuid = std::string(sector.substr(at, 32));
    label.device_size = le<uint64_t>(sector, at + 32);
    size_t p = at + 40;
    for (int list = 0; list < 2; ++list) {
      for (;;) {
        if (p + 16 > k_sector) {
          return fail("LVM label in sector {}: its area lists do not end", n);
        }
        uint64_t offset = le<uint64_t>(sector, p);
        uint64_t size = le<uint64_t>(sector, p + 8);
        p += 16;
        if (offset == 0) {
          break;
        }
        if (list == 1) {
          label.metadata_areas.push_back(offset);
          label.metadata_sizes.push_back(size);
        }
      }
    }
    return label;
  }
  return fail("no LVM label in the first four sectors");
}

Result<std::string> read_metadata_text(const Reader& read, uint64_t offset, uint64_t size)
{
  auto header = read(offset, k_sector);
  if (!header) {
    return std::unexpected(header.error());
  }
  const std::string& h = *header;
  if (h.size() < k_sector || h.compare(4, 16, k_mda_magic) != 0) {
    return fail("no LVM metadata area header at byte {}", offset);
  }
  if (checksum(std::string_view(h).substr(4)) != le<uint32_t>(h, 0)) {
    return fail("LVM metadata area at byte {}: bad checksum", offset);
  }
  // Version 1 is the only one LVM2 writes; the header names its own place on the PV, which a
  // header copied to another place (or from another PV) gets wrong.
  if (le<uint32_t>(h, 20) != 1) {
    return fail("LVM metadata area at byte {}: version {}, not 1", offset, le<uint32_t>(h, 20));
  }
  if (le<uint64_t>(h, 24) != offset) {
    return fail("LVM metadata area at byte {}: its header says it is at byte {}", offset,
                le<uint64_t>(h, 24));
  }
  uint64_t area_size = le<uint64_t>(h, 32);
  if (area_size != size && size != 0) {
    area_size = std::min(area_size, size);
  }
  if (area_size <= k_sector) {
    return fail("LVM metadata area at byte {}: too small", offset);
  }
  // The first location is the committed metadata.
  uint64_t at = le<uint64_t>(h, 40);
  uint64_t length = le<uint64_t>(h, 48);
  uint32_t text_checksum = le<uint32_t>(h, 56);
  uint32_t flags = le<uint32_t>(h, 60);
  if (at == 0 || length == 0 || (flags & 1) != 0) {
    return fail("LVM metadata area at byte {} holds no metadata", offset);
  }
  if (at < k_sector || at >= area_size || length > k_max_text || length > area_size - k_sector) {
    return fail("LVM metadata area at byte {}: its text is outside the area", offset);
  }
  // The text may wrap around the end of the area to just after its header.
  uint64_t first = std::min(length, area_size - at);
  auto part = read(offset + at, first);
  if (!part) {
    return std::unexpected(part.error());
  }
  std::string text = std::move(*part);
  if (first < length) {
    auto rest = read(offset + k_sector, length - first);
    if (!rest) {
      return std::unexpected(rest.error());
    }
    text += *rest;
  }
  if (text.size() != length) {
    return fail("LVM metadata at byte {}: the disk ends inside it", offset + at);
  }
  if (checksum(text) != text_checksum) {
    return fail("LVM metadata at byte {}: bad checksum", offset + at);
  }
  while (!text.empty() && text.back() == '\0') {
    text.pop_back();
  }
  return text;
}

bool LogicalVolume::visible() const
{
  return std::find(status.begin(), status.end(), "VISIBLE") != status.end();
}

Result<VolumeGroup> read_newest_metadata(const Reader& read, const Label& label)
{
  std::optional<VolumeGroup> newest;
  std::string why = "it has no metadata area";
  for (size_t i = 0; i < label.metadata_areas.size(); ++i) {
    auto text = read_metadata_text(read, label.metadata_areas[i], label.metadata_sizes[i]);
    auto vg = text ? parse_metadata(*text) : std::unexpected(text.error());
    if (!vg) {
      why = vg.error().message;
    } else if (!newest || vg->seqno > newest->seqno) {
      newest = std::move(*vg);
    }
  }
  if (!newest) {
    return fail("{}", why);
  }
  return std::move(*newest);
}

Result<VolumeGroup> parse_metadata(std::string_view text)
{
  auto doc = Parser(text).document();
  if (!doc) {
    return std::unexpected(doc.error());
  }
  if (doc->sections.size() != 1) {
    return fail("LVM metadata: {} volume groups in one text", doc->sections.size());
  }
  const std::string& name = doc->section_names.front();
  const Section& vg_section = doc->sections.front();
  VolumeGroup vg;
  vg.name = name;
  if (!valid_name(vg.name)) {
    return fail("LVM metadata: '{}' is not a valid volume group name", vg.name);
  }
  vg.id = string(vg_section.value("id")).value_or("");
  auto seqno = number(vg_section.value("seqno"));
  auto extent_sectors = number(vg_section.value("extent_size"));
  if (!seqno || !extent_sectors || *extent_sectors == 0
      || !checked_mul(*extent_sectors, k_sector, vg.extent_size)) {
    return fail("LVM metadata of {}: no valid seqno or extent_size", vg.name);
  }
  vg.seqno = *seqno;
  if (const Section* pvs = vg_section.section("physical_volumes")) {
    for (size_t i = 0; i < pvs->sections.size(); ++i) {
      const std::string& pv_name = pvs->section_names[i];
      const Section& s = pvs->sections[i];
      PhysicalVolume pv;
      auto id = string(s.value("id"));
      auto pe_start = number(s.value("pe_start"));
      auto pe_count = number(s.value("pe_count"));
      if (!id || !pe_start || !pe_count || !checked_mul(*pe_start, k_sector, pv.pe_start)) {
        return fail("LVM metadata of {}: physical volume {} lacks id, pe_start or pe_count",
                    vg.name, pv_name);
      }
      pv.id = *id;
      pv.pe_count = *pe_count;
      if (!vg.pvs.emplace(pv_name, pv).second) {
        return fail("LVM metadata of {}: physical volume {} is described twice", vg.name, pv_name);
      }
    }
  }
  if (const Section* lvs = vg_section.section("logical_volumes")) {
    for (size_t i = 0; i < lvs->sections.size(); ++i) {
      const std::string& lv_name = lvs->section_names[i];
      const Section& s = lvs->sections[i];
      LogicalVolume lv;
      lv.name = lv_name;
      if (!valid_name(lv.name)) {
        return fail("LVM metadata of {}: '{}' is not a valid logical volume name", vg.name,
                    lv.name);
      }
      lv.status = strings(s.value("status"));
      for (size_t k = 0; k < s.sections.size(); ++k) {
        const std::string& seg_name = s.section_names[k];
        const Section& seg = s.sections[k];
        if (seg_name.rfind("segment", 0) != 0) {
          continue;
        }
        Segment segment;
        auto start = number(seg.value("start_extent"));
        auto count = number(seg.value("extent_count"));
        auto type = string(seg.value("type"));
        if (!start || !count || !type) {
          return fail("LVM metadata of {}: {} of {} lacks start_extent, extent_count or type",
                      vg.name, seg_name, lv_name);
        }
        segment.start_extent = *start;
        segment.extent_count = *count;
        segment.type = *type;
        segment.stripe_count = number(seg.value("stripe_count")).value_or(0);
        segment.stripe_size = number(seg.value("stripe_size")).value_or(0);
        if (const Value* stripes = seg.value("stripes"); stripes && stripes->is_list) {
          const auto& items = stripes->items;
          for (size_t i = 0; i + 1 < items.size(); i += 2) {
            auto pv = string(&items[i]);
            auto first = number(&items[i + 1]);
            if (!pv || !first) {
              return fail("LVM metadata of {}: bad stripes in {} of {}", vg.name, seg_name,
                          lv_name);
            }
            segment.stripes.emplace_back(*pv, *first);
          }
        }
        lv.segments.push_back(std::move(segment));
      }
      if (std::any_of(vg.lvs.begin(), vg.lvs.end(),
                      [&](const LogicalVolume& other) { return other.name == lv.name; })) {
        return fail("LVM metadata of {}: logical volume {} is described twice", vg.name, lv.name);
      }
      vg.lvs.push_back(std::move(lv));
    }
  }
  return vg;
}

namespace {

// Where `count` extents of the VG's PV `pv_name`, from its extent `first`, lie on the disk.
Result<ByteRange> pv_run(const VolumeGroup& vg, const LogicalVolume& lv, const std::string& pv_name,
                         uint64_t first, uint64_t count,
                         const std::map<std::string, ByteRange>& pvs)
{
  auto pv = vg.pvs.find(pv_name);
  if (pv == vg.pvs.end()) {
    return fail("{}/{}: its segment names an unknown physical volume {}", vg.name, lv.name,
                pv_name);
  }
  auto where = pvs.find(without_dashes(pv->second.id));
  if (where == pvs.end()) {
    return fail("{}/{} lies on a physical volume that is not on this disk ({})", vg.name, lv.name,
                pv->second.id);
  }
  uint64_t end_extent;
  if (!checked_add(first, count, end_extent) || end_extent > pv->second.pe_count) {
    return fail("{}/{}: its extents run past the end of its physical volume", vg.name, lv.name);
  }
  ByteRange r;
  uint64_t skip;
  uint64_t end;
  uint64_t pv_end;
  if (!checked_mul(first, vg.extent_size, skip)
      || !checked_add(where->second.offset, skip, r.offset)
      || !checked_add(r.offset, pv->second.pe_start, r.offset)
      || !checked_mul(count, vg.extent_size, r.size) || !checked_add(r.offset, r.size, end)
      || !checked_add(where->second.offset, where->second.size, pv_end) || end > pv_end) {
    return fail("{}/{}: its extents run past the end of its physical volume's partition", vg.name,
                lv.name);
  }
  return r;
}

std::vector<Segment> in_order(const LogicalVolume& lv)
{
  std::vector<Segment> segments = lv.segments;
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.start_extent < b.start_extent; });
  return segments;
}

} // namespace

Result<std::vector<ByteRange>> disk_ranges(const VolumeGroup& vg, const LogicalVolume& lv,
                                           const std::map<std::string, ByteRange>& pvs)
{
  std::vector<ByteRange> ranges;
  uint64_t next_extent = 0;
  for (const auto& s : in_order(lv)) {
    if (s.type != "striped" || s.stripe_count != 1 || s.stripes.size() != 1) {
      return fail("{}/{} is not linear (segment type {}, {} stripes)", vg.name, lv.name, s.type,
                  s.stripe_count);
    }
    if (s.start_extent != next_extent || s.extent_count == 0) {
      return fail("{}/{}: its segments leave gaps", vg.name, lv.name);
    }
    next_extent += s.extent_count;
    auto r = pv_run(vg, lv, s.stripes.front().first, s.stripes.front().second, s.extent_count, pvs);
    if (!r) {
      return std::unexpected(r.error());
    }
    if (!ranges.empty() && ranges.back().offset + ranges.back().size == r->offset) {
      ranges.back().size += r->size;
    } else {
      ranges.push_back(*r);
    }
  }
  if (ranges.empty()) {
    return fail("{}/{} has no extents", vg.name, lv.name);
  }
  return ranges;
}

uint64_t DeviceTable::sectors() const
{
  return lines.empty() ? 0 : lines.back().start + lines.back().length;
}

Result<DeviceTable> device_table(const VolumeGroup& vg, const LogicalVolume& lv,
                                 const std::map<std::string, ByteRange>& pvs)
{
  const uint64_t extent_sectors = vg.extent_size / k_sector;
  DeviceTable table;
  uint64_t next_extent = 0;
  for (const auto& s : in_order(lv)) {
    // LVM writes linear segments as "striped" with one stripe.
    if (s.type != "striped") {
      return fail("{}/{} is neither linear nor striped (segment type {})", vg.name, lv.name,
                  s.type);
    }
    if (s.stripe_count == 0 || s.stripes.size() != s.stripe_count) {
      return fail("{}/{}: a segment of {} stripes lists {}", vg.name, lv.name, s.stripe_count,
                  s.stripes.size());
    }
    if (s.start_extent != next_extent || s.extent_count == 0) {
      return fail("{}/{}: its segments leave gaps", vg.name, lv.name);
    }
    if (s.extent_count % s.stripe_count != 0) {
      return fail("{}/{}: {} extents do not divide into {} stripes", vg.name, lv.name,
                  s.extent_count, s.stripe_count);
    }
    TableLine line;
    if (!checked_add(next_extent, s.extent_count, next_extent)
        || !checked_mul(s.start_extent, extent_sectors, line.start)
        || !checked_mul(s.extent_count, extent_sectors, line.length)) {
      return fail("{}/{} is too large", vg.name, lv.name);
    }
    const uint64_t per_stripe = s.extent_count / s.stripe_count;
    if (s.stripe_count > 1) {
      // device-mapper's striped target wants each stripe a whole number of chunks.
      uint64_t stripe_sectors = per_stripe * extent_sectors;
      if (s.stripe_size == 0 || s.stripe_size > std::numeric_limits<uint32_t>::max()
          || stripe_sectors % s.stripe_size != 0) {
        return fail("{}/{}: a stripe size of {} sectors does not fit its stripes", vg.name, lv.name,
                    s.stripe_size);
      }
      line.chunk = s.stripe_size;
    }
    for (const auto& [pv_name, first] : s.stripes) {
      auto run = pv_run(vg, lv, pv_name, first, per_stripe, pvs);
      if (!run) {
        return std::unexpected(run.error());
      }
      line.areas.push_back(table.areas.size());
      table.areas.push_back(*run);
    }
    // A linear piece that goes on where the previous linear one ends on the disk joins it.
    if (line.chunk == 0 && !table.lines.empty() && table.lines.back().chunk == 0) {
      ByteRange& before = table.areas[table.lines.back().areas.front()];
      const ByteRange& run = table.areas.back();
      if (table.lines.back().areas.front() + 2 == table.areas.size()
          && before.offset + before.size == run.offset) {
        before.size += run.size;
        table.lines.back().length += line.length;
        table.areas.pop_back();
        continue;
      }
    }
    table.lines.push_back(std::move(line));
  }
  if (table.lines.empty()) {
    return fail("{}/{} has no extents", vg.name, lv.name);
  }
  // Two pieces on the same extents would be written through each other.
  std::vector<ByteRange> sorted = table.areas;
  std::sort(sorted.begin(), sorted.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1].offset + sorted[i - 1].size > sorted[i].offset) {
      return fail("{}/{}: two of its pieces overlap on the disk", vg.name, lv.name);
    }
  }
  return table;
}

std::string table_text(const DeviceTable& table, const std::vector<std::string>& devices)
{
  std::string out;
  for (const auto& line : table.lines) {
    if (line.chunk == 0) {
      out += fmt::format("{} {} linear {} 0\n", line.start, line.length,
                         devices.at(line.areas.front()));
      continue;
    }
    out +=
        fmt::format("{} {} striped {} {}", line.start, line.length, line.areas.size(), line.chunk);
    for (size_t area : line.areas) {
      out += fmt::format(" {} 0", devices.at(area));
    }
    out += '\n';
  }
  return out;
}

std::string device_name(const VolumeGroup& vg, const LogicalVolume& lv)
{
  return "/dev/" + vg.name + "/" + lv.name;
}

} // namespace rehost::lvm
