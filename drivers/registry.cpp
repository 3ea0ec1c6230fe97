#include "drivers/registry.hpp"
#include "converter/text_lines.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <hivex.h>

namespace rehost::drivers {

struct Hive::Handle {
  hive_h* h = nullptr;
};

namespace {

std::string errno_text(int err)
{
  return err ? std::strerror(err) : "invalid hive structure";
}

void put32(std::string& buf, size_t at, uint32_t v)
{
  for (int i = 0; i < 4; ++i) {
    buf[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
}

void put16(std::string& buf, size_t at, uint16_t v)
{
  buf[at] = static_cast<char>(v & 0xff);
  buf[at + 1] = static_cast<char>(v >> 8);
}

uint32_t get32(const std::string& buf, size_t at)
{
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(buf[at + i]);
  }
  return v;
}

} // namespace

std::string utf8_to_utf16le(const std::string& utf8)
{
  std::string out;
  auto unit = [&](uint32_t u) {
    out.push_back(static_cast<char>(u & 0xff));
    out.push_back(static_cast<char>((u >> 8) & 0xff));
  };
  for (size_t i = 0; i < utf8.size();) {
    auto c = static_cast<unsigned char>(utf8[i]);
    uint32_t cp = 0xfffd;
    size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c >> 4) == 14) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c >> 3) == 30) {
      len = 4;
      cp = c & 0x07;
    } else {
      len = 0;
    }
    if (len > 1) {
      if (i + len > utf8.size()) {
        len = 0;
      } else {
        for (size_t k = 1; k < len; ++k) {
          auto cc = static_cast<unsigned char>(utf8[i + k]);
          if ((cc >> 6) != 2) {
            len = 0;
            break;
          }
          cp = (cp << 6) | (cc & 0x3f);
        }
      }
    }
    if (len == 0) {
      cp = 0xfffd;
      len = 1;
    }
    i += len;
    if (cp >= 0x10000 && cp <= 0x10ffff) {
      cp -= 0x10000;
      unit(0xd800 + (cp >> 10));
      unit(0xdc00 + (cp & 0x3ff));
    } else {
      unit(cp > 0x10ffff ? 0xfffd : cp);
    }
  }
  return out;
}

std::string utf16le_to_utf8(const std::string& utf16)
{
  std::string out;
  auto emit = [&](uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  };
  for (size_t i = 0; i + 1 < utf16.size(); i += 2) {
    uint32_t u =
        static_cast<unsigned char>(utf16[i]) | (static_cast<unsigned char>(utf16[i + 1]) << 8);
    if (u >= 0xd800 && u < 0xdc00 && i + 3 < utf16.size()) {
      uint32_t l = static_cast<unsigned char>(utf16[i + 2])
                   | (static_cast<unsigned char>(utf16[i + 3]) << 8);
      if (l >= 0xdc00 && l < 0xe000) {
        emit(0x10000 + ((u - 0xd800) << 10) + (l - 0xdc00));
        i += 2;
        continue;
      }
    }
    emit(u >= 0xd800 && u < 0xe000 ? 0xfffd : u);
  }
  return out;
}

std::string to_string(RegType type)
{
  switch (type) {
  case RegType::none:
    return "REG_NONE";
  case RegType::sz:
    return "REG_SZ";
  case RegType::expand_sz:
    return "REG_EXPAND_SZ";
  case RegType::binary:
    return "REG_BINARY";
  case RegType::dword:
    return "REG_DWORD";
  case RegType::multi_sz:
    return "REG_MULTI_SZ";
  case RegType::qword:
    return "REG_QWORD";
  }
  return fmt::format("REG_TYPE_{}", static_cast<uint32_t>(type));
}

RegValue RegValue::sz(const std::string& utf8)
{
  return {RegType::sz, utf8_to_utf16le(utf8) + std::string(2, '\0')};
}

RegValue RegValue::expand_sz(const std::string& utf8)
{
  return {RegType::expand_sz, utf8_to_utf16le(utf8) + std::string(2, '\0')};
}

