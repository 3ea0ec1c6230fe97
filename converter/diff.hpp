// Unified diffs of guest files, for plans and reports.
#pragma once

#include <string>

namespace rehost {

// A unified diff ("--- a/PATH", "+++ b/PATH", hunks with 3 lines of context) from `before` to
// `after`, or "" when they are equal. Lines are compared exactly; a missing final newline is
// marked as diff(1) does.
std::string unified_diff(const std::string& path, const std::string& before,
                         const std::string& after);

} // namespace rehost
