// Files of shell variable assignments: os-release, /etc/default/grub, initramfs-tools conf.d,
// /etc/sysconfig/*. A reader that understands the quoting, and an editor that changes one
// variable and leaves every other byte as it was.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "converter/error.hpp"

namespace rehost {

// The value of a shell word: 'single', "double" (with \" \\ \$ \` escapes), $'...' is taken
// literally, unquoted with backslash escapes; concatenations such as "a"'b'c work.
std::string shell_unquote(const std::string& word);

// A value quoted for a shell assignment: bare when it holds only safe characters, else in
// double quotes with the special characters escaped.
std::string shell_quote_value(const std::string& value);

// All NAME=VALUE assignments (optionally prefixed by "export "), later ones winning. Lines that
// are not assignments are ignored.
std::map<std::string, std::string> parse_shell_vars(const std::string& text);

// The value of `name` as the shell would see it after the whole file, if assigned.
std::optional<std::string> shell_var(const std::string& text, const std::string& name);

// Sets `name` to `value`: the last assignment is rewritten in place (keeping its quoting style
// when possible and any trailing comment), or a line is appended. Nothing else changes.
std::string set_shell_var(const std::string& text, const std::string& name,
                          const std::string& value);

// set_shell_var, then an error when `name` does not read back as `value`: quoting the edit
// cannot get past, such as a quote left open at the end of the file, which would swallow an
// appended line.
Result<std::string> set_shell_var_checked(const std::string& text, const std::string& name,
                                          const std::string& value);

// Whether the value of `name` holds `word` as one of its blank-separated words.
bool shell_var_has_word(const std::string& text, const std::string& name, const std::string& word);

// `name` with each of `words` it lacks appended to its blank-separated list (INITRD_MODULES);
// `text` itself when nothing is missing or `name` is not assigned.
std::string add_shell_var_words(const std::string& text, const std::string& name,
                                const std::vector<std::string>& words);

// Removes every assignment of `name` (the lines go).
std::string unset_shell_var(const std::string& text, const std::string& name);

} // namespace rehost