RegValue RegValue::multi_sz(const std::vector<std::string>& utf8)
{
  std::string data;
  for (const auto& s : utf8) {
    data += utf8_to_utf16le(s) + std::string(2, '\0');
  }
  return {RegType::multi_sz, data + std::string(2, '\0')};
}

RegValue RegValue::dword(uint32_t value)
{
  std::string data(4, '\0');
  put32(data, 0, value);
  return {RegType::dword, data};
}

RegValue RegValue::qword(uint64_t value)
{
  std::string data(8, '\0');
  put32(data, 0, static_cast<uint32_t>(value & 0xffffffff));
  put32(data, 4, static_cast<uint32_t>(value >> 32));
  return {RegType::qword, data};
}

RegValue RegValue::binary(const std::string& bytes)
{
  return {RegType::binary, bytes};
}

std::optional<std::string> RegValue::as_string() const
{
  if (type != RegType::sz && type != RegType::expand_sz) {
    return std::nullopt;
  }
  std::string units = data;
  // Stop at the first NUL unit: stored strings usually carry one, sometimes garbage after it.
  for (size_t i = 0; i + 1 < units.size(); i += 2) {
    if (units[i] == '\0' && units[i + 1] == '\0') {
      units.resize(i);
      break;
    }
  }
  return utf16le_to_utf8(units);
}

std::optional<std::vector<std::string>> RegValue::as_multi() const
{
  if (type != RegType::multi_sz) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::string current;
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    if (data[i] == '\0' && data[i + 1] == '\0') {
      if (current.empty()) {
        break;
      }
      out.push_back(utf16le_to_utf8(current));
      current.clear();
    } else {
      current += data.substr(i, 2);
    }
  }
  if (!current.empty()) {
    out.push_back(utf16le_to_utf8(current));
  }
  return out;
}

std::optional<uint32_t> RegValue::as_dword() const
{
  if (type != RegType::dword || data.size() < 4) {
    return std::nullopt;
  }
  return get32(data, 0);
}

std::string RegValue::to_text() const
{
  std::string t = to_string(type);
  if (auto s = as_string()) {
    return fmt::format("{} \"{}\"", t, *s);
  }
  if (auto d = as_dword()) {
    return fmt::format("{} 0x{:08x} ({})", t, *d, *d);
  }
  if (type == RegType::qword && data.size() == 8) {
    uint64_t q = (static_cast<uint64_t>(get32(data, 4)) << 32) | get32(data, 0);
    return fmt::format("{} 0x{:016x} ({})", t, q, q);
  }
  if (auto m = as_multi()) {
    std::string items;
    for (const auto& s : *m) {
      items += fmt::format("{}\"{}\"", items.empty() ? "" : ", ", s);
    }
    return fmt::format("{} [{}]", t, items);
  }
  std::string bytes;
  for (size_t i = 0; i < data.size() && i < 32; ++i) {
    bytes += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned char>(data[i]));
  }
  if (data.size() > 32) {
    bytes += fmt::format(" ... ({} bytes)", data.size());
  }
  return t + (bytes.empty() ? "" : " " + bytes);
}

