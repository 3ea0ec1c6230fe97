// Kernel command lines as lists of arguments: split, query, edit, join.
//
// An argument is "key" or "key=value"; values may be double-quoted ("a b"). Editing keeps the
// order of the arguments it does not touch.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace rehost::bootloader {

struct KernelArg {
  std::string key;
  std::optional<std::string> value; // without quotes

  // "key" or "key=value", quoting the value if it holds a space.
  std::string text() const;
};

class KernelCmdline {
public:
  KernelCmdline() = default;
  explicit KernelCmdline(const std::string& text);

  const std::vector<KernelArg>& args() const { return m_args; }

  // The value of the last `key` (the one the kernel uses), if present.
  std::optional<std::string> get(const std::string& key) const;
  bool has(const std::string& key) const;

  // Removes every `key`. Returns how many were removed.
  int remove(const std::string& key);
  // Removes exactly `key=value` (or bare `key` when value is empty).
  int remove_exact(const KernelArg& arg);
  // Sets `key` to `value`: replaces the first occurrence and drops later ones, or appends.
  void set(const std::string& key, const std::optional<std::string>& value);
  // Appends `arg` unless an identical argument is present (console= may repeat).
  void add(const KernelArg& arg);

  std::string text() const;

private:
  std::vector<KernelArg> m_args;
};

// Parses "key=value" / "key" (one argument).
KernelArg parse_kernel_arg(const std::string& text);

} // namespace rehost::bootloader
