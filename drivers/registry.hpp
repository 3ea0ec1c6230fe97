// Windows registry hive files, read and written offline through hivex.
//
// A Hive is one hive file on the host (a guest's SYSTEM or SOFTWARE hive is downloaded first).
// Key paths are backslash-separated and relative to the hive's root ("ControlSet001\Services");
// names compare case-insensitively, as Windows does. Every change made through set() is
// recorded (key, value, old, new) so a plan can show it. hivex cannot create a hive from
// nothing, so write_empty_hive() writes the smallest valid regf file itself, and
// build_hive() fills one from .reg-like text (tests and test images).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost::drivers {

// Registry value types (winnt.h REG_*).
enum class RegType : uint32_t {
  none = 0,
  sz = 1,
  expand_sz = 2,
  binary = 3,
  dword = 4,
  multi_sz = 7,
  qword = 11,
};

// "REG_SZ", "REG_DWORD", ... ("REG_TYPE_<n>" for others).
std::string to_string(RegType type);

// A value's type and its data as stored (strings are UTF-16LE with a terminating NUL).
struct RegValue {
  RegType type = RegType::none;
  std::string data;

  static RegValue sz(const std::string& utf8);
  static RegValue expand_sz(const std::string& utf8);
  static RegValue multi_sz(const std::vector<std::string>& utf8);
  static RegValue dword(uint32_t value);
  static RegValue qword(uint64_t value);
  static RegValue binary(const std::string& bytes);

  // The string of an REG_SZ or REG_EXPAND_SZ value (UTF-8), else nothing.
  std::optional<std::string> as_string() const;
  // The strings of an REG_MULTI_SZ value, else nothing.
  std::optional<std::vector<std::string>> as_multi() const;
  // The number of an REG_DWORD value, else nothing.
  std::optional<uint32_t> as_dword() const;
  // For humans: REG_SZ "text", REG_DWORD 0x00000003 (3), REG_MULTI_SZ ["a", "b"], REG_BINARY 01 02.
  std::string to_text() const;

  bool operator==(const RegValue&) const = default;
};

// One change made to a hive: `before` is nothing for a new value or key.
struct RegChange {
  std::string key;  // "ControlSet001\Services\nvme"
  std::string name; // value name; "" for the default value, or for a created key (no value)
  std::optional<RegValue> before;
  std::optional<RegValue> after; // nothing for a created key, or for what was deleted
  bool deleted = false;          // a deleted value (`before` holds it), or key (no `before`)
};

enum class HiveMode { read_only, write };

// What a conversion does with a hive whose transaction logs hold changes the hive lacks
// (read_hive_header() says it is unclean, and logs lie next to it).
enum class HiveLogs {
  refuse,  // stop: editing it would lose those changes, or corrupt the hive when Windows
           // replays the logs over the edits
  discard, // edit the hive as it is and remove its logs (the changes only they held are lost)
};

class Hive {
public:
  // Opens a hive file; an error when it is missing or not a valid hive.
  static Result<Hive> open(const std::string& path, HiveMode mode);

  Hive(Hive&&) noexcept;
  Hive& operator=(Hive&&) noexcept;
  ~Hive();

  const std::string& path() const { return m_path; }

  // Whether the key exists.
  bool has_key(const std::string& key) const;

  // Names of the key's subkeys (an error when the key is missing).
  Result<std::vector<std::string>> subkeys(const std::string& key) const;

  // A value, or nothing when the key or the value is missing.
  Result<std::optional<RegValue>> get(const std::string& key, const std::string& name) const;

  // Names of the key's values (an error when the key is missing).
  Result<std::vector<std::string>> value_names(const std::string& key) const;

  // Creates the key and its missing parents (recorded as changes).
  Result<void> create_key(const std::string& key);

  // Sets a value, creating the key; an unchanged value is not recorded.
  Result<void> set(const std::string& key, const std::string& name, const RegValue& value);

  // Deletes a value; nothing when it (or its key) is missing.
  Result<void> delete_value(const std::string& key, const std::string& name);

  // Deletes a key with its subkeys and values; nothing when it is missing. The root cannot go.
  Result<void> delete_key(const std::string& key);

  // Writes the changes back to the file the hive was opened from.
  Result<void> commit();

  // Every change set() and create_key() made, in order.
  const std::vector<RegChange>& changes() const { return m_changes; }

private:
  struct Handle;
  Hive(std::string path, HiveMode mode, Handle* handle);
  // The node of `key`, or 0 when missing.
  size_t find(const std::string& key) const;

  std::string m_path;
  HiveMode m_mode;
  Handle* m_handle;
  std::vector<RegChange> m_changes;
};

// What the 4 KiB base block at the start of a hive file says about how it was last written.
// Windows increments the primary sequence number (offset 4) before it writes a hive and sets
// the secondary one (offset 8) to match when it is done; the XOR-32 of the first 508 bytes is
// stored at offset 508. A hive left unclean has its last changes only in its transaction logs
// (.LOG1/.LOG2, or .LOG before Windows Vista), which Windows replays when it next loads it.
enum class HiveHeaderState {
  clean,        // signature, matching sequence numbers and checksum
  unclean,      // the sequence numbers differ: written to when the copy was taken
  bad_checksum, // the base block itself is damaged (Windows would take it from a log)
  not_a_hive,   // shorter than a base block, or no "regf" signature
};

struct HiveHeader {
  HiveHeaderState state = HiveHeaderState::not_a_hive;
  uint32_t primary_sequence = 0;
  uint32_t secondary_sequence = 0;
};

// Reads the base block at the start of `bytes` (at least its first 512 bytes).
HiveHeader read_hive_header(const std::string& bytes);

// The checksum of a base block: the XOR of its first 127 little-endian 32-bit words, with 0
// stored as 1 and 0xFFFFFFFF as 0xFFFFFFFE.
uint32_t hive_header_checksum(const std::string& bytes);

// Splits a key path on backslashes, dropping empty parts.
std::vector<std::string> split_key(const std::string& key);

// Writes the smallest valid hive (regf base block, one hbin, a root key named `root_name` with
// a security cell) to `path`.
Result<void> write_empty_hive(const std::string& path, const std::string& root_name = "ROOT");

// Builds a hive at `path` from .reg-like text:
//   [ControlSet001\Services\nvme]      a key (created with its parents)
//   "Start"=dword:00000000             REG_DWORD (hex)
//   "Group"="SCSI miniport"            REG_SZ (\\ and \" escaped)
//   "ImagePath"=expand:"system32\\drivers\\nvme.sys"
//   "DependOnService"=multi:"a","b"
//   "Blob"=hex:01,02,ff                REG_BINARY; hex(N): is type N
//   @="default"                        the default value
// Lines starting with ';' or '#', blank lines and a "Windows Registry Editor" header are
// ignored. Errors name the line.
Result<void> build_hive(const std::string& path, const std::string& text);

// The changes as a readable diff, one block per key:
//   HKLM\SYSTEM\ControlSet001\Services\nvme (new key)
//   + Start = REG_DWORD 0x00000000 (0)
//   ~ Start: REG_DWORD 0x00000003 (3) -> REG_DWORD 0x00000000 (0)
//   - Start = REG_DWORD 0x00000003 (3)
//   HKLM\SYSTEM\ControlSet001\Services\vmci (deleted key)
std::string format_changes(const std::string& hive_name, const std::vector<RegChange>& changes);

// UTF-8 to UTF-16LE and back (invalid input is replaced, never an error).
std::string utf8_to_utf16le(const std::string& utf8);
std::string utf16le_to_utf8(const std::string& utf16);

} // namespace rehost::drivers