std::vector<std::string> split_key(const std::string& key)
{
  std::vector<std::string> parts;
  std::string part;
  for (char c : key) {
    if (c == '\\') {
      if (!part.empty()) {
        parts.push_back(part);
      }
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) {
    parts.push_back(part);
  }
  return parts;
}

Hive::Hive(std::string path, HiveMode mode, Handle* handle)
    : m_path(std::move(path)), m_mode(mode), m_handle(handle)
{
}

Hive::Hive(Hive&& other) noexcept
    : m_path(std::move(other.m_path)), m_mode(other.m_mode), m_handle(other.m_handle),
      m_changes(std::move(other.m_changes))
{
  other.m_handle = nullptr;
}

Hive& Hive::operator=(Hive&& other) noexcept
{
  if (this != &other) {
    if (m_handle) {
      hivex_close(m_handle->h);
      delete m_handle;
    }
    m_path = std::move(other.m_path);
    m_mode = other.m_mode;
    m_handle = other.m_handle;
    m_changes = std::move(other.m_changes);
    other.m_handle = nullptr;
  }
  return *this;
}

Hive::~Hive()
{
  if (m_handle) {
    hivex_close(m_handle->h);
    delete m_handle;
  }
}

Result<Hive> Hive::open(const std::string& path, HiveMode mode)
{
  errno = 0;
  hive_h* h = hivex_open(path.c_str(), mode == HiveMode::write ? HIVEX_OPEN_WRITE : 0);
  if (!h) {
    return fail("{}: not a valid registry hive ({})", path, errno_text(errno));
  }
  return Hive(path, mode, new Handle{h});
}

size_t Hive::find(const std::string& key) const
{
  hive_node_h node = hivex_root(m_handle->h);
  for (const auto& part : split_key(key)) {
    if (!node) {
      return 0;
    }
    node = hivex_node_get_child(m_handle->h, node, part.c_str());
  }
  return node;
}

bool Hive::has_key(const std::string& key) const
{
  return find(key) != 0;
}

Result<std::vector<std::string>> Hive::subkeys(const std::string& key) const
{
  size_t node = find(key);
  if (!node) {
    return fail("{}: no key {}", m_path, key);
  }
  errno = 0;
  hive_node_h* children = hivex_node_children(m_handle->h, node);
  if (!children) {
    return fail("{}: cannot list key {} ({})", m_path, key, errno_text(errno));
  }
  std::vector<std::string> names;
  for (size_t i = 0; children[i]; ++i) {
    if (char* name = hivex_node_name(m_handle->h, children[i])) {
      names.emplace_back(name);
      free(name);
    }
  }
  free(children);
  return names;
}

Result<std::optional<RegValue>> Hive::get(const std::string& key, const std::string& name) const
{
  size_t node = find(key);
  if (!node) {
    return std::optional<RegValue>{};
  }
  errno = 0;
  hive_value_h value = hivex_node_get_value(m_handle->h, node, name.c_str());
  if (!value) {
    if (errno) {
      return fail("{}: cannot read {}\\{} ({})", m_path, key, name, errno_text(errno));
    }
    return std::optional<RegValue>{};
  }
  // A hive may hold any 32-bit type, which is not always a hive_type enumerator: receive it
  // as the enum's underlying integer.
  std::underlying_type_t<hive_type> type = 0;
  size_t len = 0;
  errno = 0;
  char* data = hivex_value_value(m_handle->h, value, reinterpret_cast<hive_type*>(&type), &len);
  if (!data) {
    return fail("{}: cannot read {}\\{} ({})", m_path, key, name, errno_text(errno));
  }
  RegValue out{static_cast<RegType>(type), std::string(data, len)};
  free(data);
  return std::optional<RegValue>{out};
}

Result<std::vector<std::string>> Hive::value_names(const std::string& key) const
{
  size_t node = find(key);
  if (!node) {
    return fail("{}: no key {}", m_path, key);
  }
  errno = 0;
  hive_value_h* values = hivex_node_values(m_handle->h, node);
  if (!values) {
    return fail("{}: cannot list values of {} ({})", m_path, key, errno_text(errno));
  }
  std::vector<std::string> names;
  for (size_t i = 0; values[i]; ++i) {
    if (char* name = hivex_value_key(m_handle->h, values[i])) {
      names.emplace_back(name);
      free(name);
    }
  }
  free(values);
  return names;
}

Result<void> Hive::create_key(const std::string& key)
{
  if (m_mode != HiveMode::write) {
    return fail("{}: opened read-only", m_path);
  }
  hive_node_h node = hivex_root(m_handle->h);
  std::string so_far;
  for (const auto& part : split_key(key)) {
    so_far += (so_far.empty() ? "" : "\\") + part;
    errno = 0;
    hive_node_h child = hivex_node_get_child(m_handle->h, node, part.c_str());
    if (!child && errno) {
      return fail("{}: cannot read key {} ({})", m_path, so_far, errno_text(errno));
    }
    if (!child) {
      errno = 0;
      child = hivex_node_add_child(m_handle->h, node, part.c_str());
      if (!child) {
        return fail("{}: cannot create key {} ({})", m_path, so_far, errno_text(errno));
      }
      m_changes.push_back({so_far, "", std::nullopt, std::nullopt});
    }
    node = child;
  }
  return {};
}

Result<void> Hive::set(const std::string& key, const std::string& name, const RegValue& value)
{
  if (auto created = create_key(key); !created) {
    return created;
  }
  auto before = get(key, name);
  if (!before) {
    return std::unexpected(before.error());
  }
  if (*before && **before == value) {
    return {};
  }
  std::string key_name = name;
  std::string data = value.data;
  hive_set_value v{key_name.data(), static_cast<hive_type>(value.type), data.size(), data.data()};
  errno = 0;
  if (hivex_node_set_value(m_handle->h, find(key), &v, 0) != 0) {
    return fail("{}: cannot set {}\\{} ({})", m_path, key, name, errno_text(errno));
  }
  m_changes.push_back({key, name, *before, value});
  return {};
}

Result<void> Hive::delete_value(const std::string& key, const std::string& name)
{
  if (m_mode != HiveMode::write) {
    return fail("{}: opened read-only", m_path);
  }
  auto before = get(key, name);
  if (!before) {
    return std::unexpected(before.error());
  }
  if (!*before) {
    return {};
  }
  auto names = value_names(key);
  if (!names) {
    return std::unexpected(names.error());
  }
  // hivex replaces a key's values as a whole: the others are written back as they are.
  std::vector<std::string> keep_names;
  std::vector<RegValue> keep_values;
  for (const auto& other : *names) {
    if (ascii_lower(other) == ascii_lower(name)) {
      continue;
    }
    auto value = get(key, other);
    if (!value) {
      return std::unexpected(value.error());
    }
    if (*value) {
      keep_names.push_back(other);
      keep_values.push_back(**value);
    }
  }
  std::vector<hive_set_value> set(keep_names.size());
  for (size_t i = 0; i < set.size(); ++i) {
    set[i] = {keep_names[i].data(), static_cast<hive_type>(keep_values[i].type),
              keep_values[i].data.size(), keep_values[i].data.data()};
  }
  errno = 0;
  if (hivex_node_set_values(m_handle->h, find(key), set.size(), set.data(), 0) != 0) {
    return fail("{}: cannot delete {}\\{} ({})", m_path, key, name, errno_text(errno));
  }
  m_changes.push_back({key, name, *before, std::nullopt, true});
  return {};
}

Result<void> Hive::delete_key(const std::string& key)
{
  if (m_mode != HiveMode::write) {
    return fail("{}: opened read-only", m_path);
  }
  if (split_key(key).empty()) {
    return fail("{}: the root key cannot be deleted", m_path);
  }
  size_t node = find(key);
  if (!node) {
    return {};
  }
  errno = 0;
  if (hivex_node_delete_child(m_handle->h, node) != 0) {
    return fail("{}: cannot delete key {} ({})", m_path, key, errno_text(errno));
  }
  m_changes.push_back({key, "", std::nullopt, std::nullopt, true});
  return {};
}

Result<void> Hive::commit()
{
  if (m_mode != HiveMode::write) {
    return fail("{}: opened read-only", m_path);
  }
  errno = 0;
  if (hivex_commit(m_handle->h, nullptr, 0) != 0) {
    return fail("{}: cannot write the hive ({})", m_path, errno_text(errno));
  }
  return {};
}

uint32_t hive_header_checksum(const std::string& bytes)
{
  uint32_t checksum = 0;
  for (size_t i = 0; i + 4 <= 0x1fc && i + 4 <= bytes.size(); i += 4) {
    checksum ^= get32(bytes, i);
  }
  return checksum == 0xffffffff ? 0xfffffffe : (checksum == 0 ? 1 : checksum);
}

HiveHeader read_hive_header(const std::string& bytes)
{
  HiveHeader header;
  if (bytes.size() < 0x200 || bytes.compare(0, 4, "regf") != 0) {
    return header;
  }
  header.primary_sequence = get32(bytes, 0x04);
  header.secondary_sequence = get32(bytes, 0x08);
  if (get32(bytes, 0x1fc) != hive_header_checksum(bytes)) {
    header.state = HiveHeaderState::bad_checksum;
  } else if (header.primary_sequence != header.secondary_sequence) {
    header.state = HiveHeaderState::unclean;
  } else {
    header.state = HiveHeaderState::clean;
  }
  return header;
}

Result<void> write_empty_hive(const std::string& path, const std::string& root_name)
{
  // regf layout (as documented for the format hivex reads): a 4 KiB base block, then hive bins
  // of 4 KiB multiples holding cells. A cell starts with its size as a signed 32-bit number,
  // negative when in use; offsets are relative to the first hbin.
  std::string file(0x2000, '\0');
  std::memcpy(file.data(), "regf", 4);
  put32(file, 0x04, 1); // primary and secondary sequence numbers equal: consistent
  put32(file, 0x08, 1);
  put32(file, 0x14, 1);      // major version
  put32(file, 0x18, 3);      // minor version
  put32(file, 0x1c, 0);      // primary file
  put32(file, 0x20, 1);      // direct memory load
  put32(file, 0x24, 0x20);   // root cell offset
  put32(file, 0x28, 0x1000); // hive bins data size
  put32(file, 0x2c, 1);      // clustering factor
  put32(file, 0x1fc, hive_header_checksum(file));

  const size_t bin = 0x1000;
  std::memcpy(file.data() + bin, "hbin", 4);
  put32(file, bin + 0x04, 0); // offset from the first hbin
  put32(file, bin + 0x08, 0x1000);

  // Root key (nk): flags KEY_HIVE_ENTRY | KEY_NO_DELETE | KEY_COMP_NAME.
  size_t nk_size = (4 + 0x4c + root_name.size() + 7) & ~size_t{7};
  size_t sk_offset = 0x20 + nk_size;
  size_t nk = bin + 0x20;
  put32(file, nk, static_cast<uint32_t>(-static_cast<int32_t>(nk_size)));
  std::memcpy(file.data() + nk + 4, "nk", 2);
  put16(file, nk + 4 + 0x02, 0x2c);
  put32(file, nk + 4 + 0x10, 0);          // parent
  put32(file, nk + 4 + 0x14, 0);          // subkeys
  put32(file, nk + 4 + 0x1c, 0xffffffff); // subkey list
  put32(file, nk + 4 + 0x20, 0xffffffff); // volatile subkey list
  put32(file, nk + 4 + 0x24, 0);          // values
  put32(file, nk + 4 + 0x28, 0xffffffff); // value list
  put32(file, nk + 4 + 0x2c, static_cast<uint32_t>(sk_offset));
  put32(file, nk + 4 + 0x30, 0xffffffff); // class name
  put16(file, nk + 4 + 0x48, static_cast<uint16_t>(root_name.size()));
  std::memcpy(file.data() + nk + 4 + 0x4c, root_name.data(), root_name.size());

  // Security (sk): a self-relative descriptor with no owner, group or ACLs; new keys inherit it.
  size_t sk = bin + sk_offset;
  const size_t descriptor = 20;
  size_t sk_size = (4 + 0x14 + descriptor + 7) & ~size_t{7};
  put32(file, sk, static_cast<uint32_t>(-static_cast<int32_t>(sk_size)));
  std::memcpy(file.data() + sk + 4, "sk", 2);
  put32(file, sk + 4 + 0x04, static_cast<uint32_t>(sk_offset)); // flink: itself
  put32(file, sk + 4 + 0x08, static_cast<uint32_t>(sk_offset)); // blink: itself
  put32(file, sk + 4 + 0x0c, 1);                                // references
  put32(file, sk + 4 + 0x10, descriptor);
  file[sk + 4 + 0x14] = 1;            // revision
  put16(file, sk + 4 + 0x16, 0x8000); // SE_SELF_RELATIVE

  // The rest of the bin is one free cell (positive size).
  size_t free_at = sk_offset + sk_size;
  put32(file, bin + free_at, static_cast<uint32_t>(0x1000 - free_at));

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out) {
    return fail("{}: cannot write ({})", path, std::strerror(errno));
  }
  return {};
}

