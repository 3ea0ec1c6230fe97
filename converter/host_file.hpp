// Whole files of the host: rule files, driver packages, templates, scratch trees. A guest's
// files never go through these: Guest keeps every path inside the guest root.
#pragma once

#include <string>

#include "converter/error.hpp"

namespace rehost {

// The bytes of `path`; an error "PATH: cannot read" when it cannot be opened or read.
Result<std::string> read_host_file(const std::string& path);

// Writes `content` to `path` (replacing it), creating its parent directories.
Result<void> write_host_file(const std::string& path, const std::string& content);

} // namespace rehost
