// Files of keys and values: KEY=VALUE files (/etc/sysconfig/*, /etc/waagent.conf), "Key value"
// files (sshd_config) and ini files ([section] then key=value: NetworkManager.conf, yum
// repositories, cloud tool configurations). Editors that change the keys asked for and leave
// every other byte (comments, blank lines, order, unknown lines) as it was.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rehost {

// Keys to set (in order) and keys to remove.
struct KeyEdits {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> remove;
  // For edit_key_values: a first word (compared ignoring case) that ends the part of the file
  // edited, such as sshd_config's "Match": from the first line it begins, nothing is touched,
  // and missing keys go before that line.
  std::string stop_at;
};

// What an edit did, for the report.
struct KeyEditResult {
  std::string text;
  std::vector<std::string> changed; // "KEY=VALUE" set in place or appended
  std::vector<std::string> removed; // keys whose lines went
};

// `separator` is what stands between a key and its value: "=" (blanks around it allowed when
// reading), or blanks only (" "), as in sshd_config. A line whose first word is a key to set
// gets the new value after its own key and separator (every such line, so whichever one the
// program reads holds it); a key no line sets is appended as KEY<separator>VALUE. Lines
// starting with '#' or ';' are comments and never match. Keys compare exactly.
KeyEditResult edit_key_values(const std::string& text, const KeyEdits& edits,
                              const std::string& separator = "=");

// The same within the ini section `section` ("" for the lines before the first section):
// keys are set where the section (any block of it) has them, else appended after the last
// key line of its last block; a missing section is appended with the keys. Section names and
// keys compare exactly, with blanks around them ignored.
KeyEditResult edit_ini(const std::string& text, const std::string& section, const KeyEdits& edits,
                       const std::string& separator = "=");

} // namespace rehost