namespace {

// A quoted .reg string starting at text[pos] == '"'; advances pos past the closing quote.
std::optional<std::string> quoted(const std::string& text, size_t& pos)
{
  if (pos >= text.size() || text[pos] != '"') {
    return std::nullopt;
  }
  std::string out;
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] == '\\' && pos + 1 < text.size()) {
      out += text[++pos];
    } else if (text[pos] == '"') {
      ++pos;
      return out;
    } else {
      out += text[pos];
    }
  }
  return std::nullopt;
}

std::optional<std::string> hex_bytes(const std::string& text)
{
  std::string out;
  std::istringstream in(text);
  std::string byte;
  while (std::getline(in, byte, ',')) {
    size_t b = byte.find_first_not_of(" \t");
    size_t e = byte.find_last_not_of(" \t");
    if (b == std::string::npos) {
      continue;
    }
    byte = byte.substr(b, e - b + 1);
    if (byte.size() > 2 || byte.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(std::stoul(byte, nullptr, 16)));
  }
  return out;
}

Result<RegValue> parse_reg_data(const std::string& data)
{
  auto string_list = [&](size_t pos) -> std::optional<std::vector<std::string>> {
    std::vector<std::string> items;
    while (pos < data.size()) {
      auto item = quoted(data, pos);
      if (!item) {
        return std::nullopt;
      }
      items.push_back(*item);
      while (pos < data.size() && (data[pos] == ' ' || data[pos] == ',')) {
        ++pos;
      }
    }
    return items;
  };
  if (!data.empty() && data[0] == '"') {
    size_t pos = 0;
    auto s = quoted(data, pos);
    if (!s || pos != data.size()) {
      return fail("bad string {}", data);
    }
    return RegValue::sz(*s);
  }
  if (data.rfind("expand:", 0) == 0) {
    size_t pos = 7;
    auto s = quoted(data, pos);
    if (!s || pos != data.size()) {
      return fail("bad string {}", data);
    }
    return RegValue::expand_sz(*s);
  }
  if (data.rfind("multi:", 0) == 0) {
    auto items = string_list(6);
    if (!items) {
      return fail("bad string list {}", data);
    }
    return RegValue::multi_sz(*items);
  }
  if (data.rfind("dword:", 0) == 0) {
    std::string hex = data.substr(6);
    if (hex.empty() || hex.size() > 8
        || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return fail("bad dword {}", data);
    }
    return RegValue::dword(static_cast<uint32_t>(std::stoul(hex, nullptr, 16)));
  }
  if (data.rfind("hex", 0) == 0) {
    uint32_t type = 3;
    size_t colon = data.find(':');
    if (colon == std::string::npos) {
      return fail("bad hex value {}", data);
    }
    std::string spec = data.substr(3, colon - 3);
    if (!spec.empty()) {
      if (spec.size() < 3 || spec.front() != '(' || spec.back() != ')'
          || spec.find_first_not_of("0123456789abcdefABCDEF", 1) != spec.size() - 1) {
        return fail("bad hex type {}", spec);
      }
      type = static_cast<uint32_t>(std::stoul(spec.substr(1, spec.size() - 2), nullptr, 16));
    }
    auto bytes = hex_bytes(data.substr(colon + 1));
    if (!bytes) {
      return fail("bad hex bytes {}", data);
    }
    return RegValue{static_cast<RegType>(type), *bytes};
  }
  return fail("unknown value syntax {}", data);
}

} // namespace

Result<void> build_hive(const std::string& path, const std::string& text)
{
  if (auto written = write_empty_hive(path); !written) {
    return written;
  }
  auto hive = Hive::open(path, HiveMode::write);
  if (!hive) {
    return std::unexpected(hive.error());
  }
  std::istringstream in(text);
  std::string line;
  std::string key;
  bool have_key = false;
  int number = 0;
  // Continuation lines (a trailing backslash) are joined, as regedit exports them.
  std::string pending;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    size_t b = line.find_first_not_of(" \t");
    line = b == std::string::npos ? "" : line.substr(b);
    if (!line.empty() && line.back() == '\\' && line.find('=') != std::string::npos) {
      pending += line.substr(0, line.size() - 1);
      continue;
    }
    line = pending + line;
    pending.clear();
    if (line.empty() || line[0] == ';' || line[0] == '#'
        || line.rfind("Windows Registry Editor", 0) == 0 || line.rfind("REGEDIT", 0) == 0) {
      continue;
    }
    if (line[0] == '[') {
      if (line.back() != ']') {
        return fail("line {}: expected ']' at the end of a key", number);
      }
      key = line.substr(1, line.size() - 2);
      have_key = true;
      if (auto created = hive->create_key(key); !created) {
        return fail("line {}: {}", number, created.error().message);
      }
      continue;
    }
    if (!have_key) {
      return fail("line {}: a value before any [key]", number);
    }
    std::string name;
    size_t pos = 0;
    if (line[0] == '@') {
      pos = 1;
    } else if (auto n = quoted(line, pos)) {
      name = *n;
    } else {
      return fail("line {}: expected \"name\"= or @=", number);
    }
    if (pos >= line.size() || line[pos] != '=') {
      return fail("line {}: expected '=' after the value name", number);
    }
    auto value = parse_reg_data(line.substr(pos + 1));
    if (!value) {
      return fail("line {}: {}", number, value.error().message);
    }
    if (auto set = hive->set(key, name, *value); !set) {
      return fail("line {}: {}", number, set.error().message);
    }
  }
  return hive->commit();
}

std::string format_changes(const std::string& hive_name, const std::vector<RegChange>& changes)
{
  std::string out;
  std::string current;
  std::set<std::string> created;
  for (const auto& c : changes) {
    if (!c.after && c.name.empty() && !c.deleted) {
      created.insert(ascii_lower(c.key));
    }
  }
  for (const auto& c : changes) {
    if (c.deleted && !c.before) {
      out += fmt::format("{}\\{} (deleted key)\n", hive_name, c.key);
      current.clear();
      continue;
    }
    if (!c.after && !c.deleted) {
      continue; // a created key shows as the heading of its values
    }
    if (ascii_lower(c.key) != current) {
      current = ascii_lower(c.key);
      out +=
          fmt::format("{}\\{}{}\n", hive_name, c.key, created.count(current) ? " (new key)" : "");
    }
    std::string name = c.name.empty() ? "(Default)" : c.name;
    if (c.deleted) {
      out += fmt::format("- {} = {}\n", name, c.before->to_text());
    } else if (c.before) {
      out += fmt::format("~ {}: {} -> {}\n", name, c.before->to_text(), c.after->to_text());
    } else {
      out += fmt::format("+ {} = {}\n", name, c.after->to_text());
    }
  }
  // Keys created without values still deserve a line.
  for (const auto& c : changes) {
    if (!c.after && c.name.empty() && !c.deleted) {
      bool has_values = false;
      for (const auto& v : changes) {
        if (v.after && ascii_lower(v.key) == ascii_lower(c.key)) {
          has_values = true;
        }
      }
      bool has_children = false;
      for (const auto& v : changes) {
        if (ascii_lower(v.key).rfind(ascii_lower(c.key) + "\\", 0) == 0) {
          has_children = true;
        }
      }
      if (!has_values && !has_children) {
        out += fmt::format("{}\\{} (new key)\n", hive_name, c.key);
      }
    }
  }
  return out;
}

} // namespace rehost::drivers
